// When an idle worker gives back the memory its requests left behind, in two steps:
//  - after a second: the pages of the chunk Zend always keeps past what the recent requests
//    used at their peak (a running average of the peaks, as Zend's own cache keeps the chunks
//    of the average peak), so that a request like the recent ones faults nothing in again;
//  - after pm.process_idle_timeout (10 s by default; 0: never): everything.
// Giving back what the next request needs costs it a page fault a page (about 1.5 us here: a
// 12 MiB script 5 ms), which a site with a request every few seconds would pay on each one.
#pragma once

#include <cstdint>

namespace php_pool::worker {

class IdleMemory {
 public:
  explicit IdleMemory(int release_ms) : release_ms_(release_ms) {}

  // After a script ran: `used_peak` is what it had allocated at its peak, in bytes.
  void after_request(uint64_t used_peak);
  // How long to wait idle before the next step (0: nothing left to give back).
  int wait_ms() const;
  // Takes the step that is due; returns the wait before the next one (0: none).
  int step();

  static constexpr int kTrimMs = 1000;

 private:
  enum class Due { Nothing, Trim, Release };
  int release_ms_;
  Due due_ = Due::Nothing;
  double peak_avg_ = 0;  // bytes
};

}  // namespace php_pool::worker
