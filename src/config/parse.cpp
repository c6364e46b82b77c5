// The directive table: every php-fpm 8.2 global and pool directive plus php-pool's own, their
// value types and php-fpm's per-directive checks; sections, arrays and include=.
#include <arpa/inet.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <initializer_list>

#include "config/internal.hpp"

namespace php_pool::config::detail {
namespace {

template <class C>
using Setter = std::function<std::string(C&, const std::string&)>;

template <class C>
struct Directive {
  const char* name;
  Setter<C> set;
  bool is_string = false;         // php-fpm expands $pool in string values
  const char* ignored = nullptr;  // why php-pool accepts but does not honour it
};

template <class C>
Setter<C> string_field(std::string C::*field) {
  return [field](C& c, const std::string& v) {
    c.*field = v;
    return std::string();
  };
}

std::string not_a_number(const std::string& v) {
  return "'" + v + "' is not a valid number (greater or equal than zero)";
}

template <class C>
Setter<C> int_field(int C::*field) {
  return [field](C& c, const std::string& v) {
    auto n = parse_integer(v);
    if (!n) return not_a_number(v);
    c.*field = *n;
    return std::string();
  };
}

template <class C>
Setter<C> time_field(std::chrono::seconds C::*field) {
  return [field](C& c, const std::string& v) {
    auto t = parse_time(v);
    if (!t) {
      if (v.empty()) return std::string("invalid time value ''");
      return "invalid time value '" + v + "' (a number with an optional suffix s, m, h or d)";
    }
    c.*field = *t;
    return std::string();
  };
}

template <class C>
Setter<C> bool_field(bool C::*field) {
  return [field](C& c, const std::string& v) {
    auto b = parse_boolean(v);
    if (!b) return "invalid boolean value '" + v + "' (yes/no, on/off, true/false, 1/0)";
    c.*field = *b;
    return std::string();
  };
}

std::string set_priority(std::optional<int>& field, const std::string& v) {
  auto n = parse_integer(v);
  if (!n) return not_a_number(v);
  if (*n < -19 || *n > 20) return "process.priority must be included into [-19,20]";
  field = *n;
  return "";
}

std::string set_rlimit_core(std::optional<int>& field, const std::string& v) {
  if (to_lower(v) == "unlimited") {
    field = -1;
    return "";
  }
  auto n = parse_integer(v);
  if (!n) return not_a_number(v);
  if (*n < 0) return "must be greater than zero or 'unlimited'";
  field = *n == 0 ? std::nullopt : std::optional<int>(*n);  // php-fpm: 0 = not set
  return "";
}

std::string set_rlimit_files(std::optional<int>& field, const std::string& v) {
  auto n = parse_integer(v);
  if (!n) return not_a_number(v);
  if (*n < 0) return "must be greater or equal than zero";
  field = *n == 0 ? std::nullopt : std::optional<int>(*n);
  return "";
}

std::vector<std::string> split(const std::string& v, const char* separators) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= v.size()) {
    size_t j = v.find_first_of(separators, i);
    if (j == std::string::npos) j = v.size();
    std::string item = trim(std::string_view(v).substr(i, j - i));
    if (!item.empty()) out.push_back(item);
    i = j + 1;
  }
  return out;
}

