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
// So the worker loads the notifying program and sends the filter's notification fd to the
// manager over a socket made for it before the fork, then closes both: the worker keeps no way
// to answer its own notifications. This happens before PHP runs anything of the site's. The
// manager answers each notification with the policy's errno (or kills the caller) and writes the
// log line; it reads the script from the scoreboard (supervise.cpp). It never answers "continue":
// whatever happens to the manager, a denied syscall does not run (with no supervisor left the
// kernel fails such calls with ENOSYS).
//
// Syscalls that policies answer with `nolog` (clone3 -> ENOSYS, so that glibc falls back to
// clone, whose flags the filter can check) are decided by the kernel alone and cost nothing.
// Zend's signal handling is not involved at all: no signal is used.
#include "sandbox/enforce.hpp"

#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/log.hpp"
#include "sandbox/fd_passing.hpp"

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

namespace php_pool::sandbox {
namespace {

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

// Loads the notifying program and hands its listener to the supervisor. True when a filter is
// loaded; false (having logged why) when the caller must load the plain program instead.
bool load_supervised(const EnforceOptions& o) {
  auto warn = [](const std::string& why, const char* consequence) {
    log::write(log::Level::Warning, {}, "worker %d: %s: %s", int(getpid()), why.c_str(),
               consequence);
  };
  long fd = load_program(o.program->notify, true);
  if (fd < 0) {
    warn(std::string("seccomp user notifications unavailable: ") + strerror(int(-fd)),
         "denied syscalls will fail without being logged");
    return false;
  }
  bool sent = send_fd(o.supervisor, int(fd));
  close(int(fd));  // the worker keeps no copy: only the supervisor can answer
  if (!sent)
    warn("cannot pass the notification fd to the manager",
         "denied syscalls will fail with ENOSYS, without being logged");
  return true;
}

}  // namespace

bool enforce(const EnforceOptions& o, std::string& error) {
  if (!o.program || o.program->plain.empty()) {
    error = "no seccomp program";
    return false;
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    error = std::string("prctl(PR_SET_NO_NEW_PRIVS) failed: ") + strerror(errno);
    return false;
  }
  bool supervised = o.program->uses_notify && o.supervisor >= 0 && load_supervised(o);
  if (o.supervisor >= 0) close(o.supervisor);
  if (supervised) return true;
  long r = load_program(o.program->plain, false);
  if (r < 0) {
    error = std::string("cannot load the seccomp filter: ") + strerror(int(-r));
    return false;
  }
  return true;
}

}  // namespace php_pool::sandbox
