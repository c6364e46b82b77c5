// php-fpm's validation rules, each with its message and the line it points at.
#include <gtest/gtest.h>

#include "test_util.hpp"

namespace php_pool::config {
namespace {

using testing::TempDir;

struct Loaded {
  std::string file;
  LoadResult r;
};

Loaded load_text(const TempDir& dir, const std::string& text, const LoadOptions& o = {}) {
  std::string file = dir.write("www.conf", text);
  return {file, load(file, o)};
}

TEST(Validate, ProcessManagerAndMaxChildrenAreRequired) {
  TempDir dir;
  auto [file, r] = load_text(dir, "\n[www]\nlisten = 9000\n");
  EXPECT_ERROR(r, file, 2,
               "[pool www] the process manager is missing (static, dynamic or ondemand)");
  EXPECT_ERROR(r, file, 2, "[pool www] pm.max_children is not set (it must be a positive value)");
}

TEST(Validate, AnInvalidValueIsReportedOnce) {
  TempDir dir;
  auto [file, r] = load_text(dir, "[www]\nlisten = 9000\npm = sometimes\npm.max_children = x\n");
  EXPECT_ERROR_FRAGMENT(r, file, 3, "invalid process manager 'sometimes'");
  EXPECT_ERROR_FRAGMENT(r, file, 4, "'x' is not a valid number");
  EXPECT_EQ(r.errors.size(), 2u) << testing::all_messages(r.errors);
}

TEST(Validate, MaxChildrenMustBePositive) {
  TempDir dir;
  auto [file, r] = load_text(dir, "[www]\nlisten = 9000\npm = static\npm.max_children = 0\n");
  EXPECT_ERROR(r, file, 4, "[pool www] pm.max_children must be a positive value");
  auto [file2, r2] = load_text(dir, "[www]\nlisten = 9000\npm = static\npm.max_children = -3\n");
  EXPECT_ERROR(r2, file2, 4, "[pool www] pm.max_children must be a positive value");
}

std::string dynamic(const std::string& spares) {
  return "[www]\nlisten = 9000\npm = dynamic\npm.max_children = 10\n" + spares;
}

TEST(Validate, DynamicSpareServersMustBePositive) {
  TempDir dir;
  auto [file, r] = load_text(dir, dynamic("pm.min_spare_servers = 0\npm.max_spare_servers = -1\n"));
  EXPECT_ERROR(r, file, 5, "[pool www] pm.min_spare_servers(0) must be a positive value");
  EXPECT_ERROR(r, file, 6, "[pool www] pm.max_spare_servers(-1) must be a positive value");
  // unset spare servers are 0 as in php-fpm: the error points at the section
  auto [file2, r2] = load_text(dir, dynamic(""));
  EXPECT_ERROR(r2, file2, 1, "[pool www] pm.min_spare_servers(0) must be a positive value");
}

TEST(Validate, DynamicSpareServersWithinMaxChildren) {
  TempDir dir;
  auto [file, r] = load_text(dir, dynamic("pm.min_spare_servers = 2\npm.max_spare_servers = 11\n"));
  EXPECT_ERROR(r, file, 6,
               "[pool www] pm.min_spare_servers(2) and pm.max_spare_servers(11) cannot be greater "
               "than pm.max_children(10)");
}

TEST(Validate, DynamicMinSpareNotAboveMaxSpare) {
  TempDir dir;
  auto [file, r] = load_text(dir, dynamic("pm.min_spare_servers = 5\npm.max_spare_servers = 3\n"));
  EXPECT_ERROR(r, file, 6,
               "[pool www] pm.max_spare_servers(3) must not be less than pm.min_spare_servers(5)");
}

TEST(Validate, DynamicStartServersDefaultIsComputedAsPhpFpmDoes) {
  TempDir dir;
  Config c = testing::load_ok(dir, dynamic("pm.min_spare_servers = 2\npm.max_spare_servers = 7\n"));
  EXPECT_EQ(c.pools[0].pm_start_servers, 4);  // 2 + (7 - 2) / 2
  c = testing::load_ok(dir, dynamic("pm.min_spare_servers = 1\npm.max_spare_servers = 3\n"
                                    "pm.start_servers = 0\n"));
  EXPECT_EQ(c.pools[0].pm_start_servers, 2);
}

TEST(Validate, DynamicStartServersBetweenMinAndMaxSpare) {
  TempDir dir;
  auto [file, r] = load_text(dir, dynamic("pm.min_spare_servers = 2\npm.max_spare_servers = 4\n"
                                          "pm.start_servers = 5\n"));
  EXPECT_ERROR(r, file, 7,
               "[pool www] pm.start_servers(5) must not be less than pm.min_spare_servers(2) and "
               "not greater than pm.max_spare_servers(4)");
  auto [file2, r2] = load_text(dir, dynamic("pm.min_spare_servers = 2\npm.max_spare_servers = 4\n"
                                            "pm.start_servers = 1\n"));
  EXPECT_ERROR_FRAGMENT(r2, file2, 7, "pm.start_servers(1) must not be less than");
}

TEST(Validate, DynamicSpawnRate) {
  TempDir dir;
  auto [file, r] = load_text(dir, dynamic("pm.min_spare_servers = 1\npm.max_spare_servers = 3\n"
                                          "pm.max_spawn_rate = 0\n"));
  EXPECT_ERROR(r, file, 7, "[pool www] pm.max_spawn_rate must be a positive value");
}

TEST(Validate, OndemandIdleTimeoutAndBacklog) {
  TempDir dir;
  std::string base = "[www]\nlisten = 9000\npm = ondemand\npm.max_children = 10\n";
  auto [file, r] = load_text(dir, base + "pm.process_idle_timeout = 0\n");
  EXPECT_ERROR(r, file, 5, "[pool www] pm.process_idle_timeout(0s) must be greater than 0s");

  Config c = testing::load_ok(dir, base + "listen.backlog = 100\npm.min_spare_servers = 3\n");
  EXPECT_EQ(c.pools[0].pm_min_spare_servers, 0);  // unused by ondemand
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0].format(),
            dir.path() +
                "/pool.conf:5: [pool www] listen.backlog(100) is too low for the "
                "ondemand process manager (511 or more is recommended)");
  EXPECT_EQ(c.pools[0].pm_process_idle_timeout, std::chrono::seconds(10));