const std::vector<Directive<GlobalConfig>>& global_directives() {
  using G = GlobalConfig;
  static const std::vector<Directive<G>> table = {
      {"pid", string_field(&G::pid), true, "systemd tracks the manager; no pid file is written"},
      {"error_log", string_field(&G::error_log), true},
      {"syslog.ident", string_field(&G::syslog_ident), true},
      {"syslog.facility",
       [](G& g, const std::string& v) {
         static const char* facilities[] = {"auth",   "authpriv", "cron",   "daemon", "ftp",
                                            "kern",   "lpr",      "mail",   "news",   "syslog",
                                            "user",   "uucp",     "local0", "local1", "local2",
                                            "local3", "local4",   "local5", "local6", "local7"};
         std::string l = to_lower(v);
         for (const char* f : facilities) {
           if (l == f) {
             g.syslog_facility = l;
             return std::string();
           }
         }
         return "invalid syslog facility '" + v + "'";
       },
       true},
      {"log_buffering", bool_field(&G::log_buffering), false,
       "php-pool passes each log line on as it comes"},
      {"log_level",
       [](G& g, const std::string& v) {
         std::string l = to_lower(v);
         if (l == "warn") l = "warning";
         if (l != "debug" && l != "notice" && l != "warning" && l != "error" && l != "alert") {
           return "invalid value '" + v +
                  "' for 'log_level' (alert, error, warning, notice, debug)";
         }
         g.log_level = l;
         return std::string();
       }},
      {"log_limit", int_field(&G::log_limit)},
      {"emergency_restart_threshold", int_field(&G::emergency_restart_threshold)},
      {"emergency_restart_interval", time_field(&G::emergency_restart_interval)},
      {"process_control_timeout", time_field(&G::process_control_timeout)},
      {"process.max", int_field(&G::process_max)},
      {"process.priority",
       [](G& g, const std::string& v) { return set_priority(g.process_priority, v); }},
      {"daemonize", bool_field(&G::daemonize), false,
       "php-pool always runs in the foreground, supervised by systemd"},
      {"rlimit_files", int_field(&G::rlimit_files)},
      {"rlimit_core",
       [](G& g, const std::string& v) {
         std::optional<int> r;
         std::string e = set_rlimit_core(r, v);
         if (e.empty()) g.rlimit_core = r.value_or(0);
         return e;
       }},
      {"events.mechanism", string_field(&G::events_mechanism), true,
       "php-pool's event loop is sd-event (epoll)"},
      {"systemd_interval", time_field(&G::systemd_interval)},
  };
  return table;
}

