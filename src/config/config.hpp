// The typed pool configuration, read from php-fpm pool-file syntax.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace php_pool::config {

enum class PmStyle { Static, Dynamic, Ondemand };
const char* to_string(PmStyle pm);

// process.sched_policy (php-pool): the workers' CPU scheduling policy; Inherit keeps the
// manager's, as php-fpm does.
enum class SchedPolicy { Inherit, Other, Batch, Idle };
const char* to_string(SchedPolicy policy);

// A php_value/php_flag/php_admin_value/php_admin_flag entry, kept in file order.
struct PhpIni {
  std::string name;
  std::string value;
  bool admin = false;  // php_admin_*: cannot be changed by ini_set

  // extension, disable_functions, disable_classes: every line counts. Of two lines for another
  // setting (both admin or both not), only the first does, as in php-fpm.
  bool adds_up() const;
  // Whether an earlier entry of ENTRIES (which holds this one) takes this one's place.
  bool shadowed_in(const std::vector<PhpIni>& entries) const;
};

struct Source {
  std::string file;
  int line = 0;  // 1-based physical line; 0 = the file as a whole
};

// Where each directive was last set, keyed by its canonical name ("pm.max_children",
// "php_value[memory_limit]", "env[PATH]", "access.suppress_path[]"). Lets later stages
// (bind, setuid, reload) report errors as FILE:LINE too.
using DirectiveSources = std::map<std::string, Source>;

struct PoolConfig {
  std::string name;  // the [section] name
  Source source;     // where the section starts

  // listening
  std::string listen;       // as written (unix path, port, addr:port, [v6]:port)
  int listen_backlog = -1;  // php-fpm's default on Linux: the kernel's limit (somaxconn)
  std::string listen_owner, listen_group, listen_mode;  // mode as octal text, "" = default
  std::string listen_acl_users, listen_acl_groups;
  std::vector<std::string> listen_allowed_clients;  // empty = any

  // identity and sandbox
  std::string user, group, prefix, chroot, chdir;
  bool clear_env = true;
  std::map<std::string, std::string> env;  // env[NAME] = value
  std::vector<std::string> security_limit_extensions = {".php", ".phar"};
  std::optional<int> rlimit_files, rlimit_core;  // rlimit_core "unlimited" = -1
  std::optional<int> process_priority;
  // batch: a waking worker does not preempt the web server mid-batch (see php-pool.conf(5))
  SchedPolicy process_sched_policy = SchedPolicy::Batch;
  bool process_dumpable = false;
  std::string sandbox_seccomp = "default";  // php-pool: default | strict | off | /abs/path

  // process manager
  PmStyle pm = PmStyle::Dynamic;
  int pm_max_children = 5;
  int pm_start_servers = 0;  // 0 = php-fpm default: min_spare + (max_spare - min_spare) / 2
  int pm_min_spare_servers = 0;
  int pm_max_spare_servers = 0;
  int pm_max_spawn_rate = 32;
  std::chrono::seconds pm_process_idle_timeout{10};
  int pm_max_requests = 0;
  std::string pm_status_path, pm_status_listen;
  std::string ping_path, ping_response = "pong";

  // timeouts and logs
  std::chrono::seconds request_terminate_timeout{0};
  bool request_terminate_timeout_track_finished = false;
  std::chrono::seconds request_slowlog_timeout{0};
  int request_slowlog_trace_depth = 20;
  // php-pool: how long a worker waits for the next bytes of a request (its records or body) or
  // for the client to take response bytes before it drops the connection (0 = forever, as
  // php-fpm): silent or stuck clients hold a worker at most this long.
  std::chrono::seconds request_read_timeout{30};
  std::chrono::seconds request_write_timeout{30};
  std::string slowlog;
  std::string access_log;
  std::string access_format = "%R - %u %t \"%m %r\" %s";
  std::vector<std::string> access_suppress_path;
  bool catch_workers_output = false;
  bool decorate_workers_output = true;

  std::vector<PhpIni> php_ini;  // php_value/php_flag/php_admin_value/php_admin_flag in order

  // Added by the config parser:
  std::string apparmor_hat;            // accepted, not honoured (warned)
  DirectiveSources directive_sources;  // every directive set in the file, see above
  // Where DIRECTIVE was set, or nullptr when it kept its default.
  const Source* where(const std::string& directive) const {
    auto it = directive_sources.find(directive);
    return it == directive_sources.end() ? nullptr : &it->second;
  }
};

struct GlobalConfig {
  std::string pid;
  std::string error_log;  // "" = stderr / journal
  std::string syslog_facility = "daemon", syslog_ident = "php-fpm";
  std::string log_level = "notice";  // alert, error, warning, notice, debug
  int log_limit = 1024;
  bool log_buffering = true;
  int emergency_restart_threshold = 0;
  std::chrono::seconds emergency_restart_interval{0};
  std::chrono::seconds process_control_timeout{0};
  int process_max = 0;
  int rlimit_files = 0, rlimit_core = 0;  // 0 = unset
  std::chrono::seconds systemd_interval{10};

  // Added by the config parser:
  std::optional<int> process_priority;  // the manager's nice value
  bool daemonize = true;                // accepted, not honoured (php-pool never daemonizes)
  std::string events_mechanism;         // accepted, not honoured (sd-event)
  DirectiveSources directive_sources;
  const Source* where(const std::string& directive) const {
    auto it = directive_sources.find(directive);
    return it == directive_sources.end() ? nullptr : &it->second;
  }
};

struct Diagnostic {
  Source where;
  std::string message;         // without the FILE:LINE prefix
  std::string format() const;  // "FILE:LINE: message"
};

struct Config {
  GlobalConfig global;
  std::vector<PoolConfig> pools;
  std::vector<Diagnostic> warnings;  // accepted but not honoured, deprecated, ...

  // Added by the config parser:
  std::string file;                 // the main file, as given
  std::string prefix;               // the global prefix relative paths were resolved against
  std::vector<std::string> files;   // every file read (the main file, then includes in order)
  std::vector<PhpIni> ini_defines;  // -d name=value from the command line (php.ini level)
};

struct LoadOptions {
  std::string prefix;  // $prefix expansion and relative paths; "" = directory of the file
  // -d name=value from the command line, applied as php_admin_value-like overrides
  // (copied to Config::ini_defines; the SAPI applies them at php.ini level)
  std::vector<std::pair<std::string, std::string>> defines;
};

struct LoadResult {
  std::optional<Config> config;    // set when there are no errors
  std::vector<Diagnostic> errors;  // every error found, each FILE:LINE: message
};

// Reads FILE (and its includes), validates every pool, and fills the typed configuration.
LoadResult load(const std::string& file, const LoadOptions& options = {});

// Picks the pool: by name, or the only one. Returns nullptr and sets error otherwise.
const PoolConfig* select_pool(const Config& config, const std::string& name, std::string& error);

// The effective configuration as php-fpm-style INI text ([global] then each pool, every
// directive with its resolved value), for `--test --test` (-tt) and logs. POOL = "" prints all.
std::string format_effective(const Config& config, const std::string& pool = "");

// Typed value parsers with php-fpm's rules, exposed for other components and tests.
// Booleans: yes/no/on/off/true/false/1/0/none and "" (false), case-insensitive.
std::optional<bool> parse_boolean(const std::string& text);
// Times: a non-negative integer with an optional suffix s (default), m, h or d.
std::optional<std::chrono::seconds> parse_time(const std::string& text);

}  // namespace php_pool::config
