// php-pool's command line (see DESIGN.md "Command line"): parsing, --help, and --test.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace php_pool::cli {

enum class Command {
  Run,      // --config FILE [--pool NAME] [--instance NAME]: run one pool in the foreground
  Test,     // --test/-t (and -tt): check the configuration
  Reload,   // --reload NAME: ask the running pool NAME to reload (D-Bus)
  Status,   // --status NAME [--format F]: print the running pool's status (D-Bus)
  Version,  // --version/-v
  Help,     // --help/-h
};

struct Options {
  Command command = Command::Run;
  std::string config_file;  // --config, -y/--fpm-config
  std::string pool;         // --pool: the [section] to run when the file has several
  std::string instance;     // --instance: the pool's identity (D-Bus label, POOL=, status)
  int test_level = 0;       // 1 = --test/-t, 2 = -tt / --test --test (print the effective config)
  std::string target;       // NAME of --reload / --status
  std::string status_format = "plain";  // --format: plain | json | xml | openmetrics
  std::string php_ini;                  // -c/--php-ini PATH: php.ini file or directory
  std::vector<std::pair<std::string, std::string>> ini_defines;  // -d/--define name[=value]
  bool allow_to_run_as_root = false;                             // -R/--allow-to-run-as-root
  std::string prefix;        // -p/--prefix DIR: base of relative paths
  bool nodaemonize = false;  // -F/--nodaemonize: accepted, php-pool never daemonizes
};

struct ParsedArgs {
  std::optional<Options> options;  // set on success
  std::string error;  // otherwise: "php-pool: <what>\nTry 'php-pool --help' for more information."
};

// Parses argv (argv[0] is the program name). Never exits, never prints.
ParsedArgs parse_args(int argc, const char* const* argv);

// php-pool --test: loads OPTIONS.config_file; prints every error as FILE:LINE: message on
// stderr and returns 1, or prints the warnings (stderr), with test_level >= 2 the effective
// configuration (stdout), then a one-line summary (stdout) and returns 0.
int run_config_test(const Options& options);

// The complete --help text (ends with a newline), and the --version line (without one).
std::string help_text();
std::string version_text();

}  // namespace php_pool::cli