  // php-fpm's default on Linux, -1, is the kernel's limit: nothing to warn about
  Config d = testing::load_ok(dir, base);
  EXPECT_EQ(d.pools[0].listen_backlog, -1);
  EXPECT_TRUE(d.warnings.empty()) << testing::all_messages(d.warnings);
}

TEST(Validate, DumpableWorkersAreWarnedAbout) {
  TempDir dir;
  std::string base = "[www]\nlisten = 9000\npm = static\npm.max_children = 2\n";
  Config c = testing::load_ok(dir, base + "process.dumpable = yes\n");
  ASSERT_EQ(c.warnings.size(), 1u) << testing::all_messages(c.warnings);
  EXPECT_EQ(c.warnings[0].format(),
            dir.path() +
                "/pool.conf:5: [pool www] process.dumpable = yes lets a script read and write "
                "the memory of the pool's other workers through /proc/PID/mem, which "
                "sandbox.seccomp does not stop");
  // without a filter there is nothing it bypasses
  Config off = testing::load_ok(dir, base + "process.dumpable = yes\nsandbox.seccomp = off\n");
  EXPECT_TRUE(off.warnings.empty()) << testing::all_messages(off.warnings);
}

TEST(Validate, StaticNeedsNoSpares) {
  TempDir dir;
  Config c = testing::load_ok(dir, "[www]\nlisten = 9000\npm = static\npm.max_children = 3\n");
  EXPECT_EQ(c.pools[0].pm, PmStyle::Static);
}

TEST(Validate, ListenIsRequired) {
  TempDir dir;
  auto [file, r] = load_text(dir, "; x\n[www]\npm = static\npm.max_children = 3\n");
  EXPECT_ERROR(r, file, 2, "[pool www] no listen address have been defined!");
  auto [file2, r2] = load_text(dir, "[www]\nlisten =\npm = static\npm.max_children = 3\n");
  EXPECT_ERROR(r2, file2, 2, "[pool www] no listen address have been defined!");
}

