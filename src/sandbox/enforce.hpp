// Loading a compiled seccomp policy into a worker, and reporting its denials.
#pragma once

#include <string>

#include "sandbox/policy.hpp"

namespace php_pool::sandbox {

// The script of the request in progress ("" between requests), read when a denial is reported.
using ScriptProvider = const char* (*)();

struct EnforceOptions {
  std::string label;               // the policy's name in log lines: default, strict or a path
  const Policy* policy = nullptr;  // must outlive the process (it is read by the supervisor)
  const Program* program = nullptr;
  ScriptProvider script = nullptr;
};

// In the process to confine, while it is single-threaded: PR_SET_NO_NEW_PRIVS, then the filter.
// When the policy logs denials, also starts the supervisor (see enforce.cpp). False with a
// message when the filter could not be loaded: the process must then not go on.
bool enforce(const EnforceOptions& options, std::string& error);

}  // namespace php_pool::sandbox
