#include "worker/waiter.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "common/log.hpp"
#include "sandbox/fd_passing.hpp"

namespace php_pool::worker {
namespace {
// Parked connections a worker keeps at most; beyond, the longest idle one is closed. nginx keeps
// `keepalive N` connections per nginx worker, spread over the pool's workers.
constexpr size_t kMaxParked = 128;
// epoll data for a listener: its index with this bit set; a parked connection: its fd; the
// hand-off socket: kHandoffTag.
constexpr uint64_t kListenerTag = uint64_t(1) << 40;
constexpr uint64_t kHandoffTag = uint64_t(1) << 41;
}  // namespace

Waiter::Waiter(const std::vector<Listener>& listeners, fastcgi::Limits limits, int read_timeout_s,
               int write_timeout_s, std::atomic<scoreboard::Stage>* stage, Handoff handoff)
    : listeners_(listeners),
      limits_(limits),
      read_timeout_s_(read_timeout_s),
      write_timeout_s_(write_timeout_s),
      stage_(stage),
      handoff_(std::move(handoff)) {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < listeners_.size(); i++) {
    // Non-blocking, so that accept() never holds the worker while its parked connections wait;
    // EPOLLEXCLUSIVE, so that a new connection wakes one idle worker, as a blocking accept()
    // does, not all of them.
    int fd = listeners_[i].fd;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = kListenerTag | i;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  }
  if (handoff_.recv_fd >= 0) {
    // Not exclusive: every idle worker wakes while connections wait there, and each takes one
    // at a time, so that a reload's connections spread over the new workers rather than all
    // going to the first one woken (it served them alone while the others idled).
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kHandoffTag;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, handoff_.recv_fd, &ev);
  }
  if (handoff_.send_fd >= 0 && (handoff_.busy_after_us || handoff_.evacuate_after_us))
    busy_ = std::make_unique<BusyHandoff>(handoff_.send_fd, handoff_.queued, handoff_.busy_after_us,
                                          handoff_.evacuate_after_us, handoff_.may_move,
                                          [this](std::vector<int>& fds) { lendable(fds); });
}

Waiter::~Waiter() {
  if (epoll_ >= 0) ::close(epoll_);
}

std::unique_ptr<Connection> Waiter::take_free() {
  if (!free_.empty()) {
    auto c = std::move(free_.back());
    free_.pop_back();
    return c;
  }
  auto c = std::make_unique<Connection>(limits_, 1);
  c->set_timeouts(read_timeout_s_, write_timeout_s_);
  c->set_stage(stage_);
  return c;
}

bool Waiter::try_accept(Next& out) {
  for (const Listener& l : listeners_) {
    // Non-blocking: the connection waits in poll() only when a read or write would block, so
    // request_read/write_timeout cost no syscall on the common path.
    int fd = accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        log::write(log::Level::Error, {}, "accept() failed: %s", strerror(errno));
        usleep(100000);
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                 errno != ECONNABORTED) {
        log::write(log::Level::Alert, {}, "accept() failed: %s", strerror(errno));
        broken_ = true;  // the socket itself is unusable: the worker leaves
        return false;
      }
      continue;
    }
    active_ = take_free();
    active_->open(fd);
    active_status_only_ = l.status_only;
    out = Next{active_.get(), true, l.status_only};
    last_accepted_ = true;
    return true;
  }
  return false;
}

void Waiter::activate(size_t i, Next& out) {
  active_ = std::move(parked_[i].conn);
  active_status_only_ = parked_[i].status_only;
  parked_.erase(parked_.begin() + long(i));
  out = Next{active_.get(), false, active_status_only_};
  last_accepted_ = false;
}

int Waiter::expire_parked() {
  if (!read_timeout_s_ || parked_.empty()) return -1;
  const uint64_t now = scoreboard::now_monotonic_us();
  const uint64_t limit = uint64_t(read_timeout_s_) * 1000000;
  int next_ms = -1;
  for (size_t i = 0; i < parked_.size();) {
    uint64_t idle = now - parked_[i].since_us;
    if (idle >= limit) {
      // An idle kept connection: closing it is routine (the web server opens another).
      log::write(log::Level::Debug, {}, "closing a kept connection idle for %d s", read_timeout_s_);
      parked_[i].conn->close();
      free_.push_back(std::move(parked_[i].conn));
      parked_.erase(parked_.begin() + long(i));
      continue;
    }
    int ms = int((limit - idle) / 1000) + 1;
    if (next_ms < 0 || ms < next_ms) next_ms = ms;
    i++;
  }
  return next_ms;
}

void Waiter::hand_off() {
  // One connection a message: each idle worker takes one at a time (take_handed). Full: the
  // rest close with this worker. One with bytes of a next request read already closes too.
  std::vector<int> fds;
  lendable(fds);
  handed_.clear();
  for (int fd : fds) {
    if (!hand_on_one(handoff_.send_fd, handoff_.queued, fd)) break;
    handed_.push_back(fd);
  }
  forget(handed_);
}

// pm.status_listen's connections stay with their listener's rules; one with bytes of a next
// request read already is served here. From BusyHandoff's thread too, while the request runs
// and this thread leaves parked_ alone.
void Waiter::lendable(std::vector<int>& fds) const {
  for (const Parked& p : parked_)
    if (!p.status_only && p.conn->idle_between_requests()) fds.push_back(p.conn->fd());
}

