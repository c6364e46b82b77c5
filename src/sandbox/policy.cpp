#include "sandbox/policy.hpp"

#include "sandbox/sandbox.hpp"  // check_policy

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "build-config.h"

namespace php_pool::sandbox {
namespace {

constexpr int kMaxErrno = 4094;  // libseccomp refuses 4095 (MAX_ERRNO)

struct Named {
  const char* name;
  uint64_t value;
};

// errno names a policy may use (numbers work too).
constexpr Named kErrnos[] = {
    {"EPERM", EPERM},
    {"ENOENT", ENOENT},
    {"ESRCH", ESRCH},
    {"EINTR", EINTR},
    {"EIO", EIO},
    {"ENXIO", ENXIO},
    {"E2BIG", E2BIG},
    {"ENOEXEC", ENOEXEC},
    {"EBADF", EBADF},
    {"ECHILD", ECHILD},
    {"EAGAIN", EAGAIN},
    {"ENOMEM", ENOMEM},
    {"EACCES", EACCES},
    {"EFAULT", EFAULT},
    {"EBUSY", EBUSY},
    {"EEXIST", EEXIST},
    {"EXDEV", EXDEV},
    {"ENODEV", ENODEV},
    {"ENOTDIR", ENOTDIR},
    {"EISDIR", EISDIR},
    {"EINVAL", EINVAL},
    {"ENFILE", ENFILE},
    {"EMFILE", EMFILE},
    {"ENOTTY", ENOTTY},
    {"ETXTBSY", ETXTBSY},
    {"EFBIG", EFBIG},
    {"ENOSPC", ENOSPC},
    {"ESPIPE", ESPIPE},
    {"EROFS", EROFS},
    {"EMLINK", EMLINK},
    {"EPIPE", EPIPE},
    {"ERANGE", ERANGE},
    {"ENOSYS", ENOSYS},
    {"ENOTSOCK", ENOTSOCK},
    {"EOPNOTSUPP", EOPNOTSUPP},
    {"EAFNOSUPPORT", EAFNOSUPPORT},
    {"EPROTONOSUPPORT", EPROTONOSUPPORT},
    {"EADDRNOTAVAIL", EADDRNOTAVAIL},
    {"ENETUNREACH", ENETUNREACH},
    {"ECONNREFUSED", ECONNREFUSED},
    {"EHOSTUNREACH", EHOSTUNREACH},
    {"ETIMEDOUT", ETIMEDOUT},
};

constexpr Named kCloneFlags[] = {
    {"CLONE_VM", CLONE_VM},
    {"CLONE_FS", CLONE_FS},
    {"CLONE_FILES", CLONE_FILES},
    {"CLONE_SIGHAND", CLONE_SIGHAND},
    {"CLONE_PIDFD", 0x00001000},
    {"CLONE_PTRACE", CLONE_PTRACE},
    {"CLONE_VFORK", CLONE_VFORK},
    {"CLONE_PARENT", CLONE_PARENT},
    {"CLONE_THREAD", CLONE_THREAD},
    {"CLONE_NEWNS", CLONE_NEWNS},
    {"CLONE_SYSVSEM", CLONE_SYSVSEM},
    {"CLONE_SETTLS", CLONE_SETTLS},
    {"CLONE_PARENT_SETTID", CLONE_PARENT_SETTID},
    {"CLONE_CHILD_CLEARTID", CLONE_CHILD_CLEARTID},
    {"CLONE_DETACHED", 0x00400000},
    {"CLONE_UNTRACED", CLONE_UNTRACED},
    {"CLONE_CHILD_SETTID", CLONE_CHILD_SETTID},
    {"CLONE_NEWCGROUP", 0x02000000},
    {"CLONE_NEWUTS", CLONE_NEWUTS},
    {"CLONE_NEWIPC", CLONE_NEWIPC},
    {"CLONE_NEWUSER", CLONE_NEWUSER},
    {"CLONE_NEWPID", CLONE_NEWPID},
    {"CLONE_NEWNET", CLONE_NEWNET},
    {"CLONE_IO", CLONE_IO},
};

// Architectures whose syscall names a portable policy may mention: a name that exists on one
// of them but not on the native architecture is skipped, not an error.
constexpr uint32_t kKnownArches[] = {SCMP_ARCH_X86_64, SCMP_ARCH_X86,     SCMP_ARCH_AARCH64,
                                     SCMP_ARCH_ARM,    SCMP_ARCH_PPC64LE, SCMP_ARCH_S390X,
                                     SCMP_ARCH_RISCV64};

const Named* find_named(const Named* begin, const Named* end, std::string_view name) {
  for (const Named* n = begin; n != end; ++n)
    if (name == n->name) return n;
  return nullptr;
}

bool read_file(const std::string& path, std::string& text, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    error = strerror(errno);
    return false;
  }
  text = ss.str();
  return true;
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::vector<std::string> tokenize(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) out.push_back(std::move(cur));
    cur.clear();
  };
  for (size_t i = 0; i < line.size(); i++) {
    char c = line[i];
    if (c == '#') break;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
      flush();
    } else if (c == '-' && i + 1 < line.size() && line[i + 1] == '>') {
      flush();
      out.push_back("->");
      i++;
    } else {
      cur += c;
    }
  }
  flush();
  return out;
}

