// access.format expansion: every php-fpm 8.2 token and modifier, php-fpm's format errors, the
// 1024-byte line limit, access.suppress_path[] and the log file itself.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "worker/access_log.hpp"

namespace php_pool::worker {
namespace {

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    params = {{"REQUEST_URI", "/pretty/url?x=1"},
              {"HTTP_HOST", "example.org"},
              {"EMPTY", ""},
              {"SCRIPT_NAME", "/index.php"}};
    headers = {"X-Powered-By: PHP", "Content-type: text/html; charset=UTF-8",
               "X-Empty: ", "Set-Cookie: a=1", "Set-Cookie: b=2"};
    e.params = &params;
    e.remote_ip = "192.0.2.7";
    e.pool = "www";
    e.method = "POST";
    e.request_uri = "/index.php";
    e.query_string = "a=1&b=2";
    e.script_filename = "/srv/www/index.php";
    e.user = "alice";
    e.content_length = 321;
    e.status = 201;
    e.duration_us = 1234567;  // 1.234567 s
    e.cpu_user_us = 300000;
    e.cpu_system_us = 100000;
    e.memory = 5 * 1024 * 1024 + 512 * 1024;  // 5.5 MiB
    e.accepted_epoch = 1700000000;            // 14/Nov/2023:22:13:20 +0000
    e.now_epoch = 1700000002;
    e.pid = 4242;
    e.ppid = 4200;
    e.response_headers = &headers;
  }

  std::string fmt(const std::string& format) {
    std::string error;
    EXPECT_TRUE(check_access_format(format, error)) << format << ": " << error;
    return format_access_line(format, e);
  }

  std::string error_of(const std::string& format) {
    std::string error;
    EXPECT_FALSE(check_access_format(format, error)) << format;
    return error;
  }

  fastcgi::Params params;
  std::vector<std::string> headers;
  AccessEntry e;
};

TEST_F(AccessLogTest, DefaultFormat) {
  EXPECT_EQ(fmt(kDefaultAccessFormat),
            "192.0.2.7 - alice 14/Nov/2023:22:13:20 +0000 \"POST /index.php\" 201");
  // php-fpm writes an empty %u as nothing: two spaces.
  e.user.clear();
  e.remote_ip.clear();
  EXPECT_EQ(fmt(kDefaultAccessFormat), "- -  14/Nov/2023:22:13:20 +0000 \"POST /index.php\" 201");
}

TEST_F(AccessLogTest, Percent) {
  EXPECT_EQ(fmt("100%% %%d"), "100% %d");
}

TEST_F(AccessLogTest, Cpu) {
  // 0.4 s of CPU in 1.234567 s.
  EXPECT_EQ(fmt("%C"), "32.40");
  EXPECT_EQ(fmt("%{total}C"), "32.40");
  EXPECT_EQ(fmt("%{TOTAL}C"), "32.40");
  EXPECT_EQ(fmt("%{user}C"), "24.30");
  EXPECT_EQ(fmt("%{system}C"), "8.10");
  e.duration_us = 0;
  EXPECT_EQ(fmt("%C"), "0.00");
}

TEST_F(AccessLogTest, Duration) {
  EXPECT_EQ(fmt("%d"), "1.235");
  EXPECT_EQ(fmt("%{seconds}d"), "1.235");
  EXPECT_EQ(fmt("%{milli}d"), "1234.567");
  EXPECT_EQ(fmt("%{milliseconds}d"), "1234.567");
  EXPECT_EQ(fmt("%{mili}d"), "1234.567");
  EXPECT_EQ(fmt("%{miliseconds}d"), "1234.567");
  EXPECT_EQ(fmt("%{Milli}d"), "1234.567");
  EXPECT_EQ(fmt("%{micro}d"), "1234567");
  EXPECT_EQ(fmt("%{microseconds}d"), "1234567");
}

TEST_F(AccessLogTest, Environment) {
  EXPECT_EQ(fmt("%{REQUEST_URI}e"), "/pretty/url?x=1");
  EXPECT_EQ(fmt("%{HTTP_HOST}e"), "example.org");
  EXPECT_EQ(fmt("[%{EMPTY}e]"), "[]");  // set but empty: empty, as php-fpm
  EXPECT_EQ(fmt("%{NOT_SET}e"), "-");
  EXPECT_EQ(fmt("%{http_host}e"), "-");  // FastCGI names are case-sensitive
}

