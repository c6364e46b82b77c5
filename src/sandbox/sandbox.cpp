#include "sandbox/sandbox.hpp"

#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "common/log.hpp"
#include "sandbox/enforce.hpp"
#include "sandbox/policy.hpp"
#include "sapi/sapi.hpp"

namespace php_pool::sandbox {

namespace {

// SCHED_BATCH keeps the nice value and only stops wakeup preemption: a worker woken by a new
// connection waits for the running task's slice instead of cutting into it. Under load that
// task is mostly the web server handing out requests, which then finishes its batch (fewer
// switches: less CPU per request and a tighter latency tail in the benchmark).
bool set_sched_policy(config::SchedPolicy policy, std::string& error) {
  if (policy == config::SchedPolicy::Inherit) return true;
  int p = policy == config::SchedPolicy::Batch  ? SCHED_BATCH
          : policy == config::SchedPolicy::Idle ? SCHED_IDLE
                                                : SCHED_OTHER;
  sched_param param{};
  if (sched_setscheduler(0, p, &param) < 0) {
    error = std::string("cannot set process.sched_policy = ") + config::to_string(policy) + ": " +
            strerror(errno);
    return false;
  }
  return true;
}

// Everything the workers need, worked out in the manager (names are looked up before chroot:
// /etc/passwd and /etc/group need not exist inside it).
struct Prepared {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;
  std::string home;           // the user's home directory, for HOME
  std::vector<gid_t> groups;  // what initgroups() would set, looked up outside the chroot

