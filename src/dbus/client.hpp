// The command-line clients of a running pool's D-Bus object (DESIGN.md "Command line"):
// php-pool --reload NAME and php-pool --status NAME [--format F]. They connect to the system
// bus (sd_bus_open_system: DBUS_SYSTEM_BUS_ADDRESS, else /run/dbus/system_bus_socket) and call
// org.phppool.Pool1.LABEL, LABEL being NAME escaped (label.hpp).
#pragma once

#include <cstdint>
#include <string>

namespace php_pool::dbus {

// Exit codes of the clients.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;        // the pool answered with an error (e.g. broken file)
inline constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE: no bus, or the pool is not on it

// How long the clients wait for the answer. Reload returns once the new workers accept
// requests, which normally takes milliseconds but may take seconds on a loaded host.
inline constexpr uint64_t kReloadTimeoutUs = 120ull * 1000000;
inline constexpr uint64_t kStatusTimeoutUs = 30ull * 1000000;

// Calls Reload() on pool NAME and waits. Prints nothing on stdout on success ("reloaded" is
// the exit code 0); prints the error (for a broken file: FILE:LINE: message) on stderr.
int client_reload(const std::string& pool_name);

// Calls GetStatus(format) on pool NAME and prints the text on stdout (a newline is added when
// the text does not end with one); errors go to stderr.
int client_status(const std::string& pool_name, const std::string& format);

}  // namespace php_pool::dbus