const std::vector<Directive<PoolConfig>>& pool_directives() {
  using P = PoolConfig;
  static const std::vector<Directive<P>> table = {
      {"prefix", string_field(&P::prefix), true},
      {"user", string_field(&P::user), true},
      {"group", string_field(&P::group), true},
      {"listen", string_field(&P::listen), true},
      {"listen.backlog", int_field(&P::listen_backlog)},
      {"listen.acl_users", string_field(&P::listen_acl_users), true,
       "php-pool sets no ACL on the socket: use listen.owner/listen.group/listen.mode, or "
       "SocketUser=/SocketGroup=/SocketMode= in the socket unit"},
      {"listen.acl_groups", string_field(&P::listen_acl_groups), true,
       "php-pool sets no ACL on the socket: use listen.owner/listen.group/listen.mode, or "
       "SocketUser=/SocketGroup=/SocketMode= in the socket unit"},
      {"listen.owner", string_field(&P::listen_owner), true},
      {"listen.group", string_field(&P::listen_group), true},
      {"listen.mode",
       [](P& p, const std::string& v) {
         bool ok = !v.empty() && v.size() <= 4 &&
                   std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '7'; });
         if (!ok) return "invalid mode '" + v + "': expected an octal mode such as 0660";
         p.listen_mode = v;
         return std::string();
       },
       true},
      {"listen.allowed_clients",
       [](P& p, const std::string& v) {
         std::vector<std::string> list = split(v, ",");
         for (const auto& a : list) {
           unsigned char buf[sizeof(struct in6_addr)];
           if (inet_pton(AF_INET, a.c_str(), buf) != 1 &&
               inet_pton(AF_INET6, a.c_str(), buf) != 1) {
             return "'" + a + "' is not an IPv4 or IPv6 address";
           }
         }
         p.listen_allowed_clients = list;
         return std::string();
       },
       true},
      {"listen.setfib",
       [](P&, const std::string& v) { return parse_integer(v) ? std::string() : not_a_number(v); },
       false, "it sets a FreeBSD routing table (FIB); php-pool runs on Linux"},
      {"process.priority",
       [](P& p, const std::string& v) { return set_priority(p.process_priority, v); }},
      {"process.sched_policy",
       [](P& p, const std::string& v) {
         std::string l = to_lower(v);
         for (auto policy :
              {SchedPolicy::Inherit, SchedPolicy::Other, SchedPolicy::Batch, SchedPolicy::Idle}) {
           if (l == to_string(policy)) {
             p.process_sched_policy = policy;
             return std::string();
           }
         }
         return "invalid scheduling policy '" + v + "' (batch, other, idle or inherit)";
       }},
      {"process.dumpable", bool_field(&P::process_dumpable)},
      {"pm",
       [](P& p, const std::string& v) {
         std::string l = to_lower(v);
         if (l == "static")
           p.pm = PmStyle::Static;
         else if (l == "dynamic")
           p.pm = PmStyle::Dynamic;
         else if (l == "ondemand")
           p.pm = PmStyle::Ondemand;
         else
           return "invalid process manager '" + v + "' (static, dynamic or ondemand)";
         return std::string();
       }},
      {"pm.max_children", int_field(&P::pm_max_children)},
      {"pm.start_servers", int_field(&P::pm_start_servers)},
      {"pm.min_spare_servers", int_field(&P::pm_min_spare_servers)},
      {"pm.max_spare_servers", int_field(&P::pm_max_spare_servers)},
      {"pm.max_spawn_rate", int_field(&P::pm_max_spawn_rate)},
      {"pm.process_idle_timeout", time_field(&P::pm_process_idle_timeout)},
      {"pm.max_requests", int_field(&P::pm_max_requests)},
      {"pm.status_path", string_field(&P::pm_status_path), true},
      {"pm.status_listen", string_field(&P::pm_status_listen), true},
      {"ping.path", string_field(&P::ping_path), true},
      {"ping.response", string_field(&P::ping_response), true},
      {"access.log", string_field(&P::access_log), true},
      {"access.format", string_field(&P::access_format), true},
      {"slowlog", string_field(&P::slowlog), true},
      {"request_slowlog_timeout", time_field(&P::request_slowlog_timeout)},
      {"request_slowlog_trace_depth", int_field(&P::request_slowlog_trace_depth)},
      {"request_terminate_timeout", time_field(&P::request_terminate_timeout)},
      {"request_read_timeout", time_field(&P::request_read_timeout)},
      {"request_write_timeout", time_field(&P::request_write_timeout)},
      {"request_terminate_timeout_track_finished",
       bool_field(&P::request_terminate_timeout_track_finished)},
      {"rlimit_files",
       [](P& p, const std::string& v) { return set_rlimit_files(p.rlimit_files, v); }},
      {"rlimit_core", [](P& p, const std::string& v) { return set_rlimit_core(p.rlimit_core, v); }},
      {"chroot", string_field(&P::chroot), true},
      {"chdir", string_field(&P::chdir), true},
      {"catch_workers_output", bool_field(&P::catch_workers_output)},
      {"decorate_workers_output", bool_field(&P::decorate_workers_output)},
      {"clear_env", bool_field(&P::clear_env)},
      {"security.limit_extensions",
       [](P& p, const std::string& v) {
         p.security_limit_extensions = split(v, " \t");
         return std::string();
       },
       true},
      {"apparmor_hat", string_field(&P::apparmor_hat), true,
       "php-pool does not change AppArmor hats; confine the service with AppArmorProfile= in the "
       "unit"},
      {"sandbox.seccomp",
       [](P& p, const std::string& v) {
         // unquoted off/no/false/none reach us as "" (php's INI keywords)
         if (v == "default" || v == "strict" || v == "off" || v.empty()) {
           p.sandbox_seccomp = v.empty() ? "off" : v;
           return std::string();
         }
         if (v.empty() || v[0] != '/') {
           return "invalid value '" + v +
                  "': expected default, strict, off or the absolute path of a policy file";
         }
         struct stat st;
         if (::stat(v.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
           return "the seccomp policy file '" + v + "' does not exist or is not a regular file";
         }
         p.sandbox_seccomp = v;
         return std::string();
       },
       true},
  };
  return table;
}

