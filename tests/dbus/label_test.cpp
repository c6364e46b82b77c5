// The D-Bus LABEL of a pool name (DESIGN.md "D-Bus") and D-Bus-safe text.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "dbus/label.hpp"

using php_pool::dbus::bus_name;
using php_pool::dbus::escape_label;
using php_pool::dbus::valid_utf8;

TEST(DbusLabel, DesignExamples) {
  EXPECT_EQ(escape_label("site"), "site");
  EXPECT_EQ(escape_label("example.com"), "example_2ecom");
  EXPECT_EQ(escape_label("1st"), "_31st");
}

TEST(DbusLabel, AlphanumericBytesStay) {
  EXPECT_EQ(escape_label("ABCxyz019"), "ABCxyz019");
  EXPECT_EQ(escape_label("a1"), "a1");  // only a leading digit is escaped
  EXPECT_EQ(escape_label("www"), "www");
}

TEST(DbusLabel, EveryOtherByteIsEscapedWithLowercaseHex) {
  EXPECT_EQ(escape_label("my_site"), "my_5fsite");  // '_' itself: the escaping stays injective
  EXPECT_EQ(escape_label("a-b"), "a_2db");
  EXPECT_EQ(escape_label("a b"), "a_20b");
  EXPECT_EQ(escape_label("a/b"), "a_2fb");
  EXPECT_EQ(escape_label("a:b"), "a_3ab");
  EXPECT_EQ(escape_label("a@b"), "a_40b");
  EXPECT_EQ(escape_label("~"), "_7e");
  EXPECT_EQ(escape_label(std::string("a\0b", 3)), "a_00b");
  EXPECT_EQ(escape_label("\x7f"), "_7f");
  EXPECT_EQ(escape_label("\xff"), "_ff");
  EXPECT_EQ(escape_label("caf\xc3\xa9"), "caf_c3_a9");  // UTF-8 bytes one by one
}

TEST(DbusLabel, LeadingDigits) {
  EXPECT_EQ(escape_label("0"), "_30");
  EXPECT_EQ(escape_label("9lives"), "_39lives");
  EXPECT_EQ(escape_label("42"), "_342");
  EXPECT_EQ(escape_label(".1"), "_2e1");  // not leading: stays
}

TEST(DbusLabel, Empty) {
  EXPECT_EQ(escape_label(""), "");
}

TEST(DbusLabel, Injective) {
  // Names that look alike must not share a bus name.
  const char* names[] = {"a.b", "a_b", "a_2eb", "a-b", "a b", "1a", "_31a", "x", "X", "x_", "x_5f"};
  std::set<std::string> labels;
  for (const char* n : names) labels.insert(escape_label(n));
  EXPECT_EQ(labels.size(), sizeof names / sizeof names[0]);
}

TEST(DbusLabel, ValidBusNameElements) {
  // A bus name element: [A-Za-z0-9_-], not starting with a digit, non-empty.
  for (std::string n : {"site", "example.com", "1st", "-", "ünïcode", "a b c", "0.0.0"}) {
    std::string l = escape_label(n);
    ASSERT_FALSE(l.empty()) << n;
    EXPECT_FALSE(l[0] >= '0' && l[0] <= '9') << n;
    for (char c : l)
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_')
          << n;
  }
}

TEST(DbusLabel, BusName) {
  EXPECT_EQ(bus_name("site"), "org.phppool.Pool1.site");
  EXPECT_EQ(bus_name("example.com"), "org.phppool.Pool1.example_2ecom");
  EXPECT_EQ(bus_name("1st"), "org.phppool.Pool1._31st");
}

TEST(DbusText, ValidUtf8PassesUnchanged) {
  EXPECT_EQ(valid_utf8(""), "");
  EXPECT_EQ(valid_utf8("/index.php?a=b"), "/index.php?a=b");
  EXPECT_EQ(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(DbusText, InvalidBytesBecomeReplacementCharacters) {
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(valid_utf8("a\xff"
                       "b"),
            "a" + r + "b");
  EXPECT_EQ(valid_utf8("\xc3"), r);                              // truncated sequence
  EXPECT_EQ(valid_utf8("\xc3(x"), r + "(x");                     // bad continuation
  EXPECT_EQ(valid_utf8("\xc0\xaf"), r + r);                      // overlong '/'
  EXPECT_EQ(valid_utf8("\xe0\x80\xaf"), r + r + r);              // overlong, 3 bytes
  EXPECT_EQ(valid_utf8("\xed\xa0\x80"), r + r + r);              // surrogate U+D800
  EXPECT_EQ(valid_utf8("\xf4\x90\x80\x80"), r + r + r + r);      // above U+10FFFF
  EXPECT_EQ(valid_utf8(std::string("a\0b", 3)), "a" + r + "b");  // NUL
}
