// Which php.ini files the engine read at start-up, for the manager's reload: a change to them
// (or to the directories scanned for *.ini) needs a fresh engine, not just new workers.
#pragma once

#include <string>
#include <vector>

namespace php_pool::sapi {

struct IniFiles {
  std::vector<std::string> files;      // the php.ini libphp opened, then every scanned *.ini
  std::vector<std::string> scan_dirs;  // PHP_INI_SCAN_DIR or the built-in conf.d, as scanned
};

// After engine_startup(), in the manager.
IniFiles loaded_ini_files();

}  // namespace php_pool::sapi
