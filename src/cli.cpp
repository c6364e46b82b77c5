// php-pool's command line: DESIGN.md "Command line", plus the php-fpm options that existing
// unit overrides pass.
#include "cli.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <string_view>

#include "config/config.hpp"
#include "sandbox/sandbox.hpp"

#if __has_include("build-config.h")
#include "build-config.h"
#endif
#ifndef PHP_POOL_VERSION
#define PHP_POOL_VERSION "unknown"
#endif

namespace php_pool::cli {
namespace {

const char* command_option(Command c) {
  switch (c) {
    case Command::Run:
      return "--config";
    case Command::Test:
      return "--test";
    case Command::Reload:
      return "--reload";
    case Command::Status:
      return "--status";
    case Command::Version:
      return "--version";
    case Command::Help:
      return "--help";
  }
  return "?";
}

struct Parser {
  Parser(int c, const char* const* v) : argc(c), argv(v) {}
  int argc;
  const char* const* argv;
  int i = 1;
  Options o;
  std::string error;
  bool explicit_command = false;
  bool help = false, version = false;
  bool format_given = false;

  bool fail(const std::string& message) {
    if (error.empty()) error = message;
    return false;
  }

  bool set_command(Command c) {
    if (explicit_command && o.command != c) {
      return fail(std::string("options ") + command_option(o.command) + " and " +
                  command_option(c) + " cannot be used together");
    }
    explicit_command = true;
    o.command = c;
    return true;
  }

  bool define(const std::string& arg) {
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    std::string value = eq == std::string::npos ? "1" : arg.substr(eq + 1);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (name.empty()) return fail("-d needs name=value (got '" + arg + "')");
    o.ini_defines.emplace_back(name, value);
    return true;
  }

  // Handles one option that takes ARG. NAME is how it was written (for messages).
  bool with_arg(const std::string& name, const std::string& arg) {
    if (name == "--config" || name == "-y" || name == "--fpm-config") {
      if (!o.config_file.empty() && o.config_file != arg) {
        return fail("the configuration file is given twice ('" + o.config_file + "' and '" + arg +
                    "')");
      }
      o.config_file = arg;
    } else if (name == "--pool") {
      o.pool = arg;
    } else if (name == "--instance") {
      o.instance = arg;
    } else if (name == "--reload") {
      if (!set_command(Command::Reload)) return false;
      o.target = arg;
    } else if (name == "--status") {
      if (!set_command(Command::Status)) return false;
      o.target = arg;
    } else if (name == "--format") {
      if (arg != "plain" && arg != "json" && arg != "xml" && arg != "openmetrics") {
        return fail("invalid --format '" + arg + "' (plain, json, xml or openmetrics)");
      }
      o.status_format = arg;
      format_given = true;
    } else if (name == "-c" || name == "--php-ini") {
      o.php_ini = arg;
    } else if (name == "-d" || name == "--define") {
      return define(arg);
    } else if (name == "-p" || name == "--prefix") {
      o.prefix = arg;
    }
    if (arg.empty() && name != "-d" && name != "--define") {
      return fail("option '" + name + "' needs a non-empty argument");
    }
    return true;
  }

  bool flag(const std::string& name) {
    if (name == "--test" || name == "-t") {
      if (!set_command(Command::Test)) return false;
      o.test_level = std::min(o.test_level + 1, 2);
    } else if (name == "--help" || name == "-h") {
      help = true;
    } else if (name == "--version" || name == "-v") {
      version = true;
    } else if (name == "--allow-to-run-as-root" || name == "-R") {
      o.allow_to_run_as_root = true;
    } else if (name == "--nodaemonize" || name == "-F") {
      o.nodaemonize = true;
    } else if (name == "--daemonize" || name == "-D") {
      return fail("php-pool does not daemonize: systemd runs it in the foreground");
    } else {
      return fail("unknown option '" + name + "'");
    }
    return true;
  }

  static bool takes_arg_long(std::string_view n) {
    for (const char* o : {"--config", "--fpm-config", "--pool", "--instance", "--reload",
                          "--status", "--format", "--php-ini", "--define", "--prefix"}) {
      if (n == o) return true;
    }
    return false;
  }
  static bool takes_arg_short(char c) { return std::strchr("ycdp", c) != nullptr; }

