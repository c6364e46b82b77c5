// php's INI value syntax as php-fpm reads it, and the typed conversions.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "config/internal.hpp"

namespace php_pool::config {
namespace {

std::string value(const std::string& raw) {
  std::string error;
  auto v = detail::parse_ini_value(raw, error);
  EXPECT_TRUE(v.has_value()) << raw << ": " << error;
  return v.value_or("<error>");
}

std::string value_error(const std::string& raw) {
  std::string error;
  auto v = detail::parse_ini_value(raw, error);
  EXPECT_FALSE(v.has_value()) << raw << " gave " << v.value_or("");
  return error;
}

TEST(Value, Unquoted) {
  EXPECT_EQ(value("/run/php/php8.2-fpm.sock"), "/run/php/php8.2-fpm.sock");
  EXPECT_EQ(value("127.0.0.1:9000"), "127.0.0.1:9000");
  EXPECT_EQ(value("a  b\tc"), "a  b\tc");  // inner whitespace is kept
  EXPECT_EQ(value(".php .phar"), ".php .phar");
  EXPECT_EQ(value("0660"), "0660");
  EXPECT_EQ(value(""), "");
  EXPECT_EQ(value("$pool.sock"), "$pool.sock");  // a '$' not followed by '{' is literal
  EXPECT_EQ(value("a=b"), "a=b");
}

TEST(Value, CommentsOutsideQuotes) {
  EXPECT_EQ(value("9000 ; the port"), "9000");
  EXPECT_EQ(value("9000;no space"), "9000");
  EXPECT_EQ(value("; only a comment"), "");
  EXPECT_EQ(value("\"a ; b\" ; c"), "a ; b");
  EXPECT_EQ(value("'x;y'"), "x;y");
}

TEST(Value, DoubleQuotesAndEscapes) {
  EXPECT_EQ(value("\"%R - %u %t \\\"%m %r\\\" %s\""), "%R - %u %t \"%m %r\" %s");
  EXPECT_EQ(value("\"back\\\\slash\""), "back\\slash");
  EXPECT_EQ(value("\"dollar \\${X}\""), "dollar ${X}");
  EXPECT_EQ(value("\"keep \\n and \\t\""), "keep \\n and \\t");  // other escapes stay
  EXPECT_EQ(value("\"  padded  \""), "  padded  ");
  EXPECT_EQ(value("\"yes\""), "yes");    // quoted keywords stay strings
  EXPECT_EQ(value("\"a\"b'c'"), "abc");  // concatenation
  EXPECT_EQ(value("\"\""), "");
}

TEST(Value, SingleQuotesAreRaw) {
  EXPECT_EQ(value("'a \\\" ${HOME} b'"), "a \\\" ${HOME} b");
}

TEST(Value, EnvironmentExpansion) {
  setenv("PHP_POOL_TEST_VAR", "from-env", 1);
  unsetenv("PHP_POOL_TEST_UNSET");
  EXPECT_EQ(value("${PHP_POOL_TEST_VAR}"), "from-env");
  EXPECT_EQ(value("/srv/${PHP_POOL_TEST_VAR}/x"), "/srv/from-env/x");
  EXPECT_EQ(value("\"in ${PHP_POOL_TEST_VAR} quotes\""), "in from-env quotes");
  EXPECT_EQ(value("[${PHP_POOL_TEST_UNSET}]"), "[]");
  EXPECT_EQ(value("'${PHP_POOL_TEST_VAR}'"), "${PHP_POOL_TEST_VAR}");
}

TEST(Value, Keywords) {
  for (const char* t : {"yes", "YES", "on", "On", "true", "TRUE"}) EXPECT_EQ(value(t), "1") << t;
  for (const char* f : {"no", "off", "false", "none", "null", "Off"}) EXPECT_EQ(value(f), "") << f;
  EXPECT_EQ(value("yes ; comment"), "1");
  EXPECT_EQ(value("yes please"), "yes please");  // only a whole value is a keyword
}

TEST(Value, ConstantsAndExpressions) {
  EXPECT_EQ(value("E_ALL"), "32767");
  EXPECT_EQ(value("E_ALL & ~E_DEPRECATED & ~E_STRICT"), "22527");
  EXPECT_EQ(value("E_ALL & ~E_NOTICE"), "32759");
  EXPECT_EQ(value("E_ERROR | E_WARNING"), "3");
  EXPECT_EQ(value("(E_ALL ^ E_NOTICE)"), "32759");
  EXPECT_EQ(value("!0"), "1");
  EXPECT_EQ(value("E_NOT_A_CONSTANT"), "E_NOT_A_CONSTANT");  // unknown constants stay text
  EXPECT_EQ(value("DIRECTORY_SEPARATOR"), "/");
}

TEST(Value, SyntaxErrors) {
  EXPECT_EQ(value_error("\"unterminated"), "syntax error: unterminated double-quoted string");
  EXPECT_EQ(value_error("'unterminated"), "syntax error: unterminated single-quoted string");
  EXPECT_EQ(value_error("${HOME"), "syntax error: unterminated '${'");
  EXPECT_EQ(value_error("E_ALL &"), "syntax error in expression");
  EXPECT_EQ(value_error("pong!"), "syntax error in expression");
  EXPECT_EQ(value_error("(1"), "syntax error in expression");
}

TEST(Value, Booleans) {
  for (const char* t : {"1", "yes", "Yes", "true", "on", "ON"}) {
    EXPECT_EQ(parse_boolean(t), std::optional<bool>(true)) << t;
  }
  for (const char* f : {"", "0", "no", "false", "off", "none", "NO"}) {
    EXPECT_EQ(parse_boolean(f), std::optional<bool>(false)) << f;
  }
  EXPECT_EQ(parse_boolean("2"), std::nullopt);
  EXPECT_EQ(parse_boolean("yess"), std::nullopt);
}

TEST(Value, TimeSuffixes) {
  using std::chrono::seconds;
  EXPECT_EQ(parse_time("30"), seconds(30));
  EXPECT_EQ(parse_time("30s"), seconds(30));
  EXPECT_EQ(parse_time("2m"), seconds(120));
  EXPECT_EQ(parse_time("3h"), seconds(3 * 3600));
  EXPECT_EQ(parse_time("1d"), seconds(86400));
  EXPECT_EQ(parse_time("0"), seconds(0));
  EXPECT_EQ(parse_time(""), std::nullopt);
  EXPECT_EQ(parse_time("10x"), std::nullopt);
  EXPECT_EQ(parse_time("s"), std::nullopt);
  EXPECT_EQ(parse_time("1.5m"), std::nullopt);
  EXPECT_EQ(parse_time("-5s"), std::nullopt);
  EXPECT_EQ(parse_time("99999999d"), std::nullopt);
}

TEST(Value, Integers) {
  EXPECT_EQ(detail::parse_integer("42"), 42);
  EXPECT_EQ(detail::parse_integer("-1"), -1);
  EXPECT_EQ(detail::parse_integer("0"), 0);
  EXPECT_EQ(detail::parse_integer(""), std::nullopt);
  EXPECT_EQ(detail::parse_integer("5k"), std::nullopt);
  EXPECT_EQ(detail::parse_integer(" 5"), std::nullopt);
  EXPECT_EQ(detail::parse_integer("99999999999"), std::nullopt);
}

TEST(Value, EditDistanceAndSuggestions) {
  EXPECT_EQ(detail::edit_distance("pm.max_chlidren", "pm.max_children"), 1u);  // transposition
  EXPECT_EQ(detail::edit_distance("abc", "abc"), 0u);
  EXPECT_EQ(detail::edit_distance("", "abc"), 3u);
  std::vector<std::string> names = {"pm.max_children", "pm.max_requests", "listen"};
  EXPECT_EQ(detail::nearest("pm.max_chlidren", names), "pm.max_children");
  EXPECT_EQ(detail::nearest("pm.max_children", names), "");  // not a typo
  EXPECT_EQ(detail::nearest("PM.MAX_CHILDREN", names), "pm.max_children");
  EXPECT_EQ(detail::nearest("lisen", names), "listen");
  EXPECT_EQ(detail::nearest("completely_different", names), "");
}

// The bounded distance stops early but never changes an answer within the bound.
TEST(Value, BoundedEditDistanceAgreesWithinTheBound) {
  const char* words[] = {"",        "a",
                         "ab",      "ba",
                         "listen",  "lisetn",
                         "kitten",  "sitting",
                         "pm.max",  "pm.max_spare",
                         "user",    "group",
                         "abcdef",  "fedcba",
                         "aaaaaaa", "request_slowlog_timeout"};
  for (const char* a : words) {
    for (const char* b : words) {
      size_t full = detail::edit_distance(a, b);
      for (size_t bound = 0; bound < 8; ++bound) {
        size_t d = detail::edit_distance(a, b, bound);
        if (full <= bound) {
          EXPECT_EQ(d, full) << a << " / " << b << " bound " << bound;
        } else {
          EXPECT_GT(d, bound) << a << " / " << b << " bound " << bound;
        }
      }
    }
  }
  EXPECT_EQ(detail::edit_distance("request_slowlog_timeout", "user", 2), 3u);  // stopped early
}

}  // namespace
}  // namespace php_pool::config
