#include "systemd/reexec.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace php_pool::systemd {
namespace {

constexpr const char* kVariable = "PHP_POOL_HANDOVER";

}  // namespace

// PHP_POOL_HANDOVER: "v1" then ";key=value" fields; the unlink path, the only free text,
// comes last so that it may contain ';'.
std::string encode_handover(const Handover& h) {
  std::string s = "v1;generation=" + std::to_string(h.generation) + ";workers=";
  for (size_t i = 0; i < h.workers.size(); i++) {
    s += (i ? "," : "") + std::to_string(h.workers[i]);
    if (i < h.started_us.size()) s += "@" + std::to_string(h.started_us[i]);
  }
  for (auto& [name, value] : h.counters) s += ";c." + name + "=" + std::to_string(value);
  if (!h.unlink_path.empty()) s += ";unlink=" + h.unlink_path;
  return s;
}

namespace {

bool parse_u64(const std::string& s, uint64_t& out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  out = strtoull(s.c_str(), nullptr, 10);
  return errno == 0;
}

}  // namespace

bool decode_handover(const std::string& text, Handover& h, std::string& error) {
  if (text.rfind("v1;", 0) != 0) {
    error = "unknown format";
    return false;
  }
  size_t pos = 3;
  while (pos < text.size()) {
    if (text.compare(pos, 7, "unlink=") == 0) {
      h.unlink_path = text.substr(pos + 7);
      break;
    }
    size_t end = text.find(';', pos);
    if (end == std::string::npos) end = text.size();
    std::string field = text.substr(pos, end - pos);
    pos = end + 1;
    size_t eq = field.find('=');
    if (eq == std::string::npos) {
      error = "field '" + field + "' has no value";
      return false;
    }
    std::string key = field.substr(0, eq), value = field.substr(eq + 1);
    uint64_t n = 0;
    if (key == "generation") {
      if (!parse_u64(value, n)) {
        error = "bad generation";
        return false;
      }
      h.generation = uint32_t(n);
    } else if (key == "workers") {
      std::istringstream in(value);
      for (std::string item; std::getline(in, item, ',');) {  // PID[@STARTED_US]
        size_t at = item.find('@');
        uint64_t started = 0;
        if (!parse_u64(item.substr(0, at), n) || n == 0 ||
            (at != std::string::npos && !parse_u64(item.substr(at + 1), started))) {
          error = "bad worker '" + item + "'";
          return false;
        }
        h.workers.push_back(pid_t(n));
        h.started_us.push_back(started);
      }
    } else if (key.rfind("c.", 0) == 0) {
      if (!parse_u64(value, n)) {
        error = "bad counter " + key;
        return false;
      }
      h.counters[key.substr(2)] = n;
    }  // unknown keys: ignored (a newer image may add some)
  }
  return true;
}

bool take_handover(Handover& out, std::string& error) {
  const char* v = getenv(kVariable);
  if (!v) return false;
  std::string text = v;
  unsetenv(kVariable);
  if (!decode_handover(text, out, error)) {
    error = std::string(kVariable) + " is malformed (" + error + "): '" + text + "'";
    out = Handover{};
    return false;
  }
  return true;
}

std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  size_t start = 0;
  for (size_t i = 0; i < all.size(); i++)
    if (all[i] == '\0') {
      argv.push_back(all.substr(start, i - start));
      start = i + 1;
    }
  return argv;
}

std::string reexec(const std::vector<std::string>& argv, const std::vector<PassedFd>& fds,
                   const Handover& handover) {
  if (argv.empty()) return "the command line is unknown";
  if (access("/proc/self/exe", X_OK) < 0) return std::string("/proc/self/exe: ") + strerror(errno);
  // Two steps so that no socket is overwritten before it is copied: first above every target
  // number (close-on-exec copies), then down to 3, 4, ... (dup2 clears FD_CLOEXEC).
  const int n = int(fds.size());
  std::vector<int> high;
  for (auto& f : fds) {
    int h = fcntl(f.fd, F_DUPFD_CLOEXEC, SD_LISTEN_FDS_START + n);
    if (h < 0) return std::string("cannot copy listening socket: ") + strerror(errno);
    high.push_back(h);
  }
  std::string names;
  for (int i = 0; i < n; i++) {
    if (dup2(high[i], SD_LISTEN_FDS_START + i) < 0)
      return std::string("cannot move listening socket: ") + strerror(errno);
    close(high[i]);
    names += (i ? ":" : "") + (fds[i].name.empty() ? std::string("fastcgi") : fds[i].name);
  }
  setenv("LISTEN_FDS", std::to_string(n).c_str(), 1);
  setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
  setenv("LISTEN_FDNAMES", names.c_str(), 1);
  setenv(kVariable, encode_handover(handover).c_str(), 1);

  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The binary's own path while it is still there, so that the process keeps its name
  // ("php-pool" in ps and the journal, not "exe"); /proc/self/exe when the file was replaced
  // or removed since (an upgrade: this image's binary is then only reachable that way).
  std::string path = "/proc/self/exe";
  char buf[4096];
  ssize_t len = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (len > 0) {
    std::string target(buf, size_t(len));
    struct stat a, b;
    if (stat("/proc/self/exe", &a) == 0 && stat(target.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
      path = target;
  }
  execv(path.c_str(), args.data());
  std::string error = "execv(" + path + "): " + strerror(errno);
  for (const char* v : {"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", kVariable}) unsetenv(v);
  return error;
}

}  // namespace php_pool::systemd
