// GetStatus: the pool's full status page (same content as pm.status_path with &full) in one of
// the D-Bus API's formats, rendered by src/status.
#pragma once

#include <string>

namespace php_pool::manager {
class Manager;
}

namespace php_pool::dbus {

// format: plain | json | xml | openmetrics. False (with a message in `error`) when the format
// is not one of them.
bool status_text(manager::Manager& manager, const std::string& format, std::string& out,
                 std::string& error);

}  // namespace php_pool::dbus
