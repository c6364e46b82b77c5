#include "sapi/ini_files.hpp"

#include <sstream>

// libphp exports what php_ini_loaded_file() and php_ini_scanned_files() report, but no
// installed header declares them (main/php_ini.c).
extern "C" {
extern char* php_ini_opened_path;
extern char* php_ini_scanned_path;
extern char* php_ini_scanned_files;
}

namespace php_pool::sapi {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

void split_into(const char* list, char sep, std::vector<std::string>& out) {
  if (!list) return;
  std::istringstream in(list);
  for (std::string item; std::getline(in, item, sep);)
    if (std::string t = trim(item); !t.empty()) out.push_back(t);
}

}  // namespace

IniFiles loaded_ini_files() {
  IniFiles r;
  if (php_ini_opened_path && *php_ini_opened_path) r.files.push_back(php_ini_opened_path);
  split_into(php_ini_scanned_files, ',', r.files);  // "a.ini,\nb.ini,\n..."
  split_into(php_ini_scanned_path, ':', r.scan_dirs);
  return r;
}

}  // namespace php_pool::sapi
