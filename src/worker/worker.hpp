// A worker process: accept on the pool's sockets, read a request, run it through the SAPI,
// write the response, repeat until max_requests or a stop signal.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "scoreboard/scoreboard.hpp"

namespace php_pool::worker {

struct Listener {
  int fd;
  bool status_only = false;  // pm.status_listen: serves only the status and ping pages
};

struct WorkerSetup {
  const config::PoolConfig* pool;
  std::vector<Listener> listeners;
  scoreboard::Scoreboard* scoreboard;
  int slot;  // -1: the status worker, which serves pm.status_listen's sockets and has no slot
  bool allow_root = false;
  std::string identity;    // the pool's name (--instance) on the status page and in the access log
  int seccomp_fd = -1;     // the worker's end of its seccomp supervisor socket (manager), or -1
  int access_log_fd = -1;  // the manager's access log (access.log), or -1
  int wake_fd = -1;        // the manager's eventfd: written when a request finds it asleep
  // The kept-connection hand-off pair every worker holds (worker/waiter.hpp: Handoff), or -1.
  int handoff_send = -1, handoff_recv = -1;
};

// Runs in the forked child; never returns.
[[noreturn]] void run(const WorkerSetup& setup);

// Signals a worker handles: SIGQUIT/SIGTERM ask it to finish the request in progress and leave.
void install_signal_handlers();

}  // namespace php_pool::worker