class Parser {
 public:
  Parser(Policy& p, const ParseOptions& o) : policy_(p), options_(o) {}

  bool file(const std::string& path, int depth, std::string& error) {
    std::string text, why;
    FileReader reader = options_.reader ? options_.reader : read_file;
    if (!reader(path, text, why)) {
      error = path + ": cannot read the policy file: " + why;
      return false;
    }
    return parse(text, path, depth, error);
  }

  bool parse(const std::string& text, const std::string& path, int depth, std::string& error) {
    for (auto& s : stack_)
      if (s == path) {
        error = path + ": include cycle: the file includes itself";
        return false;
      }
    stack_.push_back(path);
    Where own_default;  // this file's own `default` line
    std::istringstream in(text);
    std::string line;
    int lineno = 0;
    bool ok = true;
    while (ok && std::getline(in, line)) {
      lineno++;
      Where at{path, lineno};
      if (line.find('\0') != std::string::npos) {
        ok = fail(error, at, "NUL byte in the policy file");
        break;
      }
      std::vector<std::string> t = tokenize(line);
      if (t.empty()) continue;
      const std::string& d = t[0];
      if (d == "default") {
        ok = directive_default(t, at, depth, own_default, error);
      } else if (d == "allow") {
        ok = directive_allow(t, at, depth, error);
      } else if (d == "deny") {
        ok = directive_deny(t, at, depth, error);
      } else if (d == "clone-flags") {
        ok = directive_clone_flags(t, at, depth, error);
      } else if (d == "include") {
        ok = directive_include(t, at, depth, error);
      } else {
        ok = fail(error, at,
                  "unknown directive '" + d +
                      "' (expected default, allow, deny, clone-flags or include)");
      }
    }
    stack_.pop_back();
    return ok;
  }

 private:
  static bool fail(std::string& error, const Where& at, const std::string& msg) {
    error = at.str() + ": " + msg;
    return false;
  }

  // tokens [i, end) -> action.
  bool action(const std::vector<std::string>& t, size_t i, const Where& at, bool allow_ok,
              Action& out, std::string& error) {
    if (i >= t.size()) return fail(error, at, "missing action (allow, errno E or kill)");
    const std::string& a = t[i++];
    if (a == "allow") {
      if (!allow_ok) return fail(error, at, "'allow' is not a denial here: use errno E or kill");
      out = Action::allow();
    } else if (a == "kill") {
      out = Action::kill();
    } else if (a == "errno") {
      if (i >= t.size()) return fail(error, at, "'errno' needs a value, e.g. errno EPERM");
      const std::string& v = t[i++];
      int e = 0;
      if (const Named* n = find_named(std::begin(kErrnos), std::end(kErrnos), v)) {
        e = int(n->value);
      } else {
        bool digits = !v.empty() && v.size() <= 5;
        for (char c : v) digits = digits && c >= '0' && c <= '9';
        if (!digits) return fail(error, at, "unknown errno '" + v + "'");
        e = atoi(v.c_str());
        if (e < 1 || e > kMaxErrno)
          return fail(error, at, "errno " + v + " is out of range (1 to 4094)");
      }
      out = Action::errno_(e);
    } else {
      return fail(error, at, "unknown action '" + a + "' (expected allow, errno E or kill)");
    }
    if (i < t.size() && t[i] == "nolog") {
      if (out.kind == Action::Kind::Allow)
        return fail(error, at, "'nolog' applies to denials only");
      out.log = false;
      i++;
    }
    if (i < t.size()) return fail(error, at, "unexpected '" + t[i] + "' after the action");
    return true;
  }

