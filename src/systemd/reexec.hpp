// Re-executing the manager in place (same pid) for a fresh PHP engine, and what one image hands
// to the next. The listening sockets travel the way systemd passes them (fds from 3,
// LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES), so the new image opens them as at socket
// activation; the rest travels in PHP_POOL_HANDOVER. NOTIFY_SOCKET and WATCHDOG_USEC stay in
// the environment, and the pid stays the same, so systemd's MAINPID and watchdog carry on.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace php_pool::systemd {

struct Handover {
  uint32_t generation = 0;           // reload generation of the workers handed over
  std::vector<pid_t> workers;        // children of this process forked by the previous image
  std::vector<uint64_t> started_us;  // their CLOCK_MONOTONIC start times (0: unknown)
  std::string unlink_path;           // unix socket php-pool bound itself: remove it at exit
  std::map<std::string, uint64_t> counters;  // status counters carried over (name -> value)
};

// The PHP_POOL_HANDOVER text and back (exposed for the unit test).
std::string encode_handover(const Handover& h);
bool decode_handover(const std::string& text, Handover& out, std::string& error);

// The handover left by the previous image, removed from the environment. False when this
// process was not re-executed (or the variable is malformed: then `error` says why).
bool take_handover(Handover& out, std::string& error);

struct PassedFd {
  int fd;
  std::string name;  // LISTEN_FDNAMES entry ("status" for pm.status_listen)
};

// This process's argv, from /proc/self/cmdline (call at start-up, before anything edits it).
std::vector<std::string> own_command_line();

// exec()s this very binary (its path, or /proc/self/exe if the file was replaced) with `argv`,
// the sockets in `fds` moved to 3, 4, ... without FD_CLOEXEC and announced in LISTEN_*, and
// the handover. Returns only on failure, with the reason; the fds may have been moved by then.
std::string reexec(const std::vector<std::string>& argv, const std::vector<PassedFd>& fds,
                   const Handover& handover);

}  // namespace php_pool::systemd
