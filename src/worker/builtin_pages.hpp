// Requests the worker answers itself, without PHP: ping.path and pm.status_path (php-fpm
// answers them in the worker that accepts them, from the scoreboard), the refusal of other
// requests on pm.status_listen sockets, and the access log of every request. It also gives
// fpm_get_status() its data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "fastcgi/codec.hpp"
#include "scoreboard/scoreboard.hpp"
#include "status/snapshot.hpp"
#include "worker/access_log.hpp"
#include "worker/connection.hpp"
#include "worker/worker.hpp"

namespace php_pool::worker {

class BuiltinPages {
 public:
  // `listeners`: the worker's sockets (the status page reports the request sockets' queues).
  // `identity`: the pool's name on the status page and in %n ("" = the section name).
  // ACCESS_LOG_FD: the manager's access log (opened as root, as php-fpm's master does), or -1.
  BuiltinPages(const config::PoolConfig& pool, scoreboard::Scoreboard& board,
               std::vector<Listener> listeners = {}, std::string identity = {},
               int access_log_fd = -1);
  ~BuiltinPages();
  BuiltinPages(const BuiltinPages&) = delete;
  BuiltinPages& operator=(const BuiltinPages&) = delete;

  // A connection was accepted on `fd`; `status_only` when it came from pm.status_listen.
  void begin_connection(int fd, bool status_only);
  // True when the request was a ping or status request (or one refused on a status-only
  // socket) and has been answered. Called at the start of every request.
  bool handle(const fastcgi::Params& params, Connection& conn, int& status);
  // Called after every request, answered here or by PHP.
  void log_access(const fastcgi::Params& params, int status, uint64_t duration_us, uint64_t memory);

  // The pool's status now (the status page's and fpm_get_status()'s data).
  status::Snapshot snapshot();

 private:
  void answer_ping(const fastcgi::Params& params, Connection& conn, bool head);
  void answer_status(const fastcgi::Params& params, Connection& conn, bool head);
  void forget_script();  // php-fpm shows no script for its own pages
  scoreboard::Slot* my_slot();

  const config::PoolConfig& pool_;
  scoreboard::Scoreboard& board_;
  std::vector<int> request_fds_;
  std::string identity_;
  AccessLog access_log_;
  bool log_enabled_ = false;
  int slot_index_ = -1;
  pid_t pid_ = 0;  // this worker's (the pages are made after fork)

  // The current connection and request.
  bool status_only_ = false;
  std::string peer_ip_;
  bool answered_here_ = false;
  std::vector<std::string> page_headers_;  // headers of a page answered here, for %o
  int64_t accepted_epoch_ = 0;
  uint64_t cpu_user_start_us_ = 0, cpu_system_start_us_ = 0;
};

}  // namespace php_pool::worker
