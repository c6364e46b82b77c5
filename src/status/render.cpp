#include "status/render.hpp"

#include <time.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace php_pool::status {

namespace {

void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string& out, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (size_t(n) < sizeof buf) {
    out.append(buf, size_t(n));
    return;
  }
  std::string big(size_t(n) + 1, '\0');
  va_start(ap, fmt);
  vsnprintf(big.data(), big.size(), fmt, ap);
  va_end(ap);
  big.resize(size_t(n));
  out += big;
}

using ull = unsigned long long;

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when it is not valid UTF-8.
size_t utf8_decode(std::string_view s, size_t i, uint32_t& cp) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t min;
  if (b < 0x80) {
    cp = b;
    return 1;
  } else if ((b & 0xE0) == 0xC0) {
    len = 2, cp = b & 0x1F, min = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    len = 3, cp = b & 0x0F, min = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    len = 4, cp = b & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; k++) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

const char* dash(const std::string& s) {
  return s.empty() ? "-" : s.c_str();
}

// The request URI column: php-fpm writes URI, then "?" and the query string when there is one,
// each escaped for the format.
template <typename Escape>
std::string uri_column(const ProcessRow& p, Escape escape) {
  std::string out = escape(p.request_uri.empty() ? std::string_view("-") : p.request_uri);
  if (!p.query_string.empty()) {
    out += '?';
    out += escape(p.query_string);
  }
  return out;
}

std::string identity(std::string_view s) {
  return std::string(s);
}

// --- plain ---------------------------------------------------------------------------------

void render_plain(std::string& out, const Snapshot& s, bool full) {
  appendf(out,
          "pool:                 %s\n"
          "process manager:      %s\n"
          "start time:           %s\n"
          "start since:          %llu\n"
          "accepted conn:        %llu\n"
          "listen queue:         %u\n"
          "max listen queue:     %u\n"
          "listen queue len:     %u\n"
          "idle processes:       %u\n"
          "active processes:     %u\n"
          "total processes:      %u\n"
          "max active processes: %u\n"
          "max children reached: %u\n"
          "slow requests:        %llu\n",
          s.pool.c_str(), s.process_manager.c_str(), format_clf_time(s.start_time).c_str(),
          ull(s.start_since), ull(s.accepted_conn), s.listen_queue, s.max_listen_queue,
          s.listen_queue_len, s.idle, s.active, s.total, s.max_active, s.max_children_reached,
          ull(s.slow_requests));
  if (!full) return;
  for (auto& p : s.processes) {
    std::string uri(uri_column(p, identity));
    appendf(out,
            "\n"
            "************************\n"
            "pid:                  %d\n"
            "state:                %s\n"
            "start time:           %s\n"
            "start since:          %llu\n"
            "requests:             %llu\n"
            "request duration:     %llu\n"
            "request method:       %s\n"
            "request URI:          %s\n"
            "content length:       %llu\n"
            "user:                 %s\n"
            "script:               %s\n"
            "last request cpu:     %.2f\n"
            "last request memory:  %llu\n",
            int(p.pid), p.state.c_str(), format_clf_time(p.start_time).c_str(), ull(p.start_since),
            ull(p.requests), ull(p.request_duration), dash(p.request_method), uri.c_str(),
            ull(p.content_length), dash(p.user), dash(p.script), p.last_request_cpu,
            ull(p.last_request_memory));
  }
}

// --- JSON ----------------------------------------------------------------------------------

