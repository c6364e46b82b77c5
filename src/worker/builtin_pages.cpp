#include "worker/builtin_pages.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/log.hpp"
#include "sapi/fpm_status_function.hpp"
#include "sapi/response_capture.hpp"
#include "status/collect.hpp"
#include "status/render.hpp"

namespace php_pool::worker {

namespace {

std::string param(const fastcgi::Params& params, std::string_view name) {
  const std::string* v = fastcgi::find_param(params, name);
  return v ? *v : std::string();
}

constexpr const char* kExpires = "Expires: Thu, 01 Jan 1970 00:00:00 GMT";
constexpr const char* kCacheControl =
    "Cache-Control: no-cache, no-store, must-revalidate, max-age=0";

// The FastCGI peer's address as php-fpm's fcgi_get_last_client_ip() gives it: IPv4 (also
// IPv4-mapped IPv6) or IPv6; "" for unix sockets.
std::string peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return "";
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    if (!inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf)) return "";
  } else if (ss.ss_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
      if (!inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], buf, sizeof buf)) return "";
    } else if (!inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf)) {
      return "";
    }
  } else {
    return "";
  }
  return buf;
}

void cpu_times(uint64_t& user_us, uint64_t& system_us) {
  // php-fpm counts the request's own and its children's times (times(2)).
  user_us = system_us = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage ru{};
    if (getrusage(who, &ru) < 0) continue;
    user_us += uint64_t(ru.ru_utime.tv_sec) * 1000000 + uint64_t(ru.ru_utime.tv_usec);
    system_us += uint64_t(ru.ru_stime.tv_sec) * 1000000 + uint64_t(ru.ru_stime.tv_usec);
  }
}

}  // namespace

BuiltinPages::BuiltinPages(const config::PoolConfig& pool, scoreboard::Scoreboard& board,
                           std::vector<Listener> listeners, std::string identity, int access_log_fd)
    : pool_(pool), board_(board), identity_(identity.empty() ? pool.name : std::move(identity)) {
  for (auto& l : listeners)
    if (!l.status_only) request_fds_.push_back(l.fd);
  if (access_log_fd >= 0) {
    std::string error;
    const std::string& format =
        pool_.access_format.empty() ? std::string(kDefaultAccessFormat) : pool_.access_format;
    if (!check_access_format(format, error)) {
      log::write(log::Level::Error, {}, "wrong format for access.format '%s': %s; no access log",
                 format.c_str(), error.c_str());
    } else {
      access_log_.adopt(access_log_fd, pool_.access_log);
      log_enabled_ = true;
    }
  }
  sapi::install_response_capture();
  sapi::set_status_provider([this] { return snapshot(); });
}

BuiltinPages::~BuiltinPages() {
  sapi::set_status_provider(nullptr);
}

scoreboard::Slot* BuiltinPages::my_slot() {
  // The manager records the worker's pid in its slot around fork(); found on first use.
  if (!pid_) pid_ = getpid();  // no getpid() per request
  const pid_t self = pid_;
  if (slot_index_ >= 0 && board_.slot(uint32_t(slot_index_)).pid.load() == self)
    return &board_.slot(uint32_t(slot_index_));
  for (uint32_t i = 0; i < board_.size(); i++)
    if (board_.slot(i).pid.load() == self) {
      slot_index_ = int(i);
      return &board_.slot(i);
    }
  return nullptr;
}

status::Snapshot BuiltinPages::snapshot() {
  return status::from_scoreboard(board_, identity_, config::to_string(pool_.pm), request_fds_);
}

void BuiltinPages::begin_connection(int fd, bool status_only) {
  status_only_ = status_only;
  // Only the access log reads it: no getpeername() per connection without one.
  if (log_enabled_) peer_ip_ = peer_address(fd);
}

void BuiltinPages::forget_script() {
  scoreboard::Slot* s = my_slot();
  if (!s) return;
  scoreboard::SlotView v = board_.view(uint32_t(slot_index_));
  scoreboard::Scoreboard::begin_request(*s, v.method.c_str(), v.uri.c_str(), v.query.c_str(),
                                        nullptr, v.user.c_str(), v.content_length,
                                        v.request_start_us, v.request_start_real_us);
}