  bool parse() {
    for (; i < argc; ++i) {
      std::string a = argv[i] ? argv[i] : "";
      if (a.rfind("--", 0) == 0 && a.size() > 2) {
        size_t eq = a.find('=');
        std::string name = a.substr(0, eq);
        if (takes_arg_long(name)) {
          std::string arg;
          if (eq != std::string::npos) {
            arg = a.substr(eq + 1);
          } else if (i + 1 < argc) {
            arg = argv[++i];
          } else {
            return fail("option '" + name + "' needs an argument");
          }
          if (!with_arg(name, arg)) return false;
        } else {
          if (eq != std::string::npos) return fail("option '" + name + "' takes no argument");
          if (!flag(name)) return false;
        }
      } else if (a.size() > 1 && a[0] == '-' && a[1] != '-') {
        // a cluster of short options: -tt, -RF, -y FILE, -yFILE, -d name=value
        for (size_t k = 1; k < a.size(); ++k) {
          std::string name = std::string("-") + a[k];
          if (takes_arg_short(a[k])) {
            std::string arg;
            if (k + 1 < a.size()) {
              arg = a.substr(k + 1);
            } else if (i + 1 < argc) {
              arg = argv[++i];
            } else {
              return fail("option '" + name + "' needs an argument");
            }
            if (!with_arg(name, arg)) return false;
            break;
          }
          if (!flag(name)) return false;
        }
      } else {
        return fail("unexpected argument '" + a + "'");
      }
    }
    return check();
  }