void render_json(std::string& out, const Snapshot& s, bool full) {
  appendf(out,
          "{\"pool\":\"%s\",\"process manager\":\"%s\",\"start time\":%lld,\"start since\":%llu,"
          "\"accepted conn\":%llu,\"listen queue\":%u,\"max listen queue\":%u,"
          "\"listen queue len\":%u,\"idle processes\":%u,\"active processes\":%u,"
          "\"total processes\":%u,\"max active processes\":%u,\"max children reached\":%u,"
          "\"slow requests\":%llu",
          json_escape(s.pool).c_str(), json_escape(s.process_manager).c_str(),
          (long long)s.start_time, ull(s.start_since), ull(s.accepted_conn), s.listen_queue,
          s.max_listen_queue, s.listen_queue_len, s.idle, s.active, s.total, s.max_active,
          s.max_children_reached, ull(s.slow_requests));
  if (!full) {
    out += '}';
    return;
  }
  out += ", \"processes\":[";
  bool first = true;
  for (auto& p : s.processes) {
    if (!first) out += ',';
    first = false;
    std::string uri(uri_column(p, json_escape));
    appendf(out,
            "{\"pid\":%d,\"state\":\"%s\",\"start time\":%lld,\"start since\":%llu,"
            "\"requests\":%llu,\"request duration\":%llu,\"request method\":\"%s\","
            "\"request uri\":\"%s\",\"content length\":%llu,\"user\":\"%s\",\"script\":\"%s\","
            "\"last request cpu\":%.2f,\"last request memory\":%llu}",
            int(p.pid), json_escape(p.state).c_str(), (long long)p.start_time, ull(p.start_since),
            ull(p.requests), ull(p.request_duration), json_escape(dash(p.request_method)).c_str(),
            uri.c_str(), ull(p.content_length), json_escape(dash(p.user)).c_str(),
            json_escape(dash(p.script)).c_str(), p.last_request_cpu, ull(p.last_request_memory));
  }
  out += "]}";
}

// --- XML -----------------------------------------------------------------------------------

void render_xml(std::string& out, const Snapshot& s, bool full) {
  appendf(out,
          "<?xml version=\"1.0\" ?>\n"
          "<status>\n"
          "<pool>%s</pool>\n"
          "<process-manager>%s</process-manager>\n"
          "<start-time>%lld</start-time>\n"
          "<start-since>%llu</start-since>\n"
          "<accepted-conn>%llu</accepted-conn>\n"
          "<listen-queue>%u</listen-queue>\n"
          "<max-listen-queue>%u</max-listen-queue>\n"
          "<listen-queue-len>%u</listen-queue-len>\n"
          "<idle-processes>%u</idle-processes>\n"
          "<active-processes>%u</active-processes>\n"
          "<total-processes>%u</total-processes>\n"
          "<max-active-processes>%u</max-active-processes>\n"
          "<max-children-reached>%u</max-children-reached>\n"
          "<slow-requests>%llu</slow-requests>\n",
          xml_escape(s.pool).c_str(), xml_escape(s.process_manager).c_str(),
          (long long)s.start_time, ull(s.start_since), ull(s.accepted_conn), s.listen_queue,
          s.max_listen_queue, s.listen_queue_len, s.idle, s.active, s.total, s.max_active,
          s.max_children_reached, ull(s.slow_requests));
  if (!full) {
    out += "</status>";
    return;
  }
  out += "<processes>\n";
  for (auto& p : s.processes) {
    std::string uri(uri_column(p, xml_escape));
    appendf(out,
            "<process><pid>%d</pid><state>%s</state><start-time>%lld</start-time>"
            "<start-since>%llu</start-since><requests>%llu</requests>"
            "<request-duration>%llu</request-duration><request-method>%s</request-method>"
            "<request-uri>%s</request-uri><content-length>%llu</content-length>"
            "<user>%s</user><script>%s</script><last-request-cpu>%.2f</last-request-cpu>"
            "<last-request-memory>%llu</last-request-memory></process>\n",
            int(p.pid), xml_escape(p.state).c_str(), (long long)p.start_time, ull(p.start_since),
            ull(p.requests), ull(p.request_duration), xml_escape(dash(p.request_method)).c_str(),
            uri.c_str(), ull(p.content_length), xml_escape(dash(p.user)).c_str(),
            xml_escape(dash(p.script)).c_str(), p.last_request_cpu, ull(p.last_request_memory));
  }
  out += "</processes>\n</status>";
}

// --- HTML ----------------------------------------------------------------------------------

