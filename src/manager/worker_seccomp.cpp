#include "manager/worker_seccomp.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common/log.hpp"

namespace php_pool::manager {

bool WorkerSeccomp::open() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return false;
  manager_end_ = sv[0];
  child_end_ = sv[1];
  return true;
}

int WorkerSeccomp::child_end() {
  ::close(manager_end_);
  manager_end_ = -1;
  int fd = child_end_;
  child_end_ = -1;
  return fd;
}

void WorkerSeccomp::close_inherited() {
  for (int* fd : {&manager_end_, &child_end_, &listener_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void WorkerSeccomp::watch(sd_event* event, pid_t pid,
                          std::shared_ptr<const sandbox::LoadedPolicy> policy,
                          sandbox::ScriptLookup script) {
  event_ = event;
  pid_ = pid;
  policy_ = std::move(policy);
  script_ = std::move(script);
  ::close(child_end_);
  child_end_ = -1;
  int r = sd_event_add_io(event, &socket_source_, manager_end_, EPOLLIN, on_socket, this);
  if (r < 0)
    log::write(log::Level::Warning, {}, "worker %d: cannot watch its seccomp socket: %s", int(pid),
               strerror(-r));
}

// The worker has loaded its filter and sent the listener (or closed the socket without one:
// the plain program, or it died). Either way the socket has done its job.
int WorkerSeccomp::on_socket(sd_event_source*, int fd, uint32_t, void* userdata) {
  auto* self = static_cast<WorkerSeccomp*>(userdata);
  int listener = sandbox::receive_listener(fd);
  self->socket_source_ = sd_event_source_disable_unref(self->socket_source_);
  ::close(self->manager_end_);
  self->manager_end_ = -1;
  if (listener < 0) return 0;
  self->listener_ = listener;
  self->supervisor_.emplace(self->policy_, self->pid_, self->script_);
  int r = sd_event_add_io(self->event_, &self->listener_source_, listener, EPOLLIN, on_notification,
                          self);
  if (r < 0)
    log::write(log::Level::Warning, {}, "worker %d: cannot watch its seccomp notifications: %s",
               int(self->pid_), strerror(-r));
  return 0;
}

int WorkerSeccomp::on_notification(sd_event_source*, int fd, uint32_t revents, void* userdata) {
  auto* self = static_cast<WorkerSeccomp*>(userdata);
  if (revents & EPOLLIN) {
    self->supervisor_->answer(fd);
  } else if (revents & (EPOLLHUP | EPOLLERR)) {
    self->close_all();  // no process uses the filter any more
  }
  return 0;
}

void WorkerSeccomp::close_all() {
  socket_source_ = sd_event_source_disable_unref(socket_source_);
  listener_source_ = sd_event_source_disable_unref(listener_source_);
  for (int* fd : {&manager_end_, &child_end_, &listener_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

}  // namespace php_pool::manager