TEST(Validate, ListenAddressForms) {
  TempDir dir;
  for (const char* ok :
       {"9000", "127.0.0.1:9000", "[::1]:9000", "localhost:9000", "*:80", "/run/php/a.sock"}) {
    Config c = testing::load_ok(
        dir, std::string("[www]\npm = static\npm.max_children = 1\nlisten = ") + ok + "\n");
    EXPECT_EQ(c.pools[0].listen, ok);
  }
  auto [file, r] = load_text(dir,
                             "[www]\npm = static\npm.max_children = 1\nlisten = 1.2.3.4:99999\n"
                             "pm.status_listen = 127.0.0.1:http\n");
  EXPECT_ERROR(r, file, 4,
               "[pool www] invalid listen '1.2.3.4:99999': port 99999 is out of range (1-65535)");
  EXPECT_ERROR(r, file, 5,
               "[pool www] invalid pm.status_listen '127.0.0.1:http': invalid port 'http'");
}

TEST(Validate, RelativeUnixSocketResolvesAgainstThePrefix) {
  TempDir dir;
  dir.mkdir("p");
  Config c =
      testing::load_ok(dir, "[www]\npm = static\npm.max_children = 1\nlisten = run/$pool.sock\n");
  EXPECT_EQ(c.pools[0].listen, dir.path() + "/run/www.sock");
  c = testing::load_ok(dir,
                       "[www]\npm = static\npm.max_children = 1\nlisten = run/$pool.sock\n"
                       "prefix = p\n");
  EXPECT_EQ(c.pools[0].prefix, dir.path() + "/p");
  EXPECT_EQ(c.pools[0].listen, dir.path() + "/p/run/www.sock");
}

TEST(Validate, PrefixMustExist) {
  TempDir dir;
  auto [file, r] = load_text(dir, testing::pool("prefix = /nonexistent/prefix\n"));
  EXPECT_ERROR(r, file, 5,
               "[pool www] the prefix '/nonexistent/prefix' does not exist or is not a directory");
}

TEST(Validate, StatusPath) {
  TempDir dir;
  auto [file, r] = load_text(dir, testing::pool("pm.status_path = status\n"));
  EXPECT_ERROR(r, file, 5, "[pool www] the status path 'status' must start with a '/'");
  auto [f2, r2] = load_text(dir, testing::pool("pm.status_path = /\n"));
  EXPECT_ERROR(r2, f2, 5, "[pool www] the status path '/' is not long enough");
  auto [f3, r3] = load_text(dir, testing::pool("pm.status_path = /st@tus\n"));
  EXPECT_ERROR(r3, f3, 5,
               "[pool www] the status path '/st@tus' must contain only the following characters "
               "'[alphanum]/_-.~'");
  // with its own listener, '/' is long enough
  testing::load_ok(dir, testing::pool("pm.status_path = /\npm.status_listen = /run/st.sock\n"));
  Config c = testing::load_ok(dir, testing::pool("pm.status_path = \"/fpm-status.php~_\"\n"));
  EXPECT_EQ(c.pools[0].pm_status_path, "/fpm-status.php~_");
}

TEST(Validate, PingPathAndResponse) {
  TempDir dir;
  auto [file, r] = load_text(dir, testing::pool("ping.path = ping\n"));
  EXPECT_ERROR(r, file, 5, "[pool www] the ping path 'ping' must start with a '/'");
  auto [f2, r2] = load_text(dir, testing::pool("ping.path = /\n"));
  EXPECT_ERROR(r2, f2, 5, "[pool www] the ping path '/' is not long enough");
  auto [f3, r3] = load_text(dir, testing::pool("ping.path = /p?ng\n"));
  EXPECT_ERROR_FRAGMENT(r3, f3, 5, "must contain only the following characters");
  auto [f4, r4] = load_text(dir, testing::pool("ping.path = /ping\nping.response = \"\"\n"));
  EXPECT_ERROR(r4, f4, 6, "[pool www] the ping response page '' is not long enough");
  Config c = testing::load_ok(dir, testing::pool("ping.path = /ping\n"));
  EXPECT_EQ(c.pools[0].ping_response, "pong");
}

