// Answering a confined worker's logged denials, outside the worker (see enforce.cpp for why a
// supervisor, and why not in the worker): the manager receives each worker's notification fd and
// answers through this.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "sandbox/policy.hpp"

namespace php_pool::sandbox {

// What the worker was doing when a denial arrived.
struct ScriptInfo {
  bool known = false;  // false: "(script unknown)"
  std::string script;  // "" while idle
};
using ScriptLookup = std::function<ScriptInfo()>;

// Receives the notification fd a worker sent on SOCK (sandbox::enforce). Returns it
// (close-on-exec), or -1 when nothing or something else arrived (the worker closed the socket
// without one, or sent an fd that is not a seccomp listener, which is closed).
int receive_listener(int sock);

// The answers for one worker and every process it starts (they share its filter).
class Supervisor {
 public:
  Supervisor(std::shared_ptr<const LoadedPolicy> policy, pid_t worker, ScriptLookup script);

  // Answers the notification pending on the listener FD: call it when FD is readable. The caller
  // gets the policy's errno, or is killed for `kill`; never "continue". One log line per denial,
  // rate-limited (a script looping on a denied call must not flood the log).
  void answer(int fd);

 private:
  bool rate_ok();

  std::shared_ptr<const LoadedPolicy> policy_;
  pid_t worker_;
  ScriptLookup script_;
  double tokens_ = 0;
  double last_ = 0;
  unsigned long suppressed_ = 0;
};

}  // namespace php_pool::sandbox
