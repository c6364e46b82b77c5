// Loading a compiled seccomp policy into a worker. Its logged denials are answered outside the
// worker, by the manager (supervise.hpp).
#pragma once

#include <string>

#include "sandbox/policy.hpp"

namespace php_pool::sandbox {

struct EnforceOptions {
  const Program* program = nullptr;
  // The worker's end of a socket to its supervisor: the filter's notification fd is sent there
  // and this end is then closed. -1: no supervisor, the plain program is loaded (nothing logged).
  int supervisor = -1;
};

// In the process to confine, while it is single-threaded: PR_SET_NO_NEW_PRIVS, then the filter.
// False with a message when the filter could not be loaded: the process must then not go on.
bool enforce(const EnforceOptions& options, std::string& error);

}  // namespace php_pool::sandbox
