#include "manager/worker_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/log.hpp"

namespace php_pool::manager {

bool WorkerOutput::open(bool capture) {
  capture_ = capture;
  if (!capture) return true;
  const char* names[2] = {"stdout", "stderr"};
  for (int i = 0; i < 2; i++) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return false;
    streams_[i].read_fd = p[0];
    streams_[i].write_fd = p[1];
    streams_[i].name = names[i];
    streams_[i].owner = this;
  }
  return true;
}

void WorkerOutput::attach_child() {
  log::detach_from_stderr();
  if (capture_) {
    dup2(streams_[0].write_fd, STDOUT_FILENO);
    dup2(streams_[1].write_fd, STDERR_FILENO);
    for (auto& s : streams_) {
      ::close(s.read_fd);
      ::close(s.write_fd);
      s.read_fd = s.write_fd = -1;
    }
    return;
  }
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    ::close(null);
  }
}

void WorkerOutput::close_inherited() {
  for (auto& s : streams_) {
    for (int* fd : {&s.read_fd, &s.write_fd}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }
}

void WorkerOutput::watch(sd_event* event, pid_t pid, bool decorate) {
  pid_ = pid;
  decorate_ = decorate;
  bare_ = log::Fields{pid, nullptr, nullptr, true};
  if (!capture_) return;
  for (auto& s : streams_) {
    ::close(s.write_fd);
    s.write_fd = -1;
    fcntl(s.read_fd, F_SETFL, O_NONBLOCK);
    sd_event_add_io(event, &s.source, s.read_fd, EPOLLIN, on_readable, &s);
  }
}

int WorkerOutput::on_readable(sd_event_source*, int, uint32_t, void* userdata) {
  auto* s = static_cast<Stream*>(userdata);
  s->owner->drain(*s, false);
  return 0;
}

void WorkerOutput::drain(Stream& s, bool final) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(s.read_fd, buf, sizeof buf);
    if (n <= 0) {
      if (n == 0 && s.source) {
        // The worker closed it (exited): stop watching.
        s.source = sd_event_source_disable_unref(s.source);
      }
      break;
    }
    s.partial.append(buf, size_t(n));
  }
  size_t start = 0;
  for (size_t nl; (nl = s.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = s.partial.substr(start, nl - start);
    if (decorate_)
      log::write(log::Level::Warning, {}, "child %d said into %s: \"%s\"", pid_, s.name,
                 line.c_str());
    else
      log::write(log::Level::Warning, bare_, "%s", line.c_str());
  }
  s.partial.erase(0, start);
  // Text without a newline is logged once nothing more is there to read, as php-fpm does: a
  // worker may go on for hours before it writes one.
  if (!s.partial.empty()) {
    if (decorate_)
      log::write(log::Level::Warning, {}, "child %d said into %s: \"%s\"%s", pid_, s.name,
                 s.partial.c_str(), final ? ", pipe is closed" : "");
    else
      log::write(log::Level::Warning, bare_, "%s", s.partial.c_str());
    s.partial.clear();
  }
}

void WorkerOutput::close_all() {
  for (auto& s : streams_) {
    if (s.read_fd >= 0) drain(s, true);
    // Out of epoll before the fd is closed: workers forked later hold copies of this read end,
    // so closing first would leave the pipe registered with a freed source (sd-event aborts
    // on the next event: "Code should not be reached ... process_epoll()").
    s.source = sd_event_source_disable_unref(s.source);
    if (s.read_fd >= 0) ::close(s.read_fd);
    if (s.write_fd >= 0) ::close(s.write_fd);
    s = Stream{};
  }
}

}  // namespace php_pool::manager
