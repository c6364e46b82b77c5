// The command line (DESIGN.md "Command line") and php-pool --test.
#include <gtest/gtest.h>
#include <unistd.h>

#include "cli.hpp"
#include "test_util.hpp"

namespace php_pool::cli {
namespace {

using config::testing::TempDir;

ParsedArgs parse(std::vector<std::string> args) {
  args.insert(args.begin(), "php-pool");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_args(static_cast<int>(argv.size()), argv.data());
}

Options ok(std::vector<std::string> args) {
  ParsedArgs r = parse(args);
  EXPECT_TRUE(r.options.has_value()) << r.error;
  return r.options.value_or(Options{});
}

std::string fails(std::vector<std::string> args) {
  ParsedArgs r = parse(args);
  EXPECT_FALSE(r.options.has_value());
  const std::string hint = "\nTry 'php-pool --help' for more information.";
  EXPECT_EQ(r.error.substr(0, 10), "php-pool: ");
  EXPECT_GE(r.error.size(), hint.size());
  if (r.error.size() >= hint.size() + 10) {
    EXPECT_EQ(r.error.substr(r.error.size() - hint.size()), hint);
    return r.error.substr(10, r.error.size() - hint.size() - 10);
  }
  return r.error;
}

TEST(Cli, Run) {
  Options o = ok({"--config", "/etc/php-pool/conf.d/site.conf", "--instance", "site"});
  EXPECT_EQ(o.command, Command::Run);
  EXPECT_EQ(o.config_file, "/etc/php-pool/conf.d/site.conf");
  EXPECT_EQ(o.instance, "site");
  EXPECT_EQ(o.pool, "");
  EXPECT_EQ(o.test_level, 0);
  o = ok({"--config=/a.conf", "--pool=www", "--instance=x"});
  EXPECT_EQ(o.config_file, "/a.conf");
  EXPECT_EQ(o.pool, "www");
  EXPECT_EQ(o.instance, "x");
}

TEST(Cli, PhpFpmSpellingsOfTheConfigFile) {
  EXPECT_EQ(ok({"-y", "/a.conf"}).config_file, "/a.conf");
  EXPECT_EQ(ok({"-y/a.conf"}).config_file, "/a.conf");
  EXPECT_EQ(ok({"--fpm-config", "/a.conf"}).config_file, "/a.conf");
  EXPECT_EQ(ok({"--fpm-config=/a.conf", "--config", "/a.conf"}).config_file, "/a.conf");
  EXPECT_EQ(fails({"-y", "/a.conf", "--config", "/b.conf"}),
            "the configuration file is given twice ('/a.conf' and '/b.conf')");
}

TEST(Cli, Test) {
  Options o = ok({"--test", "--config", "/a.conf"});
  EXPECT_EQ(o.command, Command::Test);
  EXPECT_EQ(o.test_level, 1);
  EXPECT_EQ(ok({"-t", "-y", "/a.conf"}).test_level, 1);
  EXPECT_EQ(ok({"-tt", "-y", "/a.conf"}).test_level, 2);
  EXPECT_EQ(ok({"-t", "-t", "-y", "/a.conf"}).test_level, 2);
  EXPECT_EQ(ok({"--test", "--test", "--config", "/a.conf", "--pool", "www"}).test_level, 2);
  EXPECT_EQ(ok({"-ty/a.conf"}).config_file, "/a.conf");
  EXPECT_EQ(fails({"--test"}), "missing --config FILE");
}

TEST(Cli, ReloadAndStatus) {
  Options o = ok({"--reload", "site"});
  EXPECT_EQ(o.command, Command::Reload);
  EXPECT_EQ(o.target, "site");
  o = ok({"--status", "example.com"});
  EXPECT_EQ(o.command, Command::Status);
  EXPECT_EQ(o.target, "example.com");
  EXPECT_EQ(o.status_format, "plain");
  for (const char* f : {"plain", "json", "xml", "openmetrics"}) {
    EXPECT_EQ(ok({"--status", "s", "--format", f}).status_format, f);
    EXPECT_EQ(ok({std::string("--format=") + f, "--status=s"}).status_format, f);
  }
  EXPECT_EQ(fails({"--status", "s", "--format", "html"}),
            "invalid --format 'html' (plain, json, xml or openmetrics)");
  EXPECT_EQ(fails({"--format", "json", "--config", "/a.conf"}),
            "--format only applies to --status");
  EXPECT_EQ(fails({"--reload"}), "option '--reload' needs an argument");
  EXPECT_EQ(fails({"--reload", ""}), "option '--reload' needs a non-empty argument");
  EXPECT_EQ(fails({"--reload", "a", "--status", "b"}),
            "options --reload and --status cannot be used together");
  EXPECT_EQ(fails({"--reload", "a", "--test", "--config", "/x"}),
            "options --reload and --test cannot be used together");
  EXPECT_EQ(fails({"--reload", "a", "--config", "/x"}),
            "--reload takes the pool's name only (no --config, --pool or --instance)");
}

TEST(Cli, VersionAndHelp) {
  EXPECT_EQ(ok({"--version"}).command, Command::Version);
  EXPECT_EQ(ok({"-v"}).command, Command::Version);
  EXPECT_EQ(ok({"--help"}).command, Command::Help);
  EXPECT_EQ(ok({"-h"}).command, Command::Help);
  EXPECT_EQ(ok({"--config", "/a", "--help"}).command, Command::Help);
  EXPECT_EQ(version_text().rfind("php-pool ", 0), 0u);
}

TEST(Cli, PhpFpmCompatibleOptions) {
  Options o = ok({"-y", "/a.conf", "-c", "/etc/php/8.2/embed", "-d", "memory_limit=256M",
                  "-ddisplay_errors=0", "--define", "opcache.enable", "-R", "-F", "-p", "/srv"});
  EXPECT_EQ(o.php_ini, "/etc/php/8.2/embed");
  ASSERT_EQ(o.ini_defines.size(), 3u);
  EXPECT_EQ(o.ini_defines[0], std::make_pair(std::string("memory_limit"), std::string("256M")));
  EXPECT_EQ(o.ini_defines[1], std::make_pair(std::string("display_errors"), std::string("0")));
  EXPECT_EQ(o.ini_defines[2], std::make_pair(std::string("opcache.enable"), std::string("1")));
  EXPECT_TRUE(o.allow_to_run_as_root);
  EXPECT_TRUE(o.nodaemonize);
  EXPECT_EQ(o.prefix, "/srv");
  o = ok({"--fpm-config", "/a.conf", "--php-ini=/x/php.ini", "--allow-to-run-as-root",
          "--nodaemonize", "--prefix", "/p", "-RF", "-d", "a=b=c"});
  EXPECT_EQ(o.php_ini, "/x/php.ini");
  EXPECT_TRUE(o.allow_to_run_as_root);
  EXPECT_TRUE(o.nodaemonize);
  EXPECT_EQ(o.prefix, "/p");
  EXPECT_EQ(o.ini_defines[0].second, "b=c");
  EXPECT_EQ(fails({"-y", "/a", "-d", "=1"}), "-d needs name=value (got '=1')");
  EXPECT_EQ(fails({"-y", "/a", "-D"}),
            "php-pool does not daemonize: systemd runs it in the foreground");
}

TEST(Cli, Errors) {
  EXPECT_EQ(fails({}), "missing --config FILE");
  EXPECT_EQ(fails({"--bogus"}), "unknown option '--bogus'");
  EXPECT_EQ(fails({"-y", "/a", "-x"}), "unknown option '-x'");
  EXPECT_EQ(fails({"--config"}), "option '--config' needs an argument");
  EXPECT_EQ(fails({"-y"}), "option '-y' needs an argument");
  EXPECT_EQ(fails({"--config", "/a", "extra"}), "unexpected argument 'extra'");
  EXPECT_EQ(fails({"--test=1", "--config", "/a"}), "option '--test' takes no argument");
}

TEST(Cli, HelpListsEveryOption) {
  std::string h = help_text();
  for (const char* opt :
       {"--config FILE", "--pool NAME", "--instance NAME", "--test", "-t", "-tt", "--reload NAME",
        "--status NAME", "--format", "plain|json|xml|openmetrics", "--version", "--help",
        "-y, --fpm-config FILE", "-c, --php-ini PATH", "-d, --define NAME=VALUE",
        "-R, --allow-to-run-as-root", "-F, --nodaemonize", "-p, --prefix DIR"}) {
    EXPECT_NE(h.find(opt), std::string::npos) << opt;
  }
}

struct Output {
  int rc;
  std::string out, err;
};

// As -R: the tests' pools name no user, which --test refuses as root without it (see
// AsRootTheAccountsMustExist).
Output run_test(Options o, bool allow_root = true) {
  o.allow_to_run_as_root = allow_root;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  int rc = run_config_test(o);
  std::string out = ::testing::internal::GetCapturedStdout();
  std::string err = ::testing::internal::GetCapturedStderr();
  return {rc, out, err};
}

TEST(CliConfigTest, Success) {
  TempDir dir;
  std::string file = dir.write("x.conf",
                               "[global]\npid = /run/x.pid\n[www]\nlisten = 9000\n"
                               "pm = dynamic\npm.max_children = 5\n"
                               "pm.min_spare_servers = 1\npm.max_spare_servers = 3\n");
  Options o = ok({"--test", "--config", file});
  Output r = run_test(o);
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "php-pool: configuration file " + file +
                       " test is successful (pool 'www': pm dynamic, max_children 5)\n");
  EXPECT_EQ(r.err, file +
                       ":2: warning: 'pid' is ignored: systemd tracks the manager; no pid "
                       "file is written\n");