void render_html(std::string& out, const Snapshot& s, bool full) {
  appendf(out,
          "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
          "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n"
          "<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
          "<head><title>PHP-FPM Status Page</title></head>\n"
          "<body>\n"
          "<table>\n"
          "<tr><th>pool</th><td>%s</td></tr>\n"
          "<tr><th>process manager</th><td>%s</td></tr>\n"
          "<tr><th>start time</th><td>%s</td></tr>\n"
          "<tr><th>start since</th><td>%llu</td></tr>\n"
          "<tr><th>accepted conn</th><td>%llu</td></tr>\n"
          "<tr><th>listen queue</th><td>%u</td></tr>\n"
          "<tr><th>max listen queue</th><td>%u</td></tr>\n"
          "<tr><th>listen queue len</th><td>%u</td></tr>\n"
          "<tr><th>idle processes</th><td>%u</td></tr>\n"
          "<tr><th>active processes</th><td>%u</td></tr>\n"
          "<tr><th>total processes</th><td>%u</td></tr>\n"
          "<tr><th>max active processes</th><td>%u</td></tr>\n"
          "<tr><th>max children reached</th><td>%u</td></tr>\n"
          "<tr><th>slow requests</th><td>%llu</td></tr>\n"
          "</table>\n",
          xml_escape(s.pool).c_str(), xml_escape(s.process_manager).c_str(),
          format_clf_time(s.start_time).c_str(), ull(s.start_since), ull(s.accepted_conn),
          s.listen_queue, s.max_listen_queue, s.listen_queue_len, s.idle, s.active, s.total,
          s.max_active, s.max_children_reached, ull(s.slow_requests));
  if (!full) {
    out += "</body></html>";
    return;
  }
  out +=
      "<table border=\"1\">\n"
      "<tr><th>pid</th><th>state</th><th>start time</th><th>start since</th><th>requests</th>"
      "<th>request duration</th><th>request method</th><th>request uri</th>"
      "<th>content length</th><th>user</th><th>script</th><th>last request cpu</th>"
      "<th>last request memory</th></tr>\n";
  for (auto& p : s.processes) {
    std::string uri(uri_column(p, xml_escape));
    appendf(out,
            "<tr><td>%d</td><td>%s</td><td>%s</td><td>%llu</td><td>%llu</td><td>%llu</td>"
            "<td>%s</td><td>%s</td><td>%llu</td><td>%s</td><td>%s</td><td>%.2f</td>"
            "<td>%llu</td></tr>\n",
            int(p.pid), xml_escape(p.state).c_str(), format_clf_time(p.start_time).c_str(),
            ull(p.start_since), ull(p.requests), ull(p.request_duration),
            xml_escape(dash(p.request_method)).c_str(), uri.c_str(), ull(p.content_length),
            xml_escape(dash(p.user)).c_str(), xml_escape(dash(p.script)).c_str(),
            p.last_request_cpu, ull(p.last_request_memory));
  }
  out += "</table></body></html>";
}

// --- OpenMetrics ---------------------------------------------------------------------------

