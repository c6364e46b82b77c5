#include "common/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace php_pool::log {
namespace {

std::string g_pool;
Level g_min = Level::Notice;
int g_fd = STDERR_FILENO;
int g_stderr = STDERR_FILENO;  // the manager's stderr, also in a worker whose fd 2 is a pipe
std::string g_path;
int g_journal = -1;  // -1 unknown, 0 no, 1 yes
size_t g_limit = 1024;
bool g_syslog = false;
std::string g_ident;  // openlog keeps the pointer
int g_worker_pid = 0;
const char* g_script = nullptr;
const char* g_request_uri = nullptr;

const char* level_name(Level l) {
  switch (l) {
    case Level::Debug:
      return "DEBUG";
    case Level::Notice:
      return "NOTICE";
    case Level::Warning:
      return "WARNING";
    case Level::Error:
      return "ERROR";
    case Level::Alert:
      return "ALERT";
  }
  return "?";
}

int syslog_priority(Level l) {
  switch (l) {
    case Level::Debug:
      return 7;
    case Level::Notice:
      return 5;
    case Level::Warning:
      return 4;
    case Level::Error:
      return 3;
    case Level::Alert:
      return 1;
  }
  return 6;
}

// stderr is the journal when JOURNAL_STREAM names the device:inode of our fd 2.
bool stderr_is_journal() {
  if (g_journal >= 0) return g_journal == 1;
  g_journal = 0;
  const char* e = getenv("JOURNAL_STREAM");
  struct stat st;
  unsigned long dev = 0, ino = 0;
  if (e && sscanf(e, "%lu:%lu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
      st.st_dev == dev && st.st_ino == ino)
    g_journal = 1;
  return g_journal == 1;
}

int facility_code(const std::string& name) {
  static const struct {
    const char* name;
    int code;
  } table[] = {{"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
               {"daemon", LOG_DAEMON}, {"ftp", LOG_FTP},           {"kern", LOG_KERN},
               {"lpr", LOG_LPR},       {"mail", LOG_MAIL},         {"news", LOG_NEWS},
               {"syslog", LOG_SYSLOG}, {"user", LOG_USER},         {"uucp", LOG_UUCP},
               {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
               {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5},
               {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}};
  for (auto& f : table)
    if (name == f.name) return f.code;
  return -1;
}

// One journal entry; fields without a value are left out rather than sent empty.
int send_journal(Level level, const Fields& f, const char* msg) {
  std::string fields[7];
  size_t n = 0;
  fields[n++] = "MESSAGE=[pool " + g_pool + "] " + msg;
  fields[n++] = "SYSLOG_IDENTIFIER=php-pool";  // not the worker's process title
  fields[n++] = "PRIORITY=" + std::to_string(syslog_priority(level));
  fields[n++] = "POOL=" + g_pool;
  int pid = f.worker_pid ? f.worker_pid : g_worker_pid;
  if (pid) fields[n++] = "WORKER_PID=" + std::to_string(pid);
  const char* script = f.script ? f.script : g_script;
  if (script && *script) fields[n++] = std::string("SCRIPT=") + script;
  const char* uri = f.request_uri ? f.request_uri : g_request_uri;
  if (uri && *uri) fields[n++] = std::string("REQUEST_URI=") + uri;
  struct iovec iov[7];
  for (size_t i = 0; i < n; i++) iov[i] = {fields[i].data(), fields[i].size()};
  return sd_journal_sendv(iov, int(n));
}

}  // namespace

void WriteFailures::failed(const char* what, const std::string& path, int error) {
  if (failing_) return;
  failing_ = true;
  write(Level::Error, {}, "cannot write %s '%s': %s; lines are lost until it works again", what,
        path.c_str(), strerror(error));
}

void WriteFailures::succeeded(const char* what, const std::string& path) {
  if (!failing_) return;
  failing_ = false;
  write(Level::Notice, {}, "%s '%s' is written again", what, path.c_str());
}

void set_worker(int pid) {
  g_worker_pid = pid;
}

void set_request(const char* script, const char* request_uri) {
  g_script = script;
  g_request_uri = request_uri;
}

bool open_syslog(const std::string& ident, const std::string& facility, std::string& error) {
  int code = facility_code(facility);
  if (code < 0) {
    error = "unknown syslog facility '" + facility + "'";
    return false;
  }
  if (g_fd != STDERR_FILENO && g_fd != g_stderr) close(g_fd);
  g_fd = STDERR_FILENO;
  g_path.clear();
  g_ident = ident;
  openlog(g_ident.c_str(), LOG_PID | LOG_NDELAY, code);
  g_syslog = true;
  return true;
}

void setup(const std::string& pool, Level min_level) {
  g_pool = pool;
  g_min = min_level;
}

bool parse_level(const std::string& t, Level& out) {
  if (t == "debug")
    out = Level::Debug;
  else if (t == "notice")
    out = Level::Notice;
  else if (t == "warning")
    out = Level::Warning;
  else if (t == "error")
    out = Level::Error;
  else if (t == "alert")
    out = Level::Alert;
  else
    return false;
  return true;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c != 0x7f) {
      out += char(c);
    } else {
      char hex[5];
      snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

bool open_file(const std::string& path, std::string& error) {
  if (path.empty()) {
    if (g_fd != STDERR_FILENO && g_fd != g_stderr) close(g_fd);
    g_fd = STDERR_FILENO;
    g_path.clear();
    return true;
  }
  // Not through a symbolic link: opened as root, maybe in a directory the pool's user can write.
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) {
    error = "cannot open error_log '" + path + "': " + strerror(errno);
    if (errno == ELOOP) error += " (php-pool does not follow a symbolic link there)";
    return false;
  }
  if (g_fd != STDERR_FILENO && g_fd != g_stderr) close(g_fd);
  g_fd = fd;
  g_path = path;
  return true;
}

void detach_from_stderr() {
  stderr_is_journal();  // decide before fd 2 changes
  int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return;
  if (g_fd == STDERR_FILENO) g_fd = fd;
  g_stderr = fd;
}

void set_line_limit(int bytes) {
  if (bytes > 0) g_limit = std::min<size_t>(size_t(bytes), 4000);
}

void reopen() {
  if (g_path.empty()) return;
  std::string err;
  std::string path = g_path;
  if (!open_file(path, err)) write(Level::Error, {}, "%s", err.c_str());
}

void write(Level level, const Fields& f, const char* fmt, ...) {
  if (level < g_min) return;
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (strlen(msg) > g_limit) msg[g_limit] = 0;

  if (g_syslog) {
    // php-fpm's syslog line: "[LEVEL] [pool NAME] message"; syslog adds time and ident[pid].
    if (f.bare)
      syslog(syslog_priority(level), "%s", msg);
    else
      syslog(syslog_priority(level), "[%s] [pool %s] %s", level_name(level), g_pool.c_str(), msg);
    return;
  }
  if (g_path.empty() && stderr_is_journal()) {
    // In a chroot the journal socket is out of reach: the stream on fd 2 still is.
    if (send_journal(level, f, msg) >= 0) return;
  }
  // php-fpm's format: [23-Nov-2026 10:00:00] WARNING: [pool www] message
  char when[64];
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  strftime(when, sizeof when, "%d-%b-%Y %H:%M:%S", &tm);
  char line[4400];
  int n;
  if (f.bare)
    n = snprintf(line, sizeof line, "%s\n", msg);
  else if (g_pool.empty())
    n = snprintf(line, sizeof line, "[%s] %s: %s\n", when, level_name(level), msg);
  else
    n = snprintf(line, sizeof line, "[%s] %s: [pool %s] %s\n", when, level_name(level),
                 g_pool.c_str(), msg);
  if (n > (int)sizeof line - 1) n = sizeof line - 1;
  ssize_t r = ::write(g_fd, line, n);
  if (g_fd == g_stderr) return;
  // error_log itself cannot be written: say so once on stderr (the journal under systemd).
  static bool failing = false;
  if (r != n && !failing) {
    int err = r < 0 ? errno : ENOSPC;
    failing = true;
    dprintf(g_stderr, "[%s] ERROR: [pool %s] cannot write error_log '%s': %s\n", when,
            g_pool.c_str(), g_path.c_str(), strerror(err));
  } else if (r == n && failing) {
    failing = false;
  }
}

}  // namespace php_pool::log