  o.instance = "site";
  EXPECT_EQ(run_test(o).out, "php-pool: configuration file " + file +
                                 " test is successful (pool 'www': pm dynamic, max_children 5, "
                                 "instance 'site')\n");
}

TEST(CliConfigTest, PrintsTheEffectiveConfigurationWithTT) {
  TempDir dir;
  std::string file =
      dir.write("x.conf", "[www]\nlisten = 9000\npm = static\npm.max_children = 3\n");
  Output r = run_test(ok({"-tt", "-y", file}));
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("[global]\n"), std::string::npos);
  EXPECT_NE(r.out.find("[www]\n\tprefix = undefined\n"), std::string::npos);
  EXPECT_NE(r.out.find("\tpm.max_children = 3\n"), std::string::npos);
  EXPECT_NE(r.out.find("test is successful (pool 'www': pm static, max_children 3)\n"),
            std::string::npos);
}

TEST(CliConfigTest, FailurePrintsEveryErrorAsFileLine) {
  TempDir dir;
  std::string file = dir.write("bad.conf",
                               "[www]\nlisten = 9000\npm = static\n"
                               "pm.max_children = 0\npm.max_chlidren = 3\n");
  Output r = run_test(ok({"-t", "--config", file}));
  EXPECT_EQ(r.rc, 78);  // EX_CONFIG, as php-fpm -t
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, file +
                       ":5: unknown directive 'pm.max_chlidren' (did you mean "
                       "'pm.max_children'?)\n" +
                       file +
                       ":4: [pool www] pm.max_children must be a positive value\n"
                       "php-pool: configuration file " +
                       file + " test failed (2 errors)\n");
}

