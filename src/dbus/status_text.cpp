#include "dbus/status_text.hpp"

#include "manager/manager.hpp"
#include "status/collect.hpp"
#include "status/render.hpp"
#include "status/snapshot.hpp"

namespace php_pool::dbus {

namespace {

// The pool figures are the manager's (the same as the D-Bus properties), the rows the status
// page's (status::process_row over every used scoreboard slot).
status::Snapshot build_snapshot(manager::Manager& m, bool redact) {
  manager::PoolStatus ps = m.status();
  status::Snapshot s;
  s.pool = ps.pool;
  s.process_manager = ps.process_manager;
  s.start_time = int64_t(ps.start_time_us / 1000000);
  s.start_since = ps.start_since_s;
  s.accepted_conn = ps.accepted_conn;
  s.listen_queue = ps.listen_queue;
  s.max_listen_queue = ps.max_listen_queue;
  s.listen_queue_len = ps.listen_queue_len;
  s.idle = ps.idle;
  s.active = ps.active;
  s.total = ps.total;
  s.max_active = ps.max_active;
  s.max_children_reached = ps.max_children_reached;
  s.slow_requests = ps.slow_requests;
  std::vector<scoreboard::SlotView> slots = m.board().snapshot();
  // After the snapshot: a request that starts in between must not show a duration of 0.
  uint64_t real = scoreboard::now_realtime_us(), mono = scoreboard::now_monotonic_us();
  for (auto& v : slots) {
    if (v.pid <= 0) continue;
    if (redact) {
      v.query.clear();
      v.user.clear();
    }
    s.processes.push_back(status::process_row(v, real, mono));
  }
  return s;
}

}  // namespace

bool status_text(manager::Manager& manager, const std::string& format, bool redact,
                 std::string& out, std::string& error) {
  status::Format f = status::Format::Plain;
  if (!format.empty() && (!status::parse_format_name(format, f) || f == status::Format::Html)) {
    error = "unknown status format '" + format + "' (plain, json, xml or openmetrics)";
    return false;
  }
  out = status::render(build_snapshot(manager, redact), f, true);
  return true;
}

}  // namespace php_pool::dbus