TEST(Validate, AccessLogAndFormat) {
  TempDir dir;
  Config c = testing::load_ok(dir, testing::pool("access.log = log/$pool.access.log\n"));
  EXPECT_EQ(c.pools[0].access_log, dir.path() + "/log/www.access.log");
  EXPECT_EQ(c.pools[0].access_format, "%R - %u %t \"%m %r\" %s");
  struct Case {
    const char* format;
    const char* why;
  } cases[] = {
      {"%R %Z", "unknown format '%Z'"},
      {"%{user}C %{nope}C",
       "only 'total', 'user' or 'system' are allowed as a modifier for %C ('nope')"},
      {"%{hours}d",
       "only 'seconds', 'milli', 'miliseconds', 'micro' or 'microseconds' are allowed as a "
       "modifier for %d ('hours')"},
      {"%{tera}M",
       "only 'bytes', 'kilo', 'kilobytes', 'mega' or 'megabytes' are allowed as a modifier for %M "
       "('tera')"},
      {"%e", "the name of the environment variable must be set between embraces for %e"},
      {"%o", "the name of the header must be set between embraces for %o"},
      {"%{unclosed", "missing closing embrace after '%{'"},
      {"100%", "the format ends with a lone '%'"},
  };
  for (const auto& k : cases) {
    auto [file, r] =
        load_text(dir, testing::pool("access.log = /var/log/a.log\naccess.format = \"" +
                                     std::string(k.format) + "\"\n"));
    EXPECT_ERROR(
        r, file, 6,
        "[pool www] wrong format for access.format '" + std::string(k.format) + "': " + k.why);
  }
  // without access.log the format is not used, as in php-fpm
  testing::load_ok(dir, testing::pool("access.format = \"%Z\"\n"));
  testing::load_ok(
      dir, testing::pool("access.log = /a.log\naccess.format = \"%{HTTP_HOST}e %{Content-Type}o "
                         "%{%Y-%m-%d}t %{micro}d %{mega}M %{total}C %T %n %p %P %l %q %Q\"\n"));
}

TEST(Validate, SlowlogRules) {
  TempDir dir;
  auto [file, r] = load_text(dir, testing::pool("request_slowlog_timeout = 5s\n"));
  EXPECT_ERROR(r, file, 5,
               "[pool www] 'slowlog' must be specified for use with 'request_slowlog_timeout'");
  auto [f2, r2] = load_text(dir, testing::pool("slowlog = /var/log/slow.log\n"
                                               "request_terminate_timeout = 10s\n"
                                               "request_slowlog_timeout = 1m\n"));
  EXPECT_ERROR(r2, f2, 7,
               "[pool www] 'request_slowlog_timeout' (60) can't be greater than "
               "'request_terminate_timeout' (10)");
  auto [f3, r3] = load_text(dir, testing::pool("request_slowlog_trace_depth = 5\n"));
  EXPECT_ERROR(r3, f3, 5,
               "[pool www] 'slowlog' must be specified for use with 'request_slowlog_trace_depth'");
  auto [f4, r4] =
      load_text(dir, testing::pool("slowlog = s.log\nrequest_slowlog_trace_depth = -2\n"));
  EXPECT_ERROR(r4, f4, 6, "[pool www] 'request_slowlog_trace_depth' (-2) must be a positive value");
  Config c =
      testing::load_ok(dir, testing::pool("slowlog = log/$pool.slow\nrequest_slowlog_timeout = 3\n"
                                          "request_slowlog_trace_depth = 0\n"));
  EXPECT_EQ(c.pools[0].slowlog, dir.path() + "/log/www.slow");
  EXPECT_EQ(c.pools[0].request_slowlog_trace_depth, 20);  // 0 = php-fpm's default
}

