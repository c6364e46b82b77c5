// Internals of the pool-file parser, shared by its translation units and unit tests.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace php_pool::config::detail {

// ---- reader.cpp: physical lines -> inih -> logical entries ----------------------------------

// What the reader reports, line by line, in file order. LINE is the physical line (1-based).
struct IniEvents {
  std::function<void(const std::string& section, int line)> section;
  // NAME is the directive as written (trimmed), RAW the text after '=' (trimmed, comments not
  // yet removed: quote-aware comment removal is the value parser's job).
  std::function<void(const std::string& name, const std::string& raw, int line)> entry;
  std::function<void(int line, const std::string& message)> error;
};

// Parses PATH with inih's ini_parse_stream and our own line reader: counts physical lines,
// strips indentation, passes overlong lines as marked pieces and joins them back. Returns false
// with OPEN_ERROR set when the file cannot be opened.
bool read_ini_file(const std::string& path, const IniEvents& events, std::string& open_error);
// The same over an in-memory text (tests).
void read_ini_text(const std::string& text, const IniEvents& events);

// ---- value.cpp: php's INI_SCANNER_NORMAL value syntax and typed conversions -----------------

// Turns the raw text after '=' into the value php-fpm sees: "double" quotes with \" \\ \$
// escapes and ${VAR} expansion, 'single' quotes raw, unquoted ${VAR}, ';' comments outside
// quotes, true/on/yes -> "1", false/off/no/none/null -> "", E_* constants, and integer
// expressions with | & ^ ~ ! ( ). Returns nullopt and sets ERROR on a syntax error.
std::optional<std::string> parse_ini_value(std::string_view raw, std::string& error);

// A [section] name as php-fpm reads it: ${VAR} expanded from the environment, "double" and
// 'single' quoted parts as in a value, anything else kept as written. Returns nullopt and sets
// ERROR on a syntax error (an unterminated quote or '${').
std::optional<std::string> expand_section_name(std::string_view raw, std::string& error);

// An integer as php-fpm takes it: optional '-', then digits only.
std::optional<int> parse_integer(std::string_view text);

// Optimal string alignment distance (Levenshtein plus adjacent transpositions). A distance above
// BOUND may be returned as BOUND + 1 (computed no further).
size_t edit_distance(std::string_view a, std::string_view b, size_t bound = SIZE_MAX);
// The nearest of CANDIDATES to NAME when close enough to be a likely typo, else "".
std::string nearest(std::string_view name, const std::vector<std::string>& candidates);

std::string to_lower(std::string_view s);
std::string trim(std::string_view s);

// ---- parse.cpp: the directive table ---------------------------------------------------------

enum class Scope { Global, Pool };

// The canonical names of every known directive of SCOPE (arrays as "env[]").
std::vector<std::string> directive_names(Scope scope);

// Reads FILE and its includes into CONFIG (CONFIG.prefix must be set: relative includes and
// paths resolve against it). Appends every problem to ERRORS / WARNINGS.
void parse_files(const std::string& file, Config& config, bool explicit_prefix,
                 std::vector<Diagnostic>& errors, std::vector<Diagnostic>& warnings);

constexpr int kMaxIncludeDepth = 5;  // files in one include chain, the main file included

// ---- validate.cpp: php-fpm's post-processing ------------------------------------------------

// Resolves relative paths, fills computed defaults and checks every rule php-fpm checks after
// reading the files. Appends to ERRORS/WARNINGS.
void validate(Config& config, std::vector<Diagnostic>& errors, std::vector<Diagnostic>& warnings);

// Joins a relative PATH to PREFIX ("$prefix/x" and "x" both become PREFIX/x).
std::string resolve_path(const std::string& path, const std::string& prefix);

}  // namespace php_pool::config::detail
