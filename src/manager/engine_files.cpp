#include "manager/engine_files.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

namespace php_pool::manager {
namespace {

bool same_time(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Regular files mapped into this process (/proc/self/maps), except the executable: a re-exec
// runs /proc/self/exe, the same image, so its file changing cannot be applied that way.
std::vector<std::string> mapped_files() {
  std::vector<std::string> out;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string self = n > 0 ? std::string(exe, size_t(n)) : "";
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> seen;
  for (std::string line; std::getline(maps, line);) {
    // address perms offset dev inode   pathname
    size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.size() > 10 && path.compare(path.size() - 10, 10, " (deleted)") == 0) continue;
    if (path == self || path.rfind("/dev/", 0) == 0 || path.rfind("/memfd:", 0) == 0 ||
        path.rfind("/SYSV", 0) == 0)
      continue;
    struct stat st;
    if (!seen.insert(path).second || stat(path.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
    out.push_back(path);
  }
  return out;
}

}  // namespace

EngineFiles::Stamp EngineFiles::stamp(const std::string& path) {
  Stamp s;
  s.path = path;
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {  // follows symlinks: conf.d links to mods-available
    s.exists = true;
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    s.size = st.st_size;
    s.mtime = st.st_mtim;
    s.ctime = st.st_ctim;
  }
  return s;
}

void EngineFiles::add(const std::string& path) {
  for (auto& f : files_)
    if (f.path == path) return;
  files_.push_back(stamp(path));
}

void EngineFiles::record(const std::vector<std::string>& ini_files,
                         const std::vector<std::string>& scan_dirs) {
  files_.clear();
  for (auto& f : ini_files) add(f);
  // A directory's times change when an entry is added, removed or renamed: a new extension's
  // conf.d link (phpenmod), a removed one.
  for (auto& d : scan_dirs) add(d);
  for (auto& f : mapped_files()) add(f);
}

std::string EngineFiles::changed() const {
  for (auto& old : files_) {
    Stamp now = stamp(old.path);
    if (now.exists != old.exists) return old.path + (now.exists ? " appeared" : " is gone");
    if (now.dev != old.dev || now.ino != old.ino) return old.path + " was replaced";
    if (now.size != old.size || !same_time(now.mtime, old.mtime) ||
        !same_time(now.ctime, old.ctime))
      return old.path + " changed";
  }
  return "";
}

}  // namespace php_pool::manager
