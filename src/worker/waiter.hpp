// What a worker waits on between requests: the listening sockets, and the kept connections
// (FastCGI KEEP_CONN) parked until their next request. The worker serves whichever has
// something first, so an idle kept connection does not hold the worker: php-fpm's worker
// blocks on its kept connection while new connections wait in the listen queue.
#pragma once

#include <atomic>
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "fastcgi/codec.hpp"
#include "worker/busy_handoff.hpp"
#include "worker/connection.hpp"
#include "worker/worker.hpp"

namespace php_pool::worker {

// A worker that leaves hands its parked kept connections on to the pool's other workers (and
// the next configuration's): one SOCK_SEQPACKET pair that every worker holds carries them as
// SCM_RIGHTS descriptors.
// While the worker runs a long request, its parked connections go the same way
// (worker/busy_handoff.hpp).
struct Handoff {
  int send_fd = -1, recv_fd = -1;          // -1: no hand-off (the status worker)
  std::atomic<int32_t>* queued = nullptr;  // messages sent and not yet received, pool-wide
  uint64_t busy_after_us = 0;              // 0: not while busy (a pool of one worker)
  uint64_t evacuate_after_us = 0;          // 0: no request_terminate_timeout
  std::function<bool()> may_move;          // BusyHandoff's
};

class Waiter {
 public:
  // Timeouts in seconds (0 = none): read_timeout also ends a parked connection's wait.
  Waiter(const std::vector<Listener>& listeners, fastcgi::Limits limits, int read_timeout_s,
         int write_timeout_s, std::atomic<scoreboard::Stage>* stage, Handoff handoff);
  ~Waiter();
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  struct Next {
    Connection* conn = nullptr;
    bool accepted = false;     // a new connection (else a parked one with its next request)
    bool status_only = false;  // from pm.status_listen
  };
  // Called after a while with nothing to do; returns how many ms later it wants to be called
  // again (0: not again before the next connection).
  using IdleStep = std::function<int()>;
  // Waits for the next connection to serve. False when `stop` becomes true (a signal
  // interrupts the wait) or on a fatal accept() error. `idle_ms` > 0: after that long with
  // nothing to do, calls on_idle() and waits on.
  bool next(Next& out, const volatile sig_atomic_t& stop, int idle_ms, const IdleStep& on_idle);
  // After serving: keep the connection for its next request, or close it.
  void park();
  void close_active();
  // The worker leaves (reload, max_requests): its parked connections go to the others rather
  // than closing under a request the web server may be sending on one right now. Not when the
  // whole pool stops or nothing may be left to take them (TO_OTHERS false): they close, and the
  // web server's next connections wait in the listening socket.
  void leave(bool to_others);
  bool parked() const { return !parked_.empty(); }
  // Around each request: while it runs long, the parked connections go to the other workers.
  void request_started(uint64_t start_us);
  void request_ended();

 private:
  struct Parked {
    std::unique_ptr<Connection> conn;
    bool status_only = false;
    uint64_t since_us = 0;
    uint64_t ready_us = 0;  // when its next request was first seen (0: not yet)
  };
  std::unique_ptr<Connection> take_free();
  bool try_accept(Next& out);
  void add_parked(std::unique_ptr<Connection> conn, bool status_only);
  void hand_off();                             // the parked connections to the other workers
  void lendable(std::vector<int>& fds) const;  // the parked connections that may be handed on
  void forget(const std::vector<int>& fds);    // those sent to other workers: dropped here
  void take_handed();                          // what a leaving worker handed on, parked here
  void activate(size_t parked_index, Next& out);
  int expire_parked();  // closes the ones idle too long; → ms until the next expiry (-1: none)

  const std::vector<Listener>& listeners_;
  fastcgi::Limits limits_;
  int read_timeout_s_, write_timeout_s_;
  std::atomic<scoreboard::Stage>* stage_;
  Handoff handoff_;
  int epoll_ = -1;
  bool broken_ = false;  // accept() failed for good (not a transient error)
  std::unique_ptr<Connection> active_;
  bool active_status_only_ = false;
  bool last_accepted_ = false;  // the last one served was a new connection (for taking turns)
  std::vector<Parked> parked_;
  std::vector<std::unique_ptr<Connection>> free_;  // closed ones, their buffers kept
  std::unique_ptr<BusyHandoff> busy_;
  std::vector<int> handed_;  // sent on (hand_off, BusyHandoff), kept for its capacity
};

}  // namespace php_pool::worker
