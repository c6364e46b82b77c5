// The line reader between a pool file and inih.
//
// Debian 12's libinih is built with INI_MAX_LINE 200, INI_ALLOW_MULTILINE (an indented line
// continues the previous value), inline ';' comments after whitespace, ':' as a second
// name/value separator and no line numbers in the handler. php-fpm's syntax has none of these:
// every physical line stands alone, whatever its indentation or length. So inih reads through
// ini_parse_stream with this reader, which
//   - counts physical lines (the handler asks the reader which line it is on),
//   - strips indentation, so inih never sees a continuation line we did not make,
//   - handles blank, comment and [section] lines itself,
//   - hides ';' (after '=') and ':' (before '=') from inih in private bytes, so that comments
//     are removed by the quote-aware value parser and ':' never splits a line,
//   - and feeds a line longer than inih's buffer as pieces: the first ends with kMore, the
//     others are indented continuation lines starting with kCont. inih calls the handler once
//     per piece (same name) and the handler joins them back, byte for byte.
#include <ini.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>

#include "config/internal.hpp"

namespace php_pool::config::detail {
namespace {

constexpr char kCont = '\x01';       // starts a continuation piece
constexpr char kMore = '\x02';       // ends a piece that has a continuation
constexpr char kColon = '\x1d';      // ':' in a directive name
constexpr char kSemicolon = '\x1e';  // ';' in a value

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

struct Stream {
  const IniEvents* events = nullptr;
  // exactly one source
  FILE* file = nullptr;
  std::string_view text;
  size_t text_pos = 0;

  int lineno = 0;                  // physical line last read
  std::deque<std::string> pieces;  // what is still to hand to inih for that line
  bool pending = false;            // a piece ending in kMore was handed over
  std::string pending_name, pending_value;

  bool next_physical(std::string& out) {
    if (file) {
      char* buf = nullptr;
      size_t cap = 0;
      ssize_t n = getline(&buf, &cap, file);
      std::unique_ptr<char, decltype(&free)> guard(buf, &free);
      if (n < 0) return false;
      out.assign(buf, static_cast<size_t>(n));
      return true;
    }
    if (text_pos >= text.size()) return false;
    size_t nl = text.find('\n', text_pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    out.assign(text.substr(text_pos, end - text_pos));
    text_pos = end;
    return true;
  }

  void error(const std::string& message) const {
    if (events->error) events->error(lineno, message);
  }

  // Classifies one physical line. Returns the line to give inih (encoded, without indentation),
  // or "" when the reader dealt with it (blank, comment, section, error).
  std::string prepare(std::string line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (lineno == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
    size_t start = 0;
    while (start < line.size() && is_blank(line[start])) ++start;
    line.erase(0, start);
    while (!line.empty() && is_blank(line.back())) line.pop_back();
    if (line.empty() || line[0] == ';' || line[0] == '#') return "";
    for (char c : line) {
      if (c == '\0' || c == kCont || c == kMore || c == kColon || c == kSemicolon) {
        error("the line contains a control character");
        return "";
      }
    }
    if (line[0] == '[') {
      size_t close = line.find(']');
      if (close == std::string::npos) {
        error("section header is missing its closing ']'");
        return "";
      }
      std::string rest = trim(std::string_view(line).substr(close + 1));
      if (!rest.empty() && rest[0] != ';') {
        error("unexpected text '" + rest + "' after the section header");
        return "";
      }
      std::string name = trim(std::string_view(line).substr(1, close - 1));
      if (name.empty()) {
        error("empty section name");
        return "";
      }
      if (events->section) events->section(name, lineno);
      return "";
    }
    size_t eq = line.find_first_of("=;");
    if (eq == std::string::npos || line[eq] == ';') {
      std::string name = trim(std::string_view(line).substr(0, eq));
      error("syntax error: expected '=' after '" + name + "'");
      return "";
    }
    if (trim(std::string_view(line).substr(0, eq)).empty()) {
      error("syntax error: missing directive name before '='");
      return "";
    }
    for (size_t i = 0; i < line.size(); ++i) {
      if (i < eq && line[i] == ':') line[i] = kColon;
      if (i > eq && line[i] == ';') line[i] = kSemicolon;
    }
    return line;
  }

  // Splits LINE into what fits inih's buffer of NUM bytes (content + '\n' + NUL).
  bool split(const std::string& line, int num) {
    const size_t cap = num > 8 ? static_cast<size_t>(num) - 2 : 6;
    if (line.size() <= cap) {
      pieces.push_back(line + "\n");
      return true;
    }
    const size_t first = cap - 1;
    if (line.find('=') + 1 >= first) {
      error("directive name too long");
      return false;
    }
    pieces.push_back(line.substr(0, first) + kMore + "\n");
    const size_t chunk = cap - 3;
    for (size_t pos = first; pos < line.size(); pos += chunk) {
      bool more = pos + chunk < line.size();
      std::string piece = " ";
      piece += kCont;
      piece += line.substr(pos, chunk);
      if (more) piece += kMore;
      pieces.push_back(piece + "\n");
    }
    return true;
  }
};

std::string decode(std::string s) {
  for (char& c : s) {
    if (c == kColon) c = ':';
    if (c == kSemicolon) c = ';';
  }
  return s;
}

char* reader(char* buf, int num, void* user) {
  auto* st = static_cast<Stream*>(user);
  if (num < 2) return nullptr;
  while (st->pieces.empty()) {
    std::string phys;
    if (!st->next_physical(phys)) return nullptr;
    ++st->lineno;
    std::string line = st->prepare(std::move(phys));
    if (line.empty()) {
      std::strcpy(buf, "\n");
      return buf;
    }
    st->split(line, num);
  }
  const std::string& piece = st->pieces.front();
  size_t n = std::min(piece.size(), static_cast<size_t>(num) - 1);
  std::memcpy(buf, piece.data(), n);
  buf[n] = '\0';
  st->pieces.pop_front();
  return buf;
}

int handler(void* user, const char* /*section*/, const char* name, const char* value) {
  auto* st = static_cast<Stream*>(user);
  std::string v = value ? value : "";
  if (!v.empty() && v[0] == kCont) {
    if (!st->pending) return 1;  // cannot happen: only we make continuation lines
    v.erase(0, 1);
  } else {
    st->pending_name = decode(name ? name : "");
    st->pending_value.clear();
  }
  st->pending = !v.empty() && v.back() == kMore;
  if (st->pending) v.pop_back();
  st->pending_value += v;
  if (!st->pending && st->events->entry) {
    st->events->entry(trim(st->pending_name), decode(trim(st->pending_value)), st->lineno);
  }
  return 1;
}

void run(Stream& st) {
  // The same Stream is both inih's stream (reader) and its user pointer (handler).
  int rc = ini_parse_stream(reader, &st, handler, &st);
  if (rc == -2) st.error("out of memory while reading the file");
}

}  // namespace

bool read_ini_file(const std::string& path, const IniEvents& events, std::string& open_error) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (!f) {
    open_error = std::strerror(errno);
    return false;
  }
  Stream st;
  st.events = &events;
  st.file = f;
  run(st);
  std::fclose(f);
  return true;
}

void read_ini_text(const std::string& text, const IniEvents& events) {
  Stream st;
  st.events = &events;
  st.text = text;
  run(st);
}

}  // namespace php_pool::config::detail
