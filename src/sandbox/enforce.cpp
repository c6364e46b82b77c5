// How a denied syscall becomes visible: seccomp user notifications answered by a supervisor.
//
// Requirements: the script (and any program it runs) must see an ordinary error (EPERM) from a
// denied syscall, and the pool log must name the pool, the worker, the script and the syscall.
// The options, and why this one:
//
// - SECCOMP_RET_ERRNO alone: right for programs, but nothing is reported (the kernel's audit
//   log, when there is one, is not the pool log and knows nothing of scripts).
// - SECCOMP_RET_TRAP and a SIGSYS handler in the worker: reports the worker's own calls, but the
//   handler is reset by execve, so every program the site runs (sendmail, convert, git, ...)
//   would be *killed* by SIGSYS on a denied call instead of seeing EPERM, and nothing would be
//   logged for it. The handler also runs in signal context (glibc's fork() holds the malloc
//   locks when its clone is refused), so it could not use the log code.
// - SECCOMP_RET_USER_NOTIF (Linux 5.0): the caller sleeps until a supervisor answers; the
//   answer is the errno (or the supervisor kills it). It covers the worker and every process
//   it starts (the filter is inherited through fork and execve), and the supervisor runs in
//   ordinary context. The supervisor must not live in the worker's address space: a script
//   with native code execution (FFI, a memory bug) could make an in-process supervisor answer
//   "continue the syscall" and so bypass the policy.
//
// So: before loading its filter the worker forks a *helper* process, which confines itself
// with the same policy decided in the kernel alone (Program::plain: errno/kill, no
// notifications) and then receives the filter's notification fd over a socketpair; the worker
// keeps no copy of that fd. The helper answers each notification with the policy's errno (or
// kills the caller for `kill`) and writes the log line. It never answers "continue": whatever
// happens to the helper, a denied syscall does not run (with the helper gone the kernel fails
// such calls with ENOSYS). The script's name lives in the worker's memory, so a small thread
// in the worker (started after the filter, so it is confined too) answers the helper's
// "which script?" query over the same socketpair; when the caller is the worker itself, that
// read happens while the worker is blocked in the denied call.
//
// Syscalls that policies answer with `nolog` (clone3 -> ENOSYS, so that glibc falls back to
// clone, whose flags the filter can check) are decided by the kernel alone and cost nothing.
// Zend's signal handling is not involved at all: no signal is used.
#include "sandbox/enforce.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <vector>

#include "common/log.hpp"

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

