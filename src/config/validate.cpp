// php-fpm's post-processing of a parsed configuration: relative paths, computed defaults and
// the consistency rules fpm_conf.c applies before a pool may start. Unlike php-fpm, every
// problem is collected instead of stopping at the first.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

#include "config/internal.hpp"

namespace php_pool::config::detail {

std::string resolve_path(const std::string& path, const std::string& prefix) {
  if (path.empty()) return path;
  std::string rest = path;
  if (rest.rfind("$prefix", 0) == 0) {
    rest.erase(0, 7);
    while (!rest.empty() && rest[0] == '/') rest.erase(0, 1);
    if (rest.empty()) return prefix;
  } else if (rest[0] == '/') {
    return rest;
  }
  if (prefix.empty()) return rest;
  return prefix.back() == '/' ? prefix + rest : prefix + "/" + rest;
}

namespace {

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// php.ini settings whose relative values php-fpm joins to the pool prefix (fpm_php.h).
const char* const kIniPaths[] = {"error_log",
                                 "extension_dir",
                                 "sendmail_path",
                                 "session.cookie_path",
                                 "session_pgsql.sem_file_name",
                                 "soap.wsdl_cache_dir",
                                 "uploadprogress.file.filename_template",
                                 "xdebug.output_dir",
                                 "xdebug.profiler_output_dir",
                                 "xdebug.trace_output_dir",
                                 "xmms.path",
                                 "axis2.client_home",
                                 "blenc.key_file",
                                 "coin_acceptor.device"};

bool is_path_setting(const std::string& name) {
  for (const char* p : kIniPaths) {
    if (strcasecmp(p, name.c_str()) == 0) return true;
  }
  return false;
}

// "" when ADDRESS is a listen address php-fpm accepts, else why not. Unix paths are not
// checked here (they are resolved against the prefix).
std::string check_inet_address(const std::string& address) {
  size_t colon = address.rfind(':');
  std::string port = colon == std::string::npos ? address : address.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return std::isdigit(c); })) {
    return "invalid port '" + port + "'";
  }
  int n = std::stoi(port);
  if (n < 1 || n > 65535) return "port " + port + " is out of range (1-65535)";
  if (colon != std::string::npos && colon > 0 && address[0] == '[' && address[colon - 1] != ']') {
    return "missing ']' after the IPv6 address";
  }
  return "";
}

bool is_unix_address(const std::string& address) {
  if (address.find(':') != std::string::npos) return false;
  return !std::all_of(address.begin(), address.end(), [](char c) { return std::isdigit(c); });
}

// php-fpm's access.format tokens: %[{arg}]X.
std::string check_access_format(const std::string& format) {
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    if (++i >= format.size()) return "the format ends with a lone '%'";
    std::string arg;
    bool has_arg = false;
    if (format[i] == '{') {
      size_t close = format.find('}', i);
      if (close == std::string::npos) return "missing closing embrace after '%{'";
      arg = format.substr(i + 1, close - i - 1);
      has_arg = true;
      i = close + 1;
      if (i >= format.size()) return "'%{" + arg + "}' is not followed by a format character";
    }
    char c = format[i];
    auto one_of = [&](std::initializer_list<const char*> allowed) {
      if (!has_arg) return true;
      for (const char* a : allowed) {
        if (arg == a) return true;
      }
      return false;
    };
    switch (c) {
      case '%':
        break;
      case 'C':
        if (!one_of({"user", "system", "total"})) {
          return "only 'total', 'user' or 'system' are allowed as a modifier for %C ('" + arg +
                 "')";
        }
        break;
      case 'd':
        if (!one_of({"seconds", "milliseconds", "milli", "miliseconds", "mili", "microseconds",
                     "micro"})) {
          return "only 'seconds', 'milli', 'miliseconds', 'micro' or 'microseconds' are allowed "
                 "as a modifier for %d ('" +
                 arg + "')";
        }
        break;
      case 'M':
        if (!one_of({"bytes", "kilobytes", "kilo", "megabytes", "mega"})) {
          return "only 'bytes', 'kilo', 'kilobytes', 'mega' or 'megabytes' are allowed as a "
                 "modifier for %M ('" +
                 arg + "')";
        }
        break;
      case 'e':
      case 'o':
        if (arg.empty()) {
          return std::string("the name of the ") + (c == 'e' ? "environment variable" : "header") +
                 " must be set between embraces for %" + c;
        }
        break;
      case 'f':
      case 'l':
      case 'm':
      case 'n':
      case 'p':
      case 'P':
      case 'q':
      case 'Q':
      case 'r':
      case 'R':
      case 's':
      case 't':
      case 'T':
      case 'u':
        break;
      default:
        return std::string("unknown format '%") + c + "'";
    }
  }
  return "";
}

