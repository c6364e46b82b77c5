// Pool log: php-fpm's levels and line format on stderr or in error_log, syslog(3) with
// error_log = syslog, or structured journal entries when stderr is the journal (JOURNAL_STREAM).
#pragma once

#include <string>
#include <string_view>

namespace php_pool::log {

enum class Level { Debug = 0, Notice = 1, Warning = 2, Error = 3, Alert = 4 };

// Journal fields of one entry. Unset ones fall back to the process's context (set_worker,
// set_request), so every line a worker writes while it serves a request names that request.
struct Fields {
  int worker_pid = 0;
  const char* script = nullptr;
  const char* request_uri = nullptr;
  // The message alone, without time, level and pool (a worker's own output with
  // decorate_workers_output = no, as php-fpm writes it); journal entries keep their fields.
  bool bare = false;
};

// Sets the pool name (POOL= field, "[pool NAME]" prefix) and the lowest level written.
void setup(const std::string& pool, Level min_level);
bool parse_level(const std::string& text, Level& out);
// Redirects lines to a file (error_log); "" returns to stderr. Reopened by reopen().
bool open_file(const std::string& path, std::string& error);
void reopen();
// error_log = syslog: openlog(ident, LOG_PID | LOG_NDELAY, facility). The connection to
// /dev/log is made now, so forked workers inherit it and need no socket() under seccomp.
bool open_syslog(const std::string& ident, const std::string& facility, std::string& error);
// In a worker: WORKER_PID= of every entry.
void set_worker(int pid);
// The request a worker is serving (SCRIPT=, REQUEST_URI=); nullptrs when it is done. The
// strings must live until the next call.
void set_request(const char* script, const char* request_uri);
// log_limit: the longest message written; longer ones are cut (php-fpm's default 1024).
void set_line_limit(int bytes);
// In a worker whose stderr is about to become a pipe or /dev/null: keep writing log lines to
// where the manager writes them (a duplicate of the current stderr).
void detach_from_stderr();

// A log file that cannot be written (disk full, read-only, gone): the failure is logged once,
// not once per request, and once more when writing works again.
class WriteFailures {
 public:
  void failed(const char* what, const std::string& path, int error);
  void succeeded(const char* what, const std::string& path);

 private:
  bool failing_ = false;
};

// TEXT with control characters written as \xHH: for what a client or a script chose (a user
// name, a script path, a function name) in a line-based log, where a newline would start a
// line of the attacker's own.
std::string printable(std::string_view text);

void write(Level level, const Fields& fields, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define PP_LOG(level, ...) ::php_pool::log::write(level, {}, __VA_ARGS__)
#define log_debug(...) PP_LOG(::php_pool::log::Level::Debug, __VA_ARGS__)
#define log_notice(...) PP_LOG(::php_pool::log::Level::Notice, __VA_ARGS__)
#define log_warning(...) PP_LOG(::php_pool::log::Level::Warning, __VA_ARGS__)
#define log_error(...) PP_LOG(::php_pool::log::Level::Error, __VA_ARGS__)
#define log_alert(...) PP_LOG(::php_pool::log::Level::Alert, __VA_ARGS__)

}  // namespace php_pool::log
