#include "dbus/service.hpp"

#include <pthread.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/log.hpp"
#include "dbus/label.hpp"
#include "dbus/status_text.hpp"
#include "manager/manager.hpp"

namespace php_pool::dbus {

using manager::PoolStatus;

namespace {

constexpr uint64_t kSecond = 1000000;

// --- the bus socket must not reach the workers ------------------------------------------
// Workers are forked from the manager without exec, so they would inherit the manager's bus
// connection: a PHP script could write to that fd (php://fd/N) and talk on the system bus with
// the manager's (root) credentials. Every child closes it right after fork().
int g_bus_fd = -1;

void close_bus_fd_in_child() {
  if (g_bus_fd >= 0) close(g_bus_fd);
  g_bus_fd = -1;
}

void register_atfork_once() {
  static bool done = false;
  if (!done) pthread_atfork(nullptr, nullptr, close_bus_fd_in_child);
  done = true;
}

// --- properties --------------------------------------------------------------------------

enum class Kind { String, U32, U64 };

struct Property {
  const char* name;
  Kind kind;
  std::string (*text)(const PoolStatus&);
  uint64_t (*number)(const PoolStatus&);
};

#define PP_NUM(expr) [](const PoolStatus& s) -> uint64_t { return expr; }

// The order is the vtable's; "Pool" (index 0) is constant.
const Property kProperties[] = {
    {"Pool", Kind::String, [](const PoolStatus& s) { return valid_utf8(s.pool); }, nullptr},
    {"ProcessManager", Kind::String, [](const PoolStatus& s) { return s.process_manager; },
     nullptr},
    {"State", Kind::String,
     [](const PoolStatus& s) { return std::string(manager::to_string(s.state)); }, nullptr},
    {"StartTime", Kind::U64, nullptr, PP_NUM(s.start_time_us)},
    {"AcceptedConnections", Kind::U64, nullptr, PP_NUM(s.accepted_conn)},
    {"ListenQueue", Kind::U32, nullptr, PP_NUM(s.listen_queue)},
    {"MaxListenQueue", Kind::U32, nullptr, PP_NUM(s.max_listen_queue)},
    {"ListenQueueLength", Kind::U32, nullptr, PP_NUM(s.listen_queue_len)},
    {"IdleProcesses", Kind::U32, nullptr, PP_NUM(s.idle)},
    {"ActiveProcesses", Kind::U32, nullptr, PP_NUM(s.active)},
    {"TotalProcesses", Kind::U32, nullptr, PP_NUM(s.total)},
    {"MaxActiveProcesses", Kind::U32, nullptr, PP_NUM(s.max_active)},
    {"MaxChildrenReached", Kind::U32, nullptr, PP_NUM(s.max_children_reached)},
    {"SlowRequests", Kind::U64, nullptr, PP_NUM(s.slow_requests)},
};
constexpr size_t kPropertyCount = sizeof kProperties / sizeof kProperties[0];

#undef PP_NUM

std::string value_text(const Property& p, const PoolStatus& s) {
  return p.kind == Kind::String ? p.text(s) : std::to_string(p.number(s));
}

// A method call whose reply comes later (Reload): the message stays referenced until then.
struct PendingCall {
  explicit PendingCall(sd_bus_message* m) : message(sd_bus_message_ref(m)) {}
  ~PendingCall() { sd_bus_message_unref(message); }
  PendingCall(const PendingCall&) = delete;
  PendingCall& operator=(const PendingCall&) = delete;
  sd_bus_message* message;
};

// The bus socket's path, for a unix:path= address (the default one); "" for any other.
std::string bus_socket_path() {
  const char* env = getenv("DBUS_SYSTEM_BUS_ADDRESS");
  std::string address = env ? env : "unix:path=/run/dbus/system_bus_socket";
  const std::string prefix = "unix:path=";
  if (address.compare(0, prefix.size(), prefix) != 0) return "";
  return address.substr(prefix.size(), address.find_first_of(",;") - prefix.size());
}

}  // namespace

constexpr uint64_t kChange = SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;

const sd_bus_vtable Service::kVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Pool", "s", get_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("ProcessManager", "s", get_property, 0, kChange),
    SD_BUS_PROPERTY("State", "s", get_property, 0, kChange),
    SD_BUS_PROPERTY("StartTime", "t", get_property, 0, kChange),
    SD_BUS_PROPERTY("AcceptedConnections", "t", get_property, 0, kChange),
    SD_BUS_PROPERTY("ListenQueue", "u", get_property, 0, kChange),
    SD_BUS_PROPERTY("MaxListenQueue", "u", get_property, 0, kChange),
    SD_BUS_PROPERTY("ListenQueueLength", "u", get_property, 0, kChange),
    SD_BUS_PROPERTY("IdleProcesses", "u", get_property, 0, kChange),
    SD_BUS_PROPERTY("ActiveProcesses", "u", get_property, 0, kChange),
    SD_BUS_PROPERTY("TotalProcesses", "u", get_property, 0, kChange),
    SD_BUS_PROPERTY("MaxActiveProcesses", "u", get_property, 0, kChange),
    SD_BUS_PROPERTY("MaxChildrenReached", "u", get_property, 0, kChange),
    SD_BUS_PROPERTY("SlowRequests", "t", get_property, 0, kChange),
    // sd-bus would let only callers with CAP_SYS_ADMIN or our uid call methods on the system
    // bus; UNPRIVILEGED leaves the decision to the D-Bus policy and, for Reload, to the
    // explicit check in method_reload.
    SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload,
                            SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("GetStatus", SD_BUS_ARGS("s", format), SD_BUS_RESULT("s", status),
                            method_get_status, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_ARGS("ListProcesses", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(usttss)", processes),
                            method_list_processes, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END};

Service::Service(manager::Manager& manager)
    : manager_(manager), name_(bus_name(manager.identity())) {}

Service::~Service() {
  timer_ = sd_event_source_disable_unref(timer_);
  watch_ = sd_event_source_disable_unref(watch_);
  disconnect();
}

void Service::start() {
  register_atfork_once();
  if (escape_label(manager_.identity()).empty()) {
    log::write(log::Level::Warning, {},
               "D-Bus: the pool has no name, so no bus name; not on the bus");
    return;
  }
  std::string error;
  if (!connect(error)) {
    log::write(log::Level::Warning, {},
               "D-Bus: cannot connect to the system bus (%s); FastCGI keeps serving without "
               "%s, trying again in the background (at least once a minute)",
               error.c_str(), name_.c_str());
    warned_ = true;
    schedule_attempt(scoreboard::now_monotonic_us());
  }
  int r = sd_event_add_time_relative(manager_.event(), &timer_, CLOCK_MONOTONIC, kEmitIntervalUs,
                                     kEmitIntervalUs / 5, on_tick, this);
  if (r < 0) {
    log::write(log::Level::Warning, {}, "D-Bus: cannot add a timer: %s", strerror(-r));
    return;
  }
  sd_event_source_set_enabled(timer_, SD_EVENT_ON);
}

bool Service::connect(std::string& error) {
  sd_bus* bus = nullptr;
  int r = sd_bus_open_system(&bus);
  if (r < 0) {
    const char* address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
    error = std::string(address ? address : "unix:path=/run/dbus/system_bus_socket") + ": " +
            strerror(-r);
    return false;
  }
  sd_bus_set_description(bus, "php-pool");
  const char* step = "sd_bus_add_object_vtable";
  r = sd_bus_add_object_vtable(bus, nullptr, kObjectPath, kInterface, kVtable, this);
  if (r >= 0) {
    // A lost connection must be seen while the manager sleeps too, when nothing ticks.
    step = "sd_bus_add_filter";
    r = sd_bus_add_filter(bus, nullptr, on_message, this);
  }
  if (r >= 0) {
    step = "sd_bus_attach_event";
    r = sd_bus_attach_event(bus, manager_.event(), SD_EVENT_PRIORITY_NORMAL);
  }
  if (r >= 0) {
    // Asynchronous: the manager's loop never waits for the bus. Queued: while the name is
    // still held by a connection on its way out (the previous image of a re-executed manager,
    // a manager being stopped), this one takes it over as soon as the bus lets it go.
    step = "sd_bus_request_name_async";
    r = sd_bus_request_name_async(bus, nullptr, name_.c_str(), SD_BUS_NAME_QUEUE, on_name_reply,
                                  this);
  }
  if (r < 0) {
    error = std::string(step) + ": " + strerror(-r);
    sd_bus_close_unref(bus);
    return false;
  }
  bus_ = bus;
  watch_ = sd_event_source_disable_unref(watch_);
  g_bus_fd = sd_bus_get_fd(bus);
  last_.clear();
  return true;
}

void Service::disconnect() {
  if (!bus_) return;
  g_bus_fd = -1;
  // Pending Reload calls keep their message, and so the bus object, alive; closing it here
  // detaches it from the loop so nothing reaches this object any more.
  if (sd_bus_is_ready(bus_) > 0) sd_bus_flush(bus_);
  sd_bus_detach_event(bus_);
  bus_ = sd_bus_close_unref(bus_);
}

int Service::on_tick(sd_event_source* s, uint64_t usec, void* userdata) {
  auto* self = static_cast<Service*>(userdata);
  self->tick();
  if (self->bus_ && self->manager_.asleep()) {  // (re)connected while the manager sleeps
    self->sleep();
    return 0;
  }
  uint64_t next = !self->bus_ ? std::max<uint64_t>(self->next_attempt_us_, usec + 1000) - usec
                  : self->quiet_ticks_ < kQuietTicks ? kEmitIntervalUs
                                                     : kQuietEmitIntervalUs;
  sd_event_source_set_time(s, usec + next);
  // Slack lets sd-event wake once for this and the manager's own once-a-second pass.
  sd_event_source_set_time_accuracy(s, next / 4);
  sd_event_source_set_enabled(s, SD_EVENT_ON);
  return 0;
}

void Service::schedule_attempt(uint64_t now) {
  next_attempt_us_ = now + retry_us_;
  retry_us_ = std::min(retry_us_ * 2, kReconnectMaxUs);
  watch_socket();
}

// Without a bus, its socket's directory is watched: a dbus-daemon that comes up (or back)
// creates the socket, and the attempt follows at once instead of at the backed-off time.
void Service::watch_socket() {
  if (watch_) return;
  std::string path = bus_socket_path();
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return;
  socket_name_ = path.substr(slash + 1);
  int r = sd_event_add_inotify(manager_.event(), &watch_, path.substr(0, slash).c_str(),
                               IN_CREATE | IN_MOVED_TO | IN_ATTRIB, on_socket_dir, this);
  if (r < 0) watch_ = nullptr;  // no such directory yet: the timed attempts go on
}

int Service::on_socket_dir(sd_event_source*, const struct inotify_event* e, void* userdata) {
  auto* self = static_cast<Service*>(userdata);
  if (self->bus_ || !self->timer_ || !e->len || self->socket_name_ != e->name) return 0;
  // The daemon binds (the file appears) before it listens: a moment, then the first attempt.
  uint64_t now = scoreboard::now_monotonic_us();
  self->retry_us_ = kReconnectFirstUs;
  self->next_attempt_us_ = now + kSocketSettleUs;
  sd_event_source_set_time(self->timer_, self->next_attempt_us_);
  sd_event_source_set_enabled(self->timer_, SD_EVENT_ON);
  return 0;
}

int Service::on_message(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto* self = static_cast<Service*>(userdata);
  if (sd_bus_message_is_signal(m, "org.freedesktop.DBus.Local", "Disconnected") > 0 &&
      self->asleep_)
    self->wake();  // its first tick notices the loss and starts reconnecting
  return 0;        // not handled: sd-bus goes on with the message
}

void Service::sleep() {
  if (!bus_ || !timer_) return;  // without a bus the attempts go on
  emit_changes();
  asleep_ = true;
  sd_event_source_set_enabled(timer_, SD_EVENT_OFF);
}

void Service::wake() {
  if (!asleep_ || !timer_) return;
  asleep_ = false;
  quiet_ticks_ = 0;
  uint64_t now = 0;
  sd_event_now(manager_.event(), CLOCK_MONOTONIC, &now);
  sd_event_source_set_time(timer_, now + kEmitIntervalUs);
  sd_event_source_set_enabled(timer_, SD_EVENT_ON);
}

void Service::tick() {
  uint64_t now = scoreboard::now_monotonic_us();
  if (bus_ && sd_bus_is_open(bus_) <= 0) {
    if (!warned_)
      log::write(log::Level::Warning, {},
                 "D-Bus: lost the connection to the system bus; FastCGI keeps serving without "
                 "%s, trying again in the background (at least once a minute)",
                 name_.c_str());
    warned_ = true;
    disconnect();
    schedule_attempt(now);  // retry_us_ is back at its first step since the connection came
    return;
  }
  if (!bus_) {
    if (now < next_attempt_us_) return;
    std::string error;
    if (!connect(error)) {
      log::write(log::Level::Debug, {}, "D-Bus: still no system bus (%s)", error.c_str());
      schedule_attempt(now);
    } else {
      retry_us_ = kReconnectFirstUs;
    }
    return;
  }
  quiet_ticks_ = emit_changes() ? 0 : quiet_ticks_ + 1;
}

bool Service::emit_changes() {
  PoolStatus s = manager_.status();
  std::vector<std::string> now;
  now.reserve(kPropertyCount);
  for (auto& p : kProperties) now.push_back(value_text(p, s));
  if (last_.size() != now.size()) {  // first pass after (re)connecting: clients read them
    last_ = std::move(now);
    return true;
  }
  std::vector<const char*> changed;
  for (size_t i = 1; i < kPropertyCount; i++)
    if (now[i] != last_[i]) changed.push_back(kProperties[i].name);
  if (changed.empty()) return false;
  changed.push_back(nullptr);
  // The signal carries the values sd-bus reads now through get_property.
  int r = sd_bus_emit_properties_changed_strv(bus_, kObjectPath, kInterface,
                                              const_cast<char**>(changed.data()));
  if (r < 0) {
    log::write(log::Level::Debug, {}, "D-Bus: PropertiesChanged: %s", strerror(-r));
    return true;
  }
  last_ = std::move(now);
  return true;
}

int Service::on_name_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) {
  auto* self = static_cast<Service*>(userdata);
  const sd_bus_error* e = sd_bus_message_get_error(reply);
  if (e) {
    log::write(log::Level::Warning, {},
               "D-Bus: cannot own %s on the system bus (%s: %s); FastCGI keeps serving",
               self->name_.c_str(), e->name, e->message ? e->message : "");
    return 0;
  }
  uint32_t result = 0;
  int r = sd_bus_message_read(reply, "u", &result);
  if (r >= 0 && result == 2) {  // DBUS_REQUEST_NAME_REPLY_IN_QUEUE
    log::write(log::Level::Notice, {},
               "D-Bus: %s is owned by another process; this pool takes the name over when that "
               "one leaves the bus",
               self->name_.c_str());
    return 0;
  }
  if (r < 0 || (result != 1 && result != 4)) {  // 1 primary owner, 4 already owner
    log::write(log::Level::Warning, {}, "D-Bus: cannot own %s (RequestName answered %u)",
               self->name_.c_str(), unsigned(result));
    return 0;
  }
  log::write(self->warned_ ? log::Level::Notice : log::Level::Debug, {},
             "D-Bus: on the system bus as %s", self->name_.c_str());
  self->warned_ = false;
  return 0;
}

int Service::get_property(sd_bus*, const char*, const char*, const char* property,
                          sd_bus_message* reply, void* userdata, sd_bus_error* error) {
  auto* self = static_cast<Service*>(userdata);
  for (auto& p : kProperties) {
    if (strcmp(p.name, property) != 0) continue;
    PoolStatus s = self->manager_.status();
    switch (p.kind) {
      case Kind::String:
        return sd_bus_message_append(reply, "s", p.text(s).c_str());
      case Kind::U32:
        return sd_bus_message_append(reply, "u", uint32_t(p.number(s)));
      case Kind::U64:
        return sd_bus_message_append(reply, "t", uint64_t(p.number(s)));
    }
  }
  return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "Unknown property %s", property);
}