bool BuiltinPages::handle(const fastcgi::Params& params, Connection& conn, int& status) {
  // Per-request state for the access log.
  sapi::reset_response_capture();
  answered_here_ = false;
  page_headers_.clear();
  accepted_epoch_ = int64_t(time(nullptr));
  // Only the access log reads it: no getrusage() pair per request without one.
  if (log_enabled_) cpu_times(cpu_user_start_us_, cpu_system_start_us_);

  // php-fpm matches both pages on the request URI PHP sees: the SCRIPT_NAME.
  const std::string* script_name = fastcgi::find_param(params, "SCRIPT_NAME");
  const std::string* method = fastcgi::find_param(params, "REQUEST_METHOD");
  bool head = method && *method == "HEAD";
  bool ping = script_name && !pool_.ping_path.empty() && *script_name == pool_.ping_path;
  bool status_page =
      !ping && script_name && !pool_.pm_status_path.empty() && *script_name == pool_.pm_status_path;
  if (!ping && !status_page && !status_only_) return false;
  answered_here_ = true;
  forget_script();
  if (ping) {
    answer_ping(params, conn, head);
    status = 200;
  } else if (status_page) {
    answer_status(params, conn, head);
    status = 200;
  } else {
    // pm.status_listen serves the status and ping pages only. (php-fpm runs a separate pool
    // there that would run any script; php-pool answers as for a script that does not exist.)
    page_headers_ = {"Content-type: text/html; charset=UTF-8"};
    std::string r = "Status: 404 Not Found\r\n" + page_headers_[0] + "\r\n\r\n";
    if (!head) r += "File not found.\n";
    conn.respond(r);
    status = 404;
  }
  return true;
}

void BuiltinPages::answer_ping(const fastcgi::Params&, Connection& conn, bool head) {
  // php-fpm's ping answer: text/plain, never cached, the response without a newline.
  page_headers_ = {"Content-type: text/plain;charset=UTF-8", kExpires, kCacheControl};
  std::string r;
  for (auto& h : page_headers_) r += h + "\r\n";
  r += "\r\n";
  if (!head) r += pool_.ping_response;
  conn.respond(r);
}

void BuiltinPages::answer_status(const fastcgi::Params& params, Connection& conn, bool head) {
  status::Query q = status::parse_status_query(param(params, "QUERY_STRING"));
  // HEAD: php-fpm stops before choosing the format; PHP adds its default content type.
  page_headers_ = {
      kExpires, kCacheControl,
      head ? "Content-type: text/html; charset=UTF-8" : status::content_type_header(q.format)};
  std::string r;
  for (auto& h : page_headers_) r += h + "\r\n";
  r += "\r\n";
  if (!head) r += status::render(snapshot(), q.format, q.full);
  conn.respond(r);
}

void BuiltinPages::log_access(const fastcgi::Params& params, int status, uint64_t duration_us,
                              uint64_t memory) {
  if (!log_enabled_) return;
  const sapi::ResponseCapture& php = sapi::response_capture();
  AccessEntry e;
  e.params = &params;
  e.remote_ip = peer_ip_;
  e.pool = identity_;
  e.method = param(params, "REQUEST_METHOD");
  // PHP's request URI (the script name after cgi.fix_pathinfo) when PHP ran the request.
  e.request_uri = php.ran ? php.request_uri : param(params, "SCRIPT_NAME");
  e.query_string = param(params, "QUERY_STRING");
  e.script_filename = php.ran ? php.script_filename : std::string();
  e.user = basic_auth_user(param(params, "HTTP_AUTHORIZATION"));
  e.content_length = strtoull(param(params, "CONTENT_LENGTH").c_str(), nullptr, 10);
  e.status = status;
  e.duration_us = duration_us;
  uint64_t user_us, system_us;
  cpu_times(user_us, system_us);
  e.cpu_user_us = user_us - std::min(user_us, cpu_user_start_us_);
  e.cpu_system_us = system_us - std::min(system_us, cpu_system_start_us_);
  e.memory = memory;
  e.accepted_epoch = accepted_epoch_;
  e.now_epoch = int64_t(time(nullptr));
  if (!pid_) pid_ = getpid();
  e.pid = pid_;
  e.ppid = getppid();
  e.response_headers = answered_here_ ? &page_headers_ : &php.headers;
  if (access_suppressed(pool_.access_suppress_path, e)) return;
  const std::string& format =
      pool_.access_format.empty() ? std::string(kDefaultAccessFormat) : pool_.access_format;
  bool truncated = false;
  std::string line = format_access_line(format, e, &truncated);
  if (truncated)
    log::write(log::Level::Notice, {},
               "the log buffer is full (%zu). The access log request has been truncated.",
               kAccessLineMax);
  access_log_.write_line(line);
}

}  // namespace php_pool::worker
