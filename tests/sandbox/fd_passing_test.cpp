// Passing a descriptor over a unix socket (a worker's seccomp listener to the manager, kept
// connections between workers): what arrives, and that nothing leaks from a bad message.
#include "sandbox/fd_passing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace php_pool::sandbox {
namespace {

int open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

ino_t inode(int fd) {
  struct stat st {};
  fstat(fd, &st);
  return st.st_ino;
}

class FdPassingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    a_ = sv[0];
    b_ = sv[1];
    ASSERT_EQ(pipe(pipe_), 0);
  }
  void TearDown() override {
    for (int fd : {a_, b_, pipe_[0], pipe_[1]}) close(fd);
  }
  // A message as another sender (a script that reached the socket) could send it.
  void send_raw(char tag, const int* fds, size_t n) {
    iovec iov{&tag, 1};
    char control[CMSG_SPACE(2 * sizeof(int))] = {};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (n) {
      m.msg_control = control;
      m.msg_controllen = CMSG_SPACE(n * sizeof(int));
      cmsghdr* c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(n * sizeof(int));
      memcpy(CMSG_DATA(c), fds, n * sizeof(int));
    }
    ASSERT_EQ(sendmsg(a_, &m, 0), 1);
  }
  int a_ = -1, b_ = -1;
  int pipe_[2] = {-1, -1};
};

TEST_F(FdPassingTest, TheDescriptorArrivesCloseOnExec) {
  ASSERT_TRUE(send_fd(a_, pipe_[1]));
  int fd = receive_fd(b_);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(inode(fd), inode(pipe_[1]));
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  close(fd);
  EXPECT_EQ(receive_fd(b_), -1);  // nothing more queued
}

TEST_F(FdPassingTest, AMessageWithAWrongTagLeavesNoDescriptorOpen) {
  const int before = open_fds();
  send_raw('X', &pipe_[1], 1);
  EXPECT_EQ(receive_fd(b_), -1);
  EXPECT_EQ(open_fds(), before);
}

TEST_F(FdPassingTest, AMessageWithTwoDescriptorsLeavesNoneOpen) {
  const int before = open_fds();
  send_raw('L', pipe_, 2);
  EXPECT_EQ(receive_fd(b_), -1);
  EXPECT_EQ(open_fds(), before);
}

TEST_F(FdPassingTest, AMessageWithoutADescriptorIsNothing) {
  send_raw('L', nullptr, 0);
  EXPECT_EQ(receive_fd(b_), -1);
  ASSERT_TRUE(send_fd(a_, pipe_[0]));  // the next good one still arrives
  int fd = receive_fd(b_);
  EXPECT_EQ(inode(fd), inode(pipe_[0]));
  close(fd);
}

}  // namespace
}  // namespace php_pool::sandbox
