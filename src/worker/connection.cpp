#include "worker/connection.hpp"

#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common/log.hpp"
#include "scoreboard/scoreboard.hpp"

namespace php_pool::worker {

namespace {
constexpr size_t kReadSize = 65536;
constexpr size_t kFlushThreshold = 65536;  // STDOUT bytes buffered before a write
}  // namespace

Connection::Connection(int fd, fastcgi::Limits limits, unsigned max_conns)
    : fd_(fd), decoder_(limits, max_conns, max_conns), in_(new char[kReadSize]) {
  // php-fpm puts the role first in the CGI environment ($_SERVER['FCGI_ROLE']).
  decoder_.set_first_param("FCGI_ROLE", "RESPONDER");
  // STDIN chunks stay in in_ until PHP reads them: a body is copied once, into PHP's buffer.
  decoder_.set_stdin_views(true);
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {
// Buffers kept from one connection to the next, unless a request made them this large.
constexpr size_t kKeepCapacity = 256 * 1024;
void clear_keeping(std::string& s) {
  if (s.capacity() > kKeepCapacity)
    std::string().swap(s);
  else
    s.clear();
}
}  // namespace

bool Connection::wait_for(short events, int timeout_s) {
  pollfd p{fd_, events, 0};
  int r;
  do r = poll(&p, 1, timeout_s > 0 ? timeout_s * 1000 : -1);
  while (r < 0 && errno == EINTR);
  return r > 0;
}

bool Connection::next_request_buffered() const {
  for (size_t i = next_event_; i < events_.size(); i++)
    if (events_[i].kind == fastcgi::Event::Kind::Begin) return true;
  return false;
}

void Connection::set_timeouts(int read_seconds, int write_seconds) {
  read_timeout_s_ = read_seconds;
  write_timeout_s_ = write_seconds;
}

void Connection::open(int fd) {
  release();
  fd_ = fd;
  decoder_.reset();
  events_.clear();
  next_event_ = 0;
  clear_keeping(replies_);
  clear_keeping(out_);
  clear_keeping(pending_);
  body_ = {};
  body_off_ = 0;
  id_ = 0;
  keep_conn_ = stdin_ended_ = finished_ = broken_ = aborted_ = watched_ = false;
}

bool Connection::fill() {
  if (fd_ < 0 || broken_) return false;
  // Only once every event of the previous read is consumed: STDIN events point into in_.
  char* buf = in_.get();
  ssize_t n;
  for (;;) {
    n = ::read(fd_, buf, kReadSize);
    if (n >= 0 || errno == EINTR) {
      if (n >= 0) break;
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) break;
    if (!wait_for(POLLIN, read_timeout_s_)) {
      log::write(log::Level::Warning, {},
                 "closing a connection that sent nothing for %d s (request_read_timeout)",
                 read_timeout_s_);
      break;
    }
  }
  if (n <= 0) {
    broken_ = true;
    return false;
  }
  if (!decoder_.feed(std::string_view(buf, size_t(n)), events_, replies_)) {
    log::write(log::Level::Warning, {}, "closing a connection: malformed FastCGI: %s",
               decoder_.error().c_str());
    broken_ = true;
    return false;
  }
  if (!replies_.empty()) {
    out_ += replies_;
    replies_.clear();
    if (!send_pending()) return false;
  }
  return true;
}

bool Connection::read_request(fastcgi::Params& params) {
  using Kind = fastcgi::Event::Kind;
  id_ = 0;
  keep_conn_ = false;
  stdin_ended_ = false;
  finished_ = false;
  aborted_ = false;
  body_ = {};
  body_off_ = 0;
  for (;;) {
    while (next_event_ < events_.size()) {
      fastcgi::Event& e = events_[next_event_++];
      if (e.kind == Kind::Begin) {
        id_ = e.request_id;
        keep_conn_ = e.keep_conn;
      } else if (e.kind == Kind::Params && id_) {
        // The previous request's params go back to the decoder, whose next pairs are written
        // into their strings: no allocation per request once the sizes have settled.
        params.swap(e.params);
        decoder_.recycle_params(std::move(e.params));
        return true;
      } else if (e.kind == Kind::Refused && !id_ && !e.keep_conn) {
        // Answered UNKNOWN_ROLE, and the peer did not ask to keep the connection: closed at
        // once (php-fpm closes it too, without the answer), not held until
        // request_read_timeout with the worker waiting on it.
        send_pending();
        return false;
      } else if (e.kind == Kind::Abort && id_) {
        // Aborted before it started: end it and wait for the next one.
        fastcgi::append_end_request(out_, id_, 0, fastcgi::ProtocolStatus::RequestComplete);
        decoder_.request_done();
        id_ = 0;
        if (!send_pending() || !keep_conn_) return false;
      }
    }
    events_.clear();
    next_event_ = 0;
    if (!fill()) return false;
  }
}

size_t Connection::read_body(char* buf, size_t len) {
  using Kind = fastcgi::Event::Kind;
  if (finished_) return 0;  // after fastcgi_finish_request() the body is no longer ours
  while (body_off_ == body_.size()) {
    body_ = {};
    body_off_ = 0;
    if (stdin_ended_ || aborted_) return 0;
    if (next_event_ < events_.size()) {
      fastcgi::Event& e = events_[next_event_++];
      if (e.kind == Kind::Stdin)
        body_ = e.view;
      else if (e.kind == Kind::StdinEnd)
        stdin_ended_ = true;
      else if (e.kind == Kind::Abort)
        aborted_ = true;
      continue;
    }
    events_.clear();
    next_event_ = 0;
    if (!fill()) return 0;
  }
  size_t n = std::min(len, body_.size() - body_off_);
  memcpy(buf, body_.data() + body_off_, n);
  body_off_ += n;
  return n;
}

void Connection::frame_pending() {
  if (pending_.empty()) return;
  fastcgi::append_stream(out_, pending_type_, id_, pending_);
  pending_.clear();
}

void Connection::pend(fastcgi::RecordType type, std::string_view data) {
  if (type != pending_type_) {
    frame_pending();  // keeps STDOUT and STDERR in the order they were written
    pending_type_ = type;
  }
  pending_.append(data);
}

bool Connection::send_pending() {
  size_t off = 0;
  while (off < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (wait_for(POLLOUT, write_timeout_s_)) continue;
      log::write(log::Level::Warning, {},
                 "closing a connection that took no response bytes for %d s "
                 "(request_write_timeout)",
                 write_timeout_s_);
    }
    if (n <= 0) {
      broken_ = true;
      out_.clear();
      return false;
    }
    off += size_t(n);
  }
  out_.clear();
  return true;
}

bool Connection::write_stdout(const char* data, size_t len) {
  if (finished_ || broken_) return false;
  pend(fastcgi::RecordType::Stdout, std::string_view(data, len));
  if (pending_.size() >= kFlushThreshold) {
    frame_pending();
    return send_pending();
  }
  return true;
}

void Connection::write_stderr(std::string_view message) {
  if (finished_ || broken_) return;
  pend(fastcgi::RecordType::Stderr, message);
}

bool Connection::flush() {
  if (finished_ || broken_) return false;
  frame_pending();
  return send_pending();
}

bool Connection::finish() {
  if (finished_) return false;
  finished_ = true;
  if (broken_) return false;
  frame_pending();
  fastcgi::append_stream_end(out_, fastcgi::RecordType::Stdout, id_);
  fastcgi::append_end_request(out_, id_, 0, fastcgi::ProtocolStatus::RequestComplete);
  bool ok = send_pending();
  decoder_.request_done();
  if (stage_) stage_->store(scoreboard::Stage::Finishing, std::memory_order_release);
  if (!keep_conn_) close();
  return ok;
}

bool Connection::respond(std::string_view response) {
  pend(fastcgi::RecordType::Stdout, response);
  return finish();
}

void Connection::end_request(uint32_t) {
  if (!finished_) finish();
}

bool Connection::input_complete() const {
  if (stdin_ended_ || aborted_) return true;
  // A GET's empty STDIN record usually comes with its PARAMS: received, though nobody read it.
  for (size_t i = next_event_; i < events_.size(); i++)
    if (events_[i].kind == fastcgi::Event::Kind::StdinEnd ||
        events_[i].kind == fastcgi::Event::Kind::Abort)
      return true;
  return false;
}

bool Connection::idle_between_requests() const {
  if (!usable() || decoder_.current_request() != 0 || !decoder_.at_record_boundary() ||
      !replies_.empty() || !out_.empty() || !pending_.empty())
    return false;
  // What is left of the events is the finished request's unread STDIN, which read_request()
  // would skip; anything else (a next BEGIN) is served here.
  for (size_t i = next_event_; i < events_.size(); i++)
    if (events_[i].kind != fastcgi::Event::Kind::Stdin &&
        events_[i].kind != fastcgi::Event::Kind::StdinEnd)
      return false;
  return true;
}

void Connection::unwatch() {
  if (watched_ && fd_ >= 0) epoll_ctl(epoll_, EPOLL_CTL_DEL, fd_, nullptr);
  watched_ = false;
}

void Connection::release() {
  unwatch();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void Connection::close() {
  if (fd_ < 0) return;
  unwatch();
  if (!broken_ && !input_complete()) {
    // Unread request body: closing now would reset the connection and could destroy the
    // response in flight. Half-close, then drain briefly (as php-fpm does), for 2 s at most
    // in all: a client trickling its body must not hold the worker.
    shutdown(fd_, SHUT_WR);
    char buf[8192];
    const uint64_t deadline = scoreboard::now_monotonic_us() + 2000000;
    for (;;) {
      uint64_t now = scoreboard::now_monotonic_us();
      if (now >= deadline) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, int((deadline - now) / 1000) + 1) <= 0) break;
      if (::read(fd_, buf, sizeof buf) <= 0) break;
    }
  }
  ::close(fd_);
  fd_ = -1;
}

}  // namespace php_pool::worker
