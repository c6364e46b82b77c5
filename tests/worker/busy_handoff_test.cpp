// BusyHandoff with real sockets and its real helper thread: which kept connections a long
// request hands on, and that a short one hands on none.
#include "worker/busy_handoff.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "sandbox/fd_passing.hpp"
#include "scoreboard/scoreboard.hpp"

namespace php_pool::worker {
namespace {

using namespace std::chrono_literals;
// Ten times the worker's: a loaded machine's late wake-ups stay far inside the margins.
constexpr uint64_t kAfterUs = 200000;

struct Pair {
  int here = -1, web = -1;  // the worker's end (parked) and the web server's
  Pair() {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    here = sv[0];
    web = sv[1];
  }
  ~Pair() {
    if (here >= 0) close(here);
    if (web >= 0) close(web);
  }
};

ino_t inode(int fd) {
  struct stat st {};
  fstat(fd, &st);
  return st.st_ino;
}

class BusyHandoffTest : public ::testing::Test {
 protected:
  BusyHandoffTest() {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    send_ = sv[0];
    recv_ = sv[1];
    make(kAfterUs, 0);
  }
  void make(uint64_t after_us, uint64_t evacuate_us) {
    busy_.reset();
    busy_ = std::make_unique<BusyHandoff>(
        send_, &queued_, after_us, evacuate_us, [this] { return may_move_.load(); },
        [this](std::vector<int>& fds) { fds.insert(fds.end(), parked_.begin(), parked_.end()); });
  }
  ~BusyHandoffTest() override {
    busy_.reset();  // joins the helper
    close(send_);
    close(recv_);
  }
  // The inodes of the sockets that arrived on the hand-off socket.
  std::vector<ino_t> received() {
    std::vector<ino_t> out;
    for (int fd; (fd = sandbox::receive_fd(recv_)) >= 0; close(fd)) out.push_back(inode(fd));
    return out;
  }
  // A request that runs for RUN while the parked connections FDS wait beside it.
  std::vector<int> request(const std::vector<int>& fds, std::chrono::milliseconds run,
                           const std::function<void()>& meanwhile = {}) {
    parked_ = fds;
    busy_->request_started(scoreboard::now_monotonic_us());
    if (meanwhile) meanwhile();
    std::this_thread::sleep_for(run);
    std::vector<int> handed;
    busy_->request_ended(handed);
    return handed;
  }
  int send_ = -1, recv_ = -1;
  std::atomic<int32_t> queued_{0};
  std::atomic<bool> may_move_{true};
  std::vector<int> parked_;  // the connections parked beside the request
  std::unique_ptr<BusyHandoff> busy_;
};

TEST_F(BusyHandoffTest, AShortRequestHandsNothingOn) {
  Pair waiting;
  ASSERT_EQ(write(waiting.web, "x", 1), 1);  // a request waits on the kept connection
  for (int i = 0; i < 100; i++) EXPECT_TRUE(request({waiting.here}, 1ms).empty());
  std::this_thread::sleep_for(300ms);  // a late helper would have sent by now
  EXPECT_TRUE(received().empty());
  EXPECT_EQ(queued_.load(), 0);
}

TEST_F(BusyHandoffTest, ALongRequestHandsOnTheConnectionsWithARequestWaiting) {
  Pair waiting, quiet, closed;
  ASSERT_EQ(write(waiting.web, "x", 1), 1);
  ASSERT_EQ(write(closed.web, "x", 1), 1);
  close(closed.web);  // the web server closed it: it stays, for its worker to close
  closed.web = -1;
  EXPECT_EQ(request({quiet.here, waiting.here, closed.here}, 500ms),
            std::vector<int>{waiting.here});
  EXPECT_EQ(received(), std::vector<ino_t>{inode(waiting.here)});
  EXPECT_EQ(queued_.load(), 1);
}

TEST_F(BusyHandoffTest, ARequestSentDuringTheLongOneGoesAtTheNextLook) {
  Pair first, later;
  ASSERT_EQ(write(first.web, "x", 1), 1);
  const auto handed = request({first.here, later.here}, 500ms, [&] {
    std::this_thread::sleep_for(300ms);  // past the first look
    ASSERT_EQ(write(later.web, "x", 1), 1);
  });
  EXPECT_EQ(handed, (std::vector<int>{first.here, later.here}));
  EXPECT_EQ(received(), (std::vector<ino_t>{inode(first.here), inode(later.here)}));
}

TEST_F(BusyHandoffTest, NothingMovesWhileNoOtherWorkerCanTakeThem) {
  may_move_ = false;  // no worker idle, or new connections queued
  Pair waiting;
  ASSERT_EQ(write(waiting.web, "x", 1), 1);
  EXPECT_TRUE(request({waiting.here}, 500ms).empty());
  EXPECT_TRUE(received().empty());
  may_move_ = true;
  EXPECT_EQ(request({waiting.here}, 500ms), std::vector<int>{waiting.here});
}

TEST_F(BusyHandoffTest, EachRequestHasItsOwnClock) {
  // Requests of 30 ms back to back for 300 ms: none ran 200 ms, so nothing moves, though the
  // first one's deadline passed long ago.
  Pair waiting;
  ASSERT_EQ(write(waiting.web, "x", 1), 1);
  for (int i = 0; i < 10; i++) EXPECT_TRUE(request({waiting.here}, 30ms).empty());
  EXPECT_TRUE(received().empty());
}

TEST_F(BusyHandoffTest, ARequestAboutToBeKilledSendsEveryKeptConnection) {
  // A pool of one worker (no busy hand-off) with request_terminate_timeout: near the deadline
  // the quiet connections go too, no other worker idle or not; one the web server closed stays.
  make(0, 3 * kAfterUs);
  may_move_ = false;
  Pair quiet, waiting, closed;
  ASSERT_EQ(write(waiting.web, "x", 1), 1);
  close(closed.web);
  closed.web = -1;
  EXPECT_TRUE(request({quiet.here, waiting.here, closed.here}, 400ms).empty());  // not yet
  EXPECT_TRUE(received().empty());
  EXPECT_EQ(request({quiet.here, waiting.here, closed.here}, 800ms),
            (std::vector<int>{quiet.here, waiting.here}));
  EXPECT_EQ(received(), (std::vector<ino_t>{inode(quiet.here), inode(waiting.here)}));
}

}  // namespace
}  // namespace php_pool::worker
