#include "manager/manager.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "dbus/service.hpp"
#include "manager/child_fds.hpp"
#include "sandbox/sandbox.hpp"
#include "sapi/backtrace.hpp"
#include "sapi/ini_files.hpp"
#include "sapi/sapi.hpp"
#include "systemd/listen_fds.hpp"
#include "systemd/notify.hpp"
#include "worker/worker.hpp"

namespace php_pool::manager {

using scoreboard::now_monotonic_us;
using scoreboard::Stage;

namespace {
constexpr uint64_t kSecond = 1000000;
// Slots for workers of the current and of draining generations (reload); untouched pages of
// the mapping cost nothing.
constexpr uint32_t kMinSlots = 256;

const char* signal_name(int sig) {
  const char* n = sigabbrev_np(sig);
  return n ? n : "?";
}
// The journal fields of an event about a worker's request (crash, timeout, slow request).
std::string request_uri(const scoreboard::SlotView& v) {
  return v.query.empty() ? v.uri : v.uri + "?" + v.query;
}

log::Fields request_fields(pid_t pid, const scoreboard::SlotView& v, const std::string& uri) {
  log::Fields f;
  f.worker_pid = pid;
  if (v.request_start_us) {
    f.script = v.script.c_str();
    f.request_uri = uri.c_str();
  }
  return f;
}

}  // namespace

const char* to_string(State s) {
  switch (s) {
    case State::Starting:
      return "starting";
    case State::Running:
      return "running";
    case State::Reloading:
      return "reloading";
    case State::Stopping:
      return "stopping";
  }
  return "?";
}

Manager::Manager(Options options) : options_(std::move(options)) {}

Manager::~Manager() {
  bus_.reset();
  for (auto& [pid, c] : children_) sd_event_source_unref(c.source);
  for (auto* s : sources_) sd_event_source_unref(s);
  sd_event_source_unref(ready_timer_);
  sd_event_source_unref(stop_timer_);
  sd_event_unref(event_);
  if (!listen_.inherited && !listen_.unix_path.empty()) unlink(listen_.unix_path.c_str());
}

bool Manager::load_config(config::Config& out, config::PoolConfig& pool, std::string& error) {
  config::LoadOptions lo;
  lo.prefix = options_.prefix;
  config::LoadResult r = config::load(options_.config_file, lo);
  if (!r.config) {
    for (size_t i = 0; i < r.errors.size(); i++) error += (i ? "\n" : "") + r.errors[i].format();
    return false;
  }
  const config::PoolConfig* p = config::select_pool(*r.config, options_.pool, error);
  if (!p) return false;
  pool = *p;
  for (auto& w : r.config->warnings) log::write(log::Level::Warning, {}, "%s", w.format().c_str());
  out = std::move(*r.config);
  return true;
}

int Manager::run() {
  std::string error;
  // Re-executed for a fresh engine (see reexec_for_fresh_engine): the previous image's workers
  // and counters. Taken first, so the variable never reaches a worker.
  systemd::Handover handover;
  bool handed_over = systemd::take_handover(handover, error);
  if (!error.empty()) {
    log::write(log::Level::Warning, {}, "%s", error.c_str());
    error.clear();
  }
  argv_ = systemd::own_command_line();
  // The unit's --instance names the pool in a configuration error too (journalctl POOL=site).
  log::setup(options_.instance, log::Level::Notice);
  if (!load_config(config_, pool_, error)) {
    log::write(log::Level::Alert, {}, "%s", error.c_str());
    return 78;  // EX_CONFIG
  }
  identity_ = options_.instance.empty() ? pool_.name : options_.instance;
  log::Level level = log::Level::Notice;
  log::parse_level(config_.global.log_level, level);
  log::setup(identity_, level);
  const auto& g = config_.global;
  bool log_ok = g.error_log.empty() ? true
                : g.error_log == "syslog"
                    ? log::open_syslog(g.syslog_ident, g.syslog_facility, error)
                    : log::open_file(g.error_log, error);
  if (!log_ok) {
    log::write(log::Level::Alert, {}, "%s", error.c_str());
    return 78;
  }
  if (!sandbox::prepare(pool_, options_.allow_root, error)) {
    log::write(log::Level::Alert, {}, "%s", error.c_str());
    return 78;
  }
  if (!apply_global_limits(error)) {
    log::write(log::Level::Alert, {}, "%s", error.c_str());
    return 78;
  }

  // Signals arrive through sd-event's signalfd: block them before any child exists.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGCHLD, SIGTERM, SIGQUIT, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&mask, s);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // After a re-exec the sockets arrive as from systemd; one that php-pool bound itself from
  // `listen` is still its own (no "ignored" notice, removed at exit).
  config::PoolConfig listen_pool = pool_;
  if (!handover.unlink_path.empty()) listen_pool.listen.clear();
  if (!open_listeners(listen_pool, listen_, error)) {
    log::write(log::Level::Alert, {}, "%s", error.c_str());
    return 71;
  }
  if (!handover.unlink_path.empty()) {
    listen_.inherited = false;
    listen_.unix_path = handover.unlink_path;
  }

  sapi::EngineOptions eo;
  eo.php_ini = options_.php_ini;
  eo.defines = options_.defines;
  const uint64_t engine_start_us = now_monotonic_us();
  if (!sapi::engine_startup(eo, error)) {
    log::write(log::Level::Alert, {}, "%s", error.c_str());
    return 70;
  }
  // Most of a cold start: php.ini, conf.d and every extension's start-up (reported below).
  const double engine_ms = double(now_monotonic_us() - engine_start_us) / 1000;
  board_ = std::make_unique<scoreboard::Scoreboard>(
      std::max({kMinSlots, uint32_t(pool_.pm_max_children) * 4,
                uint32_t(handover.workers.size() + pool_.pm_max_children * 2)}));
  auto& counters = board_->counters();
  counters.start_time_us = scoreboard::now_realtime_us();
  counters.start_mono_us = now_monotonic_us();
  if (handed_over) {
    // The pool did not restart: its start time and counters go on.
    auto get = [&](const char* name, uint64_t fallback) {
      auto it = handover.counters.find(name);
      return it == handover.counters.end() ? fallback : it->second;
    };
    counters.start_time_us = get("start_time", counters.start_time_us);
    counters.start_mono_us = get("start_mono", counters.start_mono_us);
    counters.accepted_conn = get("accepted_conn", 0);
    counters.slow_requests = get("slow_requests", 0);
    counters.max_children_reached = uint32_t(get("max_children_reached", 0));
    counters.max_active_processes = uint32_t(get("max_active_processes", 0));
    counters.max_listen_queue = uint32_t(get("max_listen_queue", 0));
  }

  int r = sd_event_default(&event_);
  if (r < 0) {
    log::write(log::Level::Alert, {}, "sd_event_default: %s", strerror(-r));
    return 70;
  }
  watchdog_.start(event_);  // WATCHDOG=1 at half WATCHDOG_USEC, from this loop
  for (int s : {SIGTERM, SIGQUIT, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) {
    sd_event_source* src = nullptr;
    sd_event_add_signal(event_, &src, s, on_signal, this);
    sources_.push_back(src);
  }
  sd_event_add_time_relative(event_, &maintenance_, CLOCK_MONOTONIC, kSecond, 100000,
                             on_maintenance, this);
  sd_event_source_set_enabled(maintenance_, SD_EVENT_ON);
  sources_.push_back(maintenance_);
  // Without it the manager never sleeps (try_sleep): nothing could wake it.
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ >= 0) {
    sd_event_source* w = nullptr;
    sd_event_add_io(event_, &w, wake_fd_, EPOLLIN, on_wake, this);
    sources_.push_back(w);
  }
  // Kept connections that a leaving worker hands on to the others (worker/waiter.hpp). The
  // manager only holds the pair open, so that connections in flight outlive any worker.
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, handoff_) < 0) {
    log::write(log::Level::Warning, {},
               "a leaving worker will close its kept connections: socketpair: %s", strerror(errno));
    handoff_[0] = handoff_[1] = -1;
  }
  // Request timeouts and retiring workers are checked when something falls due (next_check_us).
  sd_event_add_time_relative(event_, &tick_, CLOCK_MONOTONIC, 100000, 10000, on_timeouts, this);
  sd_event_source_set_enabled(tick_, SD_EVENT_OFF);
  wake_tick();
  sources_.push_back(tick_);
  if (pool_.pm == config::PmStyle::Ondemand) {
    // Not pm.status_listen's sockets: the status worker answers there.
    for (auto& l : listen_.listeners) {
      if (l.status_only) continue;
      sd_event_source* s = nullptr;
      // Edge-triggered: one wake-up per arriving connection, not a busy loop while it waits.
      sd_event_add_io(event_, &s, l.fd, EPOLLIN | EPOLLET, on_ondemand, this);
      sources_.push_back(s);
    }
  }

  open_access_log();
  if (handed_over) {
    adopt_workers(handover);
  } else {
    log::write(log::Level::Notice, {},
               "php-pool %s: pool '%s' starting (pm %s, max_children %d; PHP engine started in "
               "%.1f ms)",
               sapi::kSapiName, identity_.c_str(), config::to_string(pool_.pm),
               pool_.pm_max_children, engine_ms);
  }
  int initial = pool_.pm == config::PmStyle::Static    ? pool_.pm_max_children
                : pool_.pm == config::PmStyle::Dynamic ? pool_.pm_start_servers
                                                       : 0;
  spawn_to(initial);
  spawn_status_worker();
  // What a reload compares to decide on a fresh engine (php.ini, conf.d, the libraries loaded):
  // a few hundred stat()s, taken once the workers are forked, off the cold start's path.
  sapi::IniFiles ini = sapi::loaded_ini_files();
  engine_files_.record(ini.files, ini.scan_dirs);
  // D-Bus (src/dbus): never needed to serve; without a bus it logs one warning. After the
  // fork()s, so that its round trips overlap the workers' start-up; before READY=1, so that
  // `systemctl reload` finds the name.
  bus_ = std::make_unique<dbus::Service>(*this);
  bus_->start();
  check_ready();

  r = sd_event_loop(event_);
  sapi::engine_shutdown();
  if (r < 0) return 70;
  return exit_code_;
}