TEST_F(AccessLogTest, ScriptLengthMethod) {
  EXPECT_EQ(fmt("%f %l %m"), "/srv/www/index.php 321 POST");
  e.script_filename.clear();
  e.method.clear();
  e.content_length = 0;
  EXPECT_EQ(fmt("%f %l %m"), "- 0 -");
}

TEST_F(AccessLogTest, Memory) {
  EXPECT_EQ(fmt("%M"), "5767168");
  EXPECT_EQ(fmt("%{bytes}M"), "5767168");
  EXPECT_EQ(fmt("%{kilo}M"), "5632");
  EXPECT_EQ(fmt("%{kilobytes}M"), "5632");
  EXPECT_EQ(fmt("%{mega}M"), "5");
  EXPECT_EQ(fmt("%{megabytes}M"), "5");
}

TEST_F(AccessLogTest, PoolAndPids) {
  EXPECT_EQ(fmt("%n %p %P"), "www 4242 4200");
  e.pool.clear();
  EXPECT_EQ(fmt("%n"), "-");
}

TEST_F(AccessLogTest, ResponseHeaders) {
  EXPECT_EQ(fmt("%{X-Powered-By}o"), "PHP");
  EXPECT_EQ(fmt("%{Content-Type}o"), "text/html; charset=UTF-8");  // names: any case
  EXPECT_EQ(fmt("%{content-type}o"), "text/html; charset=UTF-8");
  EXPECT_EQ(fmt("%{Set-Cookie}o"), "a=1");  // the first one
  EXPECT_EQ(fmt("%{X-Empty}o"), "-");
  EXPECT_EQ(fmt("%{Location}o"), "-");
  EXPECT_EQ(fmt("%{Content}o"), "-");  // a whole name, not a prefix
  e.response_headers = nullptr;
  EXPECT_EQ(fmt("%{X-Powered-By}o"), "-");
}

TEST_F(AccessLogTest, QueryAndUri) {
  EXPECT_EQ(fmt("%r%Q%q"), "/index.php?a=1&b=2");
  e.query_string.clear();
  EXPECT_EQ(fmt("[%r%Q%q]"), "[/index.php]");
  e.request_uri.clear();
  EXPECT_EQ(fmt("[%r]"), "[]");
}

TEST_F(AccessLogTest, RemoteStatusUser) {
  EXPECT_EQ(fmt("%R %s %u"), "192.0.2.7 201 alice");
  e.remote_ip.clear();
  EXPECT_EQ(fmt("%R"), "-");
}

TEST_F(AccessLogTest, Times) {
  EXPECT_EQ(fmt("%t"), "14/Nov/2023:22:13:20 +0000");
  EXPECT_EQ(fmt("%T"), "14/Nov/2023:22:13:22 +0000");
  EXPECT_EQ(fmt("%{%Y-%m-%dT%H:%M:%S%z}t"), "2023-11-14T22:13:20+0000");
  EXPECT_EQ(fmt("%{%s}T"), "1700000002");
  EXPECT_EQ(fmt("[%{}t]"), "[14/Nov/2023:22:13:20 +0000]");
  setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
  tzset();
  EXPECT_EQ(fmt("%t"), "14/Nov/2023:23:13:20 +0100");
  setenv("TZ", "UTC", 1);
  tzset();
}

TEST_F(AccessLogTest, TrailingPercentIsDropped) {
  EXPECT_EQ(fmt("abc%"), "abc");
}

TEST_F(AccessLogTest, FormatErrorsAsPhpFpm) {
  EXPECT_EQ(error_of("%x"), "Invalid token in the access.format (%x)");
  EXPECT_EQ(error_of("%{abc}"), "missing closing embrace in the access.format");
  EXPECT_EQ(error_of("%{abc"), "missing closing embrace in the access.format");
  EXPECT_EQ(error_of("%e"),
            "the name of the environment variable must be set between embraces for %e");
  EXPECT_EQ(error_of("%o"), "the name of the header must be set between embraces for %o");
  EXPECT_EQ(error_of("%{x}s"), "embrace is not allowed for modifier %s");
  EXPECT_EQ(error_of("%{x}%"), "embrace is not allowed for modifier %%");
  EXPECT_EQ(error_of("%{hours}d"),
            "only 'seconds', 'milli', 'milliseconds', 'micro' or 'microseconds' are allowed as "
            "a modifier for %d ('hours')");
  EXPECT_EQ(error_of("%{giga}M"),
            "only 'bytes', 'kilo', 'kilobytes', 'mega' or 'megabytes' are allowed as a modifier "
            "for %M ('giga')");
  EXPECT_EQ(error_of("%{idle}C"),
            "only 'total', 'user' or 'system' are allowed as a modifier for %C ('idle')");
  EXPECT_EQ(format_access_line("%x", e), "");
}

