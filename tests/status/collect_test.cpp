// Snapshot building from the scoreboard, and the listen queue of real TCP and unix sockets.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "status/collect.hpp"

namespace php_pool::status {
namespace {

using scoreboard::Scoreboard;
using scoreboard::Stage;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
};

// A listening TCP socket on 127.0.0.1 with BACKLOG, and its port.
int tcp_listener(int backlog, uint16_t& port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(fd, backlog) < 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

int tcp_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string temp_socket_path() {
  char dir[] = "/tmp/status-test-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  return std::string(dir) + "/s.sock";
}

int unix_listener(const std::string& path, int backlog) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(fd, backlog) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int unix_connect(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void remove_socket(const std::string& path) {
  unlink(path.c_str());
  rmdir(path.substr(0, path.rfind('/')).c_str());
}

TEST(ListenQueue, Tcp) {
  uint16_t port = 0;
  Fd l(tcp_listener(7, port));
  ASSERT_GE(l.fd, 0);
  unsigned cur = 99, max = 99;
  ASSERT_TRUE(listen_queue(l.fd, cur, max));
  EXPECT_EQ(cur, 0u);
  EXPECT_EQ(max, 7u);
  Fd c1(tcp_connect(port)), c2(tcp_connect(port)), c3(tcp_connect(port));
  ASSERT_GE(c3.fd, 0);
  ASSERT_TRUE(listen_queue(l.fd, cur, max));
  EXPECT_EQ(cur, 3u);
  EXPECT_EQ(max, 7u);
}

TEST(ListenQueue, Unix) {
  std::string path = temp_socket_path();
  Fd l(unix_listener(path, 9));
  ASSERT_GE(l.fd, 0);
  unsigned cur = 99, max = 99;
  ASSERT_TRUE(listen_queue(l.fd, cur, max));
  EXPECT_EQ(cur, 0u);
  EXPECT_EQ(max, 9u);
  Fd c1(unix_connect(path)), c2(unix_connect(path));
  ASSERT_GE(c2.fd, 0);
  ASSERT_TRUE(listen_queue(l.fd, cur, max));
  EXPECT_EQ(cur, 2u);
  EXPECT_EQ(max, 9u);
  remove_socket(path);
}

TEST(ListenQueue, NotAListener) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  unsigned cur = 99, max = 99;
  // A connected unix socket: sock_diag answers for it, but it is no listening socket.
  listen_queue(sv[0], cur, max);
  close(sv[0]);
  close(sv[1]);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_FALSE(listen_queue(fd, cur, max));
  EXPECT_EQ(cur, 0u);
  EXPECT_EQ(max, 0u);
  close(fd);
  EXPECT_FALSE(listen_queue(-1, cur, max));
}

void set_strings(scoreboard::Slot& s, const char* method, const char* uri, const char* query,
                 const char* script, const char* user, uint64_t clen) {
  Scoreboard::begin_request(s, method, uri, query, script, user, clen,
                            scoreboard::now_monotonic_us() - 2000000,
                            scoreboard::now_realtime_us() - 2000000);
}

TEST(FromScoreboard, CountsTheNewestGenerationAndListsEverySlot) {
  Scoreboard board(8);
  auto& c = board.counters();
  c.start_time_us = scoreboard::now_realtime_us() - 10 * 1000000ull;
  c.start_mono_us = scoreboard::now_monotonic_us() - 10 * 1000000ull;
  c.accepted_conn = 42;
  c.slow_requests = 3;
  c.max_children_reached = 2;
  c.max_active_processes = 1;

  // generation 1: draining (one busy); generation 2: current.
  int old_busy = board.claim(1001, 1);
  board.slot(old_busy).stage = Stage::Running;
  int idle = board.claim(2001, 2);
  board.slot(idle).stage = Stage::Idle;
  board.slot(idle).requests = 5;
  Scoreboard::end_request(board.slot(idle), 4000, 1000, 4 << 20);
  int starting = board.claim(2002, 2);  // Starting counts as idle
  int running = board.claim(2003, 2);
  set_strings(board.slot(running), "POST", "/x.php", "a=b", "/srv/x.php", "bob", 12);
  board.slot(running).stage = Stage::Running;
  int reading = board.claim(2004, 2);
  board.slot(reading).stage = Stage::ReadingHeaders;
  (void)starting;

  uint16_t port = 0;
  Fd l(tcp_listener(5, port));
  Fd c1(tcp_connect(port)), c2(tcp_connect(port));
  Snapshot s = from_scoreboard(board, "site", "dynamic", {l.fd});

  EXPECT_EQ(s.pool, "site");
  EXPECT_EQ(s.process_manager, "dynamic");
  EXPECT_EQ(s.start_time, int64_t(c.start_time_us / 1000000));
  EXPECT_GE(s.start_since, 9u);
  EXPECT_LE(s.start_since, 11u);
  EXPECT_EQ(s.accepted_conn, 42u);
  EXPECT_EQ(s.slow_requests, 3u);
  EXPECT_EQ(s.max_children_reached, 2u);
  EXPECT_EQ(s.idle, 2u);
  EXPECT_EQ(s.active, 2u);
  EXPECT_EQ(s.total, 4u);
  EXPECT_EQ(s.max_active, 2u);
  EXPECT_EQ(c.max_active_processes.load(), 2u);
  EXPECT_EQ(s.listen_queue, 2u);
  EXPECT_EQ(s.listen_queue_len, 5u);
  EXPECT_EQ(s.max_listen_queue, 2u);
  EXPECT_EQ(c.max_listen_queue.load(), 2u);
  ASSERT_EQ(s.processes.size(), 5u);

  const ProcessRow* idle_row = nullptr;
  const ProcessRow* run_row = nullptr;
  for (auto& p : s.processes) {
    if (p.pid == 2001) idle_row = &p;
    if (p.pid == 2003) run_row = &p;
  }
  ASSERT_TRUE(idle_row && run_row);
  EXPECT_EQ(idle_row->state, "Idle");
  EXPECT_EQ(idle_row->requests, 6u);
  EXPECT_EQ(idle_row->request_duration, 4000u);
  EXPECT_DOUBLE_EQ(idle_row->last_request_cpu, 25.0);
  EXPECT_EQ(idle_row->last_request_memory, 4u << 20);
  EXPECT_EQ(run_row->state, "Running");
  EXPECT_EQ(run_row->request_method, "POST");
  EXPECT_EQ(run_row->request_uri, "/x.php");
  EXPECT_EQ(run_row->query_string, "a=b");
  EXPECT_EQ(run_row->script, "/srv/x.php");
  EXPECT_EQ(run_row->user, "bob");
  EXPECT_EQ(run_row->content_length, 12u);
  EXPECT_GE(run_row->request_duration, 2000000u);  // running: measured from its start
  EXPECT_LT(run_row->request_duration, 60000000u);
  EXPECT_EQ(run_row->last_request_cpu, 0.0);  // shown only while idle, as php-fpm
  EXPECT_EQ(run_row->last_request_memory, 0u);

  // The maximum stays when the queue empties.
  c1.reset();
  c2.reset();
  Fd a1(accept(l.fd, nullptr, nullptr)), a2(accept(l.fd, nullptr, nullptr));
  s = from_scoreboard(board, "site", "dynamic", {l.fd});
  EXPECT_EQ(s.listen_queue, 0u);
  EXPECT_EQ(s.max_listen_queue, 2u);
}

TEST(FromScoreboard, EmptyBoard) {
  Scoreboard board(4);
  Snapshot s = from_scoreboard(board, "www", "static", {});
  EXPECT_EQ(s.total, 0u);
  EXPECT_EQ(s.idle, 0u);
  EXPECT_EQ(s.active, 0u);
  EXPECT_TRUE(s.processes.empty());
}

// Every worker can write anywhere in the shared map (a script with FFI, or with
// process.dumpable = yes through /proc/self/mem): nothing written there may make the manager,
// which runs as root, read or write past it.
TEST(FromScoreboard, HostileWritesToTheMapStayInsideIt) {
  Scoreboard board(4);
  auto* first = reinterpret_cast<unsigned char*>(&board.counters());
  auto* end = reinterpret_cast<unsigned char*>(&board.slot(3) + 1);
  memset(first, 0xff, size_t(end - first));  // header and every slot: garbage, none free
  EXPECT_EQ(board.size(), 4u);
  EXPECT_EQ(board.snapshot().size(), 4u);  // read within the table: no crash
  EXPECT_EQ(board.claim(1234, 1), -1);     // full: no slot past the table
}

}  // namespace
}  // namespace php_pool::status