// The [global] section's limits apply to the manager (and so to the workers it forks), as in
// php-fpm; process.max caps the pool's workers.
bool Manager::apply_global_limits(std::string& error) {
  const config::GlobalConfig& g = config_.global;
  auto set = [&](int resource, int value, const char* name) {
    rlim_t v = value < 0 ? RLIM_INFINITY : rlim_t(value);
    rlimit r{v, v};
    if (setrlimit(resource, &r) < 0) {
      error = std::string("cannot set ") + name + ": " + strerror(errno);
      return false;
    }
    return true;
  };
  if (g.rlimit_files && !set(RLIMIT_NOFILE, g.rlimit_files, "rlimit_files")) return false;
  if (g.rlimit_core && !set(RLIMIT_CORE, g.rlimit_core, "rlimit_core")) return false;
  if (g.process_priority && setpriority(PRIO_PROCESS, 0, *g.process_priority) < 0) {
    error = std::string("cannot set process.priority: ") + strerror(errno);
    return false;
  }
  if (g.process_max > 0 && pool_.pm_max_children > g.process_max) {
    log::write(log::Level::Warning, {}, "pm.max_children %d is above process.max %d: using %d",
               pool_.pm_max_children, g.process_max, g.process_max);
    pool_.pm_max_children = g.process_max;
  }
  log::set_line_limit(g.log_limit);
  return true;
}

// --- children --------------------------------------------------------------------------

