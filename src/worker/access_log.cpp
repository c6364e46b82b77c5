#include "worker/access_log.hpp"

#include <errno.h>
#include <fcntl.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace php_pool::worker {

namespace {

bool is(const std::string& modifier, const char* word) {
  return strcasecmp(modifier.c_str(), word) == 0;
}

std::string str_printf(const char* fmt, double v) {
  char buf[64];
  snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string format_time(const std::string& modifier, int64_t epoch) {
  time_t t = time_t(epoch);
  struct tm tm;
  if (!localtime_r(&t, &tm)) return "";
  if (modifier.empty()) {
    // php-fpm's default, with English month names whatever the locale.
    static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    if (off < 0) off = -off;
    char buf[64];
    snprintf(buf, sizeof buf, "%02d/%s/%04d:%02d:%02d:%02d %c%02ld%02ld", tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign,
             off / 60, off % 60);
    return buf;
  }
  char buf[129];  // php-fpm's buffer: longer results are dropped
  size_t n = strftime(buf, sizeof buf - 1, modifier.c_str(), &tm);
  return std::string(buf, n);
}

// %{Name}o: the first response header with that name (case-insensitive), "-" when absent or
// empty.
std::string find_header(const std::vector<std::string>* headers, const std::string& name) {
  if (!headers) return "-";
  for (auto& h : *headers) {
    size_t colon = h.find(':');
    if (colon == std::string::npos || colon != name.size()) continue;
    if (strncasecmp(h.data(), name.data(), name.size()) != 0) continue;
    size_t v = h.find_first_not_of(" \t", colon + 1);
    if (v == std::string::npos) return "-";
    return h.substr(v);
  }
  return "-";
}

// php-fpm's fpm_log_write(): with `e` == nullptr only checks the format.
bool expand(const std::string& fmt, const AccessEntry* e, std::string& out, std::string& error,
            bool& truncated) {
  const bool test = e == nullptr;
  bool token = false;
  std::string modifier;
  auto fail = [&](const char* message, char c) {
    char buf[256];
    snprintf(buf, sizeof buf, message, c, modifier.c_str());
    error = buf;
    return false;
  };
  size_t i = 0;
  while (i < fmt.size()) {
    if (out.size() >= kAccessLineMax) {
      truncated = true;
      break;
    }
    char c = fmt[i];
    if (!token && c == '%') {
      token = true;
      modifier.clear();
      i++;
      continue;
    }
    if (!token) {
      if (!test) out += c;
      i++;
      continue;
    }
    token = false;
    std::string piece;
    switch (c) {
      case '%':
        piece = "%";
        break;

      case 'C': {  // %CPU of the request
        uint64_t cpu = 0;
        if (modifier.empty() || is(modifier, "total")) {
          if (!test) cpu = e->cpu_user_us + e->cpu_system_us;
        } else if (is(modifier, "user")) {
          if (!test) cpu = e->cpu_user_us;
        } else if (is(modifier, "system")) {
          if (!test) cpu = e->cpu_system_us;
        } else {
          return fail("only 'total', 'user' or 'system' are allowed as a modifier for %%%c ('%s')",
                      c);
        }
        modifier.clear();
        if (!test)
          piece = str_printf("%.2f",
                             e->duration_us ? double(cpu) / double(e->duration_us) * 100.0 : 0.0);
        break;
      }

      case 'd':  // duration
        if (modifier.empty() || is(modifier, "seconds")) {
          if (!test) piece = str_printf("%.3f", double(e->duration_us) / 1000000.0);
        } else if (is(modifier, "milliseconds") || is(modifier, "milli") || is(modifier, "mili") ||
                   is(modifier, "miliseconds")) {
          if (!test) piece = str_printf("%.3f", double(e->duration_us) / 1000.0);
        } else if (is(modifier, "microseconds") || is(modifier, "micro")) {
          if (!test) piece = std::to_string(e->duration_us);
        } else {
          return fail(
              "only 'seconds', 'milli', 'milliseconds', 'micro' or 'microseconds' are allowed "
              "as a modifier for %%%c ('%s')",
              c);
        }
        modifier.clear();
        break;

      case 'e':  // a FastCGI variable
        if (modifier.empty())
          return fail("the name of the environment variable must be set between embraces for %%%c",
                      c);
        if (!test) {
          const std::string* v = e->params ? fastcgi::find_param(*e->params, modifier) : nullptr;
          piece = v ? *v : "-";
        }
        modifier.clear();
        break;

      case 'f':
        if (!test) piece = e->script_filename.empty() ? "-" : e->script_filename;
        break;

      case 'l':
        if (!test) piece = std::to_string(e->content_length);
        break;

      case 'm':
        if (!test) piece = e->method.empty() ? "-" : e->method;
        break;

      case 'M':  // memory
        if (modifier.empty() || is(modifier, "bytes")) {
          if (!test) piece = std::to_string(e->memory);
        } else if (is(modifier, "kilobytes") || is(modifier, "kilo")) {
          if (!test) piece = std::to_string(e->memory / 1024);
        } else if (is(modifier, "megabytes") || is(modifier, "mega")) {
          if (!test) piece = std::to_string(e->memory / 1024 / 1024);
        } else {
          return fail(
              "only 'bytes', 'kilo', 'kilobytes', 'mega' or 'megabytes' are allowed as a "
              "modifier for %%%c ('%s')",
              c);
        }
        modifier.clear();
        break;

      case 'n':
        if (!test) piece = e->pool.empty() ? "-" : e->pool;
        break;

      case 'o':  // a response header
        if (modifier.empty())
          return fail("the name of the header must be set between embraces for %%%c", c);
        if (!test) piece = find_header(e->response_headers, modifier);
        modifier.clear();
        break;

      case 'p':
        if (!test) piece = std::to_string(long(e->pid));
        break;

      case 'P':
        if (!test) piece = std::to_string(long(e->ppid));
        break;

      case 'q':
        if (!test) piece = e->query_string;
        break;

      case 'Q':
        if (!test) piece = e->query_string.empty() ? "" : "?";
        break;

      case 'r':
        if (!test) piece = e->request_uri;
        break;

      case 'R':
        if (!test) piece = e->remote_ip.empty() ? "-" : e->remote_ip;
        break;

      case 's':
        if (!test) piece = std::to_string(e->status);
        break;

      case 't':
      case 'T':
        if (!test) piece = format_time(modifier, c == 't' ? e->accepted_epoch : e->now_epoch);
        modifier.clear();
        break;

      case 'u':
        if (!test) piece = e->user;
        break;

      case '{': {  // a modifier for the token after the closing brace
        size_t start = i + 1;
        size_t close = fmt.find('}', start);
        if (close == std::string::npos || close + 1 >= fmt.size()) {
          error = "missing closing embrace in the access.format";
          return false;
        }
        modifier = fmt.substr(start, std::min<size_t>(close - start, 128));
        token = true;
        i = close + 1;
        continue;
      }

      default:
        return fail("Invalid token in the access.format (%%%c)", c);
    }
    if (!modifier.empty()) return fail("embrace is not allowed for modifier %%%c", c);
    i++;
    if (!test) {
      // What a client sends (a Basic-auth user with a newline, a header for %{...}e) must
      // not start a line of its own.
      out += log::printable(piece);
      if (out.size() >= kAccessLineMax) {
        out.resize(kAccessLineMax);
        truncated = true;
        break;
      }
    }
  }
  if (out.size() > kAccessLineMax) {
    out.resize(kAccessLineMax);
    truncated = true;
  }
  return true;
}

int decode64(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool check_access_format(const std::string& format, std::string& error) {
  std::string out;
  bool truncated = false;
  return expand(format, nullptr, out, error, truncated);
}

std::string format_access_line(const std::string& format, const AccessEntry& entry,
                               bool* truncated) {
  std::string out, error;
  bool cut = false;
  if (!expand(format, &entry, out, error, cut)) return "";
  if (truncated) *truncated = cut;
  return out;
}

bool access_suppressed(const std::vector<std::string>& paths, const AccessEntry& e) {
  if (paths.empty()) return false;
  if (!e.query_string.empty()) return false;
  if (e.method != "GET" && e.method != "HEAD") return false;
  if (e.status < 200 || e.status > 299) return false;
  if (e.content_length > 0) return false;
  for (auto& p : paths)
    if (p == e.request_uri) return true;
  return false;
}

std::string basic_auth_user(const std::string& authorization) {
  if (authorization.size() < 6 || strncasecmp(authorization.c_str(), "Basic ", 6) != 0) return "";
  std::string decoded;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 6; i < authorization.size(); i++) {
    char c = authorization[i];
    if (c == '=') break;
    int v = decode64(c);
    if (v < 0) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
      return "";
    }
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      decoded += char((acc >> bits) & 0xFF);
    }
  }
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return "";
  return decoded.substr(0, colon);
}

AccessLog::~AccessLog() {
  close();
}

bool AccessLog::open(const std::string& path, std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = "failed to open access log (" + path + "): " + strerror(errno);
    if (errno == ELOOP) error += " (php-pool does not follow a symbolic link there)";
    return false;
  }
  close();
  fd_ = fd;
  path_ = path;
  return true;
}

void AccessLog::adopt(int fd, const std::string& path) {
  close();
  fd_ = fd;
  path_ = path;
}

bool AccessLog::reopen(std::string& error) {
  if (path_.empty()) return true;
  std::string path = path_;
  return open(path, error);
}

void AccessLog::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool AccessLog::write_line(const std::string& line) {
  if (fd_ < 0 || line.empty()) return false;
  std::string buf;
  buf.reserve(line.size() + 1);
  buf += line;
  buf += '\n';
  for (;;) {
    ssize_t n = ::write(fd_, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n == ssize_t(buf.size())) {
      failures_.succeeded("access log", path_);
      return true;
    }
    // A short write is a full disk too (the rest would fail with ENOSPC).
    failures_.failed("access log", path_, n < 0 ? errno : ENOSPC);
    return false;
  }
}

}  // namespace php_pool::worker
