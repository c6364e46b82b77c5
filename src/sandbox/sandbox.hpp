// Worker isolation, in php-fpm's order: user/group looked up before chroot, rlimits, chroot,
// chdir, priority, setgid/setgroups/setuid, environment (clear_env, env[]), dumpable, then
// no_new_privs and the seccomp filter (policy.hpp: the policy format; enforce.hpp: loading it
// and reporting denials).
#pragma once

#include <memory>
#include <string>

#include "sandbox/policy.hpp"

#include "config/config.hpp"

namespace php_pool::sandbox {

// In the manager, before any worker (at start and on every reload): resolves the user and its
// groups, checks a chroot has what PHP needs, and reads and compiles the seccomp policy. False
// with a message ("FILE:LINE: message" where there is a line to blame) when the pool cannot
// start: unknown user or group, workers as root without allow_root, a chroot without time zone
// data, a broken policy. Nothing changes on failure: the previous preparation stays in force.
bool prepare(const config::PoolConfig& pool, bool allow_root, std::string& error);

// In the worker after fork, before PHP's per-worker set-up.
bool enter_worker(const config::PoolConfig& pool, bool allow_root, std::string& error);

// The prepared policy when workers need a supervisor for it (it logs denials and the kernel
// can notify), else nullptr: the manager then makes no supervisor socket.
std::shared_ptr<const LoadedPolicy> supervised_policy();

// In the worker, last step before serving: no_new_privs and the seccomp filter (nothing for
// sandbox.seccomp = off). SUPERVISOR (-1: none) is the worker's end of its socket to the
// manager, which answers the filter's notifications; it is closed here. A worker whose filter
// cannot be loaded logs why and exits (78).
void apply_seccomp(const config::PoolConfig& pool, int supervisor);

// For `php-pool --test`: reads and compiles a sandbox.seccomp value (default, strict, off or an
// absolute path). False with "FILE:LINE: message". Defined in policy.cpp: linking
// sandbox_seccomp_dep (libseccomp, no PHP) is enough to call it.
bool check_policy(const std::string& spec, std::string& error);

}  // namespace php_pool::sandbox