void Waiter::forget(const std::vector<int>& fds) {
  for (int fd : fds)
    for (size_t i = 0; i < parked_.size(); i++) {
      if (parked_[i].conn->fd() != fd) continue;
      parked_[i].conn->release();  // out of the epoll set too: the connection lives on
      free_.push_back(std::move(parked_[i].conn));
      parked_.erase(parked_.begin() + long(i));
      break;
    }
}

void Waiter::request_started(uint64_t start_us) {
  if (busy_ && !parked_.empty()) busy_->request_started(start_us);
}

void Waiter::request_ended() {
  if (!busy_) return;
  busy_->request_ended(handed_);
  forget(handed_);
}

void Waiter::take_handed() {
  const int fd = sandbox::receive_fd(handoff_.recv_fd);
  if (fd < 0) return;  // taken by another worker, or not a worker's message
  if (handoff_.queued) handoff_.queued->fetch_sub(1);
  // A script can reach the socket too: sockets only.
  struct stat st {};
  if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
    ::close(fd);
    return;
  }
  auto conn = take_free();
  conn->open(fd);
  add_parked(std::move(conn), false);
  // The other idle workers woke for the same messages: let them take the next ones, or the one
  // that got a CPU first takes them all.
  sched_yield();
}

bool Waiter::next(Next& out, const volatile sig_atomic_t& stop, int idle_ms,
                  const IdleStep& on_idle) {
  epoll_event events[16];
  uint64_t idle_at = idle_ms > 0 ? scoreboard::now_monotonic_us() + uint64_t(idle_ms) * 1000 : 0;
  for (;;) {
    if (stop || broken_) return false;
    // With no parked connection, a connection already queued is taken at once (no epoll_wait):
    // the common case under load. Parked connections go first otherwise: epoll tells which; so
    // do kept connections a leaving worker handed on.
    const bool handed_waiting = handoff_.queued && handoff_.queued->load() > 0;
    if (parked_.empty() && !handed_waiting && try_accept(out)) return true;
    if (broken_) return false;
    int timeout = expire_parked();
    if (idle_at) {
      uint64_t now = scoreboard::now_monotonic_us();
      if (now >= idle_at) {
        const int again_ms = on_idle ? on_idle() : 0;
        idle_at = again_ms > 0 ? now + uint64_t(again_ms) * 1000 : 0;
      }
      if (idle_at) {
        int ms = int((idle_at - now) / 1000) + 1;
        if (timeout < 0 || ms < timeout) timeout = ms;
      }
    }
    int n = epoll_wait(epoll_, events, 16, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      log::write(log::Level::Alert, {}, "epoll_wait() failed: %s", strerror(errno));
      return false;
    }
    if (n == 0) continue;  // a parked connection or the idle time is due: see above
    // New connections and kept connections take turns, and among kept connections the one
    // seen ready first goes first: with more web-server connections than nginx keeps (its
    // `keepalive N`), new connections arrive without pause, and serving them first left the
    // requests on kept connections waiting for seconds. Level-triggered: whatever is not
    // served now is reported again.
    const uint64_t now = scoreboard::now_monotonic_us();
    size_t ready_parked = SIZE_MAX;
    bool listener_ready = false;
    bool handed = false;
    for (int i = 0; i < n; i++) {
      if (events[i].data.u64 == kHandoffTag) {
        handed = true;
        continue;
      }
      if (events[i].data.u64 & kListenerTag) {
        listener_ready = true;
        continue;
      }
      int fd = int(events[i].data.u64);
      for (size_t p = 0; p < parked_.size(); p++) {
        if (parked_[p].conn->fd() != fd) continue;
        if (!parked_[p].ready_us) parked_[p].ready_us = now;
        if (ready_parked == SIZE_MAX || parked_[p].ready_us < parked_[ready_parked].ready_us)
          ready_parked = p;
        break;
      }
    }
    if (handed) {
      // Parked here now; the next epoll_wait() reports at once the ones with a request.
      take_handed();
      if (ready_parked == SIZE_MAX) continue;
    }
    bool listener_first = ready_parked == SIZE_MAX || !last_accepted_;
    if (listener_ready && listener_first && try_accept(out)) return true;
    if (ready_parked != SIZE_MAX) {
      activate(ready_parked, out);
      return true;
    }
    if (listener_ready && try_accept(out)) return true;
  }
}

void Waiter::park() {
  if (!active_) return;
  add_parked(std::move(active_), active_status_only_);
}

void Waiter::add_parked(std::unique_ptr<Connection> conn, bool status_only) {
  if (parked_.size() >= kMaxParked) {
    parked_.front().conn->close();
    free_.push_back(std::move(parked_.front().conn));
    parked_.erase(parked_.begin());
  }
  int fd = conn->fd();
  // Level-triggered and registered once per connection: its next request, or its close, wakes
  // the worker; closing the fd removes it from the set.
  if (!conn->watched()) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = uint64_t(fd);
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    conn->set_watched(epoll_);
  }
  parked_.push_back(Parked{std::move(conn), status_only, scoreboard::now_monotonic_us()});
}

void Waiter::leave(bool to_others) {
  if (to_others && handoff_.send_fd >= 0) hand_off();
}

void Waiter::close_active() {
  if (!active_) return;
  active_->close();
  free_.push_back(std::move(active_));
}

}  // namespace php_pool::worker