namespace {

// The caller's effective uid, and whether it could signal the manager anyway (root, or the
// manager's own uid): such a caller may reload the pool and see what its requests carry.
int caller(sd_bus_message* m, uid_t& euid, bool& privileged) {
  sd_bus_creds* creds = nullptr;
  int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
  euid = uid_t(-1);
  if (r >= 0) r = sd_bus_creds_get_euid(creds, &euid);
  sd_bus_creds_unref(creds);
  privileged = r >= 0 && (euid == 0 || euid == geteuid());
  return r;
}

bool privileged_caller(sd_bus_message* m) {
  uid_t euid;
  bool privileged;
  caller(m, euid, privileged);
  return privileged;
}

}  // namespace

int Service::method_reload(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  auto* self = static_cast<Service*>(userdata);
  // The D-Bus policy lets only root send Reload; the manager checks again, so a permissive or
  // missing policy file does not open it to everyone.
  uid_t euid;
  bool privileged;
  int r = caller(m, euid, privileged);
  if (r < 0)
    return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                             "Reload: cannot tell who is calling (%s)", strerror(-r));
  if (!privileged)
    return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                             "Reload of pool '%s' refused: only root may reload it (caller uid %u)",
                             valid_utf8(self->manager_.identity()).c_str(), unsigned(euid));
  if (self->manager_.status().state == manager::State::Stopping)
    return sd_bus_error_setf(error, kErrorStopping, "pool '%s' is stopping",
                             valid_utf8(self->manager_.identity()).c_str());

  log::write(log::Level::Notice, {}, "Reloading (D-Bus request from %s, uid %u)",
             sd_bus_message_get_sender(m) ? sd_bus_message_get_sender(m) : "?", unsigned(euid));
  auto call = std::make_shared<PendingCall>(m);
  // Called once the new workers accept requests, or at once when the file is broken.
  self->manager_.reload([call](const std::string& failure) {
    int r2 = failure.empty() ? sd_bus_reply_method_return(call->message, "")
                             : sd_bus_reply_method_errorf(call->message, kErrorConfigInvalid, "%s",
                                                          valid_utf8(failure).c_str());
    if (r2 < 0) log::write(log::Level::Debug, {}, "D-Bus: cannot answer Reload: %s", strerror(-r2));
  });
  return 1;
}

