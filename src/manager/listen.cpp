#include "manager/listen.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"
#include "systemd/listen_fds.hpp"

namespace php_pool::manager {
namespace {

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int make_socket(int family) {
  return socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

// The owner and group a unix socket that php-pool binds itself gets (listen.owner/group, else
// user/group; only as root). An unknown name stops the start, as in php-fpm: a socket left to
// root would turn every request into a 502.
bool socket_owner(const config::PoolConfig& pool, uid_t& uid, gid_t& gid, std::string& error) {
  uid = uid_t(-1);
  gid = gid_t(-1);
  if (geteuid() != 0) return true;
  auto at = [&](const char* directive) {
    const config::Source* s = pool.where(directive);
    return s ? config::Diagnostic{*s, ""}.format() : std::string();
  };
  const char* owner_directive = pool.listen_owner.empty() ? "user" : "listen.owner";
  const std::string& owner = pool.listen_owner.empty() ? pool.user : pool.listen_owner;
  if (!owner.empty()) {
    passwd* pw = getpwnam(owner.c_str());
    if (!pw) {
      error = at(owner_directive) + "cannot get uid for user '" + owner + "'";
      return false;
    }
    uid = pw->pw_uid;
  }
  const char* group_directive = pool.listen_group.empty() ? "group" : "listen.group";
  const std::string& group = pool.listen_group.empty() ? pool.group : pool.listen_group;
  if (!group.empty()) {
    struct group* gr = getgrnam(group.c_str());
    if (!gr) {
      error = at(group_directive) + "cannot get gid for group '" + group + "'";
      return false;
    }
    gid = gr->gr_gid;
  }
  return true;
}

bool bind_unix(const config::PoolConfig& pool, const std::string& path, ListenSet& out,
               std::string& error) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    error = "listen path '" + path + "' is too long";
    return false;
  }
  memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  uid_t uid;
  gid_t gid;
  if (!socket_owner(pool, uid, gid, error)) return false;
  int fd = make_socket(AF_UNIX);
  if (fd < 0) {
    error = std::string("socket() failed: ") + strerror(errno);
    return false;
  }
  // A socket file left by a previous run: replace it unless something still listens there.
  if (connect(fd, (sockaddr*)&sa, sizeof sa) == 0) {
    close(fd);
    error = "another process already listens on '" + path + "'";
    return false;
  }
  close(fd);
  unlink(path.c_str());
  fd = make_socket(AF_UNIX);
  mode_t old = umask(0777);  // no window where the socket is open to all
  int r = bind(fd, (sockaddr*)&sa, sizeof sa);
  umask(old);
  if (r < 0) {
    error = "cannot bind '" + path + "': " + strerror(errno);
    close(fd);
    return false;
  }
  mode_t mode = 0660;
  if (!pool.listen_mode.empty()) mode = mode_t(strtoul(pool.listen_mode.c_str(), nullptr, 8));
  if (chmod(path.c_str(), mode) < 0 ||
      ((uid != uid_t(-1) || gid != gid_t(-1)) && chown(path.c_str(), uid, gid) < 0)) {
    error = "cannot set owner/mode of '" + path + "': " + strerror(errno);
    close(fd);
    return false;
  }
  if (listen(fd, pool.listen_backlog) < 0) {
    error = "listen() on '" + path + "' failed: " + strerror(errno);
    close(fd);
    return false;
  }
  out.listeners.push_back({fd, false});
  out.unix_path = path;
  return true;
}

bool bind_inet(const config::PoolConfig& pool, const std::string& spec, ListenSet& out,
               std::string& error) {
  std::string host, port;
  if (all_digits(spec)) {
    port = spec;
  } else if (!spec.empty() && spec[0] == '[') {
    size_t close_br = spec.find("]:");
    if (close_br == std::string::npos) {
      error = "listen '" + spec + "': expected [address]:port";
      return false;
    }
    host = spec.substr(1, close_br - 1);
    port = spec.substr(close_br + 2);
  } else {
    size_t colon = spec.rfind(':');
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
  }
  if (!all_digits(port) || std::stoul(port) > 65535) {
    error = "listen '" + spec + "': invalid port";
    return false;
  }
  uint16_t p = uint16_t(std::stoul(port));
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  if (host.empty() || host == "*" || host.find(':') != std::string::npos) {
    // A port alone listens on every address, IPv6 and IPv4 (dual stack), as php-fpm does.
    auto* s6 = (sockaddr_in6*)&ss;
    s6->sin6_family = family = AF_INET6;
    s6->sin6_port = htons(p);
    s6->sin6_addr = in6addr_any;
    if (!host.empty() && host != "*" && inet_pton(AF_INET6, host.c_str(), &s6->sin6_addr) != 1) {
      error = "listen '" + spec + "': invalid IPv6 address";
      return false;
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = (sockaddr_in*)&ss;
    s4->sin_family = family = AF_INET;
    s4->sin_port = htons(p);
    if (host == "localhost") host = "127.0.0.1";
    if (inet_pton(AF_INET, host.c_str(), &s4->sin_addr) != 1) {
      error = "listen '" + spec + "': invalid IPv4 address";
      return false;
    }
    len = sizeof(sockaddr_in);
  }
  int fd = make_socket(family);
  if (fd < 0 && family == AF_INET6 && host.empty()) {
    // No IPv6 on this host: fall back to IPv4 any.
    auto* s4 = (sockaddr_in*)&ss;
    memset(&ss, 0, sizeof ss);
    s4->sin_family = family = AF_INET;
    s4->sin_port = htons(p);
    len = sizeof(sockaddr_in);
    fd = make_socket(family);
  }
  if (fd < 0) {
    error = std::string("socket() failed: ") + strerror(errno);
    return false;
  }
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (bind(fd, (sockaddr*)&ss, len) < 0 || listen(fd, pool.listen_backlog) < 0) {
    error = "cannot listen on '" + spec + "': " + strerror(errno);
    close(fd);
    return false;
  }
  out.listeners.push_back({fd, false});
  return true;
}

// Workers block in accept(): the socket must not be non-blocking (a file status flag that
// systemd's NonBlocking= or a previous owner may have set).
void make_blocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

}  // namespace

bool open_listeners(const config::PoolConfig& pool, ListenSet& out, std::string& error) {
  std::vector<systemd::InheritedSocket> inherited;
  if (systemd::inherited_sockets(inherited, error)) {
    out.inherited = true;
    for (auto& s : inherited) {
      make_blocking(s.fd);
      out.listeners.push_back({s.fd, s.name == "status"});
    }
    if (!pool.listen.empty())
      log::write(log::Level::Notice, {},
                 "using %zu socket(s) from systemd; 'listen = %s' is ignored", inherited.size(),
                 pool.listen.c_str());
    return true;
  }
  if (!error.empty()) return false;
  bool ok = (!pool.listen.empty() && pool.listen[0] == '/')
                ? bind_unix(pool, pool.listen, out, error)
                : bind_inet(pool, pool.listen, out, error);
  if (!ok) return false;
  if (!pool.pm_status_listen.empty()) {
    ListenSet status;
    ok = (pool.pm_status_listen[0] == '/') ? bind_unix(pool, pool.pm_status_listen, status, error)
                                           : bind_inet(pool, pool.pm_status_listen, status, error);
    if (!ok) return false;
    for (auto& l : status.listeners) out.listeners.push_back({l.fd, true});
  }
  return true;
}

namespace {

// A listening unix socket's accept queue, from the kernel's sock_diag (UDIAG_SHOW_RQLEN:
// rqueue is the number of waiting connections, wqueue the backlog limit).
bool unix_listen_queue(int fd, unsigned& current, unsigned& max) {
  struct stat st;
  if (fstat(fd, &st) < 0) return false;
  int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (nl < 0) return false;
  struct {
    nlmsghdr nlh;
    unix_diag_req req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST;
  msg.req.sdiag_family = AF_UNIX;
  msg.req.udiag_states = 1 << 10;  // TCP_LISTEN
  msg.req.udiag_ino = unsigned(st.st_ino);
  msg.req.udiag_show = UDIAG_SHOW_RQLEN;
  msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0U;  // no cookie: look up by inode
  bool ok = false;
  if (send(nl, &msg, sizeof msg, 0) == ssize_t(sizeof msg)) {
    alignas(nlmsghdr) char buf[1024];
    ssize_t n = recv(nl, buf, sizeof buf, 0);
    auto* h = reinterpret_cast<nlmsghdr*>(buf);
    if (n > 0 && NLMSG_OK(h, size_t(n)) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
      auto* m = static_cast<unix_diag_msg*>(NLMSG_DATA(h));
      int len = int(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
      for (auto* a = reinterpret_cast<rtattr*>(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == UNIX_DIAG_RQLEN) {
          auto* q = static_cast<unix_diag_rqlen*>(RTA_DATA(a));
          current = q->udiag_rqueue;
          max = q->udiag_wqueue;
          ok = true;
        }
      }
    }
  }
  close(nl);
  return ok;
}

}  // namespace

bool listen_queue(int fd, unsigned& current, unsigned& max) {
  current = max = 0;
  sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (sockaddr*)&ss, &sl) == 0 && ss.ss_family == AF_UNIX)
    return unix_listen_queue(fd, current, max);
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) return false;
  // For a listening TCP socket the kernel reports the accept queue in these two fields.
  current = info.tcpi_unacked;
  max = info.tcpi_sacked;
  return true;
}

}  // namespace php_pool::manager