const std::vector<std::string> kArrays = {
    "env", "php_value", "php_flag", "php_admin_value", "php_admin_flag", "access.suppress_path"};

template <class C>
const Directive<C>* find(const std::vector<Directive<C>>& table, const std::string& name) {
  std::string l = to_lower(name);
  for (const auto& d : table) {
    if (l == d.name) return &d;
  }
  return nullptr;
}

class Loader {
 public:
  Loader(Config& config, bool explicit_prefix, std::vector<Diagnostic>& errors,
         std::vector<Diagnostic>& warnings)
      : config_(config), explicit_prefix_(explicit_prefix), errors_(errors), warnings_(warnings) {}

  void load(const std::string& path, int depth, const Source* included_from) {
    config_.files.push_back(path);
    IniEvents events;
    events.section = [&](const std::string& name, int line) { section(path, name, line); };
    events.entry = [&](const std::string& name, const std::string& raw, int line) {
      entry(path, depth, name, raw, line);
    };
    events.error = [&](int line, const std::string& message) { error({path, line}, message); };
    std::string open_error;
    if (!read_ini_file(path, events, open_error)) {
      config_.files.pop_back();
      if (included_from) {
        error(*included_from, "unable to include " + path + ": " + open_error);
      } else {
        error({path, 0}, "failed to open configuration file: " + open_error);
      }
    }
  }

 private:
  void error(const Source& where, const std::string& message) {
    errors_.push_back({where, message});
  }
  void warning(const Source& where, const std::string& message) {
    warnings_.push_back({where, message});
  }

  void section(const std::string& file, const std::string& raw, int line) {
    // php-fpm's ini scanner expands ${VAR} and quotes in section names too: [${POOL}].
    std::string message;
    std::optional<std::string> expanded = expand_section_name(raw, message);
    if (!expanded || trim(*expanded).empty()) {
      // Reported; the lines below still go to a pool of that raw name, so that they raise no
      // errors of their own.
      error({file, line},
            "[" + raw + "]: " + (expanded ? "the section name is empty once expanded" : message));
      expanded = raw;
    }
    const std::string name = trim(*expanded);
    if (to_lower(name) == "global") {
      current_ = -1;
      return;
    }
    for (size_t i = 0; i < config_.pools.size(); ++i) {
      if (to_lower(config_.pools[i].name) == to_lower(name)) {  // php-fpm: same pool again
        current_ = static_cast<int>(i);
        return;
      }
    }
    PoolConfig pool;
    pool.name = name;
    pool.source = {file, line};
    config_.pools.push_back(std::move(pool));
    current_ = static_cast<int>(config_.pools.size()) - 1;
  }

  // php-fpm's $pool: replaced by the section name; an error outside a pool.
  bool expand_pool(std::string& value, const Source& where, const std::string& directive) {
    if (value.find("$pool") == std::string::npos) return true;
    if (current_ < 0) {
      error(where, "'" + directive + "': can't use '$pool' when the pool is not defined");
      return false;
    }
    const std::string& name = config_.pools[current_].name;
    for (size_t pos = 0; (pos = value.find("$pool", pos)) != std::string::npos;) {
      value.replace(pos, 5, name);
      pos += name.size();
    }
    return true;
  }

  void entry(const std::string& file, int depth, const std::string& name, const std::string& raw,
             int line) {
    Source where{file, line};
    std::string perr;
    auto parsed = parse_ini_value(raw, perr);
    if (!parsed) {
      error(where, "'" + name + "': " + perr);
      return;
    }
    std::string value = *parsed;
    if (name == "include") {
      include(where, depth, value);
      return;
    }
    if (size_t open = name.find('['); open != std::string::npos) {
      array(where, name, open, value);
      return;
    }
    if (current_ < 0) {
      scalar(where, global_directives(), config_.global, name, value, "[global]");
    } else {
      scalar(where, pool_directives(), config_.pools[current_], name, value, "pool");
    }
  }

