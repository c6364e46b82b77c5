// The kernel's behaviour under the shipped policies: a forked child confines itself exactly as a
// worker does (sandbox::enforce) and reports what its syscalls returned; the parent checks the
// results and the log lines the supervisor wrote.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>

#include "build-config.h"
#include "common/log.hpp"
#include "sandbox/enforce.hpp"
#include "sandbox/policy.hpp"
#include "sandbox/supervise.hpp"

using namespace php_pool;
using namespace php_pool::sandbox;

namespace {

const char* kScript = "/srv/www/kernel-test.php";

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string err(int r) {
  return r == 0 ? std::string("ok") : r > 0 ? "pid" : errno_name(errno);
}

bool seccomp_available() {
  return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
}

struct Outcome {
  std::string results;  // what the child reported
  std::string log;      // the log the supervisor wrote
  pid_t pid = 0;        // the confined child
  int status = 0;
  bool supervised = false;  // this process received the child's notification fd
};

class Confined : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!seccomp_available()) GTEST_SKIP() << "seccomp is not available here";
    char dir[] = "/tmp/pp-kernel-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    dir_ = dir;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    unlink((dir_ + "/log").c_str());
    unlink((dir_ + "/x.policy").c_str());
    rmdir(dir_.c_str());
  }

  std::string write_policy(const std::string& text) {
    std::string path = dir_ + "/x.policy";
    std::ofstream(path) << text;
    return path;
  }

  // Forks; the child loads POLICY_FILE as a worker would (its supervisor socket to this
  // process) and runs BODY, whose result it sends back. This process answers its notifications
  // as the manager does, with sandbox::Supervisor, until the child has exited.
  Outcome run(const std::string& policy_file, const std::string& label,
              const std::function<std::string()>& body) {
    Outcome o;
    auto loaded = std::make_shared<LoadedPolicy>();
    loaded->label = label;
    std::string error;
    EXPECT_TRUE(parse_policy_file(policy_file, loaded->policy, error)) << error;
    EXPECT_TRUE(compile_policy(loaded->policy, loaded->program, error)) << error;
    notify_ = loaded->program.uses_notify;
    std::string log_path = dir_ + "/log";
    log::setup("kernel-test", log::Level::Debug);
    EXPECT_TRUE(log::open_file(log_path, error)) << error;
    int p[2], sv[2];
    EXPECT_EQ(pipe(p), 0);
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      close(sv[0]);
      EnforceOptions eo;
      eo.program = &loaded->program;
      eo.supervisor = sv[1];
      std::string e, r;
      if (!enforce(eo, e))
        r = "enforce failed: " + e;
      else
        r = body();
      ssize_t n = write(p[1], r.data(), r.size());
      (void)n;
      _exit(0);
    }
    close(p[1]);
    close(sv[1]);
    Supervisor supervisor(loaded, pid, [] { return ScriptInfo{true, kScript}; });
    int listener = -1;
    for (;;) {
      pollfd fds[2] = {{p[0], POLLIN, 0}, {listener >= 0 ? listener : sv[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents & POLLIN) {
        if (listener >= 0)
          supervisor.answer(listener);
        else
          listener = receive_listener(sv[0]);
      } else if (fds[1].revents) {
        fds[1].fd = -1;  // the child closed its socket without a listener (or it is gone)
        if (listener < 0) close(sv[0]), sv[0] = -1;
      }
      if (fds[0].revents) {
        char buf[4096];
        ssize_t n = read(p[0], buf, sizeof buf);
        if (n <= 0) break;
        o.results.append(buf, size_t(n));
      }
      if (listener < 0 && sv[0] < 0) {  // nothing left to answer: just read the results
        char buf[4096];
        ssize_t n;
        while ((n = read(p[0], buf, sizeof buf)) > 0) o.results.append(buf, size_t(n));
        break;
      }
    }
    o.supervised = listener >= 0;
    close(p[0]);
    if (sv[0] >= 0) close(sv[0]);
    waitpid(pid, &o.status, 0);
    if (listener >= 0) close(listener);
    o.pid = pid;
    o.log = read_all(log_path);
    return o;
  }

  std::string dir_;
  bool notify_ = false;
};

std::string policy_path(const char* name) {
  return std::string(PHP_POOL_SOURCE_ROOT) + "/policy/seccomp/" + name + ".policy";
}

