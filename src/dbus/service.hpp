// The pool's D-Bus object (DESIGN.md "D-Bus"): org.phppool.Pool1.LABEL on the system bus,
// object /org/phppool/Pool1, interface org.phppool.Pool1, served from the manager's sd-event
// loop. FastCGI never depends on it: without a bus the pool logs one warning and serves on.
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <cstdint>
#include <string>
#include <vector>

namespace php_pool::manager {
class Manager;
}

namespace php_pool::dbus {

// How often the counters are compared with the values last announced in PropertiesChanged
// (so at most this often a signal, never one per request); after a second without a change,
// how often while the pool stays quiet (an idle pool's manager should sleep: hosts run
// thousands of them); and how often a lost or unreachable bus is tried again.
inline constexpr uint64_t kEmitIntervalUs = 250000;
inline constexpr uint64_t kQuietEmitIntervalUs = 1000000;
inline constexpr int kQuietTicks = 4;
inline constexpr uint64_t kReconnectFirstUs = 250000;
inline constexpr uint64_t kReconnectMaxUs = 60000000;
inline constexpr uint64_t kSocketSettleUs = 50000;  // from the socket's creation to the attempt

class Service {
 public:
  explicit Service(manager::Manager& manager);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Connects to the system bus (sd_bus_open_system: DBUS_SYSTEM_BUS_ADDRESS, else
  // /run/dbus/system_bus_socket), serves the object, requests the name and attaches to the
  // manager's event loop. Call once the loop exists and before workers are forked. Never
  // fails: without a bus it logs one warning and tries again, first after kReconnectFirstUs,
  // then twice as long each time up to kReconnectMaxUs, and at once when the bus socket
  // appears; the same happens when an established connection is lost (dbus-daemon restarted).
  void start();

  // The manager falls asleep (an idle pool): one last comparison, then no more until wake().
  // Reconnection attempts go on.
  void sleep();
  void wake();

  bool connected() const { return bus_ != nullptr; }

 private:
  bool connect(std::string& error);
  void disconnect();
  void tick();
  void schedule_attempt(uint64_t now);
  void watch_socket();
  static int on_socket_dir(sd_event_source* s, const struct inotify_event* e, void* userdata);
  bool emit_changes();  // true when something changed since the last comparison

  static const sd_bus_vtable kVtable[];
  static int on_tick(sd_event_source* s, uint64_t usec, void* userdata);
  static int on_message(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int on_name_reply(sd_bus_message* reply, void* userdata, sd_bus_error* error);
  static int get_property(sd_bus* bus, const char* path, const char* interface,
                          const char* property, sd_bus_message* reply, void* userdata,
                          sd_bus_error* error);
  static int method_reload(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int method_get_status(sd_bus_message* m, void* userdata, sd_bus_error* error);
  static int method_list_processes(sd_bus_message* m, void* userdata, sd_bus_error* error);

  manager::Manager& manager_;
  std::string name_;  // org.phppool.Pool1.LABEL
  sd_bus* bus_ = nullptr;
  sd_bus_slot* object_slot_ = nullptr;
  sd_bus_slot* name_slot_ = nullptr;
  sd_event_source* timer_ = nullptr;
  bool warned_ = false;  // one warning per outage
  bool had_name_ = false;
  uint64_t next_attempt_us_ = 0;
  uint64_t retry_us_ = kReconnectFirstUs;  // the wait before the next attempt after this one
  bool asleep_ = false;
  sd_event_source* watch_ = nullptr;  // the bus socket's directory, while there is no bus
  std::string socket_name_;
  int quiet_ticks_ = 0;  // comparisons in a row that found no change
  // The values last announced in PropertiesChanged, one per property, as text.
  std::vector<std::string> last_;
};

}  // namespace php_pool::dbus