  template <class C>
  void scalar(const Source& where, const std::vector<Directive<C>>& table, C& target,
              const std::string& name, std::string value, const char* scope) {
    const Directive<C>* d = find(table, name);
    if (!d) {
      unknown(where, name, std::string(scope) == "pool" ? Scope::Pool : Scope::Global);
      return;
    }
    if (d->is_string && !expand_pool(value, where, d->name)) return;
    // recorded even when the value is refused, so that validation does not also call it unset
    target.directive_sources[d->name] = where;
    std::string e = d->set(target, value);
    if (!e.empty()) {
      error(where, "invalid value for '" + std::string(d->name) + "': " + e);
      return;
    }
    if (d->ignored) warning(where, "'" + std::string(d->name) + "' is ignored: " + d->ignored);
  }

  void unknown(const Source& where, const std::string& name, Scope scope) {
    if (scope == Scope::Global && find(pool_directives(), name)) {
      error(where, "'" + name +
                       "' is a pool directive; it cannot be used in the [global] section "
                       "(add a [pool] section before it)");
      return;
    }
    if (scope == Scope::Pool && find(global_directives(), name)) {
      error(where, "'" + name + "' is a global directive; move it to the [global] section");
      return;
    }
    static const std::vector<std::string> candidates = [] {
      std::vector<std::string> names;
      for (const auto& d : pool_directives()) names.push_back(d.name);
      for (const auto& d : global_directives()) names.push_back(d.name);
      names.push_back("include");
      return names;
    }();
    std::string message = "unknown directive '" + name + "'";
    std::string near = nearest(name, candidates);
    if (!near.empty()) message += " (did you mean '" + near + "'?)";
    error(where, message);
  }

  void array(const Source& where, const std::string& name, size_t open, std::string value) {
    std::string base = trim(std::string_view(name).substr(0, open));
    size_t close = name.rfind(']');
    if (close == std::string::npos || close < open || !trim(name.substr(close + 1)).empty()) {
      error(where, "malformed array directive '" + name + "' (expected NAME[KEY])");
      return;
    }
    std::string key = trim(std::string_view(name).substr(open + 1, close - open - 1));
    if (key.size() >= 2 && (key[0] == '"' || key[0] == '\'') && key.back() == key[0]) {
      key = key.substr(1, key.size() - 2);
    }
    if (std::find(kArrays.begin(), kArrays.end(), base) == kArrays.end()) {
      std::string message = "unknown directive '" + name + "'";
      std::string near = nearest(base, kArrays);
      if (!near.empty()) message += " (did you mean '" + near + "[" + key + "]'?)";
      error(where, message);
      return;
    }
    const std::string canonical = base + "[" + key + "]";
    if (base == "access.suppress_path") {
      bool ok = true;
      if (!key.empty()) {
        error(where,
              "keys provided to field 'access.suppress_path' are ignored: write "
              "'access.suppress_path[] = " +
                  value + "'");
        ok = false;
      }
      if (value.empty() || value[0] != '/') {
        error(where, "values provided to field 'access.suppress_path' must begin with '/'");
        ok = false;
      }
      if (!ok) return;
    } else if (key.empty()) {
      error(where, "you must provide a key for field '" + base + "' (" + base + "[KEY] = value)");
      return;
    }
    if (current_ < 0) {
      error(where, "'" + canonical + "': arrays are not allowed in the [global] section");
      return;
    }
    PoolConfig& pool = config_.pools[current_];
    if (base == "php_flag" || base == "php_admin_flag") {
      auto b = parse_boolean(value);
      if (!b) {
        error(where,
              "error while parsing '" + canonical + "': invalid boolean value '" + value + "'");
        return;
      }
      value = *b ? "1" : "0";
    } else if (!expand_pool(value, where, canonical)) {
      return;
    }
    if (base == "env") {
      if (value.empty()) {
        error(where, "'" + canonical + "': empty value");
        return;
      }
      if (!pool.env.emplace(key, value).second) {
        shadowed(where, pool, canonical, {canonical});
        return;
      }
    } else if (base == "access.suppress_path") {
      pool.access_suppress_path.push_back(value);
    } else {
      bool admin = base.rfind("php_admin_", 0) == 0;
      pool.php_ini.push_back({key, value, admin});
      if (pool.php_ini.back().shadowed_in(pool.php_ini)) {
        std::string value_kind = admin ? "php_admin_value[" : "php_value[";
        std::string flag_kind = admin ? "php_admin_flag[" : "php_flag[";
        shadowed(where, pool, canonical, {value_kind + key + "]", flag_kind + key + "]"});
        return;
      }
    }
    pool.directive_sources.emplace(canonical, where);
  }

