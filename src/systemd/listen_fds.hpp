// Sockets inherited from systemd (LISTEN_FDS/LISTEN_FDNAMES), checked with sd_is_socket.
#pragma once

#include <string>
#include <vector>

namespace php_pool::systemd {

struct InheritedSocket {
  int fd;
  std::string name;  // FileDescriptorName=; "status" serves pm.status_listen
};

// True when the process was socket-activated; fills `out` or `error`.
bool inherited_sockets(std::vector<InheritedSocket>& out, std::string& error);

}  // namespace php_pool::systemd
