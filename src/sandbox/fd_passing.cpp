#include "sandbox/fd_passing.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace php_pool::sandbox {
namespace {

constexpr char kTag = 'L';

// One byte of data and room for one fd.
struct FdMessage {
  char tag = 0;
  iovec iov{&tag, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  FdMessage() {
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
  }
};

}  // namespace

bool send_fd(int sock, int fd) {
  FdMessage msg;
  msg.tag = kTag;
  cmsghdr* c = CMSG_FIRSTHDR(&msg.m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t r;
  do r = sendmsg(sock, &msg.m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == 1;
}

int receive_fd(int sock) {
  FdMessage msg;
  ssize_t r;
  do r = recvmsg(sock, &msg.m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -1;
  // Whatever descriptors came are ours now: one that is not a well-formed message's is closed,
  // not left open.
  int fd = -1;
  size_t count = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg.m); c; c = CMSG_NXTHDR(&msg.m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++, count++) {
      int got;
      memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
      if (fd < 0)
        fd = got;
      else
        close(got);
    }
  }
  const bool well_formed =
      r == 1 && msg.tag == kTag && count == 1 && !(msg.m.msg_flags & MSG_CTRUNC);
  if (fd >= 0 && !well_formed) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace php_pool::sandbox