bool valid_url_path(const std::string& path) {
  return std::all_of(path.begin(), path.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/-_.~", c) != nullptr;
  });
}

class PoolValidator {
 public:
  PoolValidator(const Config& config, PoolConfig& pool, std::vector<Diagnostic>& errors,
                std::vector<Diagnostic>& warnings)
      : config_(config), pool_(pool), errors_(errors), warnings_(warnings) {}

  void run() {
    prefix();
    listen();
    process_manager();
    status_and_ping();
    logs();
    chroot_and_chdir();
    ini_paths();
    dumpable();
  }

 private:
  Source at(const char* directive) const {
    const Source* s = pool_.where(directive);
    return s ? *s : pool_.source;
  }
  void error(const Source& where, const std::string& message) {
    errors_.push_back({where, "[pool " + pool_.name + "] " + message});
  }
  // DIRECTIVE's value was refused by the parser (an error already names its line): rules
  // depending on it would only repeat that error.
  bool refused(const char* directive) const {
    const Source* s = pool_.where(directive);
    return s && std::any_of(errors_.begin(), errors_.end(), [&](const Diagnostic& d) {
             return d.where.file == s->file && d.where.line == s->line;
           });
  }
  void warning(const Source& where, const std::string& message) {
    warnings_.push_back({where, "[pool " + pool_.name + "] " + message});
  }
  const std::string& base() const { return pool_.prefix.empty() ? config_.prefix : pool_.prefix; }

  void prefix() {
    if (pool_.prefix.empty()) return;
    pool_.prefix = resolve_path(pool_.prefix, config_.prefix);
    if (!is_dir(pool_.prefix)) {
      error(at("prefix"), "the prefix '" + pool_.prefix + "' does not exist or is not a directory");
    }
  }

  void listen_address(std::string& address, const char* directive) {
    if (is_unix_address(address)) {
      address = resolve_path(address, base());
      return;
    }
    std::string why = check_inet_address(address);
    if (!why.empty())
      error(at(directive), "invalid " + std::string(directive) + " '" + address + "': " + why);
  }

  void listen() {
    if (pool_.listen.empty()) {
      error(at("listen"), "no listen address have been defined!");
    } else {
      listen_address(pool_.listen, "listen");
    }
    if (!pool_.pm_status_listen.empty()) listen_address(pool_.pm_status_listen, "pm.status_listen");
  }

  void process_manager() {
    PoolConfig& c = pool_;
    // php-fpm has no default process manager and no default pm.max_children: a pool must
    // choose them (the struct's defaults only serve programs that build a PoolConfig).
    if (!c.where("pm")) {
      error(pool_.source, "the process manager is missing (static, dynamic or ondemand)");
    }
    if (!c.where("pm.max_children")) {
      error(pool_.source, "pm.max_children is not set (it must be a positive value)");
    } else if (c.pm_max_children < 1 && !refused("pm.max_children")) {
      error(at("pm.max_children"), "pm.max_children must be a positive value");
    }
    if (refused("pm")) return;
    if (c.pm == PmStyle::Dynamic) {
      bool spare_ok = true;
      if (c.pm_min_spare_servers <= 0) {
        error(at("pm.min_spare_servers"), "pm.min_spare_servers(" +
                                              std::to_string(c.pm_min_spare_servers) +
                                              ") must be a positive value");
        spare_ok = false;
      }
      if (c.pm_max_spare_servers <= 0) {
        error(at("pm.max_spare_servers"), "pm.max_spare_servers(" +
                                              std::to_string(c.pm_max_spare_servers) +
                                              ") must be a positive value");
        spare_ok = false;
      }
      if (c.pm_max_children >= 1 && (c.pm_min_spare_servers > c.pm_max_children ||
                                     c.pm_max_spare_servers > c.pm_max_children)) {
        const char* d = c.pm_max_spare_servers > c.pm_max_children ? "pm.max_spare_servers"
                                                                   : "pm.min_spare_servers";
        error(at(d), "pm.min_spare_servers(" + std::to_string(c.pm_min_spare_servers) +
                         ") and pm.max_spare_servers(" + std::to_string(c.pm_max_spare_servers) +
                         ") cannot be greater than pm.max_children(" +
                         std::to_string(c.pm_max_children) + ")");
        spare_ok = false;
      }
      if (c.pm_max_spare_servers < c.pm_min_spare_servers) {
        error(at("pm.max_spare_servers"), "pm.max_spare_servers(" +
                                              std::to_string(c.pm_max_spare_servers) +
                                              ") must not be less than pm.min_spare_servers(" +
                                              std::to_string(c.pm_min_spare_servers) + ")");
        spare_ok = false;
      }
      if (c.pm_start_servers <= 0) {
        if (spare_ok) {
          c.pm_start_servers =
              c.pm_min_spare_servers + (c.pm_max_spare_servers - c.pm_min_spare_servers) / 2;
        }
      } else if (c.pm_start_servers < c.pm_min_spare_servers ||
                 c.pm_start_servers > c.pm_max_spare_servers) {
        error(at("pm.start_servers"), "pm.start_servers(" + std::to_string(c.pm_start_servers) +
                                          ") must not be less than pm.min_spare_servers(" +
                                          std::to_string(c.pm_min_spare_servers) +
                                          ") and not greater than pm.max_spare_servers(" +
                                          std::to_string(c.pm_max_spare_servers) + ")");
      }
      if (c.pm_max_spawn_rate < 1) {
        error(at("pm.max_spawn_rate"), "pm.max_spawn_rate must be a positive value");
      }
    } else if (c.pm == PmStyle::Ondemand) {
      if (c.pm_process_idle_timeout.count() < 1) {
        error(at("pm.process_idle_timeout"), "pm.process_idle_timeout(" +
                                                 std::to_string(c.pm_process_idle_timeout.count()) +
                                                 "s) must be greater than 0s");
      }
      if (c.listen_backlog >= 0 && c.listen_backlog < 511) {
        warning(at("listen.backlog"), "listen.backlog(" + std::to_string(c.listen_backlog) +
                                          ") is too low for the ondemand process manager "
                                          "(511 or more is recommended)");
      }
      c.pm_start_servers = 0;
      c.pm_min_spare_servers = 0;
      c.pm_max_spare_servers = 0;
    }
  }

