// One accepted FastCGI connection, seen from the worker: reads records through the codec,
// hands STDIN to the SAPI, frames STDOUT/STDERR, ends requests and honours KEEP_CONN.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fastcgi/codec.hpp"
#include "sapi/sapi.hpp"
#include "scoreboard/scoreboard.hpp"

namespace php_pool::worker {

class Connection : public sapi::RequestIo {
 public:
  Connection(int fd, fastcgi::Limits limits, unsigned max_conns);
  // No connection yet: open() one. The worker keeps one Connection for all the connections it
  // accepts, so its buffers are allocated once, not once per request.
  Connection(fastcgi::Limits limits, unsigned max_conns) : Connection(-1, limits, max_conns) {}
  ~Connection() override;
  // request_read_timeout / request_write_timeout in seconds (0 = wait forever): a client that
  // sends nothing or takes nothing for that long loses its connection, and the worker is free.
  void set_timeouts(int read_seconds, int write_seconds);
  // Starts serving an accepted fd (the previous one must be closed).
  void open(int fd);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Waits for the next request's BEGIN and PARAMS. False when the peer closed the connection,
  // broke the protocol or timed out (both logged).
  bool read_request(fastcgi::Params& params);
  bool keep_conn() const { return keep_conn_; }
  int fd() const { return fd_; }
  // The next request has begun in the records already read (a pipelined request): it is served
  // without waiting.
  bool next_request_buffered() const;
  // In the worker's epoll set EPOLL_FD (see Waiter::park); cleared by open(). close() and
  // release() take it out of the set first: closing the fd alone does not while another
  // process holds the same connection (one handed on, or handed here while its sender still
  // holds it), and the set would report that old connection under the fd's next user's number.
  bool watched() const { return watched_; }
  void set_watched(int epoll_fd) {
    watched_ = true;
    epoll_ = epoll_fd;
  }
  bool usable() const { return fd_ >= 0 && !broken_; }
  // Ends the request (if the SAPI did not) and prepares for the next one.
  void end_request(uint32_t app_status);
  // Called when the request is finished but the connection closes: drains unread STDIN so
  // closing does not reset the connection before the peer has read the response.
  void close();
  // Between requests with nothing read ahead and nothing left to write: another process may
  // take the connection over (Waiter's hand-off) and serve its next request from scratch.
  bool idle_between_requests() const;
  // Closes this process's descriptor only (no half-close, no draining): the connection lives on
  // in the process it was handed to.
  void release();

  // sapi::RequestIo
  size_t read_body(char* buf, size_t len) override;
  bool write_stdout(const char* data, size_t len) override;
  void write_stderr(std::string_view message) override;
  bool flush() override;
  bool finish() override;
  bool finished() const override { return finished_; }
  // Shutdown functions run in php-fpm's "Finishing" stage: request_terminate_timeout leaves
  // them alone unless request_terminate_timeout_track_finished is set.
  void script_ended() override {
    if (stage_) stage_->store(scoreboard::Stage::Finishing, std::memory_order_release);
  }

  // Direct responses (status and ping pages, errors before PHP).
  bool respond(std::string_view headers_and_body);

  // The scoreboard stage to mark "Finishing" once the response is sent (php-fpm's stage after
  // END_REQUEST, and during a script's work after fastcgi_finish_request()).
  void set_stage(std::atomic<scoreboard::Stage>* stage) { stage_ = stage; }

 private:
  bool fill();     // reads once and feeds the decoder
  void unwatch();  // out of the epoll set (see watched())
  // The socket is non-blocking: waits until it is readable/writable (POLLIN/POLLOUT), for
  // timeout_s seconds at most (0 = forever). False on timeout.
  bool wait_for(short events, int timeout_s);
  // The current request's STDIN has ended (received, if not read).
  bool input_complete() const;
  bool send_pending();
  // Appends to the stream written last, framing that first if TYPE is the other one.
  void pend(fastcgi::RecordType type, std::string_view data);
  void frame_pending();

  int fd_;
  int read_timeout_s_ = 0, write_timeout_s_ = 0;
  fastcgi::ServerDecoder decoder_;
  std::vector<fastcgi::Event> events_;
  size_t next_event_ = 0;
  std::string replies_;
  std::string out_;  // framed records waiting to be written
  // Bytes of the stream written last (STDOUT or STDERR), not yet framed: consecutive writes to
  // one stream leave as one record, as php-fpm's do, so a request's PHP messages make one
  // "FastCGI sent in stderr" line in nginx's log, not one per message and separator.
  std::string pending_;
  fastcgi::RecordType pending_type_ = fastcgi::RecordType::Stdout;
  // What the last read() got; the STDIN events point into it.
  std::unique_ptr<char[]> in_;
  std::string_view body_;  // STDIN bytes received (in in_), not yet read by PHP
  size_t body_off_ = 0;
  uint16_t id_ = 0;
  bool keep_conn_ = false;
  bool stdin_ended_ = false;
  bool finished_ = false;
  bool broken_ = false;
  bool aborted_ = false;
  bool watched_ = false;
  int epoll_ = -1;
  std::atomic<scoreboard::Stage>* stage_ = nullptr;
};

}  // namespace php_pool::worker