  // Resolves NAME; nr < 0 when the syscall exists on other architectures only (skipped).
  bool syscall(const std::string& name, const Where& at, int& nr, std::string& error) {
    nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr >= 0) return true;
    for (uint32_t arch : kKnownArches)
      if (seccomp_syscall_resolve_name_arch(arch, name.c_str()) != __NR_SCMP_ERROR) {
        nr = -1;
        return true;
      }
    return fail(error, at, "unknown syscall '" + name + "'");
  }

  bool add_rule(const std::string& name, int nr, const Action& a, const Where& at, int depth,
                std::string& error) {
    auto it = policy_.rules.find(nr);
    if (it == policy_.rules.end()) {
      policy_.rules[nr] = SyscallRule{a, at, depth};
      return true;
    }
    SyscallRule& r = it->second;
    if (r.action == a) return true;  // said twice, same meaning
    if (depth < r.depth) {           // an including file overrides what it includes
      r = SyscallRule{a, at, depth};
      return true;
    }
    if (depth > r.depth) return true;  // the includer already decided
    return fail(error, at,
                "'" + name + "' is given " + a.describe() + " here but " + r.action.describe() +
                    " at " + r.where.str());
  }

  bool directive_default(const std::vector<std::string>& t, const Where& at, int depth, Where& own,
                         std::string& error) {
    if (own.line) return fail(error, at, "'default' is given twice (first at " + own.str() + ")");
    Action a;
    if (!action(t, 1, at, true, a, error)) return false;
    own = at;
    if (depth < policy_.default_depth) {
      policy_.default_action = a;
      policy_.default_where = at;
      policy_.default_depth = depth;
    } else if (depth == policy_.default_depth && !(a == policy_.default_action)) {
      return fail(error, at,
                  "'default " + a.describe() + "' conflicts with 'default " +
                      policy_.default_action.describe() + "' at " + policy_.default_where.str());
    }
    return true;
  }

  bool directive_allow(const std::vector<std::string>& t, const Where& at, int depth,
                       std::string& error) {
    if (t.size() < 2) return fail(error, at, "'allow' needs at least one syscall name");
    for (size_t i = 1; i < t.size(); i++) {
      if (t[i] == "->")
        return fail(error, at, "'allow' takes no action: write deny NAME... -> ACTION");
      int nr;
      if (!syscall(t[i], at, nr, error)) return false;
      if (nr >= 0 && !add_rule(t[i], nr, Action::allow(), at, depth, error)) return false;
    }
    return true;
  }

  bool directive_deny(const std::vector<std::string>& t, const Where& at, int depth,
                      std::string& error) {
    size_t arrow = 1;
    while (arrow < t.size() && t[arrow] != "->") arrow++;
    if (arrow == 1) return fail(error, at, "'deny' needs at least one syscall name");
    Action a = Action::errno_(EPERM);
    if (arrow < t.size() && !action(t, arrow + 1, at, false, a, error)) return false;
    for (size_t i = 1; i < arrow; i++) {
      int nr;
      if (!syscall(t[i], at, nr, error)) return false;
      if (nr >= 0 && !add_rule(t[i], nr, a, at, depth, error)) return false;
    }
    return true;
  }

  bool directive_clone_flags(const std::vector<std::string>& t, const Where& at, int depth,
                             std::string& error) {
    if (t.size() < 2 || (t[1] != "deny" && t[1] != "require"))
      return fail(error, at, "'clone-flags' needs 'deny' or 'require' and CLONE_* flags");
    size_t arrow = 2;
    while (arrow < t.size() && t[arrow] != "->") arrow++;
    uint64_t mask = 0;
    for (size_t i = 2; i < arrow; i++) {
      std::string_view rest = t[i];
      while (!rest.empty()) {
        size_t bar = rest.find('|');
        std::string_view f = rest.substr(0, bar);
        rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
        if (f.empty()) continue;
        const Named* n = find_named(std::begin(kCloneFlags), std::end(kCloneFlags), f);
        if (!n) return fail(error, at, "unknown clone flag '" + std::string(f) + "'");
        mask |= n->value;
      }
    }
    if (!mask) return fail(error, at, "'clone-flags " + t[1] + "' needs at least one CLONE_* flag");
    Action a = Action::errno_(EPERM);
    if (arrow < t.size() && !action(t, arrow + 1, at, false, a, error)) return false;
    if (!policy_.has_clone_rules() || depth < policy_.clone_depth) {
      policy_.clone_action = a;
      policy_.clone_where = at;
      policy_.clone_depth = depth;
    } else if (depth == policy_.clone_depth && !(a == policy_.clone_action)) {
      return fail(error, at,
                  "every clone-flags rule must have the same action: " + a.describe() + " here, " +
                      policy_.clone_action.describe() + " at " + policy_.clone_where.str());
    }
    (t[1] == "deny" ? policy_.clone_deny : policy_.clone_require) |= mask;
    return true;
  }

  bool directive_include(const std::vector<std::string>& t, const Where& at, int depth,
                         std::string& error) {
    if (t.size() != 2) return fail(error, at, "'include' needs exactly one file name");
    if (depth + 1 > options_.max_depth) return fail(error, at, "includes are nested too deeply");
    std::string target = t[1][0] == '/' ? t[1] : dir_of(at.file) + "/" + t[1];
    for (auto& s : stack_)
      if (s == target)
        return fail(error, at, "include cycle: '" + target + "' is already being read");
    std::string text, why;
    FileReader reader = options_.reader ? options_.reader : read_file;
    if (!reader(target, text, why))
      return fail(error, at, "cannot read the included file '" + target + "': " + why);
    return parse(text, target, depth + 1, error);
  }

  Policy& policy_;
  const ParseOptions& options_;
  std::vector<std::string> stack_;
};