TEST(CliConfigTest, AsRootTheAccountsMustExist) {
  if (geteuid() != 0) GTEST_SKIP() << "accounts are looked up only as root";
  TempDir dir;
  std::string base = "[www]\nlisten = s.sock\npm = static\npm.max_children = 1\n";
  std::string file = dir.write("x.conf", base +
                                             "user = pp-no-such-user-x\n"
                                             "group = pp-no-such-group-x\n"
                                             "listen.owner = pp-no-such-owner-x\n"
                                             "listen.group = www-data\n");
  Output r = run_test(ok({"-t", "--config", file}), false);
  EXPECT_EQ(r.rc, 78);  // EX_CONFIG, as php-fpm -t
  EXPECT_EQ(r.err, file + ":5: [pool www] cannot get uid for user 'pp-no-such-user-x'\n" + file +
                       ":7: [pool www] cannot get uid for user 'pp-no-such-owner-x'\n" + file +
                       ":6: [pool www] cannot get gid for group 'pp-no-such-group-x'\n"
                       "php-pool: configuration file " +
                       file + " test failed (3 errors)\n");

  // No user: the workers would run as root, which needs -R, as at start.
  std::string none = dir.write("none.conf", base);
  r = run_test(ok({"-t", "--config", none}), false);
  EXPECT_EQ(r.rc, 78);  // EX_CONFIG, as php-fpm -t
  EXPECT_NE(r.err.find("please specify user and group other than root (or run with -R"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(run_test(ok({"-t", "--config", none})).rc, 0);  // with -R

  std::string good = dir.write("good.conf", base + "user = www-data\ngroup = www-data\n");
  r = run_test(ok({"-t", "--config", good}), false);
  EXPECT_EQ(r.rc, 0) << r.err;
}

TEST(CliConfigTest, SeveralPools) {
  TempDir dir;
  std::string file = dir.write("x.conf",
                               "[a]\nlisten = 1\npm = static\npm.max_children = 2\n"
                               "[b]\nlisten = 2\npm = ondemand\npm.max_children = 7\n");
  Output r = run_test(ok({"-t", "--config", file}));
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "php-pool: configuration file " + file +
                       " test is successful (pools 'a': pm static, max_children 2; 'b': pm "
                       "ondemand, max_children 7)\n");
  r = run_test(ok({"-t", "--config", file, "--pool", "b"}));
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("(pool 'b': pm ondemand, max_children 7)"), std::string::npos);
  r = run_test(ok({"-t", "--config", file, "--pool", "c"}));
  EXPECT_EQ(r.rc, 78);  // EX_CONFIG, as php-fpm -t
  EXPECT_EQ(r.err, "php-pool: " + file + " has no pool 'c' (it defines 'a', 'b')\n");
}

TEST(CliConfigTest, DefinesAndPrefixReachTheLoader) {
  TempDir dir;
  dir.mkdir("base");
  std::string file =
      dir.write("x.conf", "[www]\nlisten = s.sock\npm = static\npm.max_children = 1\n");
  Output r = run_test(ok({"-tt", "-y", file, "-p", dir.path() + "/base", "-d", "memory_limit=1G"}));
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("\tlisten = " + dir.path() + "/base/s.sock\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; -d memory_limit=1G"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace php_pool::cli