  void status_and_ping() {
    PoolConfig& c = pool_;
    if (!c.pm_status_path.empty()) {
      const std::string& s = c.pm_status_path;
      if (s[0] != '/') {
        error(at("pm.status_path"), "the status path '" + s + "' must start with a '/'");
      } else if (c.pm_status_listen.empty() && s.size() < 2) {
        error(at("pm.status_path"), "the status path '" + s + "' is not long enough");
      } else if (!valid_url_path(s)) {
        error(at("pm.status_path"), "the status path '" + s +
                                        "' must contain only the following characters "
                                        "'[alphanum]/_-.~'");
      }
    }
    if (!c.ping_path.empty()) {
      const std::string& p = c.ping_path;
      if (p[0] != '/') {
        error(at("ping.path"), "the ping path '" + p + "' must start with a '/'");
      } else if (p.size() < 2) {
        error(at("ping.path"), "the ping path '" + p + "' is not long enough");
      } else if (!valid_url_path(p)) {
        error(at("ping.path"), "the ping path '" + p +
                                   "' must contain only the following characters "
                                   "'[alphanum]/_-.~'");
      }
      if (c.ping_response.empty()) {
        error(at("ping.response"), "the ping response page '' is not long enough");
      }
    }
  }

  void logs() {
    PoolConfig& c = pool_;
    if (!c.access_log.empty()) {
      c.access_log = resolve_path(c.access_log, base());
      std::string why = check_access_format(c.access_format);
      if (!why.empty()) {
        error(at("access.format"),
              "wrong format for access.format '" + c.access_format + "': " + why);
      }
    }
    if (!c.slowlog.empty()) c.slowlog = resolve_path(c.slowlog, base());
    if (c.request_slowlog_timeout.count() > 0) {
      if (c.slowlog.empty()) {
        error(at("request_slowlog_timeout"),
              "'slowlog' must be specified for use with 'request_slowlog_timeout'");
      }
      if (c.request_terminate_timeout.count() > 0 &&
          c.request_slowlog_timeout > c.request_terminate_timeout) {
        error(at("request_slowlog_timeout"),
              "'request_slowlog_timeout' (" + std::to_string(c.request_slowlog_timeout.count()) +
                  ") can't be greater than 'request_terminate_timeout' (" +
                  std::to_string(c.request_terminate_timeout.count()) + ")");
      }
    }
    if (c.where("request_slowlog_trace_depth") && c.request_slowlog_trace_depth != 0) {
      if (c.slowlog.empty()) {
        error(at("request_slowlog_trace_depth"),
              "'slowlog' must be specified for use with 'request_slowlog_trace_depth'");
      }
      if (c.request_slowlog_trace_depth <= 0) {
        error(at("request_slowlog_trace_depth"), "'request_slowlog_trace_depth' (" +
                                                     std::to_string(c.request_slowlog_trace_depth) +
                                                     ") must be a positive value");
      }
    } else {
      c.request_slowlog_trace_depth = 20;
    }
  }

