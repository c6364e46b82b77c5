// The manager: one pool, one sd-event loop. It owns the listening sockets, the scoreboard and
// the workers (fork, reap, process-manager maintenance, timeouts), and handles signals,
// reload, stop and sd_notify. It never runs PHP requests itself.
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/log.hpp"

#include "config/config.hpp"
#include "manager/engine_files.hpp"
#include "manager/listen.hpp"
#include "manager/worker_output.hpp"
#include "manager/worker_seccomp.hpp"
#include "scoreboard/scoreboard.hpp"
#include "systemd/reexec.hpp"
#include "systemd/watchdog.hpp"
#include "worker/access_log.hpp"

namespace php_pool::dbus {
class Service;
}

namespace php_pool::manager {

struct Options {
  std::string config_file;
  std::string pool;      // --pool
  std::string instance;  // --instance: the pool's identity
  std::string prefix;
  bool allow_root = false;
  std::string php_ini;               // -c
  std::vector<std::string> defines;  // -d
};

enum class State { Starting, Running, Reloading, Stopping };
const char* to_string(State s);

// What status, D-Bus and sd_notify read.
struct PoolStatus {
  std::string pool;
  std::string process_manager;
  State state = State::Starting;
  uint64_t start_time_us = 0;
  uint64_t start_since_s = 0;
  uint64_t accepted_conn = 0;
  unsigned listen_queue = 0, max_listen_queue = 0, listen_queue_len = 0;
  unsigned idle = 0, active = 0, total = 0, max_active = 0, max_children_reached = 0;
  uint64_t slow_requests = 0;
};

class Manager {
 public:
  explicit Manager(Options options);
  ~Manager();
  // Loads the configuration, starts the engine and the workers, runs until stopped.
  // Returns the process exit code.
  int run();

  // Reload as SIGHUP/SIGUSR2/D-Bus ask: `done` is called with "" once the new workers accept
  // requests, or with the FILE:LINE error while the old configuration keeps serving.
  void reload(std::function<void(const std::string& error)> done);

  PoolStatus status() const;
  scoreboard::Scoreboard& board() { return *board_; }
  const config::PoolConfig& pool() const { return pool_; }
  const std::string& identity() const { return identity_; }
  sd_event* event() { return event_; }
  bool asleep() const { return asleep_; }  // an idle pool: see Manager::try_sleep

 private:
  struct Child {
    pid_t pid;
    int slot;
    uint32_t generation;
    sd_event_source* source;
    uint64_t started_us;  // monotonic
    bool retiring;        // asked to leave (reload, stop, idle reaping)
    std::shared_ptr<WorkerOutput> output;
    std::shared_ptr<WorkerSeccomp> seccomp;  // null: the policy logs nothing (or is off)
    uint64_t retired_us = 0;                 // monotonic: when retire() asked it to leave
    uint64_t kill_after_us = 0;              // monotonic: SIGKILL if still there (the drain bound)
    bool adopted = false;  // forked by the image before a re-exec (no scoreboard view)
    // pm.status_listen's own worker: answers the status and ping pages there while every
    // worker of the pool is busy (php-fpm's separate status pool); no slot, not counted.
    bool status = false;
  };

  bool load_config(config::Config& out, config::PoolConfig& pool, std::string& error);
  bool apply_global_limits(std::string& error);
  bool spawn(bool status = false);
  void spawn_status_worker();
  void start_generation();
  void open_access_log();
  unsigned note_listen_queue();
  void spawn_to(int count);
  void on_child_exit(pid_t pid, const siginfo_t* si);
  void maintain();  // php-fpm's per-second process-manager pass
  void ondemand_spawn(bool connection_arrived = false);
  void check_timeouts();
  void write_slowlog(pid_t pid, const scoreboard::SlotView& v);
  void check_ready();
  void begin_stop(bool graceful);
  void ask_to_leave(Child& c);
  void retire(Child& c);
  uint64_t drain_bound_us() const;
  void check_retiring();
  void reexec_for_fresh_engine(const std::string& why,
                               std::function<void(const std::string&)> done);
  void adopt_workers(const systemd::Handover& handover);
  void send_status(bool now_anyway = false);
  unsigned idle_count(bool count_starting) const;
  unsigned live_children(uint32_t generation) const;

  static int on_signal(sd_event_source*, const struct signalfd_siginfo*, void*);
  static int on_child(sd_event_source*, const siginfo_t*, void*);
  static int on_maintenance(sd_event_source*, uint64_t, void*);
  bool quiet(uint64_t accepted) const;
  bool try_sleep();
  void wake();
  static int on_wake(sd_event_source*, int, uint32_t, void*);
  static int on_timeouts(sd_event_source*, uint64_t, void*);
  uint64_t next_check_us(uint64_t now) const;  // 0: nothing to watch
  void wake_tick();
  static int on_ready_poll(sd_event_source*, uint64_t, void*);
  static int on_stop_tick(sd_event_source*, uint64_t, void*);
  static int on_ondemand(sd_event_source*, int, uint32_t, void*);

  Options options_;
  config::Config config_;
  config::PoolConfig pool_;
  std::string identity_;
  sd_event* event_ = nullptr;
  std::vector<sd_event_source*> sources_;
  sd_event_source* ready_timer_ = nullptr;
  sd_event_source* stop_timer_ = nullptr;
  // Checks request timeouts and retiring workers when there is something to check
  // (next_check_us); off otherwise, so that an idle pool's manager does not wake up for nothing.
  sd_event_source* tick_ = nullptr;
  // The once-a-second maintenance pass; off while the pool is quiet (try_sleep), until a worker
  // takes a request and writes to wake_fd_, or anything else happens (wake()).
  sd_event_source* maintenance_ = nullptr;
  int wake_fd_ = -1;
  int handoff_[2] = {-1, -1};  // kept connections between workers: [0] sends, [1] receives
  bool asleep_ = false;
  uint64_t tick_accepted_ = UINT64_MAX;  // accepted connections at the previous pass
  ListenSet listen_;
  std::unique_ptr<scoreboard::Scoreboard> board_;
  std::map<pid_t, Child> children_;
  uint32_t generation_ = 1;
  State state_ = State::Starting;
  int spawn_rate_ = 1;
  bool warned_max_children_ = false;
  uint64_t stop_deadline_us_ = 0;
  std::vector<uint64_t> crashes_;  // monotonic times of abnormal exits (emergency restart)
  log::WriteFailures slowlog_failures_;
  // access.log, opened here as root and inherited by the workers: opened by them before they
  // drop their privileges, a script could have any of its siblings respawned, each opening the
  // path as root again.
  worker::AccessLog access_log_;
  std::vector<std::function<void(const std::string&)>> reload_waiters_;
  uint64_t last_status_us_ = 0;
  int exit_code_ = 0;
  std::unique_ptr<dbus::Service> bus_;  // the D-Bus object (src/dbus); never needed to serve
  systemd::Watchdog watchdog_;
  EngineFiles engine_files_;       // what a reload compares to decide on a fresh engine
  std::vector<std::string> argv_;  // for the re-exec
};

}  // namespace php_pool::manager
