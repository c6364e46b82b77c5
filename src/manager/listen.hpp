// The pool's listening sockets: inherited from systemd, or bound from `listen` as php-fpm does
// (unix path with owner/group/mode, port, addr:port, [ipv6]:port, backlog).
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "worker/worker.hpp"

namespace php_pool::manager {

struct ListenSet {
  std::vector<worker::Listener> listeners;
  bool inherited = false;
  std::string unix_path;  // bound by us: removed at exit
};

bool open_listeners(const config::PoolConfig& pool, ListenSet& out, std::string& error);

// Current and maximum accept-queue length of a listening socket, TCP or unix.
bool listen_queue(int fd, unsigned& current, unsigned& max);

}  // namespace php_pool::manager
