// resolve_script(): the CGI variables php-fpm 8.2 derives with cgi.fix_pathinfo = 1 from what
// each front end sends. The params are the ones Apache 2.4 (mod_proxy_fcgi), Caddy 2.6 and nginx
// really send (captured by tests/integration/test_frontends.py); the expected values are
// php-fpm 8.2's, checked side by side by the same integration test.
#include "sapi/pathinfo.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <set>
#include <string>

namespace php_pool::sapi {
namespace {

const std::set<std::string> kFiles = {"/www/server.php"};
const std::set<std::string> kDirs = {"/", "/www"};

PathOptions options() {
  PathOptions o;
  o.is_regular_file = [](const std::string& p) { return kFiles.count(p) > 0; };
  o.exists = [](const std::string& p) { return kFiles.count(p) > 0 || kDirs.count(p) > 0; };
  return o;
}

struct Result {
  fastcgi::Params params;
  ScriptInfo info;
  std::string get(const std::string& name) const {
    for (auto& [k, v] : params)
      if (k == name) return v;
    return "<unset>";
  }
};

Result resolve(std::initializer_list<fastcgi::Param> in) {
  Result r{fastcgi::Params(in), {}};
  Env env(r.params);
  r.info = resolve_script(env, options());
  return r;
}

// ProxyPassMatch "^/(.*\.php(/.*)?)$" "unix:SOCK|fcgi://localhost/www/$1", GET /server.php/a/b
TEST(ResolveScript, ApacheProxyPassSplitsPathInfo) {
  auto r = resolve({{"SCRIPT_FILENAME", "proxy:fcgi://localhost/www/server.php/a/b"},
                    {"SCRIPT_NAME", "/server.php/a/b"},
                    {"DOCUMENT_ROOT", "/www"}});
  EXPECT_EQ(r.get("SCRIPT_FILENAME"), "/www/server.php");
  EXPECT_EQ(r.get("ORIG_SCRIPT_FILENAME"), "/www/server.php/a/b");
  EXPECT_EQ(r.get("SCRIPT_NAME"), "/server.php");
  EXPECT_EQ(r.get("ORIG_SCRIPT_NAME"), "/server.php/a/b");
  EXPECT_EQ(r.get("PATH_INFO"), "/a/b");
  EXPECT_EQ(r.get("PATH_TRANSLATED"), "/www/a/b");
  EXPECT_EQ(r.get("ORIG_PATH_INFO"), "<unset>");
  EXPECT_EQ(r.info.path_translated, "/www/server.php");
  EXPECT_EQ(r.info.script_name, "/server.php");
}

// GET /server.php/a%20b/%C3%A9: Apache keeps SCRIPT_FILENAME encoded but decodes SCRIPT_NAME.
// php-fpm 8.2 strips the decoded path info from SCRIPT_NAME, and keeps PATH_INFO encoded.
TEST(ResolveScript, ApacheProxyPassKeepsEncodedPathInfo) {
  auto r = resolve({{"SCRIPT_FILENAME", "proxy:fcgi://localhost/www/server.php/a%20b/%C3%A9"},
                    {"SCRIPT_NAME", "/server.php/a b/\xC3\xA9"},
                    {"DOCUMENT_ROOT", "/www"}});
  EXPECT_EQ(r.get("SCRIPT_FILENAME"), "/www/server.php");
  EXPECT_EQ(r.get("SCRIPT_NAME"), "/server.php");
  EXPECT_EQ(r.get("ORIG_SCRIPT_NAME"), "/server.php/a b/\xC3\xA9");
  EXPECT_EQ(r.get("PATH_INFO"), "/a%20b/%C3%A9");
  EXPECT_EQ(r.get("PATH_TRANSLATED"), "/www/a%20b/%C3%A9");
  EXPECT_EQ(r.info.script_name, "/server.php");
}

// GET /server.php/a+b%2Bc/%25d: '+' is not a space in a path (raw URL decoding, GH-12996).
TEST(ResolveScript, ApacheProxyPassPlusAndPercent) {
  auto r = resolve({{"SCRIPT_FILENAME", "proxy:fcgi://localhost/www/server.php/a+b+c/%25d"},
                    {"SCRIPT_NAME", "/server.php/a+b+c/%d"},
                    {"DOCUMENT_ROOT", "/www"}});
  EXPECT_EQ(r.get("SCRIPT_NAME"), "/server.php");
  EXPECT_EQ(r.get("PATH_INFO"), "/a+b+c/%25d");
  EXPECT_EQ(r.info.script_name, "/server.php");
}

// SetHandler "proxy:unix:SOCK|fcgi://localhost": the file exists, Apache split PATH_INFO.
TEST(ResolveScript, ApacheHandlerStripsPrefixOnly) {
  auto r = resolve({{"SCRIPT_FILENAME", "proxy:fcgi://localhost/www/server.php"},
                    {"SCRIPT_NAME", "/server.php"},
                    {"PATH_INFO", "/a b"},
                    {"PATH_TRANSLATED", "/www/a b"},
                    {"DOCUMENT_ROOT", "/www"}});
  EXPECT_EQ(r.get("SCRIPT_FILENAME"), "/www/server.php");
  EXPECT_EQ(r.get("ORIG_SCRIPT_FILENAME"), "<unset>");
  EXPECT_EQ(r.get("SCRIPT_NAME"), "/server.php");
  EXPECT_EQ(r.get("ORIG_SCRIPT_NAME"), "<unset>");
  EXPECT_EQ(r.get("PATH_INFO"), "/a b");
  EXPECT_EQ(r.info.path_translated, "/www/server.php");
  EXPECT_EQ(r.info.script_name, "/server.php");
}

// Caddy's php_fastcgi (and nginx with fastcgi_split_path_info) split PATH_INFO themselves.
TEST(ResolveScript, FrontEndSplitPathInfoIsKept) {
  auto r = resolve({{"SCRIPT_FILENAME", "/www/server.php"},
                    {"SCRIPT_NAME", "/server.php"},
                    {"PATH_INFO", "/a%20b"},
                    {"DOCUMENT_ROOT", "/www"}});
  EXPECT_EQ(r.get("SCRIPT_FILENAME"), "/www/server.php");
  EXPECT_EQ(r.get("PATH_INFO"), "/a%20b");
  EXPECT_EQ(r.get("ORIG_SCRIPT_NAME"), "<unset>");
  EXPECT_EQ(r.info.script_name, "/server.php");
}

TEST(ResolveScript, ApacheProxyPassMissingScriptIs404) {
  auto r = resolve({{"SCRIPT_FILENAME", "proxy:fcgi://localhost/www/missing.php/x"},
                    {"SCRIPT_NAME", "/missing.php/x"},
                    {"DOCUMENT_ROOT", "/www"}});
  EXPECT_FALSE(r.info.path_translated.has_value());
  EXPECT_EQ(r.get("SCRIPT_FILENAME"), "<unset>");
  EXPECT_EQ(r.get("ORIG_SCRIPT_FILENAME"), "/www/missing.php/x");
}

}  // namespace
}  // namespace php_pool::sapi
