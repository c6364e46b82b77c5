// php's INI_SCANNER_NORMAL value syntax, as php-fpm reads its pool files, and the typed
// conversions php-fpm applies (integers, times, booleans). Written from the documented
// behaviour of zend_ini_scanner/zend_ini_parser and fpm_conf.c; no code is shared.
#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>

#include "config/internal.hpp"

namespace php_pool::config {

std::optional<bool> parse_boolean(const std::string& text) {
  std::string v = detail::to_lower(text);
  if (v == "1" || v == "yes" || v == "true" || v == "on") return true;
  if (v.empty() || v == "0" || v == "no" || v == "false" || v == "off" || v == "none") {
    return false;
  }
  return std::nullopt;
}

std::optional<std::chrono::seconds> parse_time(const std::string& text) {
  if (text.empty()) return std::nullopt;
  long long unit = 1;
  std::string_view digits = text;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      if (!std::isdigit(static_cast<unsigned char>(text.back()))) return std::nullopt;
      unit = 0;
  }
  if (unit != 0)
    digits.remove_suffix(1);
  else
    unit = 1;
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  long long n = std::atoll(std::string(digits).c_str()) * unit;
  if (n > INT_MAX) return std::nullopt;
  return std::chrono::seconds(n);
}

namespace detail {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::optional<int> parse_integer(std::string_view text) {
  std::string_view d = text;
  bool negative = false;
  if (!d.empty() && d[0] == '-') {
    negative = true;
    d.remove_prefix(1);
  }
  if (d.empty() || d.size() > 10) return std::nullopt;
  for (char c : d) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  long long n = std::atoll(std::string(d).c_str());
  if (negative) n = -n;
  if (n > INT_MAX || n < INT_MIN) return std::nullopt;
  return static_cast<int>(n);
}

size_t edit_distance(std::string_view a, std::string_view b, size_t bound) {
  // Three rolling rows (i-2, i-1, i) instead of the whole table. Row minima never decrease, so
  // once two consecutive rows are all above BOUND every later one is too: stop there.
  const size_t m = b.size();
  // Directive names are short: their rows live on the stack (no allocation per candidate).
  constexpr size_t kStack = 64;
  size_t stack_rows[3][kStack];
  std::vector<size_t> heap_rows;
  size_t *before = stack_rows[0], *prev = stack_rows[1], *row = stack_rows[2];
  if (m + 1 > kStack) {
    heap_rows.resize(3 * (m + 1));
    before = heap_rows.data();
    prev = before + m + 1;
    row = prev + m + 1;
  }
  for (size_t j = 0; j <= m; ++j) prev[j] = j;
  size_t prev_min = 0;
  for (size_t i = 1; i <= a.size(); ++i) {
    row[0] = i;
    size_t row_min = i;
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        row[j] = std::min(row[j], before[j - 2] + 1);
      }
      row_min = std::min(row_min, row[j]);
    }
    if (row_min > bound && prev_min > bound) return bound + 1;
    prev_min = row_min;
    std::swap(before, prev);
    std::swap(prev, row);
  }
  return prev[m];
}

std::string nearest(std::string_view name, const std::vector<std::string>& candidates) {
  std::string lname = to_lower(name);
  std::string best;
  size_t limit = std::max<size_t>(2, lname.size() / 3);
  size_t best_d = limit + 1;  // only a candidate within the limit can be suggested
  int name_counts[256] = {};
  for (unsigned char ch : lname) ++name_counts[ch];
  for (const auto& c : candidates) {
    // The distance is at least the length difference: skip what cannot be within the limit,
    // so that a file of long unknown names does not cost a quadratic table for each.
    size_t diff = lname.size() > c.size() ? lname.size() - c.size() : c.size() - lname.size();
    if (diff >= best_d) continue;
    // And at least half the characters the two do not share (an edit changes at most two
    // counts): most candidates are ruled out in linear time. Directive names are lowercase
    // already; only a candidate that is not gets a lowercase copy.
    std::string lowered;
    std::string_view lc = c;
    if (std::any_of(c.begin(), c.end(), [](unsigned char ch) { return std::isupper(ch); })) {
      lowered = to_lower(c);
      lc = lowered;
    }
    int counts[256];
    std::memcpy(counts, name_counts, sizeof counts);
    for (unsigned char ch : lc) --counts[ch];
    size_t unshared = 0;
    for (unsigned char ch : lname) {
      unshared += static_cast<size_t>(std::max(counts[ch], 0));
      counts[ch] = 0;  // counted once
    }
    for (unsigned char ch : lc) {
      unshared += static_cast<size_t>(std::max(-counts[ch], 0));
      counts[ch] = 0;
    }
    if ((unshared + 1) / 2 >= best_d) continue;
    // Only a distance below the best so far matters (the first of equals wins).
    size_t d = edit_distance(lname, lc, best_d - 1);
    if (d < best_d) {
      best_d = d;
      best = c;
      if (d == 0) break;
    }
  }
  if (best.empty() || best == name || best_d >= lname.size()) return "";
  return best;
}