int Service::method_get_status(sd_bus_message* m, void* userdata, sd_bus_error* error) {
  auto* self = static_cast<Service*>(userdata);
  const char* format = nullptr;
  int r = sd_bus_message_read(m, "s", &format);
  if (r < 0) return r;
  // Anyone may read the status (the bus policy), but a request's query string and user may
  // carry tokens and names: only for a caller who could see the process anyway.
  std::string text, failure;
  if (!status_text(self->manager_, format, !privileged_caller(m), text, failure))
    return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", valid_utf8(failure).c_str());
  return sd_bus_reply_method_return(m, "s", valid_utf8(text).c_str());
}

int Service::method_list_processes(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto* self = static_cast<Service*>(userdata);
  sd_bus_message* reply = nullptr;
  int r = sd_bus_message_new_method_return(m, &reply);
  if (r < 0) return r;
  std::unique_ptr<sd_bus_message, decltype(&sd_bus_message_unref)> guard(reply,
                                                                         sd_bus_message_unref);
  r = sd_bus_message_open_container(reply, 'a', "(usttss)");
  if (r < 0) return r;
  // As in GetStatus: the query strings for privileged callers only.
  const bool privileged = privileged_caller(m);
  uint64_t now = scoreboard::now_monotonic_us();
  for (const auto& v : self->manager_.board().snapshot()) {
    if (v.pid <= 0) continue;  // claimed, not forked yet
    // The URI as php-fpm's status page shows it (its "request uri": the script's URI, then
    // "?" and the query string). Like there, an idle worker shows its last request's method
    // and URI; the duration is that of the request running now (0 when none is).
    uint64_t duration =
        v.request_start_us && now > v.request_start_us ? now - v.request_start_us : 0;
    std::string uri = v.query.empty() || !privileged ? v.uri : v.uri + "?" + v.query;
    r = sd_bus_message_append(reply, "(usttss)", uint32_t(v.pid), scoreboard::stage_name(v.stage),
                              uint64_t(v.requests), duration, valid_utf8(v.method).c_str(),
                              valid_utf8(uri).c_str());
    if (r < 0) return r;
  }
  r = sd_bus_message_close_container(reply);
  if (r < 0) return r;
  return sd_bus_message_send(reply);
}

}  // namespace php_pool::dbus