TEST(Validate, ChrootAndChdir) {
  TempDir dir;
  dir.mkdir("jail/srv/www");
  dir.mkdir("plain");
  Config c = testing::load_ok(dir, testing::pool("chroot = $prefix/jail\nchdir = /srv/www\n"));
  EXPECT_EQ(c.pools[0].chroot, dir.path() + "/jail");
  EXPECT_EQ(c.pools[0].chdir, "/srv/www");
  c = testing::load_ok(dir, testing::pool("chdir = plain\n"));
  EXPECT_EQ(c.pools[0].chdir, dir.path() + "/plain");

  auto [file, r] = load_text(dir, testing::pool("chroot = /jail/$prefix\n"));
  EXPECT_ERROR(r, file, 5, "[pool www] '$prefix' must be used at the beginning of the value");
  auto [f2, r2] = load_text(dir, testing::pool("chroot = /nonexistent/jail\n"));
  EXPECT_ERROR(
      r2, f2, 5,
      "[pool www] the chroot path '/nonexistent/jail' does not exist or is not a directory");
  auto [f3, r3] = load_text(dir, testing::pool("chdir = /nonexistent/dir\n"));
  EXPECT_ERROR(r3, f3, 5,
               "[pool www] the chdir path '/nonexistent/dir' does not exist or is not a directory");
  auto [f4, r4] =
      load_text(dir, testing::pool("chroot = " + dir.path() + "/jail\nchdir = /plain\n"));
  EXPECT_ERROR(r4, f4, 6,
               "[pool www] the chdir path '/plain' within the chroot path '" + dir.path() +
                   "/jail' ('" + dir.path() +
                   "/jail//plain') does not exist or is not a directory");
}

TEST(Validate, RelativePhpIniPathsResolveAgainstThePrefix) {
  TempDir dir;
  dir.mkdir("jail");
  Config c = testing::load_ok(
      dir, testing::pool("php_admin_value[error_log] = log/php.log\n"
                         "php_value[soap.wsdl_cache_dir] = cache\n"
                         "php_value[memory_limit] = 128M\n"
                         "php_admin_value[sendmail_path] = /usr/sbin/sendmail -t\n"));
  EXPECT_EQ(c.pools[0].php_ini[0].value, dir.path() + "/log/php.log");
  EXPECT_EQ(c.pools[0].php_ini[1].value, dir.path() + "/cache");
  EXPECT_EQ(c.pools[0].php_ini[2].value, "128M");
  EXPECT_EQ(c.pools[0].php_ini[3].value, "/usr/sbin/sendmail -t");
  c = testing::load_ok(dir, testing::pool("php_admin_value[error_log] = syslog\n"));
  EXPECT_EQ(c.pools[0].php_ini[0].value, "syslog");
  c = testing::load_ok(dir,
                       testing::pool("chroot = jail\nphp_admin_value[error_log] = log/php.log\n"));
  EXPECT_EQ(c.pools[0].php_ini[0].value, "log/php.log");  // inside the chroot: left alone
}

TEST(Validate, TwoPoolsCannotShareAListenAddress) {
  TempDir dir;
  auto [file, r] = load_text(dir, testing::pool("", "a") +
                                      "[b]\nlisten = /run/php-pool/a.sock\n"
                                      "pm = static\npm.max_children = 1\n");
  EXPECT_ERROR(r, file, 6,
               "[pool b] unable to set listen address as it's already used in another pool 'a'");
}

TEST(Validate, NoPoolDefined) {
  TempDir dir;
  auto [file, r] = load_text(dir, "[global]\nlog_level = debug\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].format(),
            file + ": no pool defined: at least one pool section must be specified in config file");
}

TEST(Validate, GlobalRules) {
  TempDir dir;
  auto [file, r] = load_text(dir,
                             "[global]\nlog_limit = 100\nprocess.max = -1\n"
                             "emergency_restart_threshold = -1\n" +
                                 testing::pool(""));
  EXPECT_ERROR(r, file, 2, "log_limit(100) must be greater than 512");
  EXPECT_ERROR(r, file, 3, "process.max can't be negative");
  EXPECT_ERROR(r, file, 4, "emergency_restart_threshold can't be negative");
  Config c =
      testing::load_ok(dir, "[global]\nerror_log = syslog\npid = /run/x.pid\n" + testing::pool(""));
  EXPECT_EQ(c.global.error_log, "syslog");
  EXPECT_EQ(c.global.pid, "/run/x.pid");
}

