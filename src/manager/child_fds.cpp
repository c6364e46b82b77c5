#include "manager/child_fds.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>
#include <vector>

namespace php_pool::manager {

namespace {

// /proc/self/fd link texts of the kinds sd-event creates. The PHP engine and the worker's own
// descriptors (listeners, pipes, files, sockets) are never anonymous inodes of these kinds.
bool is_event_loop_fd(std::string_view link) {
  for (std::string_view kind :
       {"anon_inode:[eventpoll]", "anon_inode:[signalfd]", "anon_inode:[timerfd]",
        "anon_inode:[pidfd]", "anon_inode:inotify", "pidfd:"}) {
    if (link.substr(0, kind.size()) == kind) return true;
  }
  return false;
}

}  // namespace

void close_event_loop_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;  // no /proc: nothing to look at (the worker still works)
  std::vector<int> doomed;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd == dirfd(dir)) continue;
    char link[64];
    ssize_t n = readlinkat(dirfd(dir), e->d_name, link, sizeof link);
    if (n > 0 && is_event_loop_fd(std::string_view(link, size_t(n)))) doomed.push_back(fd);
  }
  closedir(dir);
  for (int fd : doomed) close(fd);
}

}  // namespace php_pool::manager
