// GetStatus: the pool's full status page (same content as pm.status_path with &full) in one of
// the D-Bus API's formats, rendered by src/status.
#pragma once

#include <string>

namespace php_pool::manager {
class Manager;
}

namespace php_pool::dbus {

// format: plain | json | xml | openmetrics. False (with a message in `error`) when the format
// is not one of them. REDACT: the per-process rows without the requests' query strings and
// users (for a caller that is neither root nor the manager's user).
bool status_text(manager::Manager& manager, const std::string& format, bool redact,
                 std::string& out, std::string& error);

}  // namespace php_pool::dbus