  void chroot_and_chdir() {
    PoolConfig& c = pool_;
    if (!c.chroot.empty()) {
      if (size_t p = c.chroot.find("$prefix"); p != std::string::npos && p != 0) {
        error(at("chroot"), "'$prefix' must be used at the beginning of the value");
      } else {
        c.chroot = resolve_path(c.chroot, base());
        if (c.chroot[0] != '/') {
          error(at("chroot"), "the chroot path '" + c.chroot + "' must start with a '/'");
        } else if (!is_dir(c.chroot)) {
          error(at("chroot"),
                "the chroot path '" + c.chroot + "' does not exist or is not a directory");
        }
      }
    }
    if (!c.chdir.empty()) {
      c.chdir = resolve_path(c.chdir, base());
      if (c.chdir[0] != '/') {
        error(at("chdir"), "the chdir path '" + c.chdir + "' must start with a '/'");
      } else if (!c.chroot.empty()) {
        std::string inside = c.chroot + "/" + c.chdir;
        if (!is_dir(inside)) {
          error(at("chdir"), "the chdir path '" + c.chdir + "' within the chroot path '" +
                                 c.chroot + "' ('" + inside +
                                 "') does not exist or is not a directory");
        }
      } else if (!is_dir(c.chdir)) {
        error(at("chdir"), "the chdir path '" + c.chdir + "' does not exist or is not a directory");
      }
    }
  }

  // A dumpable worker's /proc/PID/mem is open to its siblings (same user): no syscall the
  // seccomp filter could deny stands between a script and another site's memory.
  void dumpable() {
    if (!pool_.process_dumpable || pool_.sandbox_seccomp == "off") return;
    warning(at("process.dumpable"),
            "process.dumpable = yes lets a script read and write the memory of the pool's other "
            "workers through /proc/PID/mem, which sandbox.seccomp does not stop");
  }

  void ini_paths() {
    if (!pool_.chroot.empty()) return;
    for (PhpIni& ini : pool_.php_ini) {
      if (!is_path_setting(ini.name)) continue;
      if (ini.admin && strcasecmp(ini.name.c_str(), "error_log") == 0 &&
          strcasecmp(ini.value.c_str(), "syslog") == 0) {
        continue;
      }
      ini.value = resolve_path(ini.value, base());
    }
  }

  const Config& config_;
  PoolConfig& pool_;
  std::vector<Diagnostic>& errors_;
  std::vector<Diagnostic>& warnings_;
};

}  // namespace

void validate(Config& config, std::vector<Diagnostic>& errors, std::vector<Diagnostic>& warnings) {
  GlobalConfig& g = config.global;
  auto at = [&](const char* directive) {
    const Source* s = g.where(directive);
    return s ? *s : Source{config.file, 0};
  };
  if (g.log_limit < 512) {
    errors.push_back({at("log_limit"),
                      "log_limit(" + std::to_string(g.log_limit) + ") must be greater than 512"});
  }
  if (g.process_max < 0) errors.push_back({at("process.max"), "process.max can't be negative"});
  if (g.emergency_restart_threshold < 0) {
    errors.push_back(
        {at("emergency_restart_threshold"), "emergency_restart_threshold can't be negative"});
  }
  if (!g.pid.empty()) g.pid = resolve_path(g.pid, config.prefix);
  if (!g.error_log.empty() && strcasecmp(g.error_log.c_str(), "syslog") != 0) {
    g.error_log = resolve_path(g.error_log, config.prefix);
  }

  if (config.pools.empty()) {
    errors.push_back({{config.file, 0},
                      "no pool defined: at least one pool section must be specified in config "
                      "file"});
    return;
  }
  for (PoolConfig& pool : config.pools) PoolValidator(config, pool, errors, warnings).run();

  // two pools cannot share one listening address
  for (size_t i = 0; i < config.pools.size(); ++i) {
    for (size_t j = i + 1; j < config.pools.size(); ++j) {
      const PoolConfig& a = config.pools[i];
      const PoolConfig& b = config.pools[j];
      if (!a.listen.empty() && a.listen == b.listen) {
        const Source* s = b.where("listen");
        errors.push_back({s ? *s : b.source, "[pool " + b.name +
                                                 "] unable to set listen address as it's "
                                                 "already used in another pool '" +
                                                 a.name + "'"});
      }
    }
  }
}

}  // namespace php_pool::config::detail
