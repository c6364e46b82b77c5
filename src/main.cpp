// php-pool: command line dispatch. Running a pool is the manager's job; --test and the D-Bus
// clients are the config and bus modules'.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "manager/manager.hpp"

using namespace php_pool;

int main(int argc, char** argv) {
  manager::Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--config" || a == "-y" || a == "--fpm-config") o.config_file = next();
    else if (a == "--pool") o.pool = next();
    else if (a == "--instance") o.instance = next();
    else if (a == "-R" || a == "--allow-to-run-as-root") o.allow_root = true;
    else if (a == "-c") o.php_ini = next();
    else if (a == "-d") o.defines.push_back(next());
    else if (a == "-F" || a == "--nodaemonize") {}
  }
  manager::Manager m(o);
  return m.run();
}