uint32_t bpf_action(const Action& a, bool notify) {
  switch (a.kind) {
    case Action::Kind::Allow:
      return SCMP_ACT_ALLOW;
    case Action::Kind::Errno:
      return notify && a.log ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(uint32_t(a.error));
    case Action::Kind::Kill:
      return notify && a.log ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS;
  }
  return SCMP_ACT_KILL_PROCESS;
}

bool export_bpf(scmp_filter_ctx ctx, std::vector<sock_filter>& out, std::string& error) {
  int fd = memfd_create("php-pool-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    error = std::string("memfd_create: ") + strerror(errno);
    return false;
  }
  int r = seccomp_export_bpf(ctx, fd);
  if (r < 0) {
    close(fd);
    error = std::string("seccomp_export_bpf: ") + strerror(-r);
    return false;
  }
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % off_t(sizeof(sock_filter)) != 0) {
    close(fd);
    error = "seccomp_export_bpf produced no program";
    return false;
  }
  out.resize(size_t(size) / sizeof(sock_filter));
  ssize_t got = pread(fd, out.data(), size_t(size), 0);
  close(fd);
  if (got != size) {
    error = "cannot read back the BPF program";
    return false;
  }
  return true;
}

bool build(const Policy& p, bool notify, std::vector<sock_filter>& out, std::string& error) {
  const uint32_t def = bpf_action(p.default_action, notify);
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) {
    error = "seccomp_init failed";
    return false;
  }
  struct Guard {
    scmp_filter_ctx c;
    ~Guard() { seccomp_release(c); }
  } guard{ctx};
  // Another architecture's syscall numbers (int 0x80, x32) would bypass the rules.
  seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);  // a binary tree: long allowlists stay fast
  auto add = [&](uint32_t action, int nr, unsigned n, const scmp_arg_cmp* cmp) {
    int r = seccomp_rule_add_array(ctx, action, nr, n, cmp);
    if (r < 0) {
      error = "cannot add a rule for " + syscall_name(nr) + ": " + strerror(-r);
      return false;
    }
    return true;
  };
  const int clone_nr = SCMP_SYS(clone);
  for (auto& [nr, rule] : p.rules) {
    if (nr == clone_nr) continue;
    uint32_t a = bpf_action(rule.action, notify);
    if (a != def && !add(a, nr, 0, nullptr)) return false;
  }
  // clone: see Policy::evaluate. The allowed case is one masked compare; the denied cases are
  // one rule per flag, all with the same action, so no two rules with different actions overlap.
  Action base = p.base_action(clone_nr);
  if (base.kind == Action::Kind::Allow && p.has_clone_rules()) {
    const uint64_t mask = p.clone_deny | p.clone_require;
    const uint32_t deny = bpf_action(p.clone_action, notify);
    if (def != SCMP_ACT_ALLOW) {
      scmp_arg_cmp ok = SCMP_A0(SCMP_CMP_MASKED_EQ, mask, p.clone_require);
      if (!add(SCMP_ACT_ALLOW, clone_nr, 1, &ok)) return false;
    }
    if (deny != def) {
      for (int bit = 0; bit < 64; bit++) {
        uint64_t f = uint64_t(1) << bit;
        if (p.clone_deny & f) {
          scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, f, f);
          if (!add(deny, clone_nr, 1, &c)) return false;
        }
        if (p.clone_require & f) {
          scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, f, 0);
          if (!add(deny, clone_nr, 1, &c)) return false;
        }
      }
    }
  } else {
    uint32_t a = bpf_action(base, notify);
    if (a != def && !add(a, clone_nr, 0, nullptr)) return false;
  }
  return export_bpf(ctx, out, error);
}