namespace {

// Constants php-fpm's ini parser can see at start-up that pool files actually use.
const std::map<std::string, long long>& constants() {
  static const std::map<std::string, long long> table = {
      {"E_ERROR", 1},
      {"E_WARNING", 2},
      {"E_PARSE", 4},
      {"E_NOTICE", 8},
      {"E_CORE_ERROR", 16},
      {"E_CORE_WARNING", 32},
      {"E_COMPILE_ERROR", 64},
      {"E_COMPILE_WARNING", 128},
      {"E_USER_ERROR", 256},
      {"E_USER_WARNING", 512},
      {"E_USER_NOTICE", 1024},
      {"E_STRICT", 2048},
      {"E_RECOVERABLE_ERROR", 4096},
      {"E_DEPRECATED", 8192},
      {"E_USER_DEPRECATED", 16384},
      {"E_ALL", 32767},
      {"PHP_INT_MAX", LLONG_MAX},
      {"PHP_INT_MIN", LLONG_MIN},
      {"PHP_INT_SIZE", 8},
  };
  return table;
}

const std::map<std::string, std::string>& string_constants() {
  static const std::map<std::string, std::string> table = {
      {"DIRECTORY_SEPARATOR", "/"}, {"PATH_SEPARATOR", ":"},    {"PHP_EOL", "\n"},
      {"PHP_OS", "Linux"},          {"PHP_OS_FAMILY", "Linux"},
  };
  return table;
}

enum class Kind { Word, Literal, Space, Op };
struct Token {
  Kind kind;
  std::string text;
};

bool is_op(char c) {
  return std::strchr("&|^~!()", c) != nullptr && c != '\0';
}

std::string env_value(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? v : "";
}

// ${NAME} at RAW[I] (I points at '$'). Advances I past '}'.
std::optional<std::string> dollar_curly(std::string_view raw, size_t& i, std::string& error) {
  size_t close = raw.find('}', i + 2);
  if (close == std::string_view::npos) {
    error = "syntax error: unterminated '${'";
    return std::nullopt;
  }
  std::string name(raw.substr(i + 2, close - i - 2));
  i = close + 1;
  return env_value(name);
}

std::optional<std::vector<Token>> tokenize(std::string_view raw, std::string& error) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < raw.size()) {
    char c = raw[i];
    if (c == ';') break;  // a comment, outside quotes
    if (c == ' ' || c == '\t') {
      size_t j = i;
      while (j < raw.size() && (raw[j] == ' ' || raw[j] == '\t')) ++j;
      out.push_back({Kind::Space, std::string(raw.substr(i, j - i))});
      i = j;
    } else if (c == '"') {
      std::string s;
      size_t j = i + 1;
      bool closed = false;
      while (j < raw.size()) {
        char d = raw[j];
        if (d == '"') {
          closed = true;
          ++j;
          break;
        }
        if (d == '\\' && j + 1 < raw.size()) {
          char e = raw[j + 1];
          if (e == '"' || e == '\\' || e == '$') {
            s += e;
          } else {
            s += '\\';
            s += e;
          }
          j += 2;
        } else if (d == '$' && j + 1 < raw.size() && raw[j + 1] == '{') {
          auto v = dollar_curly(raw, j, error);
          if (!v) return std::nullopt;
          s += *v;
        } else {
          s += d;
          ++j;
        }
      }
      if (!closed) {
        error = "syntax error: unterminated double-quoted string";
        return std::nullopt;
      }
      out.push_back({Kind::Literal, s});
      i = j;
    } else if (c == '\'') {
      size_t close = raw.find('\'', i + 1);
      if (close == std::string_view::npos) {
        error = "syntax error: unterminated single-quoted string";
        return std::nullopt;
      }
      out.push_back({Kind::Literal, std::string(raw.substr(i + 1, close - i - 1))});
      i = close + 1;
    } else if (c == '$' && i + 1 < raw.size() && raw[i + 1] == '{') {
      auto v = dollar_curly(raw, i, error);
      if (!v) return std::nullopt;
      out.push_back({Kind::Literal, *v});
    } else if (is_op(c)) {
      out.push_back({Kind::Op, std::string(1, c)});
      ++i;
    } else {
      size_t j = i;
      while (j < raw.size()) {
        char d = raw[j];
        if (d == ' ' || d == '\t' || d == ';' || d == '"' || d == '\'' || is_op(d)) break;
        if (d == '$' && j + 1 < raw.size() && raw[j + 1] == '{') break;
        ++j;
      }
      out.push_back({Kind::Word, std::string(raw.substr(i, j - i))});
      i = j;
    }
  }
  while (!out.empty() && out.back().kind == Kind::Space) out.pop_back();
  while (!out.empty() && out.front().kind == Kind::Space) out.erase(out.begin());
  return out;
}

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// A word as the parser sees it: a defined constant becomes its value.
std::string word_value(const std::string& w) {
  if (!is_identifier(w)) return w;
  if (auto it = constants().find(w); it != constants().end()) return std::to_string(it->second);
  if (auto it = string_constants().find(w); it != string_constants().end()) return it->second;
  return w;
}