TEST(Validate, ExplicitPrefixOption) {
  TempDir dir;
  dir.mkdir("base");
  LoadOptions o;
  o.prefix = dir.path() + "/base";
  Config c = testing::load_ok(dir, testing::pool("access.log = log/a.log\n"), "pool.conf", o);
  EXPECT_EQ(c.prefix, dir.path() + "/base");
  EXPECT_EQ(c.pools[0].access_log, dir.path() + "/base/log/a.log");
  o.prefix = dir.path() + "/missing";
  auto [file, r] = load_text(dir, testing::pool(""), o);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].message,
            "the global prefix '" + dir.path() + "/missing' does not exist or is not a directory");
}

TEST(Validate, EveryErrorOfEveryPoolIsReported) {
  TempDir dir;
  auto [file, r] = load_text(dir,
                             "[a]\npm = static\npm.max_children = 0\n"
                             "[b]\nlisten = 9001\npm = dynamic\npm.max_children = 2\n"
                             "pm.min_spare_servers = 1\npm.max_spare_servers = 3\n"
                             "ping.path = nope\n");
  EXPECT_ERROR(r, file, 1, "[pool a] no listen address have been defined!");
  EXPECT_ERROR(r, file, 3, "[pool a] pm.max_children must be a positive value");
  EXPECT_ERROR_FRAGMENT(r, file, 9, "[pool b] pm.min_spare_servers(1) and pm.max_spare_servers(3)");
  EXPECT_ERROR(r, file, 10, "[pool b] the ping path 'nope' must start with a '/'");
  EXPECT_EQ(r.errors.size(), 4u) << testing::all_messages(r.errors);
}

TEST(Validate, SelectPool) {
  TempDir dir;
  Config c = testing::load_ok(dir, testing::pool("", "one") +
                                       "[two]\nlisten = 9\npm = static\n"
                                       "pm.max_children = 1\n");
  std::string error;
  EXPECT_EQ(select_pool(c, "two", error), &c.pools[1]);
  EXPECT_EQ(select_pool(c, "TWO", error), &c.pools[1]);
  EXPECT_EQ(select_pool(c, "", error), nullptr);
  EXPECT_EQ(error, c.file + " defines 2 pools ('one', 'two'): choose one with --pool NAME");
  EXPECT_EQ(select_pool(c, "three", error), nullptr);
  EXPECT_EQ(error, c.file + " has no pool 'three' (it defines 'one', 'two')");
  Config single = testing::load_ok(dir, testing::pool(""));
  EXPECT_EQ(select_pool(single, "", error), &single.pools[0]);
}

TEST(Validate, EffectiveConfigurationDump) {
  TempDir dir;
  Config c =
      testing::load_ok(dir, testing::pool("php_admin_value[memory_limit] = 1G\nenv[A] = b\n") +
                                "[other]\nlisten = 1\npm = static\npm.max_children = 2\n");
  std::string all = format_effective(c);
  EXPECT_NE(all.find("[global]\n"), std::string::npos);
  EXPECT_NE(all.find("\n[www]\n"), std::string::npos);
  EXPECT_NE(all.find("\n[other]\n"), std::string::npos);
  EXPECT_NE(all.find("\tpm = static\n"), std::string::npos);
  EXPECT_NE(all.find("\tphp_admin_value[memory_limit] = 1G\n"), std::string::npos);
  EXPECT_NE(all.find("\tenv[A] = b\n"), std::string::npos);
  EXPECT_NE(all.find("\tsandbox.seccomp = default\n"), std::string::npos);
  std::string one = format_effective(c, "other");
  EXPECT_EQ(one.find("[www]"), std::string::npos);
  EXPECT_NE(one.find("[other]"), std::string::npos);
}

}  // namespace
}  // namespace php_pool::config