bool Manager::spawn(bool status) {
  int slot = status ? -1 : board_->claim(0, generation_);
  if (slot < 0 && !status) {
    log::write(log::Level::Error, {}, "no free scoreboard slot; not starting a worker");
    return false;
  }
  auto output = std::make_shared<WorkerOutput>();
  if (!output->open(pool_.catch_workers_output)) {
    board_->release(slot);
    log::write(log::Level::Error, {}, "cannot make the worker output pipes: %s", strerror(errno));
    return false;
  }
  std::shared_ptr<WorkerSeccomp> seccomp;
  std::shared_ptr<const sandbox::LoadedPolicy> policy = sandbox::supervised_policy();
  if (policy) {
    seccomp = std::make_shared<WorkerSeccomp>();
    if (!seccomp->open()) {
      board_->release(slot);
      log::write(log::Level::Error, {}, "cannot make the worker's seccomp socket: %s",
                 strerror(errno));
      return false;
    }
  }
  pid_t pid = fork();
  if (pid < 0) {
    board_->release(slot);
    log::write(log::Level::Error, {}, "fork() failed: %s", strerror(errno));
    return false;
  }
  if (pid == 0) {
    output->attach_child();
    // Only the manager may read a worker's output or receive its notification fd: not a
    // sibling forked meanwhile. Nor does a worker keep the manager's event loop (child_fds.hpp).
    for (auto& [other, c] : children_) {
      if (c.output) c.output->close_inherited();
      if (c.seccomp) c.seccomp->close_inherited();
    }
    close_event_loop_fds();
    if (slot >= 0) board_->slot(slot).pid.store(getpid());
    worker::WorkerSetup ws{&pool_, listen_.listeners,   board_.get(),
                           slot,   options_.allow_root, identity_};
    ws.seccomp_fd = seccomp ? seccomp->child_end() : -1;
    ws.access_log_fd = access_log_.is_open() ? access_log_.fd() : -1;
    ws.wake_fd = wake_fd_;
    if (slot >= 0) {
      ws.handoff_send = handoff_[0];
      ws.handoff_recv = handoff_[1];
    } else {
      for (int fd : handoff_)  // the status worker serves no kept PHP connections
        if (fd >= 0) close(fd);
    }
    worker::run(ws);
  }
  if (slot >= 0) board_->slot(slot).pid.store(pid);
  sd_event_source* src = nullptr;
  int r = sd_event_add_child(event_, &src, pid, WEXITED, on_child, this);
  if (r < 0) log::write(log::Level::Error, {}, "sd_event_add_child: %s", strerror(-r));
  output->watch(event_, pid, pool_.decorate_workers_output);
  if (seccomp) {
    // The script in progress when a denial arrives, from the worker's scoreboard slot.
    scoreboard::Scoreboard* board = board_.get();
    seccomp->watch(event_, pid, policy, [board, slot, pid] {
      sandbox::ScriptInfo info;
      if (slot < 0) return info;
      scoreboard::SlotView v = board->view(slot);
      if (v.pid != pid) return info;
      info.known = true;
      if (v.stage == Stage::ReadingHeaders || v.stage == Stage::Running ||
          v.stage == Stage::Finishing)
        info.script = v.script;
      return info;
    });
  }
  children_[pid] = Child{pid, slot, generation_, src, now_monotonic_us(), false, output, seccomp};
  children_[pid].status = status;
  log::write(log::Level::Debug, {}, "%s %d started", status ? "status worker" : "child", pid);
  return true;
}

void Manager::spawn_status_worker() {
  for (const auto& l : listen_.listeners)
    if (l.status_only) {
      spawn(true);
      return;
    }
}

void Manager::spawn_to(int count) {
  while (int(live_children(generation_)) < count && state_ != State::Stopping)
    if (!spawn()) break;
}

unsigned Manager::live_children(uint32_t generation) const {
  unsigned n = 0;
  for (auto& [pid, c] : children_)
    if (c.generation == generation && !c.retiring && !c.status) n++;
  return n;
}

unsigned Manager::idle_count(bool count_starting) const {
  unsigned n = 0;
  for (auto& [pid, c] : children_) {
    if (c.retiring || c.generation != generation_ || c.status) continue;
    Stage s = board_->slot(c.slot).stage.load();
    if (s == Stage::Idle || (count_starting && s == Stage::Starting)) n++;
  }
  return n;
}

void Manager::retire(Child& c) {
  c.retiring = true;
  c.retired_us = now_monotonic_us();
  // A reload never waits for ever on a busy old worker (DESIGN.md "Signals").
  c.kill_after_us = c.retired_us + drain_bound_us();
  ask_to_leave(c);
  wake_tick();
}

// When the workers must be looked at next (monotonic µs; 0: no need): in 0.1 s while some are
// retiring; else at the first request-timeout deadline of a running request, and no later than
// one timeout from now (a request that starts now). So timeouts are enforced on time, and an
// idle pool's manager sleeps.
uint64_t Manager::next_check_us(uint64_t now) const {
  uint64_t next = 0;
  auto sooner = [&](uint64_t t) {
    if (!next || t < next) next = t;
  };
  const uint64_t terminate = uint64_t(pool_.request_terminate_timeout.count()) * kSecond;
  const uint64_t slow = uint64_t(pool_.request_slowlog_timeout.count()) * kSecond;
  // No later than one timeout from now: a request that starts now. Not while asleep: the first
  // request wakes the manager (wake()), which sets this floor again.
  for (uint64_t t : {terminate, slow})
    if (t && !asleep_) sooner(now + t);
  for (auto& [pid, c] : children_) {
    if (c.retiring && c.retired_us) sooner(now + 100000);
    if ((!terminate && !slow) || c.status) continue;
    const auto& slot = board_->slot(c.slot);
    uint64_t start = slot.request_start_us.load(std::memory_order_acquire);
    if (!start) continue;
    // As check_timeouts: a finished request's shutdown is timed only when tracked.
    bool tracked =
        slot.stage.load() != Stage::Finishing || pool_.request_terminate_timeout_track_finished;
    if (terminate && tracked) sooner(start + terminate);
    if (slow && !slot.slow_logged.load()) sooner(start + slow);
  }
  return next;
}

// Something to watch appeared (a retiring worker, a reload's timeouts): look at it in time,
// sooner than a later check already set would.
void Manager::wake_tick() {
  if (!tick_) return;
  uint64_t now = 0, set = 0;
  sd_event_now(event_, CLOCK_MONOTONIC, &now);
  uint64_t next = next_check_us(now);
  if (!next) return;
  int enabled = SD_EVENT_OFF;
  sd_event_source_get_enabled(tick_, &enabled);
  if (enabled != SD_EVENT_OFF && sd_event_source_get_time(tick_, &set) >= 0 && set <= next) return;
  sd_event_source_set_time(tick_, std::max(next, now + 1000));
  sd_event_source_set_enabled(tick_, SD_EVENT_ON);
}

// A worker running PHP is only flagged: it leaves after its request, which a SIGQUIT would
// disturb (sleep(), usleep() and blocking reads in the script return early). One waiting for a
// connection or a request is signalled, to leave its accept()/read at once. A worker handed
// over by a previous image has no slot here: signalled.
void Manager::ask_to_leave(Child& c) {
  if (c.adopted || c.status) {
    kill(c.pid, SIGQUIT);
    return;
  }
  scoreboard::Slot& slot = board_->slot(c.slot);
  slot.leave.store(true, std::memory_order_release);
  Stage st = slot.stage.load(std::memory_order_acquire);
  if (st != Stage::Running && st != Stage::Finishing) kill(c.pid, SIGQUIT);
}

// php-fpm's process_control_timeout = 0 would kill busy workers at once; here it means
// request_terminate_timeout if set, else 30 s.
uint64_t Manager::drain_bound_us() const {
  uint64_t bound = uint64_t(config_.global.process_control_timeout.count());
  if (!bound) bound = uint64_t(pool_.request_terminate_timeout.count());
  if (!bound) bound = 30;
  return bound * kSecond;
}

