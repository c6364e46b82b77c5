#include "systemd/watchdog.hpp"

#include <systemd/sd-daemon.h>

#include <ctime>

namespace php_pool::systemd {

Watchdog::~Watchdog() {
  sd_event_source_disable_unref(timer_);
}

bool Watchdog::start(sd_event* event) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return false;
  // Half the period, as sd_watchdog_enabled(3) advises; a small accuracy so that the pings
  // keep that cadence rather than drifting towards the deadline.
  interval_us_ = usec / 2;
  sd_notify(0, "WATCHDOG=1");
  if (sd_event_add_time_relative(event, &timer_, CLOCK_MONOTONIC, interval_us_, interval_us_ / 50,
                                 on_timer, this) < 0)
    return false;
  sd_event_source_set_enabled(timer_, SD_EVENT_ON);
  return true;
}

int Watchdog::on_timer(sd_event_source* source, uint64_t usec, void* userdata) {
  auto* self = static_cast<Watchdog*>(userdata);
  sd_notify(0, "WATCHDOG=1");
  sd_event_source_set_time(source, usec + self->interval_us_);
  sd_event_source_set_enabled(source, SD_EVENT_ON);
  return 0;
}

}  // namespace php_pool::systemd