TEST_F(AccessLogTest, EveryPlainTokenIsValid) {
  for (char c : std::string("%CdflmMnpPqQrRstTu")) {
    std::string f = std::string("%") + c;
    std::string error;
    EXPECT_TRUE(check_access_format(f, error)) << f << ": " << error;
  }
}

TEST_F(AccessLogTest, LinesAreCutAt1024Bytes) {
  params.push_back({"LONG", std::string(3000, 'x')});
  bool truncated = false;
  std::string line = format_access_line("%{LONG}e tail", e, &truncated);
  EXPECT_TRUE(truncated);
  EXPECT_EQ(line, std::string(kAccessLineMax, 'x'));
  line = format_access_line(std::string(2000, 'y'), e, &truncated);
  EXPECT_TRUE(truncated);
  EXPECT_EQ(line.size(), kAccessLineMax);
  line = format_access_line("short", e, &truncated);
  EXPECT_FALSE(truncated);
}

TEST_F(AccessLogTest, SuppressPath) {
  std::vector<std::string> paths = {"/ping", "/health.php"};
  e.method = "GET";
  e.query_string.clear();
  e.content_length = 0;
  e.status = 200;
  e.request_uri = "/health.php";
  EXPECT_TRUE(access_suppressed(paths, e));
  e.method = "HEAD";
  EXPECT_TRUE(access_suppressed(paths, e));
  e.status = 204;
  EXPECT_TRUE(access_suppressed(paths, e));

  auto with = [&](auto change) {
    AccessEntry x = e;
    change(x);
    return access_suppressed(paths, x);
  };
  EXPECT_FALSE(with([](AccessEntry& x) { x.request_uri = "/health.php/"; }));  // exact only
  EXPECT_FALSE(with([](AccessEntry& x) { x.request_uri = "/other.php"; }));
  EXPECT_FALSE(with([](AccessEntry& x) { x.query_string = "a=1"; }));
  EXPECT_FALSE(with([](AccessEntry& x) { x.method = "POST"; }));
  EXPECT_FALSE(with([](AccessEntry& x) { x.status = 500; }));
  EXPECT_FALSE(with([](AccessEntry& x) { x.status = 301; }));
  EXPECT_FALSE(with([](AccessEntry& x) { x.status = 199; }));
  EXPECT_FALSE(with([](AccessEntry& x) { x.content_length = 1; }));
  EXPECT_FALSE(access_suppressed({}, e));
}

TEST(BasicAuth, UserName) {
  EXPECT_EQ(basic_auth_user("Basic dXNlcjpwdw=="), "user");  // user:pw
  EXPECT_EQ(basic_auth_user("basic YWxpY2U6c2VjcmV0OndpdGg6Y29sb25z"), "alice");
  EXPECT_EQ(basic_auth_user("Basic Om5vdXNlcg=="), "");  // ":nouser"
  EXPECT_EQ(basic_auth_user("Bearer abc"), "");
  EXPECT_EQ(basic_auth_user("Basic bm9jb2xvbg=="), "");  // "nocolon"
  EXPECT_EQ(basic_auth_user(""), "");
}

TEST(AccessLogFile, AppendsOneLinePerWriteAndReopens) {
  char dir[] = "/tmp/access-log-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/access.log";
  std::string rotated = path + ".1";
  {
    AccessLog log;
    std::string error;
    ASSERT_TRUE(log.open(path, error)) << error;
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_TRUE(log.write_line("one"));
    EXPECT_FALSE(log.write_line(""));  // php-fpm writes no empty lines
    EXPECT_TRUE(log.write_line("two"));
    ASSERT_EQ(rename(path.c_str(), rotated.c_str()), 0);
    EXPECT_TRUE(log.write_line("three"));  // still the old file
    ASSERT_TRUE(log.reopen(error)) << error;
    EXPECT_TRUE(log.write_line("four"));
  }
  auto slurp = [](const std::string& p) {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  EXPECT_EQ(slurp(rotated), "one\ntwo\nthree\n");
  EXPECT_EQ(slurp(path), "four\n");
  AccessLog bad;
  std::string error;
  EXPECT_FALSE(bad.open(std::string(dir) + "/no/such/dir/log", error));
  EXPECT_NE(error.find("failed to open access log"), std::string::npos);
  unlink(path.c_str());
  unlink(rotated.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace php_pool::worker