std::optional<std::string> keyword(const std::string& w) {
  std::string l = to_lower(w);
  if (l == "true" || l == "on" || l == "yes") return "1";
  if (l == "false" || l == "off" || l == "no" || l == "none" || l == "null") return "";
  return std::nullopt;
}

// Integer expressions: | & ^ share one precedence, left-associative; ~ ! unary; ( ).
class Expr {
 public:
  Expr(const std::vector<Token>& toks) : toks_(toks) {}

  std::optional<long long> parse(std::string& error) {
    auto v = binary();
    skip_space();
    if (!v || pos_ != toks_.size()) {
      error = "syntax error in expression";
      return std::nullopt;
    }
    return v;
  }

 private:
  void skip_space() {
    while (pos_ < toks_.size() && toks_[pos_].kind == Kind::Space) ++pos_;
  }
  bool peek_op(char c) {
    skip_space();
    return pos_ < toks_.size() && toks_[pos_].kind == Kind::Op && toks_[pos_].text[0] == c;
  }
  std::optional<long long> binary() {
    auto left = unary();
    while (left) {
      char op = 0;
      for (char c : {'|', '&', '^'}) {
        if (peek_op(c)) op = c;
      }
      if (!op) break;
      ++pos_;
      auto right = unary();
      if (!right) return std::nullopt;
      int a = static_cast<int>(*left), b = static_cast<int>(*right);
      left = op == '|' ? (a | b) : op == '&' ? (a & b) : (a ^ b);
    }
    return left;
  }
  std::optional<long long> unary() {
    if (peek_op('~')) {
      ++pos_;
      auto v = unary();
      if (!v) return std::nullopt;
      return ~static_cast<int>(*v);
    }
    if (peek_op('!')) {
      ++pos_;
      auto v = unary();
      if (!v) return std::nullopt;
      return !static_cast<int>(*v);
    }
    if (peek_op('(')) {
      ++pos_;
      auto v = binary();
      if (!v || !peek_op(')')) return std::nullopt;
      ++pos_;
      return v;
    }
    skip_space();
    // an operand: the run of words, literals and inner spaces up to the next operator
    std::string text;
    size_t words = 0, start = pos_;
    while (pos_ < toks_.size() && toks_[pos_].kind != Kind::Op) {
      const Token& t = toks_[pos_];
      text += t.kind == Kind::Word ? word_value(t.text) : t.text;
      if (t.kind != Kind::Space) ++words;
      ++pos_;
    }
    if (words == 0) return std::nullopt;
    if (words == 1 && toks_[start].kind == Kind::Word) {
      if (auto k = keyword(toks_[start].text)) text = *k;
    }
    return static_cast<long long>(static_cast<int>(std::atoll(trim(text).c_str())));
  }

  const std::vector<Token>& toks_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<std::string> parse_ini_value(std::string_view raw, std::string& error) {
  auto toks = tokenize(raw, error);
  if (!toks) return std::nullopt;
  bool has_op =
      std::any_of(toks->begin(), toks->end(), [](const Token& t) { return t.kind == Kind::Op; });
  if (has_op) {
    auto v = Expr(*toks).parse(error);
    if (!v) return std::nullopt;
    return std::to_string(*v);
  }
  if (toks->size() == 1 && (*toks)[0].kind == Kind::Word) {
    if (auto k = keyword((*toks)[0].text)) return *k;
  }
  std::string out;
  for (const Token& t : *toks) out += t.kind == Kind::Word ? word_value(t.text) : t.text;
  return out;
}

std::optional<std::string> expand_section_name(std::string_view raw, std::string& error) {
  std::string out;
  size_t i = 0;
  while (i < raw.size()) {
    const char c = raw[i];
    if (c == '$' && i + 1 < raw.size() && raw[i + 1] == '{') {
      auto v = dollar_curly(raw, i, error);
      if (!v) return std::nullopt;
      out += *v;
    } else if (c == '"' || c == '\'') {
      // A quoted part reads as it would in a value: the tokenizer takes exactly that part.
      size_t j = i + 1;
      while (j < raw.size() && raw[j] != c) j += (c == '"' && raw[j] == '\\') ? 2 : 1;
      auto toks = tokenize(raw.substr(i, std::min(j + 1, raw.size()) - i), error);
      if (!toks) return std::nullopt;
      for (const Token& t : *toks) out += t.text;
      i = j + 1;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

}  // namespace detail
}  // namespace php_pool::config
