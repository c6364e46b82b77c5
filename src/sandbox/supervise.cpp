#include "sandbox/supervise.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <vector>

#include "common/log.hpp"
#include "sandbox/fd_passing.hpp"

namespace php_pool::sandbox {
namespace {

// Log lines: a burst of kLogBurst, then kLogRate a second; what is left out is counted in the
// next line.
constexpr double kLogBurst = 30;
constexpr double kLogRate = 10;

std::string comm_of(pid_t pid) {
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

bool is_listener(int fd) {
  char path[64], link[64] = {};
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, link, sizeof link - 1);
  return n > 0 && strcmp(link, "anon_inode:seccomp notify") == 0;
}

// The kernel's structure sizes can grow: use what it says, at least what we were built with.
size_t notif_size(bool response) {
  static seccomp_notif_sizes sizes = [] {
    seccomp_notif_sizes s{};
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &s) < 0) s = {};
    return s;
  }();
  return response ? std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp))
                  : std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif));
}

}  // namespace

int receive_listener(int sock) {
  int fd = receive_fd(sock);
  if (fd >= 0 && !is_listener(fd)) {
    close(fd);
    return -1;
  }
  return fd;
}

Supervisor::Supervisor(std::shared_ptr<const LoadedPolicy> policy, pid_t worker,
                       ScriptLookup script)
    : policy_(std::move(policy)), worker_(worker), script_(std::move(script)) {}

bool Supervisor::rate_ok() {
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

void Supervisor::answer(int fd) {
  std::vector<char> req_buf(notif_size(false)), resp_buf(notif_size(true));
  auto* req = reinterpret_cast<seccomp_notif*>(req_buf.data());
  // Readable means a notification was queued, so this does not block: when its caller has
  // died meanwhile, the kernel says ENOENT.
  if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) return;
  Action a = policy_->policy.evaluate(int(req->data.nr), req->data.args[0]);
  if (!a.denies()) a = Action::errno_(EPERM);  // cannot happen: the filter and policy agree
  const pid_t caller = pid_t(req->pid);
  // Still blocked in the call (so CALLER is still that process), not killed meanwhile.
  auto valid = [&] { return ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req->id) == 0; };
  if (rate_ok()) {
    ScriptInfo info = script_ ? script_() : ScriptInfo{};
    for (char& c : info.script)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    std::string where;
    if (caller != worker_) {
      std::string comm = valid() ? comm_of(caller) : "";
      where = " in its child process " + std::to_string(caller) +
              (comm.empty() ? "" : " (" + comm + ")");
    }
    std::string during = !info.known           ? " (script unknown)"
                         : info.script.empty() ? " while idle"
                                               : " while running script '" + info.script + "'";
    std::string outcome = a.kind == Action::Kind::Kill
                              ? "killed process " + std::to_string(caller)
                              : "the call failed with " + errno_name(a.error);
    std::string extra;
    if (suppressed_) {
      extra = " (" + std::to_string(suppressed_) + " earlier denials not logged: rate limit)";
      suppressed_ = 0;
    }
    log::Fields f;
    f.worker_pid = worker_;
    f.script = info.script.empty() ? nullptr : info.script.c_str();
    log::write(log::Level::Warning, f, "worker %d: seccomp policy '%s' denied %s()%s%s: %s%s",
               int(worker_), policy_->label.c_str(), syscall_name(int(req->data.nr)).c_str(),
               where.c_str(), during.c_str(), outcome.c_str(), extra.c_str());
  }
  if (a.kind == Action::Kind::Kill && valid()) kill(caller, SIGKILL);
  auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf.data());
  resp->id = req->id;
  resp->error = a.kind == Action::Kind::Errno ? -a.error : -EPERM;
  resp->val = 0;
  resp->flags = 0;  // never SECCOMP_USER_NOTIF_FLAG_CONTINUE
  ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp);
}

}  // namespace php_pool::sandbox
