#include "systemd/notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cinttypes>
#include <cstdint>

namespace php_pool::systemd {

void notify_ready() {
  sd_notify(0, "READY=1");
}

void notify_status(const std::string& line) {
  sd_notifyf(0, "STATUS=%s", line.c_str());
}

void notify_reloading() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec = uint64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, usec);
}

void notify_stopping() {
  sd_notify(0, "STOPPING=1");
}

}  // namespace php_pool::systemd
