// The service watchdog: WATCHDOG=1 every half WATCHDOG_USEC, sent from the manager's event loop
// so that a manager stuck in a callback stops pinging and systemd kills and restarts it.
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>

namespace php_pool::systemd {

class Watchdog {
 public:
  Watchdog() = default;
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Arms the timer when systemd asked for a watchdog (WATCHDOG_USEC, and WATCHDOG_PID if set
  // names this process). The variables stay in the environment: a re-executed manager keeps
  // its pid and pings on. False when there is no watchdog.
  bool start(sd_event* event);
  uint64_t interval_us() const { return interval_us_; }

 private:
  static int on_timer(sd_event_source* source, uint64_t usec, void* userdata);
  sd_event_source* timer_ = nullptr;
  uint64_t interval_us_ = 0;
};

}  // namespace php_pool::systemd
