// catch_workers_output: a worker's stdout and stderr arrive on pipes and are written to the pool
// log line by line, decorated as php-fpm does ("child 123 said into stderr: ...").
// Without it, a worker's stdout/stderr go to /dev/null (php-fpm's behaviour).
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include <string>

namespace php_pool::manager {

class WorkerOutput {
 public:
  // Before fork. False (errno set) when pipes cannot be made.
  bool open(bool capture);
  // In the child: points fd 1 and 2 at the pipes or /dev/null.
  void attach_child();
  // In a child that is not this worker: closes what it inherited of this worker's pipes, so
  // that a script cannot read (and take) another worker's output.
  void close_inherited();
  // In the manager after fork: watches the read ends.
  void watch(sd_event* event, pid_t pid, bool decorate);
  // Reads what is left (the child has exited) and closes everything.
  void close_all();
  ~WorkerOutput() { close_all(); }

 private:
  struct Stream {
    int read_fd = -1, write_fd = -1;
    sd_event_source* source = nullptr;
    const char* name = "";
    WorkerOutput* owner = nullptr;
  };
  static int on_readable(sd_event_source*, int fd, uint32_t, void* userdata);
  void drain(Stream& s, bool final);
  Stream streams_[2];
  bool capture_ = false;
  bool decorate_ = true;
  pid_t pid_ = 0;
};

}  // namespace php_pool::manager
