// Worker isolation, in php-fpm's order: user/group looked up before chroot, rlimits, chroot,
// chdir, priority, setgid/initgroups/setuid, environment (clear_env, env[]), dumpable, then
// no_new_privs and the seccomp filter.
#pragma once

#include <string>

#include "config/config.hpp"

namespace php_pool::sandbox {

// In the manager, before any worker: resolves names, loads and compiles the seccomp policy.
// False with a message when the pool cannot start (unknown user, root without allow_root,
// broken policy file).
bool prepare(const config::PoolConfig& pool, bool allow_root, std::string& error);

// In the worker after fork, before PHP's per-worker set-up.
bool enter_worker(const config::PoolConfig& pool, bool allow_root, std::string& error);

// In the worker, last step before serving: no_new_privs and the seccomp filter.
void apply_seccomp(const config::PoolConfig& pool);

}  // namespace php_pool::sandbox
