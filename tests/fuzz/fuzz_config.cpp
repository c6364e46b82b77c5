// libFuzzer target for the pool-file parser (src/config): the line reader and inih, the value
// syntax, the directive table, include=, validation and the effective configuration (-tt).
//
// Input: the main pool file, optionally followed by a NUL byte and a second file that the main
// one may include (it is "inc.conf"; "*" matches both files).
// load() reads files and include= expands globs on disk, so each input is written to a private
// directory (under /dev/shm when it exists) and loaded from there. An input whose include=
// could leave that directory (a value with '/', after quotes and ${VAR}) is skipped, so the
// fuzzer never reads /dev/zero or walks /; so is one with more than one include= per file,
// which keeps the include tree small (depth is bounded by the parser).
// Checks, abort()ing on any violation:
//  - every error and warning names one of the two files, with a line within it (0 = the file
//    as a whole), and formats as FILE:LINE: message (FILE: message for line 0);
//  - an accepted configuration satisfies the rules validation enforces, and every directive's
//    recorded source is a line of one of the files.
// The -tt text is php-fpm's display format ("undefined", unquoted values), not a pool file, so
// there is no parse -> dump -> parse check; the dump must only not crash and name each pool.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/config.hpp"
#include "config/internal.hpp"

namespace {

using namespace php_pool::config;

std::string dir, main_path, inc_path;
size_t main_lines, inc_lines;  // of the current input's files

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_config: %s: %s\n", what, detail.c_str());
  std::abort();
}

void write_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot write", path);
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) fail("cannot write", path);
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

void cleanup() {
  ::unlink(main_path.c_str());
  ::unlink(inc_path.c_str());
  ::rmdir(dir.c_str());
}

// True when TEXT's include= entries stay in the directory (see above).
bool includes_confined(const std::string& text) {
  if (text.find("include") == std::string::npos) return true;  // most inputs: no second parse
  int includes = 0;
  bool ok = true;
  php_pool::config::detail::IniEvents events;
  events.entry = [&](const std::string& name, const std::string& raw, int) {
    if (name != "include") return;
    std::string error;
    auto value = php_pool::config::detail::parse_ini_value(raw, error);
    if (++includes > 1 || (value && value->find('/') != std::string::npos)) ok = false;
  };
  php_pool::config::detail::read_ini_text(text, events);
  return ok;
}

size_t count_lines(const std::string& text) {
  size_t n = 1;
  for (char c : text) n += c == '\n';
  return n;
}

void check_source(const Source& s, const std::string& what) {
  if (s.file != main_path && s.file != inc_path) fail("names no input file", what);
  size_t lines = s.file == main_path ? main_lines : inc_lines;
  if (s.line < 0 || static_cast<size_t>(s.line) > lines) fail("line outside the file", what);
}

void check_diagnostic(const Diagnostic& d) {
  std::string text = d.format();
  check_source(d.where, text);
  std::string head = d.where.file + (d.where.line > 0 ? ":" + std::to_string(d.where.line) : "");
  if (text != head + ": " + d.message) fail("not FILE:LINE: message", text);
  if (d.message.empty()) fail("empty message", text);
}

void check_accepted(const Config& c) {
  const GlobalConfig& g = c.global;
  if (c.pools.empty()) fail("accepted without a pool", "");
  if (g.log_limit < 512) fail("log_limit below 512", "");
  if (g.process_max < 0 || g.emergency_restart_threshold < 0) fail("negative global", "");
  for (const auto& [name, where] : g.directive_sources) check_source(where, name);
  for (size_t i = 0; i < c.pools.size(); ++i) {
    const PoolConfig& p = c.pools[i];
    check_source(p.source, "[" + p.name + "]");
    for (const auto& [name, where] : p.directive_sources) check_source(where, name);
    if (p.name.empty()) fail("pool without a name", "");
    if (p.listen.empty()) fail("pool without listen", p.name);
    if (!p.where("pm") || !p.where("pm.max_children")) fail("pm not set", p.name);
    if (p.pm_max_children < 1) fail("pm.max_children < 1", p.name);
    if (p.pm == PmStyle::Dynamic) {
      if (p.pm_min_spare_servers < 1 || p.pm_min_spare_servers > p.pm_start_servers ||
          p.pm_start_servers > p.pm_max_spare_servers ||
          p.pm_max_spare_servers > p.pm_max_children || p.pm_max_spawn_rate < 1) {
        fail("dynamic pm bounds", p.name);
      }
    }
    if (p.pm == PmStyle::Ondemand && p.pm_process_idle_timeout.count() < 1)
      fail("ondemand idle timeout", p.name);
    if (p.request_slowlog_timeout.count() > 0 && p.slowlog.empty()) fail("slowlog", p.name);
    if ((!p.chroot.empty() && p.chroot[0] != '/') || (!p.chdir.empty() && p.chdir[0] != '/'))
      fail("relative chroot/chdir", p.name);
    const std::string& s = p.sandbox_seccomp;
    if (s != "default" && s != "strict" && s != "off" && (s.empty() || s[0] != '/'))
      fail("sandbox.seccomp", s);
    for (size_t j = i + 1; j < c.pools.size(); ++j) {
      if (c.pools[j].listen == p.listen) fail("two pools share listen", p.listen);
    }
  }
  std::string error;
  const PoolConfig* only = select_pool(c, "", error);
  if ((only != nullptr) != (c.pools.size() == 1)) fail("select_pool", error);
  const PoolConfig* first = select_pool(c, c.pools[0].name, error);
  if (!first) fail("select_pool by name", error);
  std::string dump = format_effective(c, c.pools[0].name);
  if (dump.rfind("[global]\n", 0) != 0) fail("dump without [global]", dump);
  if (dump.find("\n[" + c.pools[0].name + "]\n") == std::string::npos) fail("dump", dump);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  if (const char* t = std::getenv("TMPDIR"); t && *t) base = t;
  std::string tmpl = base + "/fuzz-config-XXXXXX";
  if (!::mkdtemp(tmpl.data())) fail("mkdtemp failed", tmpl);
  dir = tmpl;
  main_path = dir + "/main.conf";
  inc_path = dir + "/inc.conf";
  std::atexit(cleanup);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return -1;
  std::string input(reinterpret_cast<const char*>(data), size);
  std::string main_text = input, inc_text;
  if (size_t nul = input.find('\0'); nul != std::string::npos) {
    main_text = input.substr(0, nul);
    inc_text = input.substr(nul + 1);
  }
  if (!includes_confined(main_text) || !includes_confined(inc_text)) return -1;
  main_lines = count_lines(main_text);
  inc_lines = count_lines(inc_text);
  write_file(main_path, main_text);
  write_file(inc_path, inc_text);

  LoadResult r = load(main_path);
  if (r.config.has_value() != r.errors.empty()) fail("config and errors disagree", main_text);
  for (const auto& d : r.errors) check_diagnostic(d);
  if (!r.config) return 0;
  for (const auto& d : r.config->warnings) check_diagnostic(d);
  check_accepted(*r.config);
  return 0;
}
