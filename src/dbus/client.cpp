#include "dbus/client.hpp"

#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "dbus/label.hpp"

namespace php_pool::dbus {

namespace {

struct BusCloser {
  void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
struct MessageUnref {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using BusPtr = std::unique_ptr<sd_bus, BusCloser>;
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;

const char* system_bus_address() {
  const char* a = getenv("DBUS_SYSTEM_BUS_ADDRESS");
  return a && *a ? a : "unix:path=/run/dbus/system_bus_socket";
}

// Calls METHOD on pool NAME; on success *reply holds the answer. Prints errors itself.
int call(const std::string& pool_name, const char* what, const char* method, uint64_t timeout_us,
         const std::string* argument, MessagePtr& reply) {
  const std::string name = bus_name(pool_name);
  if (escape_label(pool_name).empty()) {
    fprintf(stderr, "php-pool: %s: the pool name is empty\n", what);
    return kExitFailed;
  }
  sd_bus* raw = nullptr;
  int r = sd_bus_open_system(&raw);
  BusPtr bus(raw);
  if (r < 0) {
    fprintf(stderr, "php-pool: %s of pool '%s': cannot connect to the system bus at %s: %s\n", what,
            pool_name.c_str(), system_bus_address(), strerror(-r));
    return kExitUnavailable;
  }
  sd_bus_message* m = nullptr;
  r = sd_bus_message_new_method_call(bus.get(), &m, name.c_str(), kObjectPath, kInterface, method);
  MessagePtr call_message(m);
  if (r >= 0 && argument) r = sd_bus_message_append(m, "s", argument->c_str());
  if (r < 0) {
    fprintf(stderr, "php-pool: %s of pool '%s': cannot build the D-Bus call (%s): %s\n", what,
            pool_name.c_str(), name.c_str(), strerror(-r));
    return kExitFailed;
  }
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* answer = nullptr;
  r = sd_bus_call(bus.get(), m, timeout_us, &error, &answer);
  reply.reset(answer);
  if (r >= 0) {
    sd_bus_error_free(&error);
    return kExitOk;
  }
  int code = kExitFailed;
  if (sd_bus_error_has_names(&error, SD_BUS_ERROR_SERVICE_UNKNOWN,
                             SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
    fprintf(stderr, "php-pool: %s: pool '%s' is not running (%s is not on the system bus)\n", what,
            pool_name.c_str(), name.c_str());
    code = kExitUnavailable;
  } else if (sd_bus_error_has_name(&error, kErrorConfigInvalid)) {
    // The message is the checker's FILE:LINE: text, one error a line.
    fprintf(stderr, "php-pool: %s of pool '%s' refused, the running configuration stays:\n%s\n",
            what, pool_name.c_str(), error.message ? error.message : "");
  } else if (sd_bus_error_is_set(&error)) {
    fprintf(stderr, "php-pool: %s of pool '%s' failed: %s (%s)\n", what, pool_name.c_str(),
            error.message ? error.message : strerror(-r), error.name);
    if (sd_bus_error_has_names(&error, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT,
                               SD_BUS_ERROR_DISCONNECTED, SD_BUS_ERROR_NO_SERVER))
      code = kExitUnavailable;
  } else {
    fprintf(stderr, "php-pool: %s of pool '%s' failed: %s\n", what, pool_name.c_str(),
            strerror(-r));
    if (r == -ETIMEDOUT || r == -ECONNRESET || r == -ENOTCONN) code = kExitUnavailable;
  }
  sd_bus_error_free(&error);
  return code;
}

}  // namespace

int client_reload(const std::string& pool_name) {
  MessagePtr reply;
  return call(pool_name, "reload", "Reload", kReloadTimeoutUs, nullptr, reply);
}

int client_status(const std::string& pool_name, const std::string& format) {
  MessagePtr reply;
  const std::string f = format.empty() ? "plain" : format;
  int code = call(pool_name, "status", "GetStatus", kStatusTimeoutUs, &f, reply);
  if (code != kExitOk) return code;
  const char* text = nullptr;
  int r = sd_bus_message_read(reply.get(), "s", &text);
  if (r < 0) {
    fprintf(stderr, "php-pool: status of pool '%s': unexpected answer: %s\n", pool_name.c_str(),
            strerror(-r));
    return kExitFailed;
  }
  size_t n = strlen(text);
  fwrite(text, 1, n, stdout);
  if (n == 0 || text[n - 1] != '\n') fputc('\n', stdout);
  if (fflush(stdout) != 0) return kExitFailed;
  return kExitOk;
}

}  // namespace php_pool::dbus