bool has_notify(const std::vector<sock_filter>& prog) {
  for (auto& ins : prog)
    if (ins.code == (BPF_RET | BPF_K) && (ins.k & SECCOMP_RET_ACTION_FULL) == SCMP_ACT_NOTIFY)
      return true;
  return false;
}

// Syscalls a worker makes after its filter is loaded, whatever the script does: the request
// loop (accept4, poll, read, write, close), handing the notification fd to the manager (sendmsg),
// memory, signals and threads.
constexpr const char* kWorkerNeeds[] = {
    "read",
    "write",
    "writev",
    "close",
    "poll",
    "ppoll",
    "accept4",
    "ioctl",
    "recvmsg",
    "sendmsg",
    "recvfrom",
    "sendto",
    "futex",
    "mmap",
    "munmap",
    "mprotect",
    "madvise",
    "brk",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "exit",
    "exit_group",
    "clone",
    "set_robust_list",
    "rseq",
    "getpid",
    "gettid",
    "kill",
    "clock_gettime",
    "nanosleep",
    "clock_nanosleep",
};

}  // namespace

std::string Action::describe() const {
  std::string s;
  switch (kind) {
    case Kind::Allow:
      return "allow";
    case Kind::Errno:
      s = "errno " + errno_name(error);
      break;
    case Kind::Kill:
      s = "kill";
      break;
  }
  if (!log) s += " nolog";
  return s;
}

Action Policy::base_action(int nr, Where* where) const {
  auto it = rules.find(nr);
  if (it != rules.end()) {
    if (where) *where = it->second.where;
    return it->second.action;
  }
  if (where) *where = default_where;
  return default_action;
}

Action Policy::evaluate(int nr, uint64_t arg0) const {
  Action base = base_action(nr);
  if (base.kind == Action::Kind::Allow && nr == SCMP_SYS(clone) && has_clone_rules()) {
    if ((arg0 & clone_deny) != 0 || (arg0 & clone_require) != clone_require) return clone_action;
  }
  return base;
}

bool parse_policy_text(const std::string& text, const std::string& file, Policy& out,
                       std::string& error, const ParseOptions& options) {
  Policy p;
  p.file = file;
  Parser parser(p, options);
  if (!parser.parse(text, file, 0, error)) return false;
  out = std::move(p);
  return true;
}

