// The effective configuration as text (php-pool --test --test, -tt), in php-fpm's order.
#include <sstream>

#include "config/internal.hpp"

namespace php_pool::config {
namespace {

std::string undefined(const std::string& s) {
  return s.empty() ? "undefined" : s;
}
const char* yes_no(bool b) {
  return b ? "yes" : "no";
}
std::string secs(std::chrono::seconds s) {
  return std::to_string(s.count()) + "s";
}
std::string opt(const std::optional<int>& v, const char* unset = "undefined") {
  if (!v) return unset;
  return *v == -1 ? std::string("unlimited") : std::to_string(*v);
}
std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

std::string format_effective(const Config& config, const std::string& pool) {
  std::ostringstream o;
  const GlobalConfig& g = config.global;
  o << "[global]\n";
  o << "\tpid = " << undefined(g.pid) << "\n";
  o << "\terror_log = " << undefined(g.error_log) << "\n";
  o << "\tsyslog.ident = " << g.syslog_ident << "\n";
  o << "\tsyslog.facility = " << g.syslog_facility << "\n";
  o << "\tlog_buffering = " << yes_no(g.log_buffering) << "\n";
  o << "\tlog_level = " << g.log_level << "\n";
  o << "\tlog_limit = " << g.log_limit << "\n";
  o << "\temergency_restart_interval = " << secs(g.emergency_restart_interval) << "\n";
  o << "\temergency_restart_threshold = " << g.emergency_restart_threshold << "\n";
  o << "\tprocess_control_timeout = " << secs(g.process_control_timeout) << "\n";
  o << "\tprocess.max = " << g.process_max << "\n";
  o << "\tprocess.priority = " << opt(g.process_priority) << "\n";
  o << "\tdaemonize = " << yes_no(g.daemonize) << "\n";
  o << "\trlimit_files = " << g.rlimit_files << "\n";
  o << "\trlimit_core = " << (g.rlimit_core == -1 ? "unlimited" : std::to_string(g.rlimit_core))
    << "\n";
  o << "\tevents.mechanism = " << (g.events_mechanism.empty() ? "epoll" : g.events_mechanism)
    << "\n";
  o << "\tsystemd_interval = " << secs(g.systemd_interval) << "\n";
  for (const auto& d : config.ini_defines) o << "\t; -d " << d.name << "=" << d.value << "\n";

  for (const PoolConfig& p : config.pools) {
    if (!pool.empty() && p.name != pool) continue;
    o << "\n[" << p.name << "]\n";
    o << "\tprefix = " << undefined(p.prefix) << "\n";
    o << "\tuser = " << undefined(p.user) << "\n";
    o << "\tgroup = " << undefined(p.group) << "\n";
    o << "\tlisten = " << undefined(p.listen) << "\n";
    o << "\tlisten.backlog = " << p.listen_backlog << "\n";
    o << "\tlisten.acl_users = " << undefined(p.listen_acl_users) << "\n";
    o << "\tlisten.acl_groups = " << undefined(p.listen_acl_groups) << "\n";
    o << "\tlisten.owner = " << undefined(p.listen_owner) << "\n";
    o << "\tlisten.group = " << undefined(p.listen_group) << "\n";
    o << "\tlisten.mode = " << undefined(p.listen_mode) << "\n";
    o << "\tlisten.allowed_clients = " << undefined(join(p.listen_allowed_clients, ",")) << "\n";
    o << "\tprocess.priority = " << opt(p.process_priority) << "\n";
    o << "\tprocess.sched_policy = " << to_string(p.process_sched_policy) << "\n";
    o << "\tprocess.dumpable = " << yes_no(p.process_dumpable) << "\n";
    o << "\tpm = " << to_string(p.pm) << "\n";
    o << "\tpm.max_children = " << p.pm_max_children << "\n";
    o << "\tpm.start_servers = " << p.pm_start_servers << "\n";
    o << "\tpm.min_spare_servers = " << p.pm_min_spare_servers << "\n";
    o << "\tpm.max_spare_servers = " << p.pm_max_spare_servers << "\n";
    o << "\tpm.max_spawn_rate = " << p.pm_max_spawn_rate << "\n";
    o << "\tpm.process_idle_timeout = " << secs(p.pm_process_idle_timeout) << "\n";
    o << "\tpm.max_requests = " << p.pm_max_requests << "\n";
    o << "\tpm.status_path = " << undefined(p.pm_status_path) << "\n";
    o << "\tpm.status_listen = " << undefined(p.pm_status_listen) << "\n";
    o << "\tping.path = " << undefined(p.ping_path) << "\n";
    o << "\tping.response = " << (p.ping_path.empty() ? "undefined" : p.ping_response) << "\n";
    o << "\taccess.log = " << undefined(p.access_log) << "\n";
    o << "\taccess.format = " << p.access_format << "\n";
    for (const auto& s : p.access_suppress_path) o << "\taccess.suppress_path[] = " << s << "\n";
    o << "\tslowlog = " << undefined(p.slowlog) << "\n";
    o << "\trequest_slowlog_timeout = " << secs(p.request_slowlog_timeout) << "\n";
    o << "\trequest_slowlog_trace_depth = " << p.request_slowlog_trace_depth << "\n";
    o << "\trequest_terminate_timeout = " << secs(p.request_terminate_timeout) << "\n";
    o << "\trequest_terminate_timeout_track_finished = "
      << yes_no(p.request_terminate_timeout_track_finished) << "\n";
    o << "\trequest_read_timeout = " << secs(p.request_read_timeout) << "\n";
    o << "\trequest_write_timeout = " << secs(p.request_write_timeout) << "\n";
    o << "\trlimit_files = " << opt(p.rlimit_files, "0") << "\n";
    o << "\trlimit_core = " << opt(p.rlimit_core, "0") << "\n";
    o << "\tchroot = " << undefined(p.chroot) << "\n";
    o << "\tchdir = " << undefined(p.chdir) << "\n";
    o << "\tcatch_workers_output = " << yes_no(p.catch_workers_output) << "\n";
    o << "\tdecorate_workers_output = " << yes_no(p.decorate_workers_output) << "\n";
    o << "\tclear_env = " << yes_no(p.clear_env) << "\n";
    o << "\tsecurity.limit_extensions = " << join(p.security_limit_extensions, " ") << "\n";
    o << "\tapparmor_hat = " << undefined(p.apparmor_hat) << "\n";
    o << "\tsandbox.seccomp = " << p.sandbox_seccomp << "\n";
    for (const auto& [k, v] : p.env) o << "\tenv[" << k << "] = " << v << "\n";
    for (const auto& ini : p.php_ini) {
      if (ini.shadowed_in(p.php_ini)) continue;  // as the workers apply them
      o << "\t" << (ini.admin ? "php_admin_value[" : "php_value[") << ini.name
        << "] = " << ini.value << "\n";
    }
  }
  return o.str();
}

}  // namespace php_pool::config
