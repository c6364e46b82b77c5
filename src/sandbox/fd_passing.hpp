// Passing one file descriptor over a unix socket (SCM_RIGHTS): how a worker hands its seccomp
// listener to the manager, and a leaving worker its kept connections to the others.
#pragma once

namespace php_pool::sandbox {

// Sends FD with a one-byte tag. False when the message could not be sent.
bool send_fd(int sock, int fd);
// Receives one message without waiting: the fd it carries (close-on-exec), or -1 (nothing,
// EOF, a wrong tag or no fd; any fd such a message carried is closed).
int receive_fd(int sock);

}  // namespace php_pool::sandbox
