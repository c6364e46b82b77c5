#include "systemd/listen_fds.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>

namespace php_pool::systemd {

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
    }
    if (names) free(names[i]);
  }
  free(names);
  return error.empty();
}

}  // namespace php_pool::systemd