// Retired workers that are still there, checked ten times a second:
// - one idle in accept() missed its SIGQUIT (it came between its stop check and accept()), so
//   it would take one more request with the old configuration: it is signalled again;
// - one handed over by a previous image is signalled again once, a second later (the same
//   race; its stage is not visible);
// - one still busy when the drain bound passes is killed.
void Manager::check_retiring() {
  uint64_t now = now_monotonic_us();
  for (auto& [pid, c] : children_) {
    if (!c.retiring || !c.retired_us) continue;
    if (c.kill_after_us && now >= c.kill_after_us) {
      log::write(log::Level::Warning, {},
                 "child %d still busy %.0f seconds after it was asked to leave; killing it", pid,
                 double(c.kill_after_us - c.retired_us) / kSecond);
      kill(pid, SIGKILL);
      c.kill_after_us = 0;
      continue;
    }
    if (now - c.retired_us < 100000) continue;
    if (c.adopted) {
      if (now - c.retired_us >= kSecond && c.retired_us + kSecond + 100000 > now)
        kill(pid, SIGQUIT);
    } else if (c.status || board_->slot(c.slot).stage.load() == Stage::Idle) {
      kill(pid, SIGQUIT);
    }
  }
}

int Manager::on_child(sd_event_source*, const siginfo_t* si, void* userdata) {
  static_cast<Manager*>(userdata)->on_child_exit(si->si_pid, si);
  return 0;
}

void Manager::on_child_exit(pid_t pid, const siginfo_t* si) {
  auto it = children_.find(pid);
  if (it == children_.end()) return;
  wake();
  Child c = it->second;
  children_.erase(it);
  sd_event_source_unref(c.source);
  if (c.output) c.output->close_all();
  if (c.seccomp) c.seccomp->close_all();
  scoreboard::SlotView v = c.slot >= 0 ? board_->view(c.slot) : scoreboard::SlotView{};
  board_->release(c.slot);

  double lived = double(now_monotonic_us() - c.started_us) / kSecond;
  std::string serving;
  if (v.request_start_us)
    serving = " while serving \"" + v.method + " " + v.uri + "\" (script '" + v.script + "')";
  std::string uri = request_uri(v);
  log::Fields fields = request_fields(pid, v, uri);
  bool abnormal = false;
  if (si->si_code == CLD_EXITED) {
    int code = si->si_status;
    // 124: Zend's hard timeout ended the process; 0: max_requests, stop or reload.
    bool normal = code == 0 || code == 124;
    log::write(normal ? log::Level::Notice : log::Level::Warning, fields,
               "child %d exited with code %d after %.6f seconds from start%s", pid, code, lived,
               normal ? "" : serving.c_str());
    if (code == 78) {
      // The worker could not set itself up (sandbox, php_admin_value): do not loop forever.
      abnormal = true;
    }
  } else {
    int sig = si->si_status;
    bool expected = c.retiring && (sig == SIGQUIT || sig == SIGTERM || sig == SIGKILL);
    log::write(expected ? log::Level::Notice : log::Level::Warning, fields,
               "child %d exited on signal %d (SIG%s%s) after %.6f seconds from start%s", pid, sig,
               signal_name(sig), si->si_code == CLD_DUMPED ? " - core dumped" : "", lived,
               serving.c_str());
    abnormal = !expected;
  }

  if (state_ == State::Stopping) {
    if (children_.empty()) sd_event_exit(event_, exit_code_);
    return;
  }
  if (abnormal && config_.global.emergency_restart_threshold > 0) {
    uint64_t now = now_monotonic_us();
    uint64_t window = uint64_t(config_.global.emergency_restart_interval.count()) * kSecond;
    crashes_.push_back(now);
    crashes_.erase(std::remove_if(crashes_.begin(), crashes_.end(),
                                  [&](uint64_t t) { return now - t > window; }),
                   crashes_.end());
    if (int(crashes_.size()) >= config_.global.emergency_restart_threshold) {
      log::write(log::Level::Alert, {},
                 "%zu children exited abnormally within %lld seconds: restarting all workers "
                 "(emergency_restart_threshold)",
                 crashes_.size(), (long long)config_.global.emergency_restart_interval.count());
      crashes_.clear();
      reload(nullptr);
      return;
    }
  }
  if (c.generation != generation_) return;
  if (c.status) {
    // Not when it could not set itself up (78): that would only repeat.
    if (si->si_code != CLD_EXITED || si->si_status != 78) spawn_status_worker();
    return;
  }
  if (pool_.pm == config::PmStyle::Static)
    spawn_to(pool_.pm_max_children);
  else if (pool_.pm == config::PmStyle::Dynamic)
    maintain();
}

// --- process manager --------------------------------------------------------------------

int Manager::on_maintenance(sd_event_source* s, uint64_t usec, void* userdata) {
  auto* m = static_cast<Manager*>(userdata);
  m->maintain();
  m->send_status();
  if (m->try_sleep()) return 0;
  sd_event_source_set_time(s, usec + kSecond);
  sd_event_source_set_enabled(s, SD_EVENT_ON);
  return 0;
}

// --- sleeping while idle -----------------------------------------------------------------
// php-fpm's master wakes every second for ever; a host runs one php-pool manager per site, so
// an idle one must not. Once a pass finds nothing to do and no connection came since the last,
// the once-a-second pass, D-Bus's comparisons and the request-timeout floor stop; the first
// request a worker takes wakes the manager (wake_fd_), as do signals, D-Bus calls, a worker's
// exit and, for ondemand, a connection (its socket watch). What is left while asleep: the
// systemd watchdog's pings and, with no bus, the backed-off reconnection attempts.

// Nothing for the per-second pass to do: every worker of the current configuration waits for a
// connection, none came since the previous pass, and pm has no spawn or retirement pending.
bool Manager::quiet(uint64_t accepted) const {
  if (state_ != State::Running || accepted != tick_accepted_) return false;
  int idle = 0;
  for (auto& [pid, c] : children_) {
    if (c.status) continue;
    if (c.retiring || c.generation != generation_ || c.slot < 0) return false;
    if (board_->slot(c.slot).stage.load() != Stage::Idle) return false;
    idle++;
  }
  switch (pool_.pm) {
    case config::PmStyle::Static:
      return idle == pool_.pm_max_children;
    case config::PmStyle::Dynamic:
      return idle >= pool_.pm_min_spare_servers && idle <= pool_.pm_max_spare_servers;
    case config::PmStyle::Ondemand:
      return idle == 0;  // idle workers are retired after pm.process_idle_timeout
  }
  return false;
}

