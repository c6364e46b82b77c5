// The line reader between pool files and inih: physical line numbers, indentation, overlong
// lines split into pieces and joined back, comments, sections and syntax errors.
#include <gtest/gtest.h>
#include <ini.h>

#include "config/internal.hpp"
#include "test_util.hpp"

namespace php_pool::config {
namespace {

using detail::IniEvents;

struct Event {
  std::string kind;  // section, entry, error
  std::string a, b;  // section: name; entry: name, raw; error: message
  int line;
};

std::vector<Event> read(const std::string& text) {
  std::vector<Event> out;
  IniEvents ev;
  ev.section = [&](const std::string& n, int l) { out.push_back({"section", n, "", l}); };
  ev.entry = [&](const std::string& n, const std::string& v, int l) {
    out.push_back({"entry", n, v, l});
  };
  ev.error = [&](int l, const std::string& m) { out.push_back({"error", m, "", l}); };
  detail::read_ini_text(text, ev);
  return out;
}

TEST(Reader, DebianLibinihHasA200ByteLineBuffer) {
  // What this reader works around; if a rebuild changes it, the reader still works.
  EXPECT_GT(ini_max_line, 0);
  EXPECT_TRUE(ini_allow_multiline);
}

TEST(Reader, CountsPhysicalLinesAcrossBlanksAndComments) {
  auto ev = read("; comment\n\n[www]\n# hash comment\nlisten = 9000\n\n\npm = static\n");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, "section");
  EXPECT_EQ(ev[0].a, "www");
  EXPECT_EQ(ev[0].line, 3);
  EXPECT_EQ(ev[1].a, "listen");
  EXPECT_EQ(ev[1].b, "9000");
  EXPECT_EQ(ev[1].line, 5);
  EXPECT_EQ(ev[2].a, "pm");
  EXPECT_EQ(ev[2].line, 8);
}

TEST(Reader, IndentedLinesAreOrdinaryDirectivesNotContinuations) {
  // inih alone would append an indented line to the previous value; php-fpm does not.
  auto ev = read("[www]\n  listen = 9000\n\tpm = static\n    pm.max_children = 4\n");
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[1].a, "listen");
  EXPECT_EQ(ev[1].b, "9000");
  EXPECT_EQ(ev[2].a, "pm");
  EXPECT_EQ(ev[2].b, "static");
  EXPECT_EQ(ev[2].line, 3);
  EXPECT_EQ(ev[3].a, "pm.max_children");
  EXPECT_EQ(ev[3].b, "4");
  EXPECT_EQ(ev[3].line, 4);
}

TEST(Reader, IndentedSectionsAndComments) {
  auto ev = read("  [www]  ; the pool\n   ; indented comment\n  listen = 1\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].a, "www");
  EXPECT_EQ(ev[1].line, 3);
}

TEST(Reader, A600CharacterLineArrivesIntact) {
  std::string value;
  for (int i = 0; value.size() < 600; ++i) value += "func" + std::to_string(i) + ",";
  value.resize(600);
  auto ev = read("[www]\nphp_admin_value[disable_functions] = " + value + "\nlisten = 1\n");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[1].a, "php_admin_value[disable_functions]");
  EXPECT_EQ(ev[1].b, value);
  EXPECT_EQ(ev[1].line, 2);
  EXPECT_EQ(ev[2].a, "listen");
  EXPECT_EQ(ev[2].line, 3);
}

TEST(Reader, PiecesKeepSpacesAndSemicolonsAtEveryBoundary) {
  // Whatever the split points, spaces, tabs and quoted ';' survive byte for byte.
  for (size_t len = 150; len < 900; len += 37) {
    std::string value = "\"";
    for (size_t i = 0; value.size() < len; ++i) value += (i % 3 == 0) ? " ; " : "a\t";
    value += "\"";
    auto ev = read("[p]\nk = " + value + "\n");
    ASSERT_EQ(ev.size(), 2u) << len;
    EXPECT_EQ(ev[1].b, value) << len;
  }
}

