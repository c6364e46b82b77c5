// What a freshly forked worker must not keep of the manager's descriptors. Workers are forked
// without exec, so O_CLOEXEC does not apply: every fd the manager holds at fork() reaches the
// worker, and a script can reach any fd through php://fd/N. The bus connection closes itself
// (dbus/service.cpp), other workers' output pipes and seccomp sockets are closed by their
// owners (worker_output, worker_seccomp); this closes the event loop's own descriptors.
#pragma once

namespace php_pool::manager {

// In the child, right after fork(): closes the manager's sd-event descriptors (its epoll
// instance, signalfd, timerfd, inotify and the pidfds of the other workers). With the epoll fd,
// native code in a worker could take or cancel the manager's events. The worker never runs the
// manager's event loop again (it ends with _exit()), so nothing uses them afterwards.
void close_event_loop_fds();

}  // namespace php_pool::manager
