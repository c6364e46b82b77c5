#include "status/collect.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace php_pool::status {

namespace {

bool tcp_queue(int fd, unsigned& current, unsigned& max) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) return false;
  if (info.tcpi_state != TCP_LISTEN) return false;
  // For a listening socket the kernel reports the accept queue in these two fields.
  current = info.tcpi_unacked;
  max = info.tcpi_sacked;
  return true;
}

bool unix_queue(int fd, unsigned& current, unsigned& max) {
  struct stat st;
  if (fstat(fd, &st) < 0) return false;
  int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return false;
  timeval tv{1, 0};
  setsockopt(nl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  struct {
    nlmsghdr nlh;
    unix_diag_req req;
  } msg;
  memset(&msg, 0, sizeof msg);
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST;
  msg.nlh.nlmsg_seq = 1;
  msg.req.sdiag_family = AF_UNIX;
  msg.req.udiag_states = 1u << TCP_LISTEN;
  msg.req.udiag_ino = uint32_t(st.st_ino);
  msg.req.udiag_show = UDIAG_SHOW_RQLEN;
  msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0u;  // INET_DIAG_NOCOOKIE: any socket

  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  bool found = false;
  if (sendto(nl, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) ==
      ssize_t(sizeof msg)) {
    alignas(nlmsghdr) char buf[8192];
    ssize_t n = recv(nl, buf, sizeof buf, 0);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); n > 0 && NLMSG_OK(h, size_t(n));
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) break;
      if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
      auto* m = static_cast<unix_diag_msg*>(NLMSG_DATA(h));
      if (m->udiag_ino != msg.req.udiag_ino) continue;
      int alen = int(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
      for (auto* a = reinterpret_cast<rtattr*>(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        if (a->rta_type != UNIX_DIAG_RQLEN || RTA_PAYLOAD(a) < sizeof(unix_diag_rqlen)) continue;
        unix_diag_rqlen rq;
        memcpy(&rq, RTA_DATA(a), sizeof rq);
        // For a listening socket: connections waiting to be accepted, and the backlog limit.
        current = rq.udiag_rqueue;
        max = rq.udiag_wqueue;
        found = true;
      }
      break;
    }
  }
  close(nl);
  return found;
}

void raise_to(std::atomic<uint32_t>& counter, uint32_t value) {
  uint32_t seen = counter.load(std::memory_order_relaxed);
  while (value > seen && !counter.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

bool listen_queue(int fd, unsigned& current, unsigned& max) {
  current = max = 0;
  int domain = 0;
  socklen_t len = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) return false;
  if (domain == AF_INET || domain == AF_INET6) return tcp_queue(fd, current, max);
  if (domain == AF_UNIX) return unix_queue(fd, current, max);
  return false;
}

ProcessRow process_row(const scoreboard::SlotView& v, uint64_t now_real_us, uint64_t now_mono_us) {
  using scoreboard::Stage;
  ProcessRow p;
  p.pid = v.pid;
  p.state = scoreboard::stage_name(v.stage);
  p.start_time = int64_t(v.start_time_us / 1000000);
  p.start_since = now_real_us > v.start_time_us ? (now_real_us - v.start_time_us) / 1000000 : 0;
  p.requests = v.requests;
  bool idle = v.stage == Stage::Idle;
  if (!idle && v.request_start_us != 0) {
    p.request_duration = now_mono_us > v.request_start_us ? now_mono_us - v.request_start_us : 0;
  } else {
    p.request_duration = v.last_duration_us;
  }
  p.request_method = v.method;
  p.request_uri = v.uri;
  p.query_string = v.query;
  p.content_length = v.content_length;
  p.user = v.user;
  p.script = v.script;
  // As php-fpm: the last request's figures are shown only while the process is idle.
  if (idle) {
    p.last_request_cpu =
        v.last_duration_us ? double(v.last_cpu_us) / double(v.last_duration_us) * 100.0 : 0.0;
    p.last_request_memory = v.last_memory;
  }
  return p;
}

Snapshot from_scoreboard(scoreboard::Scoreboard& board, const std::string& pool,
                         const std::string& process_manager, const std::vector<int>& listen_fds) {
  using scoreboard::Stage;
  Snapshot s;
  s.pool = pool;
  s.process_manager = process_manager;
  uint64_t now_real = scoreboard::now_realtime_us();
  uint64_t now_mono = scoreboard::now_monotonic_us();
  auto& c = board.counters();
  uint64_t start_real = c.start_time_us.load(std::memory_order_relaxed);
  uint64_t start_mono = c.start_mono_us.load(std::memory_order_relaxed);
  s.start_time = int64_t(start_real / 1000000);
  if (start_mono && now_mono > start_mono) {
    s.start_since = (now_mono - start_mono) / 1000000;
  } else if (start_real && now_real > start_real) {
    s.start_since = (now_real - start_real) / 1000000;
  }
  s.accepted_conn = c.accepted_conn.load(std::memory_order_relaxed);
  s.slow_requests = c.slow_requests.load(std::memory_order_relaxed);
  s.max_children_reached = c.max_children_reached.load(std::memory_order_relaxed);

  for (int fd : listen_fds) {
    unsigned cur = 0, max = 0;
    if (listen_queue(fd, cur, max)) {
      s.listen_queue += cur;
      s.listen_queue_len += max;
    }
  }
  raise_to(c.max_listen_queue, s.listen_queue);
  s.max_listen_queue = std::max<unsigned>(c.max_listen_queue.load(), s.listen_queue);

  std::vector<scoreboard::SlotView> slots = board.snapshot();
  // The rows' clock is read after the slots: a request that started after now_mono above (the
  // listen-queue queries take a netlink round trip) would otherwise show a duration of 0.
  const uint64_t rows_real = scoreboard::now_realtime_us();
  const uint64_t rows_mono = scoreboard::now_monotonic_us();
  uint32_t newest = 0;
  for (auto& v : slots) newest = std::max(newest, v.generation);
  s.processes.reserve(slots.size());
  for (auto& v : slots) {
    if (v.generation == newest) {
      s.total++;
      if (v.stage == Stage::Idle || v.stage == Stage::Starting) {
        s.idle++;
      } else {
        s.active++;
      }
    }
    s.processes.push_back(process_row(v, rows_real, rows_mono));
  }
  raise_to(c.max_active_processes, s.active);
  s.max_active = std::max<unsigned>(c.max_active_processes.load(), s.active);
  return s;
}

}  // namespace php_pool::status
