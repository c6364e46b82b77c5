// Every php-fpm 8.2 directive (global and pool) and php-pool's own, as the parser reads them.
#include <gtest/gtest.h>

#include "config/internal.hpp"
#include "test_util.hpp"

namespace php_pool::config {
namespace {

using std::chrono::seconds;
using testing::TempDir;

// Every pool directive, each with a non-default value.
std::string all_pool_directives(const TempDir& dir) {
  dir.mkdir("prefix/root/www");
  std::string policy = dir.write("my.policy", "# policy\n");
  return "[site]\n"
         "prefix = " +
         dir.path() +
         "/prefix\n"
         "user = alice\n"
         "group = web\n"
         "listen = 127.0.0.1:9001\n"
         "listen.backlog = 1024\n"
         "listen.owner = www-data\n"
         "listen.group = www-data\n"
         "listen.mode = 0660\n"
         "listen.acl_users = alice,bob\n"
         "listen.acl_groups = web\n"
         "listen.allowed_clients = 127.0.0.1, ::1\n"
         "listen.setfib = 1\n"
         "process.priority = -5\n"
         "process.dumpable = yes\n"
         "pm = dynamic\n"
         "pm.max_children = 20\n"
         "pm.start_servers = 4\n"
         "pm.min_spare_servers = 2\n"
         "pm.max_spare_servers = 6\n"
         "pm.max_spawn_rate = 8\n"
         "pm.process_idle_timeout = 2m\n"
         "pm.max_requests = 500\n"
         "pm.status_path = /status\n"
         "pm.status_listen = 127.0.0.1:9002\n"
         "ping.path = /ping\n"
         "ping.response = alive\n"
         "access.log = log/$pool.access.log\n"
         "access.format = \"%R - %u %t \\\"%m %r%Q%q\\\" %s %f %{mili}d %{kilo}M %C%%\"\n"
         "access.suppress_path[] = /ping\n"
         "access.suppress_path[] = /status\n"
         "slowlog = log/$pool.slow\n"
         "request_slowlog_timeout = 5s\n"
         "request_slowlog_trace_depth = 10\n"
         "request_terminate_timeout = 1h\n"
         "request_terminate_timeout_track_finished = on\n"
         "rlimit_files = 4096\n"
         "rlimit_core = unlimited\n"
         "chroot = $prefix/root\n"
         "chdir = /www\n"
         "catch_workers_output = true\n"
         "decorate_workers_output = no\n"
         "clear_env = off\n"
         "security.limit_extensions = .php .php8\n"
         "apparmor_hat = hat\n"
         "sandbox.seccomp = " +
         policy +
         "\n"
         "env[HOSTNAME] = $HOSTNAME\n"
         "env[TMP] = /tmp/$pool\n"
         "php_value[memory_limit] = 256M\n"
         "php_flag[display_errors] = off\n"
         "php_admin_value[error_log] = /var/log/$pool.log\n"
         "php_admin_flag[log_errors] = on\n"
         "request_read_timeout = 5s\n"
         "request_write_timeout = 2m\n"
         "process.sched_policy = Idle\n";
}

std::string all_global_directives() {
  return "[global]\n"
         "pid = run/php-pool.pid\n"
         "error_log = log/php-pool.log\n"
         "syslog.facility = local3\n"
         "syslog.ident = mypool\n"
         "log_level = warn\n"
         "log_limit = 4096\n"
         "log_buffering = no\n"
         "emergency_restart_threshold = 10\n"
         "emergency_restart_interval = 1m\n"
         "process_control_timeout = 10s\n"
         "process.max = 128\n"
         "process.priority = -19\n"
         "daemonize = no\n"
         "rlimit_files = 1024\n"
         "rlimit_core = 0\n"
         "events.mechanism = epoll\n"
         "systemd_interval = 30\n";
}

TEST(Directives, EveryPoolDirective) {
  TempDir dir;
  std::string text = all_pool_directives(dir);
  Config c = testing::load_ok(dir, text);
  ASSERT_EQ(c.pools.size(), 1u);
  const PoolConfig& p = c.pools[0];
  const std::string prefix = dir.path() + "/prefix";
  EXPECT_EQ(p.name, "site");
  EXPECT_EQ(p.prefix, prefix);
  EXPECT_EQ(p.user, "alice");
  EXPECT_EQ(p.group, "web");
  EXPECT_EQ(p.listen, "127.0.0.1:9001");
  EXPECT_EQ(p.listen_backlog, 1024);
  EXPECT_EQ(p.listen_owner, "www-data");
  EXPECT_EQ(p.listen_group, "www-data");
  EXPECT_EQ(p.listen_mode, "0660");
  EXPECT_EQ(p.listen_acl_users, "alice,bob");
  EXPECT_EQ(p.listen_acl_groups, "web");
  EXPECT_EQ(p.listen_allowed_clients, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(p.process_priority, -5);
  EXPECT_EQ(p.process_sched_policy, SchedPolicy::Idle);
  EXPECT_TRUE(p.process_dumpable);
  EXPECT_EQ(p.pm, PmStyle::Dynamic);
  EXPECT_EQ(p.pm_max_children, 20);
  EXPECT_EQ(p.pm_start_servers, 4);
  EXPECT_EQ(p.pm_min_spare_servers, 2);
  EXPECT_EQ(p.pm_max_spare_servers, 6);
  EXPECT_EQ(p.pm_max_spawn_rate, 8);
  EXPECT_EQ(p.pm_process_idle_timeout, seconds(120));
  EXPECT_EQ(p.pm_max_requests, 500);
  EXPECT_EQ(p.pm_status_path, "/status");
  EXPECT_EQ(p.pm_status_listen, "127.0.0.1:9002");
  EXPECT_EQ(p.ping_path, "/ping");
  EXPECT_EQ(p.ping_response, "alive");
  EXPECT_EQ(p.access_log, prefix + "/log/site.access.log");
  EXPECT_EQ(p.access_format, "%R - %u %t \"%m %r%Q%q\" %s %f %{mili}d %{kilo}M %C%%");
  EXPECT_EQ(p.access_suppress_path, (std::vector<std::string>{"/ping", "/status"}));
  EXPECT_EQ(p.slowlog, prefix + "/log/site.slow");
  EXPECT_EQ(p.request_slowlog_timeout, seconds(5));
  EXPECT_EQ(p.request_slowlog_trace_depth, 10);
  EXPECT_EQ(p.request_terminate_timeout, seconds(3600));
  EXPECT_TRUE(p.request_terminate_timeout_track_finished);
  EXPECT_EQ(p.request_read_timeout, seconds(5));
  EXPECT_EQ(p.request_write_timeout, seconds(120));
  EXPECT_EQ(p.rlimit_files, 4096);
  EXPECT_EQ(p.rlimit_core, -1);
  EXPECT_EQ(p.chroot, prefix + "/root");
  EXPECT_EQ(p.chdir, "/www");
  EXPECT_TRUE(p.catch_workers_output);
  EXPECT_FALSE(p.decorate_workers_output);
  EXPECT_FALSE(p.clear_env);
  EXPECT_EQ(p.security_limit_extensions, (std::vector<std::string>{".php", ".php8"}));
  EXPECT_EQ(p.apparmor_hat, "hat");
  EXPECT_EQ(p.sandbox_seccomp, dir.path() + "/my.policy");
  EXPECT_EQ(p.env.at("HOSTNAME"), "$HOSTNAME");  // resolved from the manager's env at spawn
  EXPECT_EQ(p.env.at("TMP"), "/tmp/site");
  ASSERT_EQ(p.php_ini.size(), 4u);
  EXPECT_EQ(p.php_ini[0].name, "memory_limit");
  EXPECT_EQ(p.php_ini[0].value, "256M");
  EXPECT_FALSE(p.php_ini[0].admin);
  EXPECT_EQ(p.php_ini[1].name, "display_errors");
  EXPECT_EQ(p.php_ini[1].value, "0");
  EXPECT_FALSE(p.php_ini[1].admin);
  EXPECT_EQ(p.php_ini[2].name, "error_log");
  EXPECT_EQ(p.php_ini[2].value, "/var/log/site.log");
  EXPECT_TRUE(p.php_ini[2].admin);
  EXPECT_EQ(p.php_ini[3].name, "log_errors");
  EXPECT_EQ(p.php_ini[3].value, "1");
  EXPECT_TRUE(p.php_ini[3].admin);

  // each directive records where it was set
  ASSERT_NE(p.where("pm.max_children"), nullptr);
  EXPECT_EQ(p.where("pm.max_children")->line, 17);
  ASSERT_NE(p.where("php_value[memory_limit]"), nullptr);
  EXPECT_EQ(p.where("php_value[memory_limit]")->file, dir.path() + "/pool.conf");
  EXPECT_EQ(p.where("pm.max_requests")->line, 23);
  EXPECT_EQ(p.where("user")->line, 3);
  EXPECT_EQ(p.where("sandbox.seccomp")->line, 46);
  EXPECT_EQ(p.where("no.such"), nullptr);
  EXPECT_EQ(p.source.line, 1);
}

TEST(Directives, EveryKnownPoolDirectiveIsExercised) {
  TempDir dir;
  std::string text = all_pool_directives(dir);
  for (const std::string& name : detail::directive_names(detail::Scope::Pool)) {
    if (name == "include") continue;  // tests/config/include_test.cpp
    std::string needle = name.size() > 2 && name.substr(name.size() - 2) == "[]"
                             ? "\n" + name.substr(0, name.size() - 1)
                             : "\n" + name + " = ";
    EXPECT_NE(text.find(needle), std::string::npos) << name << " is not exercised";
  }
  EXPECT_EQ(detail::directive_names(detail::Scope::Pool).size(), 53u);
}

TEST(Directives, EveryGlobalDirective) {
  TempDir dir;
  std::string text = all_global_directives();
  for (const std::string& name : detail::directive_names(detail::Scope::Global)) {
    if (name == "include") continue;
    EXPECT_NE(text.find("\n" + name + " = "), std::string::npos) << name << " is not exercised";
  }
  Config c = testing::load_ok(dir, text + testing::pool(""));
  const GlobalConfig& g = c.global;
  EXPECT_EQ(g.pid, dir.path() + "/run/php-pool.pid");
  EXPECT_EQ(g.error_log, dir.path() + "/log/php-pool.log");
  EXPECT_EQ(g.syslog_facility, "local3");
  EXPECT_EQ(g.syslog_ident, "mypool");
  EXPECT_EQ(g.log_level, "warning");
  EXPECT_EQ(g.log_limit, 4096);
  EXPECT_FALSE(g.log_buffering);
  EXPECT_EQ(g.emergency_restart_threshold, 10);
  EXPECT_EQ(g.emergency_restart_interval, seconds(60));
  EXPECT_EQ(g.process_control_timeout, seconds(10));
  EXPECT_EQ(g.process_max, 128);
  EXPECT_EQ(g.process_priority, -19);
  EXPECT_FALSE(g.daemonize);
  EXPECT_EQ(g.rlimit_files, 1024);
  EXPECT_EQ(g.rlimit_core, 0);
  EXPECT_EQ(g.events_mechanism, "epoll");
  EXPECT_EQ(g.systemd_interval, seconds(30));
  EXPECT_EQ(g.where("log_limit")->line, 7);
}

TEST(Directives, UnsupportedDirectivesAreAcceptedWithAWarningNamingThem) {
  TempDir dir;
  Config c = testing::load_ok(dir, all_global_directives() + testing::pool("listen.acl_users = a\n"
                                                                           "listen.acl_groups = b\n"
                                                                           "apparmor_hat = h\n"
                                                                           "listen.setfib = 3\n"));
  std::string file = dir.path() + "/pool.conf";
  std::vector<std::pair<int, std::string>> expected = {{2, "pid"},
                                                       {8, "log_buffering"},
                                                       {14, "daemonize"},
                                                       {17, "events.mechanism"},
                                                       {23, "listen.acl_users"},
                                                       {24, "listen.acl_groups"},
                                                       {25, "apparmor_hat"},
                                                       {26, "listen.setfib"}};
  for (const auto& [line, name] : expected) {
    EXPECT_TRUE(testing::has_fragment(c.warnings, file, line, "'" + name + "' is ignored: "))
        << name << "\n"
        << testing::all_messages(c.warnings);
  }
  EXPECT_EQ(c.warnings.size(), expected.size()) << testing::all_messages(c.warnings);
  EXPECT_TRUE(testing::has(c.warnings, file, 2,
                           "'pid' is ignored: systemd tracks the manager; no pid file is written"));
}

TEST(Directives, UnknownDirectiveSuggestsTheNearestKnownOne) {
  TempDir dir;
  std::string file = dir.write("www.conf", testing::pool("pm.max_chlidren = 10\n"
                                                         "lisen.owner = x\n"
                                                         "php_vaule[memory_limit] = 1G\n"
                                                         "totally_unknown_thing = 1\n"
                                                         "[global]\n"
                                                         "log_lvel = debug\n"));
  LoadResult r = load(file);
  EXPECT_FALSE(r.config);
  EXPECT_ERROR(r, file, 5, "unknown directive 'pm.max_chlidren' (did you mean 'pm.max_children'?)");
  EXPECT_ERROR(r, file, 6, "unknown directive 'lisen.owner' (did you mean 'listen.owner'?)");
  EXPECT_ERROR(r, file, 7,
               "unknown directive 'php_vaule[memory_limit]' (did you mean "
               "'php_value[memory_limit]'?)");
  EXPECT_ERROR(r, file, 8, "unknown directive 'totally_unknown_thing'");
  EXPECT_ERROR(r, file, 10, "unknown directive 'log_lvel' (did you mean 'log_level'?)");
  // the formatted form, as --test prints it
  EXPECT_EQ(r.errors[0].format(),
            file + ":5: unknown directive 'pm.max_chlidren' (did you mean 'pm.max_children'?)");
}

TEST(Directives, DirectivesInTheWrongSection) {
  TempDir dir;
  std::string file = dir.write(
      "x.conf", "pm = static\n[global]\nphp_value[x] = 1\n" + testing::pool("pid = /run/x.pid\n"));
  LoadResult r = load(file);
  EXPECT_ERROR(r, file, 1,
               "'pm' is a pool directive; it cannot be used in the [global] section (add a "
               "[pool] section before it)");
  EXPECT_ERROR(r, file, 3, "'php_value[x]': arrays are not allowed in the [global] section");
  EXPECT_ERROR(r, file, 8, "'pid' is a global directive; move it to the [global] section");
}

TEST(Directives, NamesAreCaseInsensitiveLikePhpFpm) {
  TempDir dir;
  Config c = testing::load_ok(dir, "[WWW]\nLISTEN = 9000\nPm = Static\nPM.Max_Children = 3\n");
  EXPECT_EQ(c.pools[0].pm, PmStyle::Static);
  EXPECT_EQ(c.pools[0].pm_max_children, 3);
  EXPECT_EQ(c.pools[0].listen, "9000");
}

TEST(Directives, SecondLineForOneKeyIsIgnoredAsInPhpFpm) {
  TempDir dir;
  Config c = testing::load_ok(dir, testing::pool("env[A] = first\n"          // 5
                                                 "env[A] = second\n"         // 6
                                                 "php_flag[x] = on\n"        // 7
                                                 "php_value[x] = 0\n"        // 8
                                                 "php_admin_value[x] = 2\n"  // 9: another list
                                                 "php_admin_value[extension] = a.so\n"
                                                 "php_admin_value[extension] = b.so\n"));
  const PoolConfig& p = c.pools[0];
  EXPECT_EQ(p.env.at("A"), "first");
  ASSERT_EQ(p.php_ini.size(), 5u);  // all kept: the worker applies them in php-fpm's order
  std::string file = dir.path() + "/pool.conf";
  EXPECT_EQ(testing::all_messages(c.warnings),
            file + ":6: 'env[A]' is set again and ignored: the first value, at " + file +
                ":5, stays (as in php-fpm)\n" + file +
                ":8: 'php_value[x]' is set again and ignored: the first value, at " + file +
                ":7, stays (as in php-fpm)\n");
  EXPECT_EQ(p.where("env[A]")->line, 5);
  // -tt lists what the workers apply
  std::string tt = format_effective(c, "www");
  EXPECT_NE(tt.find("\tphp_value[x] = 1\n"), std::string::npos) << tt;
  EXPECT_EQ(tt.find("\tphp_value[x] = 0\n"), std::string::npos) << tt;
  EXPECT_NE(tt.find("\tphp_admin_value[x] = 2\n"), std::string::npos) << tt;
  EXPECT_NE(tt.find("\tphp_admin_value[extension] = b.so\n"), std::string::npos) << tt;
}

TEST(Directives, ArraysAreCaseSensitive) {
  TempDir dir;
  std::string file = dir.write("x.conf", testing::pool("PHP_VALUE[x] = 1\n"));
  LoadResult r = load(file);
  EXPECT_ERROR(r, file, 5, "unknown directive 'PHP_VALUE[x]' (did you mean 'php_value[x]'?)");
}

TEST(Directives, InvalidValuesNameTheDirectiveAndLine) {
  TempDir dir;
  std::string file = dir.write("bad.conf",
                               "[global]\n"
                               "log_level = loud\n"
                               "syslog.facility = nowhere\n"
                               "process.priority = 30\n"
                               "log_limit = lots\n" +
                                   testing::pool("pm = sometimes\n"
                                                 "pm.max_children = five\n"
                                                 "pm.process_idle_timeout = 10y\n"
                                                 "clear_env = maybe\n"
                                                 "listen.mode = rw-rw----\n"
                                                 "listen.allowed_clients = 127.0.0.1, localhost\n"
                                                 "rlimit_core = -2\n"
                                                 "rlimit_files = -1\n"
                                                 "process.priority = -20\n"
                                                 "sandbox.seccomp = relative.policy\n"
                                                 "sandbox.seccomp = /nonexistent/x.policy\n"
                                                 "php_flag[display_errors] = perhaps\n"
                                                 "env[EMPTY] = \n"
                                                 "php_value[] = 1\n"
                                                 "access.suppress_path[key] = /x\n"
                                                 "access.suppress_path[] = relative\n"
                                                 "request_terminate_timeout = \n"
                                                 "listen.backlog = 1.5\n"
                                                 "ping.response = \"unterminated\n"
                                                 "pm.status_path = $pool\n"
                                                 "process.sched_policy = fifo\n"));
  LoadResult r = load(file);
  ASSERT_FALSE(r.config);
  EXPECT_ERROR(r, file, 2,
               "invalid value for 'log_level': invalid value 'loud' for 'log_level' (alert, "
               "error, warning, notice, debug)");
  EXPECT_ERROR(r, file, 3,
               "invalid value for 'syslog.facility': invalid syslog facility 'nowhere'");
  EXPECT_ERROR(r, file, 4,
               "invalid value for 'process.priority': process.priority must be included into "
               "[-19,20]");
  EXPECT_ERROR(r, file, 5,
               "invalid value for 'log_limit': 'lots' is not a valid number (greater or equal "
               "than zero)");
  EXPECT_ERROR(r, file, 10,
               "invalid value for 'pm': invalid process manager 'sometimes' (static, dynamic or "
               "ondemand)");
  EXPECT_ERROR_FRAGMENT(r, file, 11, "invalid value for 'pm.max_children': 'five' is not a valid");
  EXPECT_ERROR(r, file, 12,
               "invalid value for 'pm.process_idle_timeout': invalid time value '10y' (a number "
               "with an optional suffix s, m, h or d)");
  EXPECT_ERROR(r, file, 13,
               "invalid value for 'clear_env': invalid boolean value 'maybe' (yes/no, on/off, "
               "true/false, 1/0)");
  EXPECT_ERROR(r, file, 14,
               "invalid value for 'listen.mode': invalid mode 'rw-rw----': expected an octal "
               "mode such as 0660");
  EXPECT_ERROR(r, file, 15,
               "invalid value for 'listen.allowed_clients': 'localhost' is not an IPv4 or IPv6 "
               "address");
  EXPECT_ERROR(r, file, 16,
               "invalid value for 'rlimit_core': must be greater than zero or 'unlimited'");
  EXPECT_ERROR_FRAGMENT(r, file, 17, "invalid value for 'rlimit_files'");
  EXPECT_ERROR_FRAGMENT(r, file, 18, "process.priority must be included into [-19,20]");
  EXPECT_ERROR(r, file, 19,
               "invalid value for 'sandbox.seccomp': invalid value 'relative.policy': expected "
               "default, strict, off or the absolute path of a policy file");
  EXPECT_ERROR(r, file, 20,
               "invalid value for 'sandbox.seccomp': the seccomp policy file "
               "'/nonexistent/x.policy' does not exist or is not a regular file");
  EXPECT_ERROR(r, file, 21,
               "error while parsing 'php_flag[display_errors]': invalid boolean value 'perhaps'");
  EXPECT_ERROR(r, file, 22, "'env[EMPTY]': empty value");
  EXPECT_ERROR(r, file, 23,
               "you must provide a key for field 'php_value' (php_value[KEY] = value)");
  EXPECT_ERROR_FRAGMENT(r, file, 24, "keys provided to field 'access.suppress_path' are ignored");
  EXPECT_ERROR(r, file, 25, "values provided to field 'access.suppress_path' must begin with '/'");
  EXPECT_ERROR(r, file, 26, "invalid value for 'request_terminate_timeout': invalid time value ''");
  EXPECT_ERROR_FRAGMENT(r, file, 27, "'1.5' is not a valid number");
  EXPECT_ERROR(r, file, 28, "'ping.response': syntax error: unterminated double-quoted string");
  EXPECT_ERROR(r, file, 30,
               "invalid value for 'process.sched_policy': invalid scheduling policy 'fifo' "
               "(batch, other, idle or inherit)");
  // every error is reported, not just the first (line 29 is valid: $pool expands)
  EXPECT_EQ(r.errors.size(), 25u) << testing::all_messages(r.errors);
}

TEST(Directives, SchedPolicyDefaultsToBatch) {
  TempDir dir;
  EXPECT_EQ(testing::load_ok(dir, testing::pool("")).pools[0].process_sched_policy,
            SchedPolicy::Batch);
  for (auto [v, want] : {std::pair{"other", SchedPolicy::Other},
                         {"inherit", SchedPolicy::Inherit},
                         {"BATCH", SchedPolicy::Batch}}) {
    Config c =
        testing::load_ok(dir, testing::pool(std::string("process.sched_policy = ") + v + "\n"));
    EXPECT_EQ(c.pools[0].process_sched_policy, want) << v;
  }
}

TEST(Directives, SeccompKeywords) {
  TempDir dir;
  for (const char* v : {"default", "strict", "off"}) {
    Config c = testing::load_ok(dir, testing::pool(std::string("sandbox.seccomp = ") + v + "\n"));
    EXPECT_EQ(c.pools[0].sandbox_seccomp, v);
  }
  Config c = testing::load_ok(dir, testing::pool(""));
  EXPECT_EQ(c.pools[0].sandbox_seccomp, "default");  // secure by default
}

TEST(Directives, PoolNameExpansion) {
  TempDir dir;
  Config c = testing::load_ok(dir,
                              "[alpha]\nlisten = /run/$pool.sock\nuser = $pool\n"
                              "pm = static\npm.max_children = 1\n"
                              "php_value[session.save_path] = /var/lib/php/$pool/$pool\n"
                              "php_flag[x] = on\n"
                              "[beta]\nlisten = /run/$pool.sock\npm = ondemand\n"
                              "pm.max_children = 1\n");
  EXPECT_EQ(c.pools[0].listen, "/run/alpha.sock");
  EXPECT_EQ(c.pools[0].user, "alpha");
  EXPECT_EQ(c.pools[0].php_ini[0].value, "/var/lib/php/alpha/alpha");
  EXPECT_EQ(c.pools[1].listen, "/run/beta.sock");

  std::string file =
      dir.write("g.conf", "[global]\nerror_log = /var/log/$pool.log\n" + testing::pool(""));
  LoadResult r = load(file);
  EXPECT_ERROR(r, file, 2, "'error_log': can't use '$pool' when the pool is not defined");
}

TEST(Directives, SectionNamesAreExpandedAsPhpFpmDoes) {
  // php-fpm's ini scanner expands ${VAR} and quoted parts in [section] names (checked against
  // php-fpm8.2 -tt: [${POOLNAME}] is pool "site", [pre_"${POOLNAME}"_x] is "pre_site_x").
  TempDir dir;
  setenv("PHP_POOL_TEST_POOLNAME", "site", 1);
  unsetenv("PHP_POOL_TEST_UNSET_POOL");
  Config c = testing::load_ok(dir,
                              "[${PHP_POOL_TEST_POOLNAME}]\nlisten = /run/$pool.sock\n"
                              "pm = static\npm.max_children = 1\n"
                              "[pre_\"${PHP_POOL_TEST_POOLNAME}\"_x]\nlisten = /run/$pool.sock\n"
                              "pm = static\npm.max_children = 1\n"
                              "['${literal}']\nlisten = /run/lit.sock\npm = static\n"
                              "pm.max_children = 1\n");
  ASSERT_EQ(c.pools.size(), 3u);
  EXPECT_EQ(c.pools[0].name, "site");
  EXPECT_EQ(c.pools[0].listen, "/run/site.sock");
  EXPECT_EQ(c.pools[1].name, "pre_site_x");
  EXPECT_EQ(c.pools[1].listen, "/run/pre_site_x.sock");
  EXPECT_EQ(c.pools[2].name, "${literal}");

  std::string file = dir.write("bad.conf", "[${PHP_POOL_TEST_UNSET_POOL}]\nlisten = 1\n" +
                                               testing::pool("") + "[${OPEN]\nlisten = 2\n");
  LoadResult r = load(file);
  EXPECT_FALSE(r.config);
  EXPECT_ERROR(r, file, 1,
               "[${PHP_POOL_TEST_UNSET_POOL}]: the section name is empty once expanded");
  EXPECT_ERROR(r, file, 7, "[${OPEN]: syntax error: unterminated '${'");
}

TEST(Directives, QuotedAndExpandedValues) {
  TempDir dir;
  setenv("PHP_POOL_TEST_SOCK", "/run/from-env.sock", 1);
  Config c = testing::load_ok(
      dir, testing::pool("ping.path = /ping\n"
                         "ping.response = \"pong ; with \\\"quotes\\\"\" ; comment\n"
                         "pm.status_listen = ${PHP_POOL_TEST_SOCK}\n"
                         "php_admin_value[error_reporting] = E_ALL & ~E_DEPRECATED & ~E_STRICT\n"
                         "php_value[include_path] = '.:/usr/share/php'\n"));
  const PoolConfig& p = c.pools[0];
  EXPECT_EQ(p.ping_response, "pong ; with \"quotes\"");
  EXPECT_EQ(p.pm_status_listen, "/run/from-env.sock");
  EXPECT_EQ(p.php_ini[0].value, "22527");
  EXPECT_EQ(p.php_ini[1].value, ".:/usr/share/php");
}

TEST(Directives, BooleanSpellings) {
  TempDir dir;
  for (const char* t : {"yes", "on", "true", "1", "YES", "\"yes\"", "On"}) {
    Config c = testing::load_ok(dir, testing::pool(std::string("catch_workers_output = ") + t +
                                                   "\nclear_env = " + t + "\n"));
    EXPECT_TRUE(c.pools[0].catch_workers_output) << t;
    EXPECT_TRUE(c.pools[0].clear_env) << t;
  }
  for (const char* f : {"no", "off", "false", "0", "none", "", "\"off\""}) {
    Config c = testing::load_ok(dir, testing::pool(std::string("catch_workers_output = ") + f +
                                                   "\nclear_env = " + f + "\n"));
    EXPECT_FALSE(c.pools[0].catch_workers_output) << f;
    EXPECT_FALSE(c.pools[0].clear_env) << f;
  }
}

TEST(Directives, TimeSuffixes) {
  TempDir dir;
  Config c = testing::load_ok(dir, testing::pool("request_terminate_timeout = 2d\n"
                                                 "request_slowlog_timeout = 90\n"
                                                 "slowlog = /var/log/slow.log\n"
                                                 "pm.process_idle_timeout = 3h\n"
                                                 "[global]\nprocess_control_timeout = 15m\n"
                                                 "emergency_restart_interval = 45s\n"));
  EXPECT_EQ(c.pools[0].request_terminate_timeout, seconds(2 * 86400));
  EXPECT_EQ(c.pools[0].request_slowlog_timeout, seconds(90));
  EXPECT_EQ(c.pools[0].pm_process_idle_timeout, seconds(3 * 3600));
  EXPECT_EQ(c.global.process_control_timeout, seconds(900));
  EXPECT_EQ(c.global.emergency_restart_interval, seconds(45));
}

TEST(Directives, RlimitValues) {
  TempDir dir;
  Config c = testing::load_ok(dir, testing::pool("rlimit_core = 0\nrlimit_files = 0\n"));
  EXPECT_EQ(c.pools[0].rlimit_core, std::nullopt);  // php-fpm: 0 = leave the limit alone
  EXPECT_EQ(c.pools[0].rlimit_files, std::nullopt);
  c = testing::load_ok(dir,
                       testing::pool("rlimit_core = 1000\n[global]\nrlimit_core = UNLIMITED\n"));
  EXPECT_EQ(c.pools[0].rlimit_core, 1000);
  EXPECT_EQ(c.global.rlimit_core, -1);
}

TEST(Directives, DirectivesBeforeAnySectionAreGlobal) {
  TempDir dir;
  Config c = testing::load_ok(dir, "log_level = debug\n" + testing::pool(""));
  EXPECT_EQ(c.global.log_level, "debug");
}

TEST(Directives, ASectionSeenAgainContinuesThatPool) {
  TempDir dir;
  Config c = testing::load_ok(dir,
                              "[www]\nlisten = 1\n[global]\nlog_level = error\n[WWW]\npm = static\n"
                              "pm.max_children = 1\n");
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].listen, "1");
  EXPECT_EQ(c.pools[0].pm, PmStyle::Static);
  EXPECT_EQ(c.pools[0].source.line, 1);
}

TEST(Directives, LastValueWins) {
  TempDir dir;
  Config c = testing::load_ok(dir, testing::pool("pm.max_children = 3\npm.max_children = 9\n"));
  EXPECT_EQ(c.pools[0].pm_max_children, 9);
  EXPECT_EQ(c.pools[0].where("pm.max_children")->line, 6);
}

TEST(Directives, LongPhpAdminValueLineIsIntact) {
  TempDir dir;
  std::string functions;
  for (int i = 0; functions.size() < 600; ++i)
    functions += "function_number_" + std::to_string(i) + ",";
  functions.resize(600);
  Config c =
      testing::load_ok(dir, testing::pool("    php_admin_value[disable_functions] = " + functions +
                                          "\n"
                                          "  pm.max_children = 7\n"));
  ASSERT_EQ(c.pools[0].php_ini.size(), 1u);
  EXPECT_EQ(c.pools[0].php_ini[0].name, "disable_functions");
  EXPECT_EQ(c.pools[0].php_ini[0].value, functions);
  EXPECT_EQ(c.pools[0].pm_max_children, 7);
  EXPECT_EQ(c.pools[0].where("pm.max_children")->line, 6);
}

TEST(Directives, ErrorsAfterALongLineKeepTheirPhysicalLine) {
  TempDir dir;
  std::string file =
      dir.write("w.conf", testing::pool("php_admin_value[x] = " + std::string(1000, 'v') +
                                        "\n"
                                        "php_admin_value[y] = " +
                                        std::string(450, 'w') +
                                        "\n"
                                        "pm.max_chlidren = 1\n"));
  LoadResult r = load(file);
  EXPECT_ERROR(r, file, 7, "unknown directive 'pm.max_chlidren' (did you mean 'pm.max_children'?)");
}

}  // namespace
}  // namespace php_pool::config