  bool check() {
    if (help) {
      o.command = Command::Help;
      return true;
    }
    if (version) {
      o.command = Command::Version;
      return true;
    }
    if (format_given && o.command != Command::Status) {
      return fail("--format only applies to --status");
    }
    switch (o.command) {
      case Command::Run:
      case Command::Test:
        if (o.config_file.empty()) return fail("missing --config FILE");
        break;
      case Command::Reload:
      case Command::Status:
        if (!o.config_file.empty() || !o.pool.empty() || !o.instance.empty()) {
          return fail(std::string(command_option(o.command)) +
                      " takes the pool's name only (no --config, --pool or --instance)");
        }
        break;
      default:
        break;
    }
    return true;
  }
};

std::string pool_summary(const config::PoolConfig& p) {
  return "'" + p.name + "': pm " + config::to_string(p.pm) + ", max_children " +
         std::to_string(p.pm_max_children);
}

}  // namespace

ParsedArgs parse_args(int argc, const char* const* argv) {
  Parser p(argc, argv);
  ParsedArgs r;
  if (p.parse()) {
    r.options = std::move(p.o);
  } else {
    r.error = "php-pool: " + p.error + "\nTry 'php-pool --help' for more information.";
  }
  return r;
}

// As root, the accounts a pool names must exist, as at start (and as php-fpm -t checks): the
// workers' user and group, the socket's listen.owner and listen.group. Not as another user:
// then nothing is switched to or chowned. Prints each problem; returns how many.
int check_accounts(const config::PoolConfig& p, bool allow_root) {
  if (geteuid() != 0) return 0;
  int errors = 0;
  auto report = [&](const char* directive, const std::string& message) {
    const config::Source* s = p.where(directive);
    std::cerr << (s ? config::Diagnostic{*s, message}.format() : message) << "\n";
    errors++;
  };
  if (p.user.empty() && !allow_root)
    report("user", "[pool " + p.name +
                       "] please specify user and group other than root (or run with -R / "
                       "--allow-to-run-as-root)");
  auto user = [&](const char* directive, const std::string& name) {
    if (!name.empty() && !getpwnam(name.c_str()))
      report(directive, "[pool " + p.name + "] cannot get uid for user '" + name + "'");
  };
  auto group = [&](const char* directive, const std::string& name) {
    if (!name.empty() && !getgrnam(name.c_str()))
      report(directive, "[pool " + p.name + "] cannot get gid for group '" + name + "'");
  };
  user("user", p.user);
  user("listen.owner", p.listen_owner);
  group("group", p.group);
  group("listen.group", p.listen_group);
  return errors;
}

// A file that fails the test exits as a start with it would (and as php-fpm -t does): 78,
// EX_CONFIG, which the unit's RestartPreventExitStatus= knows.
constexpr int kExitConfig = 78;

int run_config_test(const Options& options) {
  config::LoadOptions lo;
  lo.prefix = options.prefix;
  lo.defines = options.ini_defines;
  config::LoadResult r = config::load(options.config_file, lo);
  if (!r.config) {
    for (const auto& e : r.errors) std::cerr << e.format() << "\n";
    std::cerr << "php-pool: configuration file " << options.config_file << " test failed ("
              << r.errors.size() << (r.errors.size() == 1 ? " error" : " errors") << ")\n";
    return kExitConfig;
  }
  const config::Config& c = *r.config;
  for (const auto& w : c.warnings) {
    config::Diagnostic d = w;
    d.message = "warning: " + d.message;
    std::cerr << d.format() << "\n";
  }
  std::vector<const config::PoolConfig*> pools;
  if (!options.pool.empty() || c.pools.size() == 1) {
    std::string error;
    const config::PoolConfig* p = config::select_pool(c, options.pool, error);
    if (!p) {
      std::cerr << "php-pool: " << error << "\n";
      return kExitConfig;
    }
    pools.push_back(p);
  } else {
    for (const auto& p : c.pools) pools.push_back(&p);
  }
  // The accounts and the seccomp policy each pool names must be there, as at start.
  int system_errors = 0;
  for (const auto* p : pools) {
    system_errors += check_accounts(*p, options.allow_to_run_as_root);
    std::string error;
    if (sandbox::check_policy(p->sandbox_seccomp, error)) continue;
    const config::Source* where = p->where("sandbox.seccomp");
    if (!error.empty() && error[0] != '/' && where)
      error = config::Diagnostic{*where, error}.format();
    std::cerr << error << "\n";
    system_errors++;
  }
  if (system_errors) {
    std::cerr << "php-pool: configuration file " << options.config_file << " test failed ("
              << system_errors << (system_errors == 1 ? " error" : " errors") << ")\n";
    return kExitConfig;
  }
  std::cerr.flush();
  if (options.test_level >= 2) {
    std::cout << config::format_effective(c, pools.size() == 1 ? pools[0]->name : "") << "\n";
  }
  std::string summary;
  for (const auto* p : pools) summary += (summary.empty() ? "" : "; ") + pool_summary(*p);
  std::cout << "php-pool: configuration file " << options.config_file << " test is successful ("
            << (pools.size() == 1 ? "pool " : "pools ") << summary;
  if (!options.instance.empty() && pools.size() == 1) {
    std::cout << ", instance '" << options.instance << "'";
  }
  std::cout << ")" << std::endl;
  return 0;
}

std::string version_text() {
  return std::string("php-pool ") + PHP_POOL_VERSION;
}

std::string help_text() {
  return R"(Usage:
  php-pool --config FILE [--pool NAME] [--instance NAME]
  php-pool --test --config FILE [--pool NAME]
  php-pool --reload NAME
  php-pool --status NAME [--format plain|json|xml|openmetrics]
  php-pool --version | --help

A systemd-native replacement for php-fpm: one manager process runs one pool, read from a
php-fpm pool file (INI syntax: [global], [pool] sections, include= globs, every php-fpm 8.2
directive, plus sandbox.seccomp).

Commands:
  --config FILE           Run the pool from FILE in the foreground (there is no daemon mode).
  -t, --test              Check the configuration: exit 0, or print every problem as
                          FILE:LINE: message and exit non-zero.
  -tt                     Test and print the effective configuration.
  --reload NAME           Ask the running pool NAME (over D-Bus) to reload its configuration;
                          waits until the new workers serve, exits 0 or prints the error.
  --status NAME           Print the running pool's full status (over D-Bus).
  -v, --version           Print the version and exit.
  -h, --help              Print this help and exit.

Options:
  --pool NAME             The [section] to run when FILE defines several pools (may be
                          omitted when it defines one).
  --instance NAME         The pool's identity (D-Bus name, POOL= log field, status "pool"),
                          whatever its section is called; units pass %i.
  --format FORMAT         With --status: plain (default), json, xml or openmetrics.
  -p, --prefix DIR        Base for relative paths and includes (default: FILE's directory).

php-fpm compatible options:
  -y, --fpm-config FILE   Same as --config FILE.
  -c, --php-ini PATH      Look for php.ini in PATH (a file or a directory).
  -d, --define NAME=VALUE Set a php.ini entry (repeatable); NAME alone sets it to 1.
  -R, --allow-to-run-as-root
                          Allow the workers to run as root (refused otherwise).
  -F, --nodaemonize       Accepted for compatibility; php-pool never daemonizes.

Signals: SIGTERM/SIGQUIT stop gracefully, SIGINT stops at once, SIGHUP/SIGUSR2 reload,
SIGUSR1 reopens log files.

See php-pool(8) and php-pool.conf(5).
)";
}

}  // namespace php_pool::cli
