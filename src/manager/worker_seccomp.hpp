// The manager's side of a worker's seccomp filter: it receives the filter's notification fd over
// a socket made before the fork and answers the worker's logged denials in the event loop
// (sandbox/supervise.hpp). One per worker whose policy logs denials; no process of its own.
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include <memory>
#include <optional>

#include "sandbox/supervise.hpp"

namespace php_pool::manager {

class WorkerSeccomp {
 public:
  // Before fork. False (errno set) when the socket cannot be made.
  bool open();
  // In the child: the end to hand to sandbox::apply_seccomp (the manager's end is closed).
  int child_end();
  // In a child that is not this worker: closes what it inherited of this worker's socket, so
  // that only the manager can receive this worker's notification fd.
  void close_inherited();
  // In the manager after fork: waits for the fd, then answers with POLICY.
  void watch(sd_event* event, pid_t pid, std::shared_ptr<const sandbox::LoadedPolicy> policy,
             sandbox::ScriptLookup script);
  // The worker has exited: stops answering (processes it left behind get ENOSYS).
  void close_all();
  ~WorkerSeccomp() { close_all(); }

 private:
  static int on_socket(sd_event_source*, int fd, uint32_t, void* userdata);
  static int on_notification(sd_event_source*, int fd, uint32_t revents, void* userdata);

  int manager_end_ = -1, child_end_ = -1, listener_ = -1;
  sd_event_source* socket_source_ = nullptr;
  sd_event_source* listener_source_ = nullptr;
  sd_event* event_ = nullptr;
  pid_t pid_ = 0;
  std::shared_ptr<const sandbox::LoadedPolicy> policy_;
  sandbox::ScriptLookup script_;
  std::optional<sandbox::Supervisor> supervisor_;
};

}  // namespace php_pool::manager
