#include "scoreboard/scoreboard.hpp"

#include <sys/mman.h>
#include <time.h>

#include <cstring>
#include <new>
#include <stdexcept>

namespace php_pool::scoreboard {

const char* stage_name(Stage s) {
  switch (s) {
    case Stage::Free:
      return "Free";
    case Stage::Starting:
      return "Starting";
    case Stage::Idle:
      return "Idle";
    case Stage::ReadingHeaders:
      return "Reading headers";
    case Stage::Running:
      return "Running";
    case Stage::Finishing:
      return "Finishing";
    case Stage::Ending:
      return "Ending";
  }
  return "Unknown";
}

uint64_t now_monotonic_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

uint64_t now_realtime_us() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

Scoreboard::Scoreboard(uint32_t slots) {
  length_ = sizeof(Header) + sizeof(Slot) * slots;
  base_ = mmap(nullptr, length_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (base_ == MAP_FAILED) throw std::runtime_error("cannot map the scoreboard");
  header_ = new (base_) Header();
  slot_count_ = slots;
  slots_ = reinterpret_cast<Slot*>(static_cast<char*>(base_) + sizeof(Header));
  // The kernel hands the mapping out zeroed, and all zeros is a free slot (Stage::Free, every
  // counter 0): no slot is written before it is claimed, so the pages of slots never used are
  // never touched (the table is sized for reloads: most of it stays a hole).
  static_assert(static_cast<int>(Stage::Free) == 0);
}

Scoreboard::~Scoreboard() {
  if (base_) munmap(base_, length_);
}

int Scoreboard::claim(pid_t pid, uint32_t generation) {
  for (uint32_t i = 0; i < slot_count_; i++) {
    Slot& s = slots_[i];
    if (s.stage.load() != Stage::Free) continue;
    s.seq.store(0);
    s.method[0] = s.uri[0] = s.query[0] = s.script[0] = s.user[0] = 0;
    s.content_length = 0;
    s.requests.store(0);
    s.request_start_us.store(0);
    s.request_start_real_us.store(0);
    s.idle_since_us.store(now_monotonic_us());
    s.slow_logged.store(false);
    s.leave.store(false);
    s.last_duration_us.store(0);
    s.last_cpu_us.store(0);
    s.last_memory.store(0);
    s.generation.store(generation);
    s.start_time_us.store(now_realtime_us());
    s.pid.store(pid);
    s.stage.store(Stage::Starting);
    return int(i);
  }
  return -1;
}

void Scoreboard::release(int index) {
  if (index < 0 || uint32_t(index) >= slot_count_) return;
  slots_[index].pid.store(0);
  slots_[index].stage.store(Stage::Free);
}

static void copy_str(char* dst, size_t size, const char* src) {
  if (!src) src = "";
  size_t n = strnlen(src, size - 1);
  memcpy(dst, src, n);
  dst[n] = 0;
}

void Scoreboard::begin_request(Slot& s, const char* method, const char* uri, const char* query,
                               const char* script, const char* user, uint64_t content_length,
                               uint64_t now_mono_us, uint64_t now_real_us) {
  s.seq.fetch_add(1, std::memory_order_acq_rel);
  copy_str(s.method, sizeof s.method, method);
  copy_str(s.uri, sizeof s.uri, uri);
  copy_str(s.query, sizeof s.query, query);
  copy_str(s.script, sizeof s.script, script);
  copy_str(s.user, sizeof s.user, user);
  s.content_length = content_length;
  s.seq.fetch_add(1, std::memory_order_acq_rel);
  s.slow_logged.store(false, std::memory_order_relaxed);
  s.request_start_real_us.store(now_real_us, std::memory_order_relaxed);
  s.request_start_us.store(now_mono_us, std::memory_order_release);
}

void Scoreboard::end_request(Slot& s, uint64_t duration_us, uint64_t cpu_us, uint64_t memory) {
  s.last_duration_us.store(duration_us, std::memory_order_relaxed);
  s.last_cpu_us.store(cpu_us, std::memory_order_relaxed);
  s.last_memory.store(memory, std::memory_order_relaxed);
  s.request_start_us.store(0, std::memory_order_release);
  s.requests.fetch_add(1, std::memory_order_relaxed);
}

SlotView Scoreboard::view(uint32_t i) const {
  const Slot& s = slots_[i];
  SlotView v;
  for (int attempt = 0; attempt < 100; attempt++) {
    uint32_t before = s.seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    v.method.assign(s.method, strnlen(s.method, sizeof s.method));
    v.uri.assign(s.uri, strnlen(s.uri, sizeof s.uri));
    v.query.assign(s.query, strnlen(s.query, sizeof s.query));
    v.script.assign(s.script, strnlen(s.script, sizeof s.script));
    v.user.assign(s.user, strnlen(s.user, sizeof s.user));
    v.content_length = s.content_length;
    if (s.seq.load(std::memory_order_acquire) == before) break;
  }
  v.pid = s.pid.load();
  v.stage = s.stage.load();
  v.generation = s.generation.load();
  v.start_time_us = s.start_time_us.load();
  v.requests = s.requests.load();
  v.request_start_us = s.request_start_us.load();
  v.request_start_real_us = s.request_start_real_us.load();
  v.last_duration_us = s.last_duration_us.load();
  v.last_cpu_us = s.last_cpu_us.load();
  v.last_memory = s.last_memory.load();
  return v;
}

std::vector<SlotView> Scoreboard::snapshot() const {
  std::vector<SlotView> out;
  for (uint32_t i = 0; i < slot_count_; i++)
    if (slots_[i].stage.load() != Stage::Free) out.push_back(view(i));
  return out;
}

}  // namespace php_pool::scoreboard
