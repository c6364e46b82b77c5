// The PHP call stack of a running worker, read from outside (the slowlog). The manager reads
// the worker's memory with process_vm_readv: workers are forks of the manager, so libphp's
// executor_globals sits at the same address in both. The worker is not stopped or signalled
// (php-fpm's ptrace attach stops it, and a signal would cut sleep()/poll() short).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace php_pool::sapi {

struct Frame {
  uint64_t address = 0;  // the zend_execute_data, as php-fpm prints it
  std::string function;  // "inner", "Cls::method", "include", ...
  std::string file;      // where it was called from (the calling user frame)
  uint32_t line = 0;
};

// Reads up to `depth` frames. False with a reason when the memory cannot be read (the worker
// left, no permission: the manager needs CAP_SYS_PTRACE for workers that changed user).
bool read_backtrace(pid_t pid, int depth, std::vector<Frame>& out, std::string& error);

}  // namespace php_pool::sapi