  // php-fpm keeps the first of two lines for one env[] or php_*_value[] key (it prepends each
  // to a list it applies from the head): say so, naming the line that wins.
  void shadowed(const Source& where, PoolConfig& pool, const std::string& canonical,
                std::initializer_list<std::string> first_names) {
    for (const std::string& name : first_names) {
      auto first = pool.directive_sources.find(name);
      if (first == pool.directive_sources.end()) continue;
      warning(where, "'" + canonical + "' is set again and ignored: the first value, at " +
                         first->second.file + ":" + std::to_string(first->second.line) +
                         ", stays (as in php-fpm)");
      return;
    }
  }

  void include(const Source& where, int depth, const std::string& pattern_in) {
    if (pattern_in.empty()) {
      error(where, "'include': empty pattern");
      return;
    }
    std::string base = explicit_prefix_ ? config_.prefix
                                        : std::filesystem::path(where.file).parent_path().string();
    if (base.empty()) base = ".";
    std::string pattern = resolve_path(pattern_in, base);
    if (depth + 1 > kMaxIncludeDepth) {
      error(where, "failed to include '" + pattern + "': more than " +
                       std::to_string(kMaxIncludeDepth) + " files included recursively");
      return;
    }
    glob_t g{};
    // GLOB_ERR as php-fpm: an unreadable (or missing) directory on the way is an error
    static thread_local std::string glob_failure;
    glob_failure.clear();
    auto on_error = [](const char* path, int err) {
      glob_failure = std::string(" (cannot read '") + path + "': " + std::strerror(err) + ")";
      return 1;
    };
    int rc = ::glob(pattern.c_str(), GLOB_ERR | GLOB_MARK, on_error, &g);
    if (rc == GLOB_NOMATCH) {
      warning(where, "nothing matches the include pattern '" + pattern + "'");
      globfree(&g);
      return;
    }
    if (rc != 0) {
      error(where, "unable to expand the include pattern '" + pattern + "'" + glob_failure);
      globfree(&g);
      return;
    }
    std::vector<std::string> files;
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      std::string f = g.gl_pathv[i];
      if (!f.empty() && f.back() != '/') files.push_back(f);  // directories are skipped
    }
    globfree(&g);
    for (const auto& f : files) load(f, depth + 1, &where);
  }

  Config& config_;
  bool explicit_prefix_;
  std::vector<Diagnostic>& errors_;
  std::vector<Diagnostic>& warnings_;
  int current_ = -1;  // index into config_.pools; -1 = [global] (also before any section)
};

}  // namespace

std::vector<std::string> directive_names(Scope scope) {
  std::vector<std::string> out;
  if (scope == Scope::Global) {
    for (const auto& d : global_directives()) out.push_back(d.name);
  } else {
    for (const auto& d : pool_directives()) out.push_back(d.name);
    for (const auto& a : kArrays) out.push_back(a + "[]");
  }
  out.push_back("include");
  return out;
}

void parse_files(const std::string& file, Config& config, bool explicit_prefix,
                 std::vector<Diagnostic>& errors, std::vector<Diagnostic>& warnings) {
  Loader loader(config, explicit_prefix, errors, warnings);
  loader.load(file, 1, nullptr);
}

}  // namespace php_pool::config::detail
