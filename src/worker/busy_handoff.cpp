#include "worker/busy_handoff.hpp"

#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "sandbox/fd_passing.hpp"
#include "scoreboard/scoreboard.hpp"

namespace php_pool::worker {

// The state is a futex word.
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) &&
              std::atomic<uint32_t>::is_always_lock_free);

bool hand_on_one(int send_fd, std::atomic<int32_t>* queued, int fd) {
  if (!sandbox::send_fd(send_fd, fd)) return false;
  if (queued) queued->fetch_add(1);
  return true;
}

BusyHandoff::BusyHandoff(int send_fd, std::atomic<int32_t>* queued, uint64_t after_us,
                         uint64_t evacuate_us, std::function<bool()> may_move, Lendable lendable)
    : send_fd_(send_fd),
      queued_(queued),
      after_us_(after_us),
      evacuate_us_(evacuate_us),
      may_move_(std::move(may_move)),
      lendable_(std::move(lendable)) {}

BusyHandoff::~BusyHandoff() {
  if (thread_ != Thread::Started) return;
  state_.store(kQuit);
  wake();
  pthread_join(thread_id_, nullptr);
}

void* BusyHandoff::thread_main(void* self) {
  static_cast<BusyHandoff*>(self)->helper_loop();
  return nullptr;
}

void BusyHandoff::start_thread() {
  // Every signal blocked in the helper: the worker's own (SIGTERM, SIGQUIT) and PHP's (SIGPROF
  // for max_execution_time, whose handler may jump out of the engine) belong to the main
  // thread, which runs PHP. Blocked here first: the new thread inherits the mask.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);  // it calls nothing deep
  const bool ok = pthread_create(&thread_id_, &attr, thread_main, this) == 0;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  thread_ = ok ? Thread::Started : Thread::Failed;  // failed: the connections wait, as before
}

void BusyHandoff::request_started(uint64_t start_us) {
  if (thread_ == Thread::None) start_thread();
  if (thread_ != Thread::Started) return;
  start_us_.store(start_us, std::memory_order_relaxed);
  // Sequentially consistent, the store and then the flag's load, as the helper's flag store
  // and state load: either it sees the request, or this sees it asleep and wakes it.
  state_.store(kRunning);
  running_ = true;
  if (helper_asleep_.load() && helper_asleep_.exchange(false)) wake();
}

void BusyHandoff::request_ended(std::vector<int>& handed) {
  handed.clear();
  if (!running_) return;
  running_ = false;
  for (;;) {
    uint32_t s = kRunning;
    if (state_.compare_exchange_strong(s, kIdle)) break;
    wait_while(kHanding, 0);  // the sends in progress
  }
  handed.swap(sent_);  // empty: the common case
}

void BusyHandoff::helper_loop() {
  // Without the busy hand-off (a pool of one worker), it still looks this often, for the next
  // request's start.
  const uint64_t interval = after_us_ ? after_us_ : 20000;
  uint64_t seen_start = 0, look = 0;
  bool evacuated = false;
  for (;;) {
    switch (state_.load()) {
      case kQuit:
        return;
      case kIdle:
        // Between requests: sleep until request_started() wakes it.
        helper_asleep_.store(true);
        if (state_.load() == kIdle) wait_while(kIdle, 0);
        helper_asleep_.store(false);
        break;
      case kRunning: {
        const uint64_t now = scoreboard::now_monotonic_us();
        const uint64_t start = start_us_.load(std::memory_order_relaxed);
        if (start != seen_start) {  // a new request
          seen_start = start;
          look = start + interval;
          evacuated = false;
        }
        const uint64_t evacuate = evacuate_us_ && !evacuated ? start + evacuate_us_ : UINT64_MAX;
        const uint64_t next = std::min(look, evacuate);
        if (now < next) {
          wait_while(kRunning, next - now);  // a request that ends early does not wake it
          break;
        }
        const bool all = now >= evacuate;
        if (all || after_us_) hand_on(start, all);
        evacuated = evacuated || all;
        if (now >= look) look = now + interval;  // and again, for requests sent meanwhile
        break;
      }
    }
  }
}

// The parked connections with a request waiting go (ALL: every one the web server has not
// closed, as the request is about to be killed); the others stay, and a request on one later
// goes at the next look: only those that wait are moved, not every kept connection on every
// long request.
void BusyHandoff::hand_on(uint64_t start, bool all) {
  uint32_t s = kRunning;
  if (!state_.compare_exchange_strong(s, kHanding)) return;
  // The request may have been replaced by another since the state was read; the worker
  // about to be killed has its connections go where the next worker, or its replacement,
  // takes them.
  if (start_us_.load(std::memory_order_relaxed) == start && (all || (may_move_ && may_move_()))) {
    // Safe to read: the main thread leaves its parked connections alone until the request
    // ends, and then waits for kHanding to end.
    lendable_fds_.clear();
    lendable_(lendable_fds_);
    polls_.clear();
    for (int fd : lendable_fds_)
      if (std::find(sent_.begin(), sent_.end(), fd) == sent_.end())
        polls_.push_back(pollfd{fd, POLLIN | POLLRDHUP, 0});
    if (!polls_.empty() && poll(polls_.data(), polls_.size(), 0) >= 0) {
      for (const pollfd& p : polls_) {
        // Closed by the web server: its worker closes it after the request.
        if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) continue;
        if (!all && !(p.revents & POLLIN)) continue;
        if (!hand_on_one(send_fd_, queued_, p.fd)) break;  // full: the rest wait here, as before
        sent_.push_back(p.fd);
      }
    }
  }
  state_.store(kRunning);
  wake();  // request_ended() may wait for kHanding to end
}

void BusyHandoff::wait_while(uint32_t value, uint64_t timeout_us) {
  timespec ts{time_t(timeout_us / 1000000), long(timeout_us % 1000000) * 1000};
  // Returns at once if the state is no longer VALUE; a wake-up, a timeout or EINTR: the caller
  // looks again.
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&state_), FUTEX_WAIT_PRIVATE, value,
          timeout_us ? &ts : nullptr, nullptr, 0);
}

void BusyHandoff::wake() {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr,
          0);
}

}  // namespace php_pool::worker
