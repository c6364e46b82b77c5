// The scoreboard: one shared-memory page set per pool, mapped before the workers are forked.
// Each worker writes only its own slot, without locks: counters are atomics, and the request
// strings are guarded by a sequence number so a reader can take a consistent copy.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace php_pool::scoreboard {

// php-fpm's request stages and their names on the status page.
enum class Stage : uint8_t {
  Free = 0,  // slot unused
  Starting,  // forked, initialising
  Idle,      // waiting in accept()
  ReadingHeaders,
  Running,
  Finishing,  // response sent, request shutdown running
  Ending,     // leaving (max_requests, stop)
};
const char* stage_name(Stage s);

inline constexpr size_t kMethodSize = 16;
inline constexpr size_t kUriSize = 1024;
inline constexpr size_t kQuerySize = 512;
inline constexpr size_t kScriptSize = 1024;
inline constexpr size_t kUserSize = 64;

struct Slot {
  std::atomic<pid_t> pid{0};
  std::atomic<Stage> stage{Stage::Free};
  std::atomic<uint32_t> generation{0};     // reload generation that started this worker
  std::atomic<uint64_t> start_time_us{0};  // realtime, process start
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> request_start_us{0};  // monotonic; 0 when no request is running
  std::atomic<uint64_t> request_start_real_us{0};
  std::atomic<uint64_t> idle_since_us{0};  // monotonic; when the worker last became idle
  std::atomic<uint32_t> seq{0};            // odd while the strings below are being written
  std::atomic<bool> slow_logged{false};
  // Set by the manager (stop, reload): finish the request in progress, then exit. A busy
  // worker is not signalled, so that no sleep() or read in a running script is cut short.
  std::atomic<bool> leave{false};
  char method[kMethodSize];
  char uri[kUriSize];
  char query[kQuerySize];
  char script[kScriptSize];
  char user[kUserSize];
  uint64_t content_length;
  // Figures of the last finished request (php-fpm's "last request cpu/memory").
  std::atomic<uint64_t> last_duration_us{0};
  std::atomic<uint64_t> last_cpu_us{0};
  std::atomic<uint64_t> last_memory{0};
};

struct Counters {
  std::atomic<uint64_t> accepted_conn{0};
  std::atomic<uint64_t> slow_requests{0};
  std::atomic<uint32_t> max_children_reached{0};
  std::atomic<uint32_t> max_active_processes{0};
  std::atomic<uint32_t> max_listen_queue{0};
  std::atomic<uint64_t> start_time_us{0};  // realtime, pool start
  std::atomic<uint64_t> start_mono_us{0};
  // Set while the manager sleeps (an idle pool: Manager::try_sleep); the first worker to take a
  // request clears it and wakes the manager through its eventfd.
  std::atomic<bool> manager_asleep{false};
  // Hand-off messages of kept connections sent and not yet received (worker/waiter.hpp): a
  // worker with some queued looks there before it accepts more new connections.
  std::atomic<int32_t> handoffs_queued{0};
  // The pool is stopping: a worker leaving closes its kept connections (the web server opens
  // new ones, which wait in the listening socket that systemd keeps across a restart).
  std::atomic<bool> pool_stopping{false};
};

struct Header {
  Counters counters;
};

// A copy of one slot, taken consistently.
struct SlotView {
  pid_t pid = 0;
  Stage stage = Stage::Free;
  uint32_t generation = 0;
  uint64_t start_time_us = 0, requests = 0, request_start_us = 0, request_start_real_us = 0;
  std::string method, uri, query, script, user;
  uint64_t content_length = 0;
  uint64_t last_duration_us = 0, last_cpu_us = 0, last_memory = 0;
};

class Scoreboard {
 public:
  // Maps a shared anonymous region for `slots` workers; inherited across fork.
  explicit Scoreboard(uint32_t slots);
  ~Scoreboard();
  Scoreboard(const Scoreboard&) = delete;
  Scoreboard& operator=(const Scoreboard&) = delete;

  Counters& counters() { return header_->counters; }
  uint32_t size() const { return slot_count_; }
  Slot& slot(uint32_t i) { return slots_[i]; }

  // Manager side.
  int claim(pid_t pid, uint32_t generation);  // -1 when full
  void release(int index);
  SlotView view(uint32_t i) const;
  std::vector<SlotView> snapshot() const;  // used slots only

  // Worker side: record the request being served (strings truncated to fit).
  static void begin_request(Slot& s, const char* method, const char* uri, const char* query,
                            const char* script, const char* user, uint64_t content_length,
                            uint64_t now_mono_us, uint64_t now_real_us);
  static void end_request(Slot& s, uint64_t duration_us, uint64_t cpu_us, uint64_t memory);

 private:
  void* base_ = nullptr;
  size_t length_ = 0;
  Header* header_ = nullptr;
  Slot* slots_ = nullptr;
  // In the manager's own memory, not in the shared map: every worker can write there, and
  // the manager (root) must never index past the mapping on a worker's say-so.
  uint32_t slot_count_ = 0;
};

uint64_t now_monotonic_us();
uint64_t now_realtime_us();

}  // namespace php_pool::scoreboard
