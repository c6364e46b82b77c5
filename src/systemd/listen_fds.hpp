// Sockets inherited from systemd (LISTEN_FDS/LISTEN_FDNAMES), checked with sd_is_socket.
#pragma once

#include <string>
#include <vector>

namespace php_pool::systemd {

struct InheritedSocket {
  int fd;
  std::string name;  // FileDescriptorName=; "status" serves pm.status_listen
};

// True when the process was socket-activated; fills `out` or `error`. The variables are
// removed from the environment (the workers must not see them).
bool inherited_sockets(std::vector<InheritedSocket>& out, std::string& error);

// The FileDescriptorName= an inherited fd came with ("" when it was not inherited), so that a
// re-executed manager passes the same names on.
std::string inherited_name(int fd);

}  // namespace php_pool::systemd