  bool seccomp = false;
  // Shared with the manager's supervisors of the workers that loaded it (a reload may replace
  // it while they run).
  std::shared_ptr<const LoadedPolicy> seccomp_policy;
};
Prepared g_prepared;

// "FILE:LINE: " of DIRECTIVE, or "" when it kept its default.
std::string at(const config::PoolConfig& pool, const char* directive) {
  const config::Source* s = pool.where(directive);
  if (!s || s->file.empty()) return "";
  return s->file + ":" + std::to_string(s->line) + ": ";
}

bool prepare_identity(const config::PoolConfig& pool, bool allow_root, Prepared& p,
                      std::string& error) {
  if (geteuid() != 0) {
    if (!pool.user.empty() || !pool.group.empty())
      log::write(log::Level::Warning, {},
                 "'user' and 'group' are ignored: php-pool is not running as root");
    return true;
  }
  if (pool.user.empty()) {
    if (!pool.group.empty()) {
      error = at(pool, "group") + "'group' is set but 'user' is not: please specify user";
      return false;
    }
    if (!allow_root) {
      error =
          "please specify user and group other than root (or run with -R / "
          "--allow-to-run-as-root)";
      return false;
    }
    return true;
  }
  errno = 0;
  struct passwd* pw = getpwnam(pool.user.c_str());
  if (!pw) {
    error = at(pool, "user") + "cannot get uid for user '" + pool.user + "'" +
            (errno ? std::string(": ") + strerror(errno) : "");
    return false;
  }
  p.uid = pw->pw_uid;
  p.gid = pw->pw_gid;
  p.user = pw->pw_name;
  p.home = pw->pw_dir;
  if (!pool.group.empty()) {
    errno = 0;
    struct group* gr = getgrnam(pool.group.c_str());
    if (!gr) {
      error = at(pool, "group") + "cannot get gid for group '" + pool.group + "'" +
              (errno ? std::string(": ") + strerror(errno) : "");
      return false;
    }
    p.gid = gr->gr_gid;
  }
  if ((p.uid == 0 || p.gid == 0) && !allow_root) {
    error = at(pool, "user") +
            "please specify user and group other than root (or run with -R / "
            "--allow-to-run-as-root)";
    return false;
  }
  int n = 32;
  p.groups.resize(size_t(n));
  while (getgrouplist(p.user.c_str(), p.gid, p.groups.data(), &n) < 0) {
    if (n <= int(p.groups.size())) n = int(p.groups.size()) * 2;  // defensive
    p.groups.resize(size_t(n));
  }
  p.groups.resize(size_t(n));
  p.switch_user = true;
  return true;
}

// Debian's PHP reads the system time zone database (/usr/share/zoneinfo): inside a chroot
// without it every date function fails ("Timezone database is corrupt"). The operator provides
// it; php-pool refuses to start a pool that would fail on its first date() call.
bool check_chroot(const config::PoolConfig& pool, std::string& error) {
  const std::string& root = pool.chroot;
  struct stat st;
  if (stat(root.c_str(), &st) != 0) {
    error = at(pool, "chroot") + "chroot '" + root + "': " + strerror(errno);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    error = at(pool, "chroot") + "chroot '" + root + "' is not a directory";
    return false;
  }
  std::string zone = "UTC";  // PHP's default when date.timezone is unset
  for (auto& e : pool.php_ini)
    if (e.name == "date.timezone" && !e.value.empty()) zone = e.value;
  std::string zone_file = root + "/usr/share/zoneinfo/" + zone;
  if (zone.find("..") != std::string::npos || stat(zone_file.c_str(), &st) != 0 ||
      !S_ISREG(st.st_mode)) {
    error = at(pool, "chroot") + "chroot '" + root + "' has no time zone data for PHP (" +
            zone_file +
            " is missing; PHP's date functions fail without it): provide the time zone "
            "database inside the chroot, e.g. `mkdir -p " +
            root + "/usr/share && cp -a /usr/share/zoneinfo " + root +
            "/usr/share/`, or bind-mount it read-only (systemd: BindReadOnlyPaths=/usr/share/"
            "zoneinfo:" +
            root + "/usr/share/zoneinfo)";
    return false;
  }
  return true;
}

}  // namespace

bool prepare(const config::PoolConfig& pool, bool allow_root, std::string& error) {
  Prepared p;
  if (!prepare_identity(pool, allow_root, p, error)) return false;
  if (!pool.chroot.empty() && !check_chroot(pool, error)) return false;
  auto loaded = std::make_shared<LoadedPolicy>();
  if (!load_policy(pool.sandbox_seccomp, p.seccomp, *loaded, error)) {
    // Errors in the policy file name that file; others name the directive.
    if (error.empty() || error[0] != '/') error = at(pool, "sandbox.seccomp") + error;
    return false;
  }
  p.seccomp_policy = loaded;
  const LoadedPolicy& l = *loaded;
  if (p.seccomp && !l.program.uses_notify) {
    bool logs = l.policy.default_action.denies() && l.policy.default_action.log;
    for (auto& [nr, r] : l.policy.rules) logs = logs || (r.action.denies() && r.action.log);
    if (logs)
      log::write(log::Level::Warning, {},
                 "seccomp user notifications are not available (Linux 5.0 and libseccomp 2.5 "
                 "needed): denied syscalls will fail without being logged");
  }
  g_prepared = std::move(p);
  return true;
}

bool enter_worker(const config::PoolConfig& pool, bool, std::string& error) {
  const Prepared& p = g_prepared;
  if (pool.rlimit_files) {
    rlimit r{rlim_t(*pool.rlimit_files), rlim_t(*pool.rlimit_files)};
    if (setrlimit(RLIMIT_NOFILE, &r) < 0) {
      error = std::string("setrlimit(RLIMIT_NOFILE) failed: ") + strerror(errno);
      return false;
    }
  }
  if (pool.rlimit_core) {
    rlim_t v = *pool.rlimit_core < 0 ? RLIM_INFINITY : rlim_t(*pool.rlimit_core);
    rlimit r{v, v};
    if (setrlimit(RLIMIT_CORE, &r) < 0) {
      error = std::string("setrlimit(RLIMIT_CORE) failed: ") + strerror(errno);
      return false;
    }
  }
  if (!pool.chroot.empty() && chroot(pool.chroot.c_str()) < 0) {
    error = "chroot(" + pool.chroot + ") failed: " + strerror(errno);
    return false;
  }
  std::string dir = pool.chdir.empty() ? (pool.chroot.empty() ? "" : "/") : pool.chdir;
  if (!dir.empty() && chdir(dir.c_str()) < 0) {
    error = "chdir(" + dir + ") failed: " + strerror(errno);
    return false;
  }
  if (pool.process_priority && setpriority(PRIO_PROCESS, 0, *pool.process_priority) < 0) {
    error = std::string("setpriority() failed: ") + strerror(errno);
    return false;
  }
  if (!set_sched_policy(pool.process_sched_policy, error)) return false;
  if (p.switch_user && geteuid() == 0) {
    if (setgid(p.gid) < 0) {
      error = "setgid(" + std::to_string(p.gid) + ") failed: " + strerror(errno);
      return false;
    }
    if (setgroups(p.groups.size(), p.groups.data()) < 0) {
      error = "setgroups() for user '" + p.user + "' failed: " + strerror(errno);
      return false;
    }
    if (setuid(p.uid) < 0) {
      error = "setuid(" + std::to_string(p.uid) + ") for user '" + p.user +
              "' failed: " + strerror(errno);
      return false;
    }
  }
  // Environment, as php-fpm: cleared, then env[] (a value "$NAME" takes the manager's NAME, or
  // is empty without it), then USER and HOME of the pool's user unless env[] sets them (tools
  // that scripts run, git or composer, look there).
  std::map<std::string, std::string> env;
  for (auto& [k, v] : pool.env) {
    const char* from = v[0] == '$' ? getenv(v.c_str() + 1) : v.c_str();
    env[k] = from ? from : "";
  }
  if (p.switch_user) {
    env.emplace("USER", p.user);
    env.emplace("HOME", p.home);
  }
  if (pool.clear_env) clearenv();
  for (auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  // setuid() cleared the flag; php-fpm sets it after the switch too.
  if (pool.process_dumpable) prctl(PR_SET_DUMPABLE, 1);
  return true;
}

std::shared_ptr<const LoadedPolicy> supervised_policy() {
  const Prepared& p = g_prepared;
  if (!p.seccomp || !p.seccomp_policy->program.uses_notify) return nullptr;
  return p.seccomp_policy;
}

void apply_seccomp(const config::PoolConfig&, int supervisor) {
  const Prepared& p = g_prepared;
  if (!p.seccomp) {
    if (supervisor >= 0) close(supervisor);
    return;
  }
  EnforceOptions o;
  o.program = &p.seccomp_policy->program;
  o.supervisor = supervisor;
  std::string error;
  if (!enforce(o, error)) {
    log::write(log::Level::Alert, {}, "worker %d: %s", int(getpid()), error.c_str());
    _exit(78);
  }
}

}  // namespace php_pool::sandbox