void family(std::string& out, const char* name, const char* type, const std::string& help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void counter(std::string& out, const char* name, const char* help, unsigned long long value) {
  family(out, name, "counter", help);
  appendf(out, "%s_total %llu\n", name, value);
}

void gauge(std::string& out, const char* name, const char* help, unsigned long long value) {
  family(out, name, "gauge", help);
  appendf(out, "%s %llu\n", name, value);
}

// A per-process family: one sample per process, labelled by pid.
template <typename Value>
void process_family(std::string& out, const Snapshot& s, const char* name, const char* type,
                    const char* help, Value value) {
  family(out, name, type, help);
  bool is_counter = strcmp(type, "counter") == 0;
  for (auto& p : s.processes) {
    appendf(out, "%s%s{pid=\"%d\"} ", name, is_counter ? "_total" : "", int(p.pid));
    out += value(p);
    out += '\n';
  }
}

std::string num(unsigned long long v) {
  return std::to_string(v);
}

void render_openmetrics(std::string& out, const Snapshot& s, bool full) {
  // php-fpm's families, help texts and types; counters get the _total suffix OpenMetrics
  // requires on their samples.
  gauge(out, "phpfpm_up",
        ("Could pool " + openmetrics_escape(s.pool) + " using a " +
         openmetrics_escape(s.process_manager) + " PM on PHP-FPM be reached?")
            .c_str(),
        1);
  counter(out, "phpfpm_start_since", "The number of seconds since FPM has started.", s.start_since);
  counter(out, "phpfpm_accepted_connections", "The number of requests accepted by the pool.",
          s.accepted_conn);
  gauge(out, "phpfpm_listen_queue", "The number of requests in the queue of pending connections.",
        s.listen_queue);
  counter(out, "phpfpm_max_listen_queue",
          "The maximum number of requests in the queue of pending connections since FPM has "
          "started.",
          s.max_listen_queue);
  gauge(out, "phpfpm_listen_queue_length", "The size of the socket queue of pending connections.",
        s.listen_queue_len);
  gauge(out, "phpfpm_idle_processes", "The number of idle processes.", s.idle);
  gauge(out, "phpfpm_active_processes", "The number of active processes.", s.active);
  gauge(out, "phpfpm_total_processes", "The number of idle + active processes.", s.total);
  counter(out, "phpfpm_max_active_processes",
          "The maximum number of active processes since FPM has started.", s.max_active);
  counter(out, "phpfpm_max_children_reached",
          "The number of times, the process limit has been reached, when pm tries to start more "
          "children (works only for pm 'dynamic' and 'ondemand').",
          s.max_children_reached);
  counter(out, "phpfpm_slow_requests",
          "The number of requests that exceeded your 'request_slowlog_timeout' value.",
          s.slow_requests);
  if (full) {
    family(out, "phpfpm_process_state", "gauge",
           "The state of the process (Idle, Running, ...): 1 for its current state.");
    for (auto& p : s.processes)
      appendf(out, "phpfpm_process_state{pid=\"%d\",state=\"%s\"} 1\n", int(p.pid),
              openmetrics_escape(p.state).c_str());
    process_family(out, s, "phpfpm_process_start_since", "counter",
                   "The number of seconds since the process has started.",
                   [](const ProcessRow& p) { return num(p.start_since); });
    process_family(out, s, "phpfpm_process_requests", "counter",
                   "The number of requests the process has served.",
                   [](const ProcessRow& p) { return num(p.requests); });
    process_family(out, s, "phpfpm_process_request_duration", "gauge",
                   "The duration in microseconds of the running request, or of the last one "
                   "when the process is idle.",
                   [](const ProcessRow& p) { return num(p.request_duration); });
    process_family(out, s, "phpfpm_process_content_length", "gauge",
                   "The content length of the request (POST only).",
                   [](const ProcessRow& p) { return num(p.content_length); });
    process_family(out, s, "phpfpm_process_last_request_cpu", "gauge",
                   "The %cpu the last request consumed.", [](const ProcessRow& p) {
                     char b[64];
                     snprintf(b, sizeof b, "%.2f", p.last_request_cpu);
                     return std::string(b);
                   });
    process_family(out, s, "phpfpm_process_last_request_memory", "gauge",
                   "The max amount of memory the last request consumed.",
                   [](const ProcessRow& p) { return num(p.last_request_memory); });
  }
  out += "# EOF\n";
}

// PHP's $_GET name for a query-string variable name (already URL-decoded).
std::string php_var_name(std::string name) {
  size_t start = name.find_first_not_of(' ');
  if (start == std::string::npos) return {};
  name.erase(0, start);
  for (size_t i = 0; i < name.size(); i++) {
    if (name[i] == ' ' || name[i] == '.') {
      name[i] = '_';
    } else if (name[i] == '[') {
      // "a[...]" is the array a; an unclosed '[' is read as '_'.
      if (name.find(']', i + 1) != std::string::npos) {
        name.resize(i);
      } else {
        name[i] = '_';
      }
      break;
    }
  }
  // PHP's variable names are C strings.
  auto nul = name.find('\0');
  if (nul != std::string::npos) name.resize(nul);
  return name;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      out += char(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// php-fpm 8.2 compares strncmp(name, word, strlen(name)): a non-empty prefix matches.
bool selects(const std::string& name, std::string_view word) {
  return !name.empty() && name.size() <= word.size() && word.compare(0, name.size(), name) == 0;
}

}  // namespace

const char* format_name(Format f) {
  switch (f) {
    case Format::Plain:
      return "plain";
    case Format::Json:
      return "json";
    case Format::Xml:
      return "xml";
    case Format::Html:
      return "html";
    case Format::OpenMetrics:
      return "openmetrics";
  }
  return "plain";
}

bool parse_format_name(std::string_view name, Format& out) {
  for (Format f : {Format::Plain, Format::Json, Format::Xml, Format::Html, Format::OpenMetrics})
    if (name == format_name(f)) {
      out = f;
      return true;
    }
  if (name == "text" || name == "txt") {
    out = Format::Plain;
    return true;
  }
  return false;
}

Query parse_status_query(std::string_view qs) {
  bool html = false, xml = false, json = false, openmetrics = false;
  Query q;
  size_t pos = 0;
  while (pos <= qs.size()) {
    size_t amp = qs.find('&', pos);
    if (amp == std::string_view::npos) amp = qs.size();
    std::string_view var = qs.substr(pos, amp - pos);
    pos = amp + 1;
    if (var.empty()) continue;
    std::string name = php_var_name(url_decode(var.substr(0, var.find('='))));
    html |= selects(name, "html");
    xml |= selects(name, "xml");
    json |= selects(name, "json");
    openmetrics |= selects(name, "openmetrics");
    q.full |= selects(name, "full");
  }
  q.format = html          ? Format::Html
             : xml         ? Format::Xml
             : json        ? Format::Json
             : openmetrics ? Format::OpenMetrics
                           : Format::Plain;
  return q;
}

std::string render(const Snapshot& snapshot, Format format, bool full) {
  std::string out;
  out.reserve(1024 + (full ? 512 * snapshot.processes.size() : 0));
  switch (format) {
    case Format::Plain:
      render_plain(out, snapshot, full);
      break;
    case Format::Json:
      render_json(out, snapshot, full);
      break;
    case Format::Xml:
      render_xml(out, snapshot, full);
      break;
    case Format::Html:
      render_html(out, snapshot, full);
      break;
    case Format::OpenMetrics:
      render_openmetrics(out, snapshot, full);
      break;
  }
  return out;
}

const char* content_type_header(Format format) {
  // PHP's SAPI rewrites a text/* Content-Type set by php-fpm into "Content-type: ...;charset=".
  switch (format) {
    case Format::Plain:
      return "Content-type: text/plain;charset=UTF-8";
    case Format::Json:
      return "Content-Type: application/json";
    case Format::Xml:
      return "Content-type: text/xml;charset=UTF-8";
    case Format::Html:
      return "Content-type: text/html;charset=UTF-8";
    case Format::OpenMetrics:
      return "Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8";
  }
  return "Content-type: text/plain;charset=UTF-8";
}

std::string response_headers(Format format, bool head_request) {
  std::string h =
      "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
      "Cache-Control: no-cache, no-store, must-revalidate, max-age=0\r\n";
  h += head_request ? "Content-type: text/html; charset=UTF-8" : content_type_header(format);
  h += "\r\n\r\n";
  return h;
}

std::string json_escape(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '/':
          out += "\\/";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
          } else {
            out += char(c);
          }
      }
      i++;
      continue;
    }
    uint32_t cp;
    size_t len = utf8_decode(s, i, cp);
    if (!len) {
      cp = 0xFFFD;  // invalid UTF-8: the replacement character, so the document stays valid
      len = 1;
    }
    i += len;
    auto unit = [&](uint32_t u) {
      out += "\\u";
      out += hex[(u >> 12) & 15];
      out += hex[(u >> 8) & 15];
      out += hex[(u >> 4) & 15];
      out += hex[u & 15];
    };
    if (cp >= 0x10000) {
      cp -= 0x10000;
      unit(0xD800 | (cp >> 10));
      unit(0xDC00 | (cp & 0x3FF));
    } else {
      unit(cp);
    }
  }
  return out;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        default:
          // Control characters are not allowed in XML 1.0: dropped, like invalid UTF-8
          // (htmlspecialchars with ENT_HTML_IGNORE_ERRORS).
          if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') out += char(c);
      }
      i++;
      continue;
    }
    uint32_t cp;
    size_t len = utf8_decode(s, i, cp);
    if (!len) {
      i++;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string openmetrics_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_clf_time(int64_t epoch) {
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t t = time_t(epoch);
  struct tm tm;
  if (!localtime_r(&t, &tm)) return "-";
  long off = tm.tm_gmtoff / 60;
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  char buf[64];
  snprintf(buf, sizeof buf, "%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld", tm.tm_mday,
           months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
           off / 60, off % 60);
  return buf;
}

}  // namespace php_pool::status
