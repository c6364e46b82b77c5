// The pool's access log (access.log, access.format, access.suppress_path[]) with php-fpm 8.2's
// tokens and rules:
//
//   %%  a '%'                    %C  %CPU of the request: %{total|user|system}C (total)
//   %d  duration: %{seconds|milli|milliseconds|micro|microseconds}d (seconds, "%.3f";
//       "mili"/"miliseconds" are accepted as php-fpm does)
//   %e  a FastCGI variable: %{NAME}e ("-" when unset)
//   %f  the script ("-")          %l  the request's content length
//   %m  the method ("-")          %M  peak memory: %{bytes|kilo|kilobytes|mega|megabytes}M
//   %n  the pool ("-")            %o  a response header: %{Name}o ("-")
//   %p  the worker's pid          %P  its parent's (the manager's) pid
//   %q  the query string          %Q  '?' when there is a query string
//   %r  php-fpm's request URI: the script name, without the query string
//   %R  the FastCGI peer's IP address ("-" on unix sockets)
//   %s  the response status       %u  the HTTP Basic user
//   %t  when the request was accepted, %T  when it is logged: %{strftime format}t, default
//       "%d/%b/%Y:%H:%M:%S %z"
//
// A line is cut at 1024 bytes (php-fpm's buffer) and written with one write() on a file opened
// with O_APPEND, so lines of concurrent workers never interleave.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/log.hpp"

#include "fastcgi/codec.hpp"

namespace php_pool::worker {

// One request's figures, as php-fpm's scoreboard holds them when it writes the line.
struct AccessEntry {
  const fastcgi::Params* params = nullptr;  // the request's CGI variables (%e)
  std::string remote_ip;                    // %R: the FastCGI peer; "" on unix sockets
  std::string pool;                         // %n
  std::string method;                       // %m
  std::string request_uri;                  // %r: the script name
  std::string query_string;                 // %q %Q
  std::string script_filename;              // %f
  std::string user;                         // %u
  uint64_t content_length = 0;              // %l
  int status = 0;                           // %s
  uint64_t duration_us = 0;                 // %d
  uint64_t cpu_user_us = 0;                 // %C (user and system time, children included)
  uint64_t cpu_system_us = 0;
  uint64_t memory = 0;                                         // %M: bytes
  int64_t accepted_epoch = 0;                                  // %t
  int64_t now_epoch = 0;                                       // %T
  pid_t pid = 0;                                               // %p
  pid_t ppid = 0;                                              // %P
  const std::vector<std::string>* response_headers = nullptr;  // %o: "Name: value" lines
};

inline constexpr const char* kDefaultAccessFormat = "%R - %u %t \"%m %r\" %s";
inline constexpr size_t kAccessLineMax = 1024;

// Checks a format as php-fpm does when it starts; false with php-fpm's message.
bool check_access_format(const std::string& format, std::string& error);

// The line for one request, without its newline; cut at kAccessLineMax bytes (`truncated` then
// set). An invalid format gives "" (check it first).
std::string format_access_line(const std::string& format, const AccessEntry& entry,
                               bool* truncated = nullptr);

// access.suppress_path[]: a request is left out of the log when its request URI (the script
// name) is one of `paths` exactly, its method is GET or HEAD, it has no query string and no
// request body, and its status is 2xx.
bool access_suppressed(const std::vector<std::string>& paths, const AccessEntry& entry);

// The user name of an "Authorization: Basic ..." header value, as PHP's PHP_AUTH_USER; "".
std::string basic_auth_user(const std::string& authorization);

class AccessLog {
 public:
  AccessLog() = default;
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Opens (creating it, mode 0600 as php-fpm) PATH for appending, not through a symbolic link:
  // the manager opens it as root, in a directory the pool's user may be able to write to.
  bool open(const std::string& path, std::string& error);
  // Writes to FD, a copy of the manager's descriptor for PATH inherited across fork().
  void adopt(int fd, const std::string& path);
  // Opens the path again (after log rotation); the old file stays in use if that fails.
  bool reopen(std::string& error);
  void close();
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // Writes LINE and a newline with a single write(). Empty lines are not written (php-fpm).
  // A failed write (disk full, ...) is logged once until writing works again.
  bool write_line(const std::string& line);

 private:
  std::string path_;
  int fd_ = -1;
  log::WriteFailures failures_;
};

}  // namespace php_pool::worker