bool Manager::try_sleep() {
  auto& counters = board_->counters();
  uint64_t accepted = counters.accepted_conn.load();
  bool calm = wake_fd_ >= 0 && quiet(accepted);
  tick_accepted_ = accepted;
  if (!calm) return false;
  // Flag first, then look again (both sequentially consistent, as the worker's stage store and
  // flag load): a request taken in between is either seen here or sees the flag.
  counters.manager_asleep.store(true);
  if (!quiet(counters.accepted_conn.load())) {
    counters.manager_asleep.store(false);
    return false;
  }
  asleep_ = true;
  send_status(true);  // the idle figures, for as long as it sleeps
  if (bus_) bus_->sleep();
  sd_event_source_set_enabled(maintenance_, SD_EVENT_OFF);
  sd_event_source_set_enabled(tick_, SD_EVENT_OFF);
  wake_tick();  // only what is still due (a retiring worker: none, or it would not be quiet)
  log::write(log::Level::Debug, {}, "idle: the manager sleeps until the next request");
  return true;
}

void Manager::wake() {
  if (!asleep_) return;
  asleep_ = false;
  board_->counters().manager_asleep.store(false);
  uint64_t now = 0;
  sd_event_now(event_, CLOCK_MONOTONIC, &now);
  sd_event_source_set_time(maintenance_, now + kSecond);
  sd_event_source_set_enabled(maintenance_, SD_EVENT_ON);
  if (bus_) bus_->wake();
  wake_tick();  // the request-timeout floor again
}

int Manager::on_wake(sd_event_source*, int fd, uint32_t, void* userdata) {
  uint64_t n;
  while (read(fd, &n, sizeof n) > 0) {
  }
  static_cast<Manager*>(userdata)->wake();
  return 0;
}

void Manager::maintain() {
  if (state_ == State::Stopping) return;
  unsigned idle = 0, active = 0, total = 0;
  Child* longest_idle = nullptr;
  uint64_t longest_idle_since = UINT64_MAX;
  for (auto& [pid, c] : children_) {
    if (c.retiring || c.generation != generation_ || c.status) continue;
    total++;
    auto& slot = board_->slot(c.slot);
    Stage st = slot.stage.load();
    if (st == Stage::Idle || st == Stage::Starting) {
      idle++;
      uint64_t since = slot.idle_since_us.load();
      if (st == Stage::Idle && since < longest_idle_since) {
        longest_idle_since = since;
        longest_idle = &c;
      }
    } else {
      active++;
    }
  }
  auto& counters = board_->counters();
  if (active > counters.max_active_processes.load()) counters.max_active_processes = active;
  // php-fpm's "max listen queue", sampled once a second as php-fpm does, but only while every
  // worker is busy: with one idle, a connection does not wait (an idle pool makes no query).
  if (idle == 0 && active > 0) note_listen_queue();

  const int max = pool_.pm_max_children;
  if (pool_.pm == config::PmStyle::Ondemand) {
    uint64_t timeout = uint64_t(pool_.pm_process_idle_timeout.count()) * kSecond;
    if (longest_idle && now_monotonic_us() - longest_idle_since > timeout) retire(*longest_idle);
    // Connections may wait without a fresh edge (e.g. queued while all workers were busy).
    ondemand_spawn();
    return;
  }
  if (pool_.pm == config::PmStyle::Static) {
    if (idle == 0 && int(total) >= max) {
      if (!warned_max_children_) counters.max_children_reached++;
      warned_max_children_ = true;
    } else {
      warned_max_children_ = false;
    }
    return;
  }
  // dynamic
  if (int(idle) > pool_.pm_max_spare_servers && longest_idle) {
    retire(*longest_idle);
    spawn_rate_ = 1;
    return;
  }
  if (int(idle) < pool_.pm_min_spare_servers) {
    if (int(total) >= max) {
      if (!warned_max_children_) {
        log::write(log::Level::Warning, {},
                   "server reached pm.max_children setting (%d), consider raising it", max);
        counters.max_children_reached++;
        warned_max_children_ = true;
      }
      spawn_rate_ = 1;
      return;
    }
    warned_max_children_ = false;
    int want = std::min({spawn_rate_, pool_.pm_min_spare_servers - int(idle), max - int(total)});
    for (int i = 0; i < want; i++)
      if (!spawn()) break;
    if (spawn_rate_ >= 8)
      log::write(
          log::Level::Warning, {},
          "seems busy (you may need to increase pm.start_servers, or pm.min/max_spare_servers), "
          "spawning %d children, there are %u idle, and %u total children",
          want, idle, total);
    if (spawn_rate_ < pool_.pm_max_spawn_rate)
      spawn_rate_ = std::min(spawn_rate_ * 2, pool_.pm_max_spawn_rate);
    return;
  }
  warned_max_children_ = false;
  spawn_rate_ = 1;
}

// Connections waiting in the pool's listen queues (not pm.status_listen's, which the status
// worker takes), now; one that cannot be read counts as one, the connection that woke the
// manager. Raises the pool's max listen queue.
unsigned Manager::note_listen_queue() {
  unsigned waiting = 0, measured = 0;
  for (auto& l : listen_.listeners) {
    if (l.status_only) continue;
    unsigned cur = 0, len = 0;
    if (listen_queue(l.fd, cur, len)) {
      waiting += cur;
      measured += cur;
    } else {
      waiting += 1;
    }
  }
  auto& max = board_->counters().max_listen_queue;
  if (measured > max.load()) max = measured;
  return waiting;
}

int Manager::on_ondemand(sd_event_source*, int, uint32_t, void* userdata) {
  static_cast<Manager*>(userdata)->wake();
  static_cast<Manager*>(userdata)->ondemand_spawn(true);
  return 0;
}

// ondemand: one worker per waiting connection that no idle or starting worker will take.
// A burst of connections may raise a single edge, so count the queue rather than the events.
void Manager::ondemand_spawn(bool connection_arrived) {
  if (state_ == State::Stopping) return;
  // A connection and no worker ready for it (an idle pool's first request): fork at once, and
  // count what else waits afterwards, while the new worker sets itself up.
  if (connection_arrived && idle_count(true) == 0 &&
      int(live_children(generation_)) < pool_.pm_max_children)
    spawn();
  unsigned waiting = note_listen_queue();
  unsigned ready = idle_count(true);
  if (waiting <= ready) return;
  int room = pool_.pm_max_children - int(live_children(generation_));
  int want = std::min(int(waiting - ready), room);
  if (want <= 0) {
    if (!warned_max_children_) {
      log::write(log::Level::Warning, {},
                 "server reached max_children setting (%d), consider raising it",
                 pool_.pm_max_children);
      board_->counters().max_children_reached++;
      warned_max_children_ = true;
    }
    return;
  }
  warned_max_children_ = false;
  for (int i = 0; i < want; i++)
    if (!spawn()) break;
}

// --- timeouts ---------------------------------------------------------------------------

int Manager::on_timeouts(sd_event_source* s, uint64_t, void* userdata) {
  auto* m = static_cast<Manager*>(userdata);
  m->check_timeouts();
  m->check_retiring();
  // Off first: wake_tick() keeps a timer that is on and due no later than the next check, and
  // this one is due now; it re-arms it when there is still something to watch.
  sd_event_source_set_enabled(s, SD_EVENT_OFF);
  m->wake_tick();
  return 0;
}

