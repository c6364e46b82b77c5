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
  std::string text;  // all there is to read now
  for (;;) {
    ssize_t n = read(s.read_fd, buf, sizeof buf);
    if (n <= 0) {
      if (n == 0 && s.source) {
        // The worker closed it (exited): stop watching.
        s.source = sd_event_source_disable_unref(s.source);
      }
      break;
    }
    text.append(buf, size_t(n));
  }
  // Line by line; text without a newline too, once nothing more is there to read, as php-fpm
  // does (a worker may go on for hours before it writes one).
  const log::Fields bare{pid_, nullptr, nullptr, true};  // decorate_workers_output = no
  for (size_t start = 0; start < text.size();) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string::npos ? text.size() : nl;
    std::string line = text.substr(start, end - start);
    const char* closed = nl == std::string::npos && final ? ", pipe is closed" : "";
    start = end + 1;
    if (decorate_)
      log::write(log::Level::Warning, {}, "child %d said into %s: \"%s\"%s", pid_, s.name,
                 line.c_str(), closed);
    else
      log::write(log::Level::Warning, bare, "%s", line.c_str());
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
