// What the PHP engine was built from on disk, recorded when the manager starts it: php.ini and
// every scanned *.ini, the directories scanned for more, and every file mapped into the
// process (libphp, the extensions' .so files, the libraries they use). A reload compares them:
// when one changed, new workers forked from the running engine would still have the old
// settings or code, so the manager re-executes itself for a fresh engine instead.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <string>
#include <vector>

namespace php_pool::manager {

class EngineFiles {
 public:
  // Records the files now. `ini_files`/`scan_dirs`: what the engine read (sapi::IniFiles).
  void record(const std::vector<std::string>& ini_files, const std::vector<std::string>& scan_dirs);
  // "" when nothing changed, else what changed first ("/etc/php/8.2/embed/php.ini changed").
  std::string changed() const;
  size_t size() const { return files_.size(); }

 private:
  struct Stamp {
    std::string path;
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{}, ctime{};
  };
  static Stamp stamp(const std::string& path);
  void add(const std::string& path);
  std::vector<Stamp> files_;
};

}  // namespace php_pool::manager