bool parse_policy_file(const std::string& path, Policy& out, std::string& error,
                       const ParseOptions& options) {
  Policy p;
  p.file = path;
  Parser parser(p, options);
  if (!parser.file(path, 0, error)) return false;
  out = std::move(p);
  return true;
}

bool check_worker_needs(const Policy& policy, std::string& error) {
  for (const char* name : kWorkerNeeds) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr < 0) continue;  // not on this architecture
    Where where;
    Action a = policy.base_action(nr, &where);
    if (a.denies()) {
      error = (where.line ? where.str() : policy.file) + ": the policy denies '" + name +
              "', which every php-pool worker needs (add it to an allow line)";
      return false;
    }
  }
  // Threads: clone with the flags glibc's pthread_create uses.
  const uint64_t thread_flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
                                CLONE_CHILD_CLEARTID;
  if (policy.evaluate(SCMP_SYS(clone), thread_flags).denies()) {
    error = policy.clone_where.str() +
            ": the clone-flags rules deny creating threads (clone with CLONE_THREAD), which "
            "every php-pool worker needs";
    return false;
  }
  return true;
}

bool compile_policy(const Policy& policy, Program& out, std::string& error) {
  Program p;
  if (!build(policy, false, p.plain, error)) {
    error = policy.file + ": " + error;
    return false;
  }
  // User notifications need Linux 5.0 and a libseccomp that knows them; without them the
  // plain program is used and denials are not logged (the worker says so once).
  if (p.plain.size() > BPF_MAXINSNS) {
    error = policy.file + ": the policy compiles to " + std::to_string(p.plain.size()) +
            " BPF instructions; the kernel accepts at most " + std::to_string(BPF_MAXINSNS);
    return false;
  }
  std::string ignored;
  if (seccomp_api_get() >= 5 && build(policy, true, p.notify, ignored) &&
      p.notify.size() <= BPF_MAXINSNS)
    p.uses_notify = has_notify(p.notify);
  else
    p.notify.clear();
  out = std::move(p);
  return true;
}

bool resolve_policy_spec(const std::string& spec, std::string& path, std::string& error) {
  if (spec == "off") {
    path.clear();
    return true;
  }
  if (spec == "default" || spec == "strict") {
    const std::string candidates[] = {
        std::string(PHP_POOL_DATADIR) + "/seccomp/" + spec + ".policy",
        std::string(PHP_POOL_SOURCE_ROOT) + "/policy/seccomp/" + spec + ".policy",
    };
    for (auto& c : candidates)
      if (access(c.c_str(), R_OK) == 0) {
        path = c;
        return true;
      }
    error = "sandbox.seccomp = " + spec + ": the policy file is missing (looked for " +
            candidates[0] + " and " + candidates[1] + ")";
    return false;
  }
  if (!spec.empty() && spec[0] == '/') {
    path = spec;
    return true;
  }
  error = "sandbox.seccomp = " + spec +
          ": expected default, strict, off or the absolute path of a policy file";
  return false;
}

bool load_policy(const std::string& spec, bool& enabled, LoadedPolicy& out, std::string& error) {
  enabled = false;
  std::string path;
  if (!resolve_policy_spec(spec, path, error)) return false;
  if (path.empty()) return true;  // off
  LoadedPolicy l;
  if (!parse_policy_file(path, l.policy, error) || !check_worker_needs(l.policy, error) ||
      !compile_policy(l.policy, l.program, error))
    return false;
  l.label = spec[0] == '/' ? path : spec;
  out = std::move(l);
  enabled = true;
  return true;
}

// Declared in sandbox.hpp (for php-pool --test); defined here so that the command line needs
// libseccomp only, not the worker's PHP side.
bool check_policy(const std::string& spec, std::string& error) {
  bool enabled;
  LoadedPolicy l;
  return load_policy(spec, enabled, l, error);
}

std::string syscall_name(int nr) {
  char* n = seccomp_syscall_resolve_num_arch(seccomp_arch_native(), nr);
  if (!n) return "syscall " + std::to_string(nr);
  std::string s(n);
  free(n);
  return s;
}

std::string errno_name(int e) {
  for (auto& n : kErrnos)
    if (int(n.value) == e) return n.name;
  return std::to_string(e);
}

}  // namespace php_pool::sandbox