void Manager::check_timeouts() {
  uint64_t terminate = uint64_t(pool_.request_terminate_timeout.count()) * kSecond;
  uint64_t slow = uint64_t(pool_.request_slowlog_timeout.count()) * kSecond;
  if (!terminate && !slow) return;
  uint64_t now = now_monotonic_us();
  for (auto& [pid, c] : children_) {
    if (c.status) continue;
    auto& slot = board_->slot(c.slot);
    uint64_t start = slot.request_start_us.load(std::memory_order_acquire);
    if (!start || now < start) continue;
    uint64_t d = now - start;
    Stage st = slot.stage.load();
    if (slow && d > slow && !slot.slow_logged.exchange(true)) {
      scoreboard::SlotView v = board_->view(c.slot);
      std::string uri = request_uri(v);
      log::write(log::Level::Warning, request_fields(pid, v, uri),
                 "child %d, script '%s' (request: \"%s %s\") executing too slow (%.6f sec), "
                 "logging",
                 pid, v.script.c_str(), v.method.c_str(), uri.c_str(), double(d) / kSecond);
      board_->counters().slow_requests++;
      write_slowlog(pid, v);
    }
    bool tracked = st != Stage::Finishing || pool_.request_terminate_timeout_track_finished;
    if (terminate && d > terminate && tracked) {
      scoreboard::SlotView v = board_->view(c.slot);
      std::string uri = request_uri(v);
      log::write(log::Level::Warning, request_fields(pid, v, uri),
                 "child %d, script '%s' (request: \"%s %s\") execution timed out (%.6f sec), "
                 "terminating",
                 pid, v.script.c_str(), v.method.c_str(), uri.c_str(), double(d) / kSecond);
      c.retiring = true;
      kill(pid, SIGKILL);
      // The replacement starts now, not when the kernel reports the exit.
      slot.request_start_us.store(0);
    }
  }
}

