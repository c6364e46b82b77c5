#include "worker/idle_memory.hpp"

#include "sapi/sapi.hpp"

namespace php_pool::worker {

void IdleMemory::after_request(uint64_t used_peak) {
  peak_avg_ = (peak_avg_ + double(used_peak)) / 2;
  if (release_ms_ > 0) due_ = release_ms_ > kTrimMs ? Due::Trim : Due::Release;
}

int IdleMemory::wait_ms() const {
  switch (due_) {
    case Due::Trim:
      return kTrimMs;
    case Due::Release:
      return release_ms_;
    case Due::Nothing:
      break;
  }
  return 0;
}

int IdleMemory::step() {
  if (due_ == Due::Trim) {
    // A quarter more than the average peak, and 256 KiB: small allocations come in runs of
    // pages per size, so the pages a request touches exceed its bytes somewhat.
    sapi::trim_idle_memory(uint64_t(peak_avg_ * 1.25) + (256 << 10));
    due_ = Due::Release;
    return release_ms_ - kTrimMs;
  }
  if (due_ == Due::Release) sapi::release_idle_memory();
  due_ = Due::Nothing;
  return 0;
}

}  // namespace php_pool::worker
