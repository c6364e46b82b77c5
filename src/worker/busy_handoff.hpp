// While a worker runs a long request, the kept connections parked with it are handed on to the
// pool's other workers: a request the web server sends on one would otherwise wait for the long
// one to end (nginx picks any of its kept connections: 4 clients of hello beside 2 of 1.5 s
// requests had a p99 of 1.45 s, php-fpm's 0.14 s). A helper thread, started with the first
// request that has connections parked beside it, watches the request's age: past `after_us`,
// and every `after_us` after that, it sends those with a request waiting to the hand-off socket
// (worker/waiter.hpp) if another worker can take them at once. Short requests
// cost the worker two stores and a load, no system call: the helper sleeps until the running
// request would be due, and is woken only after it found the worker between requests.
#pragma once

#include <poll.h>
#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

namespace php_pool::worker {

// Sends one kept connection to the hand-off socket and counts it in QUEUED (may be null). False
// when it could not go (the socket is full).
bool hand_on_one(int send_fd, std::atomic<int32_t>* queued, int fd);

class BusyHandoff {
 public:
  // SEND_FD: the hand-off socket; QUEUED counts the messages sent and not yet received.
  // MAY_MOVE (called from the helper thread): whether another worker can take them now (one is
  // idle, and no new connection waits: in a saturated pool, moving them would only let their
  // requests overtake those queued in the listening socket).
  // LENDABLE (called from the helper thread, while the main thread runs the request and leaves
  // its parked connections alone): appends the fds of those that may go.
  using Lendable = std::function<void(std::vector<int>& fds)>;
  // AFTER_US: the busy hand-off (0: none). EVACUATE_US (0: none): a request running this long
  // is about to be killed (request_terminate_timeout), and every parked connection goes, to
  // whichever worker is free first (its replacement, if none), rather than be reset with it.
  BusyHandoff(int send_fd, std::atomic<int32_t>* queued, uint64_t after_us, uint64_t evacuate_us,
              std::function<bool()> may_move, Lendable lendable);
  ~BusyHandoff();
  BusyHandoff(const BusyHandoff&) = delete;
  BusyHandoff& operator=(const BusyHandoff&) = delete;

  // Main thread, before a request runs with connections parked beside it; START_US is its
  // start (monotonic).
  void request_started(uint64_t start_us);
  // After it (or after nothing, when request_started() was not called): HANDED gets the fds
  // sent, now the other workers' (the caller closes its own).
  void request_ended(std::vector<int>& handed);

 private:
  enum State : uint32_t { kIdle, kRunning, kHanding, kQuit };
  enum class Thread { None, Started, Failed };
  static void* thread_main(void* self);
  void start_thread();
  void helper_loop();
  void hand_on(uint64_t start, bool all);
  void wait_while(uint32_t value, uint64_t timeout_us);
  void wake();

  const int send_fd_;
  std::atomic<int32_t>* queued_;
  const uint64_t after_us_, evacuate_us_;
  const std::function<bool()> may_move_;
  const Lendable lendable_;
  std::atomic<uint32_t> state_{kIdle};
  std::atomic<bool> helper_asleep_{false};  // waits for the next request (the worker woke it)
  std::atomic<uint64_t> start_us_{0};
  // The helper's while kHanding, the main thread's after the request.
  std::vector<int> sent_;
  std::vector<int> lendable_fds_;  // the helper's
  std::vector<pollfd> polls_;      // the helper's
  bool running_ = false;           // main thread: request_started() was called
  Thread thread_ = Thread::None;
  pthread_t thread_id_{};
};

}  // namespace php_pool::worker