namespace php_pool::sandbox {
namespace {

constexpr size_t kMaxScript = 1024;
constexpr int kQueryTimeoutMs = 1000;
// Log lines: a burst of kLogBurst, then kLogRate a second (a script looping on a denied call
// must not flood the log); what is left out is counted in the next line.
constexpr double kLogBurst = 30;
constexpr double kLogRate = 10;

long seccomp_call(unsigned op, unsigned long flags, void* args) {
  return syscall(SYS_seccomp, op, flags, args);
}

// Loads PROG on the calling thread (and, with tsync, every thread). Returns the listener fd
// (with listener), 0, or -errno.
long load_program(const std::vector<sock_filter>& prog, bool listener) {
  sock_fprog fp{static_cast<unsigned short>(prog.size()), const_cast<sock_filter*>(prog.data())};
  unsigned long flags = SECCOMP_FILTER_FLAG_TSYNC;
  if (listener) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  long r = seccomp_call(SECCOMP_SET_MODE_FILTER, flags, &fp);
  if (r < 0 && errno == EINVAL && listener)  // before Linux 5.7: no TSYNC with a listener
    r = seccomp_call(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fp);
  if (r < 0) return -errno;
  if (!listener && r > 0) return -EAGAIN;  // TSYNC: thread r could not be synchronised
  return r;
}

bool send_fd(int sock, int fd) {
  char tag = 'L';
  iovec iov{&tag, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = buf;
  m.msg_controllen = sizeof buf;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t r;
  do r = sendmsg(sock, &m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == 1;
}

int receive_fd(int sock) {
  char tag = 0;
  iovec iov{&tag, 1};
  alignas(cmsghdr) char buf[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = buf;
  m.msg_controllen = sizeof buf;
  ssize_t r;
  do r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r != 1 || tag != 'L') return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&m);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

// --- the worker's script thread -------------------------------------------------------

struct ThreadArgs {
  int sock;
  ScriptProvider script;
};

// Query: 'Q' + 4-byte sequence number. Reply: 'S' + the same 4 bytes + the script's bytes.
// When the denied caller is the worker itself, its main thread is blocked in that call while
// the script is read. When it is a process the worker started, the main thread runs on (usually
// waiting for that process); the read is then a best effort: at most 1024 bytes are copied, and
// the helper replaces control characters.
void* script_thread(void* p) {
  ThreadArgs a = *static_cast<ThreadArgs*>(p);
  delete static_cast<ThreadArgs*>(p);
  for (;;) {
    char q[8];
    ssize_t n = recv(a.sock, q, sizeof q, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return nullptr;
    if (n != 5 || q[0] != 'Q') continue;
    char out[5 + kMaxScript];
    out[0] = 'S';
    memcpy(out + 1, q + 1, 4);
    const char* s = a.script ? a.script() : nullptr;
    size_t len = s ? strnlen(s, kMaxScript) : 0;
    if (len) memcpy(out + 5, s, len);
    send(a.sock, out, 5 + len, MSG_NOSIGNAL);
  }
}

bool start_script_thread(int sock, ScriptProvider script) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 128 * 1024);
  // No signal may land on this thread: process-directed signals (SIGTERM, Zend's SIGPROF
  // timeout) must reach the worker's main thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  auto* args = new ThreadArgs{sock, script};
  int r = pthread_create(&t, &attr, script_thread, args);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  if (r != 0) {
    delete args;
    errno = r;
    return false;
  }
  return true;
}

// --- the helper ------------------------------------------------------------------------

class Helper {
 public:
  Helper(const EnforceOptions& o, pid_t worker, int sock) : o_(o), worker_(worker), sock_(sock) {}

  [[noreturn]] void run() {
    prctl(PR_SET_NAME, "php-pool-sbx");
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != worker_) _exit(0);
    reset_signals();
    close_listening_sockets();
    seccomp_notif_sizes sizes{};
    if (seccomp_call(SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) _exit(1);
    // Confined before it reads anything.
    if (load_program(o_.program->plain, false) < 0) _exit(1);
    int fd = receive_fd(sock_);
    if (fd < 0) _exit(0);
    std::vector<char> req_buf(std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)));
    std::vector<char> resp_buf(
        std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)));
    auto* req = reinterpret_cast<seccomp_notif*>(req_buf.data());
    auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf.data());
    for (;;) {
      pollfd p[2] = {{fd, POLLIN, 0}, {sock_, POLLIN, 0}};
      if (poll(p, 2, -1) < 0) {
        if (errno == EINTR) continue;
        _exit(1);
      }
      if (p[1].revents) drain_worker();  // exits when the worker is gone
      if (p[0].revents & POLLIN) {
        memset(req_buf.data(), 0, req_buf.size());
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) continue;  // e.g. the caller died
        Action a = handle(*req);
        memset(resp_buf.data(), 0, resp_buf.size());
        resp->id = req->id;
        resp->error = a.kind == Action::Kind::Errno ? -a.error : -EPERM;
        resp->val = 0;
        resp->flags = 0;  // never SECCOMP_USER_NOTIF_FLAG_CONTINUE
        ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
      } else if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
        _exit(0);  // no process uses the filter any more
      }
    }
  }

 private:
  static void reset_signals() {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
      if (s != SIGKILL && s != SIGSTOP) sigaction(s, &sa, nullptr);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
  }

  // The worker's FastCGI sockets must not stay open in here.
  void close_listening_sockets() const {
    std::vector<int> fds;
    if (DIR* d = opendir("/proc/self/fd")) {
      while (dirent* e = readdir(d))
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9') fds.push_back(atoi(e->d_name));
      closedir(d);
    } else {  // chroot without /proc
      for (int fd = 3; fd < 1024; fd++) fds.push_back(fd);
    }
    for (int fd : fds) {
      if (fd <= 2 || fd == sock_) continue;
      int v = 0;
      socklen_t len = sizeof v;
      if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v) close(fd);
    }
  }

  void drain_worker() {
    char buf[8];
    ssize_t n = recv(sock_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) _exit(0);
    if (n == 1 && buf[0] == 'N') no_script_thread_ = true;
  }

  // The worker's script in progress ("" between requests); false when it cannot be known.
  bool ask_script(std::string& script) {
    script.clear();
    if (no_script_thread_) return false;
    uint32_t seq = ++seq_;
    char q[5] = {'Q'};
    memcpy(q + 1, &seq, 4);
    if (send(sock_, q, sizeof q, MSG_NOSIGNAL) != sizeof q) return false;
    timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
      timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (waited >= kQueryTimeoutMs) return false;
      pollfd p{sock_, POLLIN, 0};
      if (poll(&p, 1, int(kQueryTimeoutMs - waited)) <= 0) continue;
      char buf[5 + kMaxScript];
      ssize_t n = recv(sock_, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) return false;
      if (n < 5 || buf[0] != 'S' || memcmp(buf + 1, &seq, 4) != 0) continue;  // a stale reply
      script.assign(buf + 5, size_t(n - 5));
      for (char& c : script)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
      return true;
    }
  }

  static std::string comm_of(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", int(pid));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "";
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return "";
    std::string s(buf, size_t(n));
    while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
    for (char& c : s)
      if (static_cast<unsigned char>(c) < 0x20) c = '?';
    return s;
  }

  // True when this denial may be logged (see kLogBurst).
  bool rate_ok() {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double t = double(now.tv_sec) + double(now.tv_nsec) / 1e9;
    tokens_ = last_ == 0 ? kLogBurst : std::min(kLogBurst, tokens_ + (t - last_) * kLogRate);
    last_ = t;
    if (tokens_ < 1) {
      suppressed_++;
      return false;
    }
    tokens_ -= 1;
    return true;
  }

  Action handle(const seccomp_notif& req) {
    Action a = o_.policy->evaluate(req.data.nr, req.data.args[0]);
    if (!a.denies()) a = Action::errno_(EPERM);  // cannot happen: the filter and policy agree
    if (!rate_ok()) {
      if (a.kind == Action::Kind::Kill) kill(req.pid, SIGKILL);
      return a;
    }
    std::string script;
    bool known = ask_script(script);
    std::string name = syscall_name(int(req.data.nr));
    std::string where;
    if (pid_t(req.pid) != worker_) {
      std::string comm = comm_of(pid_t(req.pid));
      where = " in its child process " + std::to_string(req.pid) +
              (comm.empty() ? "" : " (" + comm + ")");
    }
    std::string during = !known           ? " (script unknown)"
                         : script.empty() ? " while idle"
                                          : " while running script '" + script + "'";
    std::string outcome = a.kind == Action::Kind::Kill
                              ? "killed process " + std::to_string(req.pid)
                              : "the call failed with " + errno_name(a.error);
    std::string extra;
    if (suppressed_) {
      extra = " (" + std::to_string(suppressed_) + " earlier denials not logged: rate limit)";
      suppressed_ = 0;
    }
    log::Fields f;
    f.worker_pid = worker_;
    f.script = script.empty() ? nullptr : script.c_str();
    log::write(log::Level::Warning, f, "worker %d: seccomp policy '%s' denied %s()%s%s: %s%s",
               int(worker_), o_.label.c_str(), name.c_str(), where.c_str(), during.c_str(),
               outcome.c_str(), extra.c_str());
    if (a.kind == Action::Kind::Kill) kill(req.pid, SIGKILL);
    return a;
  }

  const EnforceOptions& o_;
  pid_t worker_;
  int sock_;
  uint32_t seq_ = 0;
  bool no_script_thread_ = false;
  double tokens_ = 0;
  double last_ = 0;
  unsigned long suppressed_ = 0;
};