// php-fpm's slowlog entry: a header naming pool, pid and script, then the PHP backtrace.
void Manager::write_slowlog(pid_t pid, const scoreboard::SlotView& v) {
  if (pool_.slowlog.empty()) return;
  std::vector<sapi::Frame> frames;
  std::string error;
  bool ok = sapi::read_backtrace(pid, pool_.request_slowlog_trace_depth, frames, error);
  char when[64];
  time_t now = time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  strftime(when, sizeof when, "%d-%b-%Y %H:%M:%S", &tm);
  // Paths and function names are the script's to choose: no line of their own.
  std::string entry = std::string("\n[") + when + "]  [pool " + identity_ + "] pid " +
                      std::to_string(pid) + "\nscript_filename = " + log::printable(v.script) +
                      "\n";
  if (!ok) entry += "(backtrace unavailable: " + error + ")\n";
  for (auto& f : frames) {
    char addr[32];
    snprintf(addr, sizeof addr, "[0x%016llx] ", (unsigned long long)f.address);
    entry += addr + log::printable(f.function) + " " + log::printable(f.file) + ":" +
             std::to_string(f.line) + "\n";
  }
  // Opened per entry, so a rotated file needs no signal; one write() per entry. As root: not
  // through a symbolic link the pool's user may have put at the path.
  int fd =
      open(pool_.slowlog.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  ssize_t n = fd < 0 ? -1 : ::write(fd, entry.data(), entry.size());
  int err = n < 0 ? errno : ENOSPC;
  if (fd >= 0) close(fd);
  if (n == ssize_t(entry.size()))
    slowlog_failures_.succeeded("slowlog", pool_.slowlog);
  else
    slowlog_failures_.failed("slowlog", pool_.slowlog, err);
}

// --- readiness, status ------------------------------------------------------------------

void Manager::check_ready() {
  // Ready once a worker of this generation waits for or serves requests: under load none is
  // ever seen idle (each takes a waiting connection at once), and READY=1, Reload()'s reply and
  // the old workers' retirement must not wait for a quiet moment.
  bool ready = pool_.pm == config::PmStyle::Ondemand;
  for (auto& [pid, c] : children_) {
    if (c.generation != generation_ || c.status) continue;
    Stage st = board_->slot(c.slot).stage.load();
    if (st == Stage::Idle || st == Stage::ReadingHeaders || st == Stage::Running ||
        st == Stage::Finishing)
      ready = true;
  }
  if (ready) {
    for (auto& [pid, c] : children_)
      if (c.generation != generation_ && !c.retiring) retire(c);
    // READY=1 and Reload() promise the new configuration: wait (briefly) until no old worker
    // waits in accept() any more, or one could still take the next request. A busy old worker
    // finishes its request in the background; one handed over by a previous image shows no
    // stage, so it gets a short grace instead.
    uint64_t now = now_monotonic_us();
    for (auto& [pid, c] : children_) {
      if (c.generation == generation_ || !c.retiring || !c.retired_us || c.status) continue;
      bool idle = c.adopted || board_->slot(c.slot).stage.load() == Stage::Idle ||
                  board_->slot(c.slot).stage.load() == Stage::Starting;
      uint64_t grace = c.adopted ? 500000 : 2 * kSecond;
      if (idle && now - c.retired_us < grace) {
        ready = false;
        break;
      }
    }
  }
  if (ready) {
    if (state_ != State::Stopping) state_ = State::Running;
    systemd::notify_ready();
    send_status();
    auto waiters = std::move(reload_waiters_);
    reload_waiters_.clear();
    for (auto& w : waiters)
      if (w) w("");
    if (ready_timer_) sd_event_source_set_enabled(ready_timer_, SD_EVENT_OFF);
    return;
  }
  if (!ready_timer_) {
    sd_event_add_time_relative(event_, &ready_timer_, CLOCK_MONOTONIC, 2000, 1000, on_ready_poll,
                               this);
  } else {
    uint64_t now;
    sd_event_now(event_, CLOCK_MONOTONIC, &now);
    sd_event_source_set_time(ready_timer_, now + 2000);
  }
  sd_event_source_set_enabled(ready_timer_, SD_EVENT_ONESHOT);
}

int Manager::on_ready_poll(sd_event_source*, uint64_t, void* userdata) {
  static_cast<Manager*>(userdata)->check_ready();
  return 0;
}

PoolStatus Manager::status() const {
  PoolStatus s;
  s.pool = identity_;
  s.process_manager = config::to_string(pool_.pm);
  s.state = state_;
  auto& c = board_->counters();
  s.start_time_us = c.start_time_us.load();
  s.start_since_s = (now_monotonic_us() - c.start_mono_us.load()) / kSecond;
  s.accepted_conn = c.accepted_conn.load();
  for (auto& l : listen_.listeners) {
    unsigned cur = 0, max = 0;
    if (!l.status_only && listen_queue(l.fd, cur, max)) {
      s.listen_queue += cur;
      s.listen_queue_len += max;
    }
  }
  s.max_listen_queue = std::max<unsigned>(c.max_listen_queue.load(), s.listen_queue);
  for (auto& [pid, ch] : children_) {
    if (ch.generation != generation_ || ch.status) continue;
    s.total++;
    Stage st = board_->slot(ch.slot).stage.load();
    if (st == Stage::Idle || st == Stage::Starting)
      s.idle++;
    else
      s.active++;
  }
  s.max_active = std::max<unsigned>(c.max_active_processes.load(), s.active);
  s.max_children_reached = c.max_children_reached.load();
  s.slow_requests = c.slow_requests.load();
  return s;
}

void Manager::send_status(bool now_anyway) {
  // Not under systemd (no NOTIFY_SOCKET): the figures would go nowhere, and status() asks the
  // kernel for the listen queues.
  if (!getenv("NOTIFY_SOCKET")) return;
  uint64_t now = now_monotonic_us();
  uint64_t interval = std::min<uint64_t>(config_.global.systemd_interval.count(), 5) * kSecond;
  if (interval == 0 || (now - last_status_us_ < interval && !now_anyway)) return;
  PoolStatus s = status();
  static uint64_t last_accepted = 0, last_time = 0;
  double rate =
      last_time ? double(s.accepted_conn - last_accepted) * kSecond / double(now - last_time) : 0.0;
  last_accepted = s.accepted_conn;
  last_time = now;
  last_status_us_ = now;
  char line[256];
  // php-fpm's exact wording, so tools that parse it keep working.
  snprintf(line, sizeof line,
           "Processes active: %u, idle: %u, Requests: %lu, slow: %lu, Traffic: %.3greq/sec",
           s.active, s.idle, (unsigned long)s.accepted_conn, (unsigned long)s.slow_requests, rate);
  systemd::notify_status(line);
}

// --- signals, stop, reload --------------------------------------------------------------

int Manager::on_signal(sd_event_source*, const struct signalfd_siginfo* si, void* userdata) {
  auto* m = static_cast<Manager*>(userdata);
  switch (si->ssi_signo) {
    case SIGTERM:
    case SIGQUIT:
      log::write(log::Level::Notice, {}, "Terminating (SIG%s): finishing requests in flight",
                 signal_name(int(si->ssi_signo)));
      m->begin_stop(true);
      break;
    case SIGINT:
      log::write(log::Level::Notice, {}, "Terminating immediately (SIGINT)");
      m->begin_stop(false);
      break;
    case SIGHUP:
    case SIGUSR2:
      log::write(log::Level::Notice, {}, "Reloading (SIG%s)", signal_name(int(si->ssi_signo)));
      m->reload(nullptr);
      break;
    case SIGUSR1:
      // Workers hold the access log and the error log open after dropping privileges, so
      // they cannot reopen them: replace them (gracefully) once the manager has reopened its own.
      log::reopen();
      log::write(log::Level::Notice, {}, "log files reopened; replacing the workers");
      if (m->state_ != State::Stopping) m->start_generation();
      break;
  }
  return 0;
}

void Manager::begin_stop(bool graceful) {
  if (state_ == State::Stopping && graceful) return;
  wake();
  state_ = State::Stopping;
  systemd::notify_stopping();
  if (board_) board_->counters().pool_stopping.store(true);
  for (auto& [pid, c] : children_) {
    c.retiring = true;
    if (graceful)
      ask_to_leave(c);
    else
      kill(pid, SIGKILL);
  }
  if (children_.empty()) {
    sd_event_exit(event_, exit_code_);
    return;
  }
  stop_deadline_us_ = now_monotonic_us() + drain_bound_us();
  if (!stop_timer_)
    sd_event_add_time_relative(event_, &stop_timer_, CLOCK_MONOTONIC, 200000, 10000, on_stop_tick,
                               this);
  sd_event_source_set_enabled(stop_timer_, SD_EVENT_ON);
}

int Manager::on_stop_tick(sd_event_source* s, uint64_t usec, void* userdata) {
  auto* m = static_cast<Manager*>(userdata);
  bool late = now_monotonic_us() >= m->stop_deadline_us_;
  for (auto& [pid, c] : m->children_) {
    // Re-sent: a worker between its stop check and accept() would otherwise sleep on.
    if (late) {
      log::write(log::Level::Warning, {}, "child %d still busy after the stop bound; killing it",
                 pid);
      kill(pid, SIGKILL);
    } else {
      m->ask_to_leave(c);
    }
  }
  sd_event_source_set_time(s, usec + 200000);
  sd_event_source_set_enabled(s, SD_EVENT_ON);
  return 0;
}

namespace {

// The pool's php_admin_value and php_admin_flag lines, as the workers apply them.
std::vector<std::pair<std::string, std::string>> admin_values(const config::PoolConfig& pool) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : pool.php_ini)
    if (e.admin && !e.shadowed_in(pool.php_ini)) out.emplace_back(e.name, e.value);
  return out;
}

}  // namespace

void Manager::reload(std::function<void(const std::string& error)> done) {
  if (state_ == State::Stopping) {
    if (done) done("the pool is stopping");
    return;
  }
  wake();
  systemd::notify_reloading();
  State previous = state_;
  state_ = State::Reloading;
  config::Config cfg;
  config::PoolConfig pool;
  std::string error;
  if (!load_config(cfg, pool, error) || !sandbox::prepare(pool, options_.allow_root, error)) {
    log::write(log::Level::Error, {}, "reload refused, the running configuration stays: %s",
               error.c_str());
    state_ = previous == State::Reloading ? State::Running : previous;
    systemd::notify_ready();
    if (done) done(error);
    return;
  }
  // A change the running engine cannot take (php.ini, extensions, libphp; a scoreboard too
  // small for the new pm.max_children) needs a fresh engine: re-execute.
  std::string why = engine_files_.changed();
  if (why.empty() && board_->size() < children_.size() + size_t(pool.pm_max_children) * 2)
    why = "pm.max_children " + std::to_string(pool.pm_max_children) + " needs a larger scoreboard";
  // opcache compiles ini_get('x') of a locked setting into the script, and keeps it in its
  // shared memory: a changed php_admin_value would not reach scripts compiled before.
  if (why.empty() && admin_values(pool) != admin_values(pool_)) why = "a php_admin_value changed";
  if (!why.empty()) {
    config_ = std::move(cfg);
    pool_ = std::move(pool);
    reexec_for_fresh_engine(why, std::move(done));
    return;
  }
  config_ = std::move(cfg);
  pool_ = std::move(pool);
  wake_tick();  // the new configuration may set request timeouts
  if (done) reload_waiters_.push_back(std::move(done));
  log::write(log::Level::Notice, {}, "reloaded: pm %s, max_children %d",
             config::to_string(pool_.pm), pool_.pm_max_children);
  start_generation();
}

