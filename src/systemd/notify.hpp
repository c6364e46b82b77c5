// sd_notify wrappers: READY, STATUS, RELOADING (+ MONOTONIC_USEC), STOPPING. The watchdog
// pings come from the sd-event loop itself (sd_event_set_watchdog).
#pragma once

#include <string>

namespace php_pool::systemd {

void notify_ready();
void notify_status(const std::string& line);
void notify_reloading();
void notify_stopping();

}  // namespace php_pool::systemd