TEST(Reader, MultiPieceLinesInARowKeepTheirLineNumbers) {
  std::string a(450, 'a'), b(900, 'b');
  auto ev = read("[p]\nx = " + a + "\ny = " + b + "\n  z = " + a + "\n");
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[1].b, a);
  EXPECT_EQ(ev[1].line, 2);
  EXPECT_EQ(ev[2].b, b);
  EXPECT_EQ(ev[2].line, 3);
  EXPECT_EQ(ev[3].a, "z");
  EXPECT_EQ(ev[3].b, a);
  EXPECT_EQ(ev[3].line, 4);
}

TEST(Reader, ColonsDoNotSplitAndSemicolonsReachTheValueParser) {
  auto ev = read(
      "[p]\nlisten = 127.0.0.1:9000\nenv[PATH] = /usr/bin:/bin ; comment\n"
      "ping.response = \"a ; b\"\n");
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[1].b, "127.0.0.1:9000");
  EXPECT_EQ(ev[2].b, "/usr/bin:/bin ; comment");  // the value parser removes the comment
  EXPECT_EQ(ev[3].b, "\"a ; b\"");
}

TEST(Reader, CrLfAndBom) {
  auto ev = read("\xEF\xBB\xBF[www]\r\nlisten = 9000\r\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].a, "www");
  EXPECT_EQ(ev[1].b, "9000");
}

TEST(Reader, SyntaxErrorsCarryTheirLine) {
  auto ev = read("[www]\nlisten\n[broken\n= 5\nfoo ; = 1\n[]\n[a] junk\nok = 1\n");
  std::vector<std::pair<int, std::string>> errors;
  for (const auto& e : ev) {
    if (e.kind == "error") errors.push_back({e.line, e.a});
  }
  ASSERT_EQ(errors.size(), 6u);
  EXPECT_EQ(errors[0], std::make_pair(2, std::string("syntax error: expected '=' after 'listen'")));
  EXPECT_EQ(errors[1], std::make_pair(3, std::string("section header is missing its closing ']'")));
  EXPECT_EQ(errors[2],
            std::make_pair(4, std::string("syntax error: missing directive name before '='")));
  EXPECT_EQ(errors[3], std::make_pair(5, std::string("syntax error: expected '=' after 'foo'")));
  EXPECT_EQ(errors[4], std::make_pair(6, std::string("empty section name")));
  EXPECT_EQ(errors[5].first, 7);
  EXPECT_EQ(ev.back().a, "ok");
  EXPECT_EQ(ev.back().line, 8);
}

TEST(Reader, ControlCharactersAreRejected) {
  auto ev = read(
      "[p]\nk = a\x01"
      "b\nj = 1\n");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[1].kind, "error");
  EXPECT_EQ(ev[1].line, 2);
  EXPECT_EQ(ev[2].a, "j");
}

TEST(Reader, OverlongDirectiveName) {
  auto ev = read("[p]\n" + std::string(300, 'n') + " = 1\nj = 2\n");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[1].kind, "error");
  EXPECT_EQ(ev[1].a, "directive name too long");
  EXPECT_EQ(ev[2].a, "j");
  EXPECT_EQ(ev[2].line, 3);
}

TEST(Reader, LongSectionNamesAreNotTruncated) {
  std::string name(120, 's');  // inih truncates its own copy at 50 bytes
  auto ev = read("[" + name + "]\nk = 1\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].a, name);
}

TEST(Reader, ReadsFilesAndReportsOpenErrors) {
  testing::TempDir dir;
  std::string file = dir.write("a.conf", "[a]\n  k = v\n");
  std::vector<Event> out;
  IniEvents ev;
  ev.entry = [&](const std::string& n, const std::string& v, int l) {
    out.push_back({"entry", n, v, l});
  };
  std::string err;
  ASSERT_TRUE(detail::read_ini_file(file, ev, err));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].b, "v");
  EXPECT_EQ(out[0].line, 2);
  EXPECT_FALSE(detail::read_ini_file(dir.path() + "/missing.conf", ev, err));
  EXPECT_EQ(err, "No such file or directory");
}

}  // namespace
}  // namespace php_pool::config