void* thread_body(void* arg) {
  *static_cast<int*>(arg) = 42;
  return nullptr;
}

std::string try_thread() {
  int value = 0;
  pthread_t t;
  int r = pthread_create(&t, nullptr, thread_body, &value);
  if (r != 0) return std::string("thread=") + strerror(r) + "\n";
  pthread_join(t, nullptr);
  return value == 42 ? "thread=ok\n" : "thread=bad\n";
}

std::string try_clone3() {
  clone_args args;
  memset(&args, 0, sizeof args);
  args.exit_signal = SIGCHLD;
  errno = 0;
  long r = syscall(SYS_clone3, &args, sizeof args);
  if (r == 0) _exit(0);  // the filter let it through: the child leaves at once
  if (r > 0) waitpid(pid_t(r), nullptr, 0);
  return "clone3=" + (r > 0 ? std::string("created a process") : errno_name(errno)) + "\n";
}

// Does this process hold a seccomp notification fd?
bool holds_listener() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    char link[256] = {};
    std::string path = std::string("/proc/self/fd/") + e->d_name;
    if (readlink(path.c_str(), link, sizeof link - 1) > 0 && strstr(link, "seccomp")) found = true;
  }
  closedir(d);
  return found;
}

}  // namespace

TEST_F(Confined, StrictPolicy) {
  Outcome o = run(policy_path("strict"), "strict", [] {
    std::string r;
    r += "nnp=" + std::to_string(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) + "\n";
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    char* envp[] = {nullptr};
    errno = 0;
    r += "execve=" + err(execve("/bin/true", argv, envp)) + "\n";
    errno = 0;
    r += "unshare=" + err(unshare(CLONE_NEWUSER)) + "\n";
    r += try_clone3();
    r += try_thread();
    errno = 0;
    pid_t f = fork();
    if (f == 0) _exit(0);
    if (f > 0) waitpid(f, nullptr, 0);
    r += "fork=" + err(f) + "\n";
    errno = 0;
    r += "ptrace=" + err(int(syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0))) + "\n";
    r += std::string("listener-in-worker=") + (holds_listener() ? "yes" : "no") + "\n";
    return r;
  });
  EXPECT_TRUE(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0) << o.status;
  EXPECT_NE(o.results.find("nnp=1\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("execve=EPERM\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("unshare=EPERM\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("clone3=ENOSYS\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("thread=ok\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("fork=EPERM\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("ptrace=EPERM\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("listener-in-worker=no\n"), std::string::npos) << o.results;
  if (!notify_) GTEST_SKIP() << "no seccomp user notifications: nothing is logged";
  // The notification fd went to the supervisor (this process); the child kept none.
  EXPECT_TRUE(o.supervised);
  std::string prefix = "WARNING: [pool kernel-test] worker " + std::to_string(o.pid) +
                       ": seccomp policy 'strict' denied ";
  std::string suffix =
      std::string(" while running script '") + kScript + "': the call failed with EPERM\n";
  for (const char* call : {"execve", "unshare", "clone", "ptrace"})
    EXPECT_NE(o.log.find(prefix + call + "()" + suffix), std::string::npos) << call << "\n"
                                                                            << o.log;
  // clone3's ENOSYS is decided in the kernel and never logged.
  EXPECT_EQ(o.log.find("clone3"), std::string::npos) << o.log;
}

TEST_F(Confined, DefaultPolicyLetsProgramsRunAndReportsTheirDenials) {
  Outcome o = run(policy_path("default"), "default", [] {
    std::string r;
    r += try_thread();
    r += try_clone3();
    // A child process can run a program...
    pid_t f = fork();
    if (f == 0) {
      execl("/bin/sh", "sh", "-c", "exit 7", (char*)nullptr);
      _exit(100);
    }
    int st = 0;
    waitpid(f, &st, 0);
    r += "exec-status=" + std::to_string(WIFEXITED(st) ? WEXITSTATUS(st) : -1) + "\n";
    // ... and gets EPERM (not SIGSYS) from a denied call.
    f = fork();
    if (f == 0) _exit(unshare(CLONE_NEWNS) == -1 && errno == EPERM ? 3 : 4);
    waitpid(f, &st, 0);
    r += "child-unshare=" + std::to_string(WIFEXITED(st) ? WEXITSTATUS(st) : -1) + "\n";
    r += "child-pid=" + std::to_string(f) + "\n";
    // clone() with a namespace flag.
    errno = 0;
    long c = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) _exit(0);
    r += "clone-newuser=" + err(int(c)) + "\n";
    errno = 0;
    r += "mount=" + err(syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, 0) == -1 ? -1 : 0) + "\n";
    return r;
  });
  EXPECT_NE(o.results.find("thread=ok\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("clone3=ENOSYS\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("exec-status=7\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("child-unshare=3\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("clone-newuser=EPERM\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("mount=EPERM\n"), std::string::npos) << o.results;
  if (!notify_) GTEST_SKIP() << "no seccomp user notifications: nothing is logged";
  auto at = o.results.find("child-pid=");
  std::string child = o.results.substr(at + 10, o.results.find('\n', at) - at - 10);
  EXPECT_NE(o.log.find("worker " + std::to_string(o.pid) +
                       ": seccomp policy 'default' denied unshare() in its child process " + child),
            std::string::npos)
      << o.log;
  EXPECT_NE(o.log.find("denied clone() while running script"), std::string::npos) << o.log;
  EXPECT_NE(o.log.find("denied mount() while running script"), std::string::npos) << o.log;
}

TEST_F(Confined, KillAndNologActions) {
  std::string file = write_policy("include " + policy_path("default") +
                                  "\n"
                                  "deny acct -> kill\n"
                                  "deny sethostname -> errno EACCES nolog\n"
                                  "deny setdomainname -> errno EACCES\n");
  Outcome o = run(file, file, [] {
    std::string r;
    errno = 0;
    r += "sethostname=" + err(sethostname("x", 1)) + "\n";
    errno = 0;
    r += "setdomainname=" + err(setdomainname("x", 1)) + "\n";
    pid_t f = fork();
    if (f == 0) {
      acct(nullptr);
      _exit(5);  // not reached: killed
    }
    int st = 0;
    waitpid(f, &st, 0);
    r += "acct-child=" +
         std::string(WIFSIGNALED(st) ? std::string("signal ") + strsignal(WTERMSIG(st))
                                     : "exit " + std::to_string(WEXITSTATUS(st))) +
         "\n";
    return r;
  });
  EXPECT_NE(o.results.find("sethostname=EACCES\n"), std::string::npos) << o.results;
  EXPECT_NE(o.results.find("setdomainname=EACCES\n"), std::string::npos) << o.results;
  if (!notify_) GTEST_SKIP() << "no seccomp user notifications: nothing is logged";
  EXPECT_NE(o.results.find("acct-child=signal Killed\n"), std::string::npos) << o.results;
  EXPECT_NE(o.log.find("denied setdomainname() while running script '" + std::string(kScript) +
                       "': the call failed with EACCES"),
            std::string::npos)
      << o.log;
  EXPECT_NE(o.log.find("denied acct() in its child process"), std::string::npos) << o.log;
  EXPECT_NE(o.log.find(": killed process "), std::string::npos) << o.log;
  EXPECT_EQ(o.log.find("sethostname"), std::string::npos) << o.log;
}

TEST_F(Confined, LogIsRateLimited) {
  Outcome o = run(policy_path("default"), "default", [] {
    int eperm = 0;
    for (int i = 0; i < 100; i++)
      if (syscall(SYS_ptrace, 0, 0, 0, 0) == -1 && errno == EPERM) eperm++;
    sleep(1);
    syscall(SYS_ptrace, 0, 0, 0, 0);  // later: logged, with the count of those left out
    return "eperm=" + std::to_string(eperm) + "\n";
  });
  EXPECT_NE(o.results.find("eperm=100\n"), std::string::npos) << o.results;
  if (!notify_) GTEST_SKIP() << "no seccomp user notifications: nothing is logged";
  size_t lines = 0;
  for (size_t at = 0; (at = o.log.find("denied ptrace()", at)) != std::string::npos; at++) lines++;
  // A burst of 30, then 10 a second: the loop takes well under a second.
  EXPECT_LE(lines, 45u) << o.log;
  EXPECT_GE(lines, 31u) << o.log;
  EXPECT_NE(o.log.find("earlier denials not logged: rate limit"), std::string::npos) << o.log;
}
