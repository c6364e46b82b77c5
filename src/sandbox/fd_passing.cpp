#include "sandbox/fd_passing.hpp"

#include <sys/socket.h>

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
  if (r != 1 || msg.tag != kTag) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&msg.m);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(sizeof(int)))
    return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

}  // namespace php_pool::sandbox
