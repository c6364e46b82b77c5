#include "sandbox/sandbox.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>

namespace php_pool::sandbox {

namespace {
struct Ids {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
  bool set = false;
};
Ids g_ids;
}  // namespace

bool prepare(const config::PoolConfig& pool, bool allow_root, std::string& error) {
  g_ids = Ids{};
  if (geteuid() != 0) return true;
  if (pool.user.empty()) {
    if (!allow_root) {
      error = "[pool " + pool.name +
              "] please specify user and group other than root (or run with -R)";
      return false;
    }
    return true;
  }
  struct passwd* pw = getpwnam(pool.user.c_str());
  if (!pw) {
    error = "[pool " + pool.name + "] cannot get uid for user '" + pool.user + "'";
    return false;
  }
  g_ids.uid = pw->pw_uid;
  g_ids.gid = pw->pw_gid;
  g_ids.name = pool.user;
  if (!pool.group.empty()) {
    struct group* gr = getgrnam(pool.group.c_str());
    if (!gr) {
      error = "[pool " + pool.name + "] cannot get gid for group '" + pool.group + "'";
      return false;
    }
    g_ids.gid = gr->gr_gid;
  }
  if (g_ids.uid == 0 && !allow_root) {
    error = "[pool " + pool.name + "] please specify user and group other than root";
    return false;
  }
  g_ids.set = true;
  return true;
}

bool enter_worker(const config::PoolConfig& pool, bool, std::string& error) {
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
  if (g_ids.set && geteuid() == 0) {
    if (setgid(g_ids.gid) < 0 || initgroups(g_ids.name.c_str(), g_ids.gid) < 0 ||
        setuid(g_ids.uid) < 0) {
      error = std::string("cannot switch to user '") + g_ids.name + "': " + strerror(errno);
      return false;
    }
  }
  // Environment: php-fpm clears it and sets env[] (a value "$NAME" takes the manager's NAME).
  std::map<std::string, std::string> env;
  for (auto& [k, v] : pool.env) {
    const char* from = (v.size() > 1 && v[0] == '$') ? getenv(v.c_str() + 1) : nullptr;
    env[k] = from ? from : v;
  }
  if (pool.clear_env) clearenv();
  for (auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  if (pool.process_dumpable) prctl(PR_SET_DUMPABLE, 1);
  return true;
}

void apply_seccomp(const config::PoolConfig&) {}

}  // namespace php_pool::sandbox
