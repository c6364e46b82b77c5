#include "worker/worker.hpp"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "common/log.hpp"
#include "common/process_title.hpp"
#include "sandbox/sandbox.hpp"
#include "sapi/sapi.hpp"
#include "worker/builtin_pages.hpp"
#include "worker/connection.hpp"
#include "worker/idle_memory.hpp"
#include "worker/waiter.hpp"

namespace php_pool::worker {
namespace {

volatile sig_atomic_t g_stop = 0;

// A request running this long hands the kept connections parked beside it on to the other
// workers (worker/busy_handoff.hpp): long enough that a pool's ordinary requests, even queued
// for a CPU, never do; short against the 0.1 to 0.2 s php-fpm's kept connections wait here
// in the same case.
constexpr uint64_t kBusyHandoffAfterUs = 20000;
// How long before request_terminate_timeout the kept connections of the request's worker go
// (the manager's check runs at the deadline).
constexpr uint64_t kEvacuateBeforeKillUs = 100000;

void on_stop_signal(int) {
  g_stop = 1;
}

// The worker's CPU time. Not in the vDSO: a system call, so read once per request (a request's
// share is the difference from the previous reading).
uint64_t cpu_time_us() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return uint64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// A reload retires the old workers once one new worker is up: the kept connections they hand
// on go to the workers waiting then, so the others still starting get a moment (200 ms at
// most) to come up first, or the first one up takes them all.
void wait_for_starting_workers(scoreboard::Scoreboard& board, int self) {
  const uint64_t deadline = scoreboard::now_monotonic_us() + 200000;
  for (;;) {
    bool starting = false;
    for (uint32_t i = 0; i < board.size(); i++)
      if (int(i) != self &&
          board.slot(i).stage.load(std::memory_order_relaxed) == scoreboard::Stage::Starting)
        starting = true;
    if (!starting || scoreboard::now_monotonic_us() >= deadline) return;
    usleep(2000);
  }
}

// Whether a busy worker's kept connections may go to another (BusyHandoff, from its helper
// thread): another worker is idle, and no new connection waits in the listening sockets. A pool
// with connections queued is saturated, and a kept connection moved would only let its request
// overtake theirs (the mean wait stays the same: the pool serves no more requests a second).
// With the 50 ms script from 64 clients on 4 workers, moving them regardless took the p50 from
// 0.8 to 0.45 s and the p99 from 1.5 to 1.8 s, some requests timing out.
bool may_move_kept(scoreboard::Scoreboard& board, int self, std::vector<pollfd>& listeners) {
  bool idle = false;
  for (uint32_t i = 0; i < board.size() && !idle; i++)
    idle = int(i) != self &&
           board.slot(i).stage.load(std::memory_order_relaxed) == scoreboard::Stage::Idle;
  return idle && poll(listeners.data(), listeners.size(), 0) == 0;
}

// The first request after the manager fell asleep wakes it (one write per sleep, never one per
// request: the flag is cleared by whoever takes it first).
void wake_manager(scoreboard::Counters& counters, int wake_fd) {
  if (wake_fd < 0 || !counters.manager_asleep.load() || !counters.manager_asleep.exchange(false))
    return;
  uint64_t one = 1;
  if (write(wake_fd, &one, sizeof one) < 0) {
    // EAGAIN: the counter is full of wake-ups the manager has not read yet; it is awake.
  }
}

const char* find(const fastcgi::Params& params, std::string_view name) {
  const std::string* v = fastcgi::find_param(params, name);
  return v ? v->c_str() : nullptr;
}

}  // namespace

void install_signal_handlers() {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;  // no SA_RESTART: accept() returns EINTR
  sigaction(SIGQUIT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = SIG_DFL;
  for (int s : {SIGINT, SIGCHLD}) sigaction(s, &sa, nullptr);
  // Reload and log signals are the manager's: `systemctl kill -s HUP` reaches the whole cgroup.
  sa.sa_handler = SIG_IGN;
  for (int s : {SIGHUP, SIGUSR1, SIGUSR2}) sigaction(s, &sa, nullptr);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, nullptr);
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
}

void run(const WorkerSetup& setup) {
  const config::PoolConfig& pool = *setup.pool;
  // The status worker has no slot: it is not one of the pool's processes on its own pages.
  static scoreboard::Slot own_slot;
  scoreboard::Slot& slot = setup.slot >= 0 ? setup.scoreboard->slot(setup.slot) : own_slot;
  scoreboard::Counters& counters = setup.scoreboard->counters();

  const pid_t manager = getppid();
  process_title::set("php-pool: pool " + setup.identity + (setup.slot < 0 ? " (status)" : ""));
  install_signal_handlers();
  log::set_worker(getpid());
  BuiltinPages pages(pool, *setup.scoreboard, setup.listeners, setup.identity, setup.access_log_fd);
  std::string error;
  if (!sandbox::enter_worker(pool, setup.allow_root, error)) {
    log::write(log::Level::Alert, {}, "worker %d: %s", getpid(), error.c_str());
    _exit(78);
  }
  if (!sapi::worker_init(pool, error)) {
    log::write(log::Level::Alert, {}, "worker %d: %s", getpid(), error.c_str());
    _exit(78);
  }
  // A manager killed (SIGKILL, crash, watchdog) takes its workers with it at once: an orphan
  // would go on accepting connections queued for the restarted manager and lose them when
  // systemd kills it. After the privilege drop, which clears the setting.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != manager) _exit(0);
  sandbox::apply_seccomp(pool, setup.seccomp_fd);

  // Requests arrive on the pool's sockets and on parked kept connections: the Waiter watches
  // them all. pm.status_listen's sockets are the status worker's alone (BuiltinPages answers
  // only the status and ping pages there); it still measures the pool's listen queues.
  std::vector<Listener> listeners;
  for (const auto& l : setup.listeners)
    if (l.status_only == (setup.slot < 0)) listeners.push_back(l);
  fastcgi::Limits limits;
  Handoff handoff;
  if (setup.slot >= 0 && setup.handoff_send >= 0) {
    handoff.send_fd = setup.handoff_send;
    handoff.recv_fd = setup.handoff_recv;
    handoff.queued = &counters.handoffs_queued;
    // A request about to be killed by request_terminate_timeout (the manager's SIGKILL at the
    // deadline) sends its kept connections on first: killed with the worker, they were reset,
    // and nginx answers 502 to a POST on one. Not in an ondemand pool: nothing may take them
    // until the next new connection starts a worker.
    const uint64_t terminate_us = uint64_t(pool.request_terminate_timeout.count()) * 1000000;
    if (terminate_us && pool.pm != config::PmStyle::Ondemand)
      handoff.evacuate_after_us = terminate_us - kEvacuateBeforeKillUs;
    if (pool.pm_max_children > 1) {  // a pool of one worker has no other to take them
      handoff.busy_after_us = kBusyHandoffAfterUs;
      std::vector<pollfd> polls;
      for (const Listener& l : listeners) polls.push_back(pollfd{l.fd, POLLIN, 0});
      handoff.may_move = [&board = *setup.scoreboard, self = setup.slot,
                          polls = std::move(polls)]() mutable {
        return may_move_kept(board, self, polls);
      };
    }
  }
  Waiter waiter(listeners, limits, int(pool.request_read_timeout.count()),
                int(pool.request_write_timeout.count()), &slot.stage, std::move(handoff));
  const int max_requests = pool.pm_max_requests;
  uint64_t served = 0;
  fastcgi::Params params;
  uint64_t cpu_mark = cpu_time_us();
  // Copies for the log context: the SAPI may rewrite params while the request runs.
  std::string log_script, log_uri;
  // Everything goes back after pm.process_idle_timeout, the idle time after which php-fpm's
  // ondemand stops a whole worker; 0 keeps it, as php-fpm's workers do.
  IdleMemory idle_memory(int(
      std::min<int64_t>(std::chrono::milliseconds(pool.pm_process_idle_timeout).count(), INT_MAX)));
  const Waiter::IdleStep idle_step = [&idle_memory] { return idle_memory.step(); };

  // slot.leave: the manager's stop or reload, flagged rather than signalled while busy.
  while (!g_stop && !slot.leave.load(std::memory_order_acquire) &&
         (max_requests == 0 || served < uint64_t(max_requests))) {
    slot.idle_since_us.store(scoreboard::now_monotonic_us(), std::memory_order_relaxed);
    slot.stage.store(scoreboard::Stage::Idle, std::memory_order_release);
    Waiter::Next next;
    if (!waiter.next(next, g_stop, idle_memory.wait_ms(), idle_step)) break;
    Connection& conn = *next.conn;
    // Sequentially consistent, the store and then the load, as Manager::try_sleep's: either the
    // manager sees this worker busy and stays awake, or this worker sees it asleep and wakes it.
    slot.stage.store(scoreboard::Stage::ReadingHeaders);
    if (setup.slot >= 0) wake_manager(counters, setup.wake_fd);
    pages.begin_connection(conn.fd(), next.status_only);
    // As php-fpm, whose pm.status_listen is served by a pool of its own.
    if (next.accepted && !next.status_only)
      counters.accepted_conn.fetch_add(1, std::memory_order_relaxed);

    // One connection may carry several requests (KEEP_CONN).
    bool park = false;
    while (conn.usable() && conn.read_request(params)) {
      uint64_t start = scoreboard::now_monotonic_us();
      const char* method = find(params, "REQUEST_METHOD");
      const char* uri = find(params, "SCRIPT_NAME");  // php-fpm's request URI
      const char* query = find(params, "QUERY_STRING");
      const char* script = find(params, "SCRIPT_FILENAME");
      const char* user = find(params, "REMOTE_USER");
      const char* clen = find(params, "CONTENT_LENGTH");
      scoreboard::Scoreboard::begin_request(slot, method, uri, query, script, user,
                                            clen ? strtoull(clen, nullptr, 10) : 0, start,
                                            scoreboard::now_realtime_us());
      slot.stage.store(scoreboard::Stage::Running, std::memory_order_release);
      const char* request_uri = find(params, "REQUEST_URI");
      log_script.assign(script ? script : "");
      log_uri.assign(request_uri ? request_uri : uri ? uri : "");
      log::set_request(log_script.c_str(), log_uri.c_str());

      int status;
      uint64_t memory = 0;
      waiter.request_started(start);
      if (!pages.handle(params, conn, status)) {
        sapi::RequestResult r = sapi::run_request(conn, params);
        status = r.status;
        memory = r.memory_peak;
        idle_memory.after_request(r.memory_used_peak);  // any script leaves pages behind
        if (r.engine_broken) {
          log::write(log::Level::Error, {},
                     "worker %d: the engine failed outside a script; "
                     "leaving",
                     getpid());
          g_stop = 1;
        }
      }
      waiter.request_ended();
      conn.end_request(0);
      log::set_request(nullptr, nullptr);
      uint64_t end = scoreboard::now_monotonic_us();
      // The request's CPU time since the previous one ended: its accept and reads included.
      const uint64_t cpu_now = cpu_time_us();
      scoreboard::Scoreboard::end_request(slot, end - start, cpu_now - cpu_mark, memory);
      cpu_mark = cpu_now;
      pages.log_access(params, status, end - start, memory);
      served++;
      if (!conn.keep_conn() || !conn.usable()) break;
      const bool leaving = g_stop || slot.leave.load(std::memory_order_acquire) ||
                           (max_requests && served >= uint64_t(max_requests));
      // The next request on this connection may be here already; if not, the connection waits
      // with the others and the worker is free for whichever comes first. A worker leaving
      // parks it too: Waiter::leave() hands it to another worker.
      if (!conn.next_request_buffered()) {
        park = true;
        break;
      }
      if (leaving) break;  // a request read ahead: the connection closes, as before
      slot.stage.store(scoreboard::Stage::ReadingHeaders, std::memory_order_release);
    }
    if (park)
      waiter.park();
    else
      waiter.close_active();
  }
  slot.stage.store(scoreboard::Stage::Ending, std::memory_order_release);
  // ondemand: the one leaving may be the last (pm.process_idle_timeout), and nothing would take
  // them; the web server's next connection starts a worker.
  const bool hand_on =
      !counters.pool_stopping.load() && pool.pm != config::PmStyle::Ondemand && waiter.parked();
  if (hand_on) wait_for_starting_workers(*setup.scoreboard, setup.slot);
  waiter.leave(hand_on);
  _exit(0);
}

}  // namespace php_pool::worker
