// php-fpm's status page over a Snapshot: plain text (default), JSON, XML, HTML and OpenMetrics,
// with php-fpm 8.2's keys, layout, escaping and content types, so existing dashboards and
// scrapers keep working. Pure: no sockets, no PHP.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "status/snapshot.hpp"

namespace php_pool::status {

enum class Format { Plain, Json, Xml, Html, OpenMetrics };

const char* format_name(Format f);  // plain, json, xml, html, openmetrics
// Parses a name as the D-Bus API and the command line spell it. False when unknown.
bool parse_format_name(std::string_view name, Format& out);

struct Query {
  Format format = Format::Plain;
  bool full = false;
};

// php-fpm's rules for the status page's QUERY_STRING: a GET variable selects the format (html,
// then xml, then json, then openmetrics win, in php-fpm's order) and `full` adds the per-process
// rows. Variables are named as PHP names them in $_GET (URL-decoded, leading spaces dropped,
// '.' and ' ' read as '_', "name[...]" is "name"), and, as php-fpm 8.2 compares only the
// variable's length, any non-empty prefix of a word selects it (?j is ?json, ?f is ?full).
Query parse_status_query(std::string_view query_string);

// The page's body, byte for byte as php-fpm 8.2 writes it, except OpenMetrics, which is valid
// OpenMetrics 1.0 text (counters sampled as NAME_total, "# EOF" last) and, with `full`, has
// per-process samples labelled by pid.
std::string render(const Snapshot& snapshot, Format format, bool full);

// The Content-Type header line php-fpm sends for the format (as PHP's SAPI spells it, e.g.
// "Content-type: text/plain;charset=UTF-8"), without CRLF.
const char* content_type_header(Format format);

// The CGI header block of a status response (Expires, Cache-Control, Content-Type in php-fpm's
// order), ending with the empty line. For HEAD, php-fpm stops before choosing the format and
// PHP sends its default content type instead.
std::string response_headers(Format format, bool head_request);

// Escapers used by the renderers (exposed for tests and other front ends).
std::string json_escape(std::string_view s);  // as PHP's json_encode(): "\/", "\u00e9"
std::string xml_escape(std::string_view s);   // & < > " as entities (htmlspecialchars, ENT_COMPAT)
std::string openmetrics_escape(std::string_view s);  // label values and HELP text: \\ \" \n

// "23/Nov/2026:00:39:06 +0000" in local time, independent of the C locale.
std::string format_clf_time(int64_t epoch);

}  // namespace php_pool::status