// New workers for the current configuration; the old ones keep serving until a new one
// accepts (check_ready retires them), so no request waits or fails.
// At start, on reload and on SIGUSR1 (log rotation): the workers forked next get the file at
// the path now; those running keep theirs until they are replaced.
void Manager::open_access_log() {
  std::string error;
  if (pool_.access_log.empty()) {
    access_log_.close();
  } else if (!access_log_.open(pool_.access_log, error)) {
    log::write(log::Level::Error, {}, "%s%s", error.c_str(),
               access_log_.is_open() ? "; the workers keep writing to the previous file" : "");
  }
}

void Manager::start_generation() {
  wake();
  open_access_log();
  generation_++;
  spawn_rate_ = 1;
  switch (pool_.pm) {
    case config::PmStyle::Static:
      spawn_to(pool_.pm_max_children);
      break;
    case config::PmStyle::Dynamic:
      spawn_to(pool_.pm_start_servers);
      break;
    case config::PmStyle::Ondemand:
      break;
  }
  spawn_status_worker();  // the previous one leaves with the other old workers (check_ready)
  check_ready();
}

// --- re-exec for a fresh engine ---------------------------------------------------------
//
// New workers are forks of the manager's engine, so a reload that must change the engine
// itself (php.ini or a scanned *.ini, an extension added or removed, libphp or an extension's
// .so upgraded: EngineFiles) re-executes the manager:
// - same pid, so systemd's MAINPID, NotifyAccess=main and the watchdog stay valid;
// - same binary (/proc/self/exe) and arguments;
// - the listening sockets passed on as systemd passes them (fds from 3, LISTEN_FDS, LISTEN_PID,
//   LISTEN_FDNAMES, not close-on-exec): the socket never closes, nothing is refused;
// - the old workers handed over (PHP_POOL_HANDOVER), not drained first: they stay our
//   children across exec(), keep accepting while the new image starts its engine and forks,
//   and are retired by check_ready() once a new worker is idle, as in any reload; the new
//   image reaps them and applies the drain bound. So no connection waits for an old request
//   to finish, only (if at all) for the new engine to start.
// What does not cross exec(): the old workers' output pipes (catch_workers_output: what they
// print after it is lost), their scoreboard slots (the status shows them as Ending, without
// their request), and a D-Bus Reload() call: it is answered just before exec(), since the new
// image has a new bus connection; READY=1 comes from the new image once it serves.
void Manager::reexec_for_fresh_engine(const std::string& why,
                                      std::function<void(const std::string&)> done) {
  log::write(log::Level::Notice, {},
             "%s: re-executing for a fresh PHP engine; the %zu running worker(s) serve until "
             "new ones are ready",
             why.c_str(), children_.size());
  systemd::Handover h;
  h.generation = generation_;
  for (auto& [pid, c] : children_) {
    h.workers.push_back(pid);
    h.started_us.push_back(c.started_us);
  }
  if (!listen_.inherited) h.unlink_path = listen_.unix_path;
  auto& k = board_->counters();
  h.counters = {{"start_time", k.start_time_us.load()},
                {"start_mono", k.start_mono_us.load()},
                {"accepted_conn", k.accepted_conn.load()},
                {"slow_requests", k.slow_requests.load()},
                {"max_children_reached", k.max_children_reached.load()},
                {"max_active_processes", k.max_active_processes.load()},
                {"max_listen_queue", k.max_listen_queue.load()}};
  std::vector<systemd::PassedFd> fds;
  for (auto& l : listen_.listeners) {
    std::string name = listen_.inherited ? systemd::inherited_name(l.fd) : "";
    if (l.status_only) name = "status";
    fds.push_back({l.fd, name});
  }
  // Answer every waiting Reload() and leave the bus cleanly (the reply is flushed).
  auto waiters = std::move(reload_waiters_);
  reload_waiters_.clear();
  if (done) waiters.push_back(std::move(done));
  for (auto& w : waiters)
    if (w) w("");
  bus_.reset();
  std::string error = systemd::reexec(argv_, fds, h);
  // Not reached unless exec() failed; the sockets may have moved, so this image cannot go on.
  log::write(log::Level::Alert, {}, "cannot re-execute: %s; exiting (the workers finish first)",
             error.c_str());
  exit_code_ = 70;
  begin_stop(true);
}

// In the new image: the previous image's workers are our children; watch them, give them a
// scoreboard slot (stage Ending, so they count as neither idle nor active), and let
// check_ready() retire them once a worker of this engine is idle.
void Manager::adopt_workers(const systemd::Handover& handover) {
  generation_ = handover.generation + 1;
  state_ = State::Reloading;
  uint64_t now = now_monotonic_us();
  for (size_t i = 0; i < handover.workers.size(); i++) {
    pid_t pid = handover.workers[i];
    // CLOCK_MONOTONIC is the machine's: the previous image's start times stay valid.
    uint64_t started =
        i < handover.started_us.size() && handover.started_us[i] ? handover.started_us[i] : now;
    sd_event_source* src = nullptr;
    int r = sd_event_add_child(event_, &src, pid, WEXITED, on_child, this);
    if (r < 0) {
      // Not our child (any more): nothing to reap or to wait for.
      log::write(log::Level::Warning, {}, "cannot watch worker %d of the previous engine: %s", pid,
                 strerror(-r));
      continue;
    }
    int slot = board_->claim(pid, handover.generation);  // sized for them in run()
    if (slot < 0) {
      log::write(log::Level::Error, {}, "no scoreboard slot for worker %d of the previous engine",
                 pid);
      continue;  // still reaped (its child source stays), not tracked
    }
    board_->slot(slot).pid.store(pid);
    board_->slot(slot).stage.store(Stage::Ending);
    Child c{pid, slot, handover.generation, src, started, false, nullptr, nullptr};
    c.adopted = true;
    children_[pid] = c;
  }
  log::write(log::Level::Notice, {},
             "php-pool %s: pool '%s' re-executed with a fresh PHP engine (pm %s, max_children "
             "%d); %zu worker(s) of the previous engine leave once new ones are ready",
             sapi::kSapiName, identity_.c_str(), config::to_string(pool_.pm), pool_.pm_max_children,
             children_.size());
}

}  // namespace php_pool::manager
