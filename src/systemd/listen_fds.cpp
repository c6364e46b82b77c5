#include "systemd/listen_fds.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>
#include <map>

namespace php_pool::systemd {
namespace {
std::map<int, std::string> g_names;  // fd -> FileDescriptorName=
}

bool inherited_sockets(std::vector<InheritedSocket>& out, std::string& error) {
  char** names = nullptr;
  int n = sd_listen_fds_with_names(1, &names);
  if (n <= 0) {
    if (n < 0) error = std::string("LISTEN_FDS is invalid: ") + strerror(-n);
    return false;
  }
  for (int i = 0; i < n; i++) {
    int fd = SD_LISTEN_FDS_START + i;
    std::string name = names && names[i] ? names[i] : "";
    if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
      error = "inherited fd " + std::to_string(fd) + " ('" + name +
              "') is not a listening stream socket";
    } else {
      out.push_back({fd, name});
      g_names[fd] = name;
    }
    if (names) free(names[i]);
  }
  free(names);
  return error.empty();
}

std::string inherited_name(int fd) {
  auto it = g_names.find(fd);
  return it == g_names.end() ? "" : it->second;
}

}  // namespace php_pool::systemd