// Loads the notifying program and hands its listener to a new helper. True when a filter is
// loaded; false (having logged why) when the caller must load the plain program instead.
bool load_supervised(const EnforceOptions& o) {
  const pid_t worker = getpid();
  auto warn = [&](const std::string& why, const char* consequence) {
    log::write(log::Level::Warning, {}, "worker %d: %s: %s", int(worker), why.c_str(), consequence);
  };
  const char* unlogged = "denied syscalls will fail without being logged";
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    warn(std::string("socketpair: ") + strerror(errno), unlogged);
    return false;
  }
  pid_t helper = fork();
  if (helper < 0) {
    warn(std::string("cannot start the seccomp helper: fork: ") + strerror(errno), unlogged);
    close(sv[0]);
    close(sv[1]);
    return false;
  }
  if (helper == 0) {
    close(sv[0]);
    Helper(o, worker, sv[1]).run();
  }
  close(sv[1]);
  long fd = load_program(o.program->notify, true);
  if (fd < 0) {
    warn(std::string("seccomp user notifications unavailable: ") + strerror(int(-fd)), unlogged);
    close(sv[0]);  // the helper sees EOF and leaves
    waitpid(helper, nullptr, 0);
    return false;
  }
  bool sent = send_fd(sv[0], int(fd));
  close(int(fd));  // the worker keeps no copy: only the helper can answer
  if (!sent) {
    close(sv[0]);
    warn("cannot pass the notification fd to the seccomp helper",
         "denied syscalls will fail with ENOSYS, without being logged");
    return true;
  }
  if (!start_script_thread(sv[0], o.script)) {
    warn(std::string("cannot start the sandbox thread: ") + strerror(errno),
         "log lines will not name the script");
    send(sv[0], "N", 1, MSG_NOSIGNAL);  // sv[0] stays open: the helper goes on
  }
  return true;
}

}  // namespace

bool enforce(const EnforceOptions& o, std::string& error) {
  if (!o.policy || !o.program || o.program->plain.empty()) {
    error = "no seccomp program";
    return false;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    error = std::string("prctl(PR_SET_NO_NEW_PRIVS) failed: ") + strerror(errno);
    return false;
  }
  if (o.program->uses_notify && load_supervised(o)) return true;
  long r = load_program(o.program->plain, false);
  if (r < 0) {
    error = std::string("cannot load the seccomp filter: ") + strerror(int(-r));
    return false;
  }
  return true;
}

}  // namespace php_pool::sandbox
