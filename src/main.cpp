// php-pool: command line dispatch. Running a pool is the manager's job; --test is the config
// module's; --reload and --status are D-Bus clients.
#include <cstdio>
#include <string>

#include "cli.hpp"
#include "common/process_title.hpp"
#include "dbus/client.hpp"
#include "manager/manager.hpp"

using namespace php_pool;

int main(int argc, char** argv) {
  process_title::remember(argc, argv);
  cli::ParsedArgs parsed = cli::parse_args(argc, argv);
  if (!parsed.options) {
    fprintf(stderr, "%s\n", parsed.error.c_str());
    return 64;  // EX_USAGE
  }
  const cli::Options& o = *parsed.options;
  switch (o.command) {
    case cli::Command::Help:
      fputs(cli::help_text().c_str(), stdout);
      return 0;
    case cli::Command::Version:
      printf("%s\n", cli::version_text().c_str());
      return 0;
    case cli::Command::Test:
      return cli::run_config_test(o);
    case cli::Command::Reload:
      return dbus::client_reload(o.target);
    case cli::Command::Status:
      return dbus::client_status(o.target, o.status_format);
    case cli::Command::Run:
      break;
  }
  manager::Options mo;
  mo.config_file = o.config_file;
  mo.pool = o.pool;
  mo.instance = o.instance;
  mo.prefix = o.prefix;
  mo.allow_root = o.allow_to_run_as_root;
  mo.php_ini = o.php_ini;
  for (auto& [name, value] : o.ini_defines) mo.defines.push_back(name + "=" + value);
  manager::Manager manager(mo);
  return manager.run();
}
