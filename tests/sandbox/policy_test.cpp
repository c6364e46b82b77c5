// The seccomp policy format: every directive, every error (as FILE:LINE: message), the
// compiled shipped policies, and the sandbox.seccomp values php-pool --test checks.
#include <gtest/gtest.h>
#include <sched.h>
#include <seccomp.h>

#include <map>
#include <string>

#include "build-config.h"
#include "sandbox/policy.hpp"
#include "sandbox/sandbox.hpp"

using namespace php_pool::sandbox;

namespace {

const std::string kSourcePolicies = std::string(PHP_POOL_SOURCE_ROOT) + "/policy/seccomp/";

int nr(const char* name) {
  return seccomp_syscall_resolve_name(name);
}

// Parses TEXT as /p/main.policy; FILES are what includes can read.
struct Parsed {
  bool ok = false;
  Policy policy;
  std::string error;
};
Parsed parse(const std::string& text, const std::map<std::string, std::string>& files = {}) {
  Parsed r;
  ParseOptions o;
  o.reader = [files](const std::string& path, std::string& out, std::string& error) {
    auto it = files.find(path);
    if (it == files.end()) {
      error = "No such file or directory";
      return false;
    }
    out = it->second;
    return true;
  };
  r.ok = parse_policy_text(text, "/p/main.policy", r.policy, r.error, o);
  return r;
}

std::string error_of(const std::string& text,
                     const std::map<std::string, std::string>& files = {}) {
  Parsed r = parse(text, files);
  EXPECT_FALSE(r.ok) << "accepted: " << text;
  return r.error;
}

const uint64_t kThreadFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                              CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
                              CLONE_CHILD_CLEARTID;
const uint64_t kForkFlags = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD;
const uint64_t kSpawnFlags = CLONE_VM | CLONE_VFORK | SIGCHLD;

}  // namespace

// --- directives ---------------------------------------------------------------------------

TEST(PolicyParse, EmptyPolicyAllowsEverything) {
  Parsed r = parse("# nothing but a comment\n\n   \n\t# another\n");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.policy.default_action, Action::allow());
  EXPECT_TRUE(r.policy.rules.empty());
  EXPECT_FALSE(r.policy.has_clone_rules());
  EXPECT_EQ(r.policy.evaluate(nr("ptrace"), 0), Action::allow());
}

TEST(PolicyParse, DefaultActions) {
  struct Case {
    const char* text;
    Action expect;
  } cases[] = {
      {"default allow", Action::allow()},
      {"default kill", Action::kill()},
      {"default kill nolog", Action::kill(false)},
      {"default errno EPERM", Action::errno_(EPERM)},
      {"default errno EACCES   # trailing comment", Action::errno_(EACCES)},
      {"default errno 13", Action::errno_(13)},
      {"default errno 4094", Action::errno_(4094)},
      {"default errno ENOSYS nolog", Action::errno_(ENOSYS, false)},
  };
  for (auto& c : cases) {
    Parsed r = parse(c.text);
    ASSERT_TRUE(r.ok) << c.text << ": " << r.error;
    EXPECT_EQ(r.policy.default_action, c.expect) << c.text;
    EXPECT_EQ(r.policy.default_where.str(), "/p/main.policy:1");
    EXPECT_EQ(r.policy.evaluate(nr("read"), 0), c.expect) << c.text;
  }
}

TEST(PolicyParse, AllowAndDeny) {
  Parsed r = parse(
      "default errno EPERM\n"
      "allow read write\n"
      "allow read\n"  // repeated with the same meaning: fine
      "deny ptrace\n"
      "deny kexec_load -> kill\n"
      "deny bpf->errno EACCES\n"
      "deny clone3 -> errno ENOSYS nolog\n"
      "deny keyctl -> errno 38\n");
  ASSERT_TRUE(r.ok) << r.error;
  const Policy& p = r.policy;
  EXPECT_EQ(p.evaluate(nr("read"), 0), Action::allow());
  EXPECT_EQ(p.evaluate(nr("write"), 0), Action::allow());
  EXPECT_EQ(p.evaluate(nr("ptrace"), 0), Action::errno_(EPERM));
  EXPECT_EQ(p.evaluate(nr("kexec_load"), 0), Action::kill());
  EXPECT_EQ(p.evaluate(nr("bpf"), 0), Action::errno_(EACCES));
  EXPECT_EQ(p.evaluate(nr("clone3"), 0), Action::errno_(ENOSYS, false));
  EXPECT_EQ(p.evaluate(nr("keyctl"), 0), Action::errno_(ENOSYS));
  EXPECT_EQ(p.evaluate(nr("getpid"), 0), Action::errno_(EPERM));  // the default
  Where w;
  p.base_action(nr("bpf"), &w);
  EXPECT_EQ(w.str(), "/p/main.policy:6");
}

TEST(PolicyParse, ActionDescriptions) {
  EXPECT_EQ(Action::allow().describe(), "allow");
  EXPECT_EQ(Action::kill().describe(), "kill");
  EXPECT_EQ(Action::kill(false).describe(), "kill nolog");
  EXPECT_EQ(Action::errno_(EPERM).describe(), "errno EPERM");
  EXPECT_EQ(Action::errno_(ENOSYS, false).describe(), "errno ENOSYS nolog");
  EXPECT_EQ(Action::errno_(4000).describe(), "errno 4000");
}

TEST(PolicyParse, SyscallOfAnotherArchitectureIsSkipped) {
  // vm86 exists on 32-bit x86 only, stime nowhere 64-bit: portable policies may name them.
  Parsed r = parse("deny vm86 stime\nallow ptrace\n");
  ASSERT_TRUE(r.ok) << r.error;
  if (nr("vm86") < 0) {
    EXPECT_EQ(r.policy.rules.size(), 1u);
  }
}

TEST(PolicyParse, CloneFlags) {
  Parsed r = parse(
      "clone-flags deny CLONE_NEWNS|CLONE_NEWUSER CLONE_NEWPID\n"
      "clone-flags deny CLONE_NEWNET|\n"
      "clone-flags require CLONE_THREAD\n");
  ASSERT_TRUE(r.ok) << r.error;
  const Policy& p = r.policy;
  EXPECT_EQ(p.clone_deny, uint64_t(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET));
  EXPECT_EQ(p.clone_require, uint64_t(CLONE_THREAD));
  EXPECT_EQ(p.clone_action, Action::errno_(EPERM));
  const int clone = nr("clone");
  EXPECT_EQ(p.evaluate(clone, kThreadFlags), Action::allow());
  EXPECT_EQ(p.evaluate(clone, kForkFlags), Action::errno_(EPERM));
  EXPECT_EQ(p.evaluate(clone, kThreadFlags | CLONE_NEWUSER), Action::errno_(EPERM));
  // The rules look at clone only.
  EXPECT_EQ(p.evaluate(nr("unshare"), CLONE_NEWUSER), Action::allow());
}

TEST(PolicyParse, CloneFlagsWithAction) {
  Parsed r = parse("clone-flags deny CLONE_NEWUSER -> kill\nclone-flags deny CLONE_NEWNS -> kill");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.policy.evaluate(nr("clone"), kForkFlags | CLONE_NEWNS), Action::kill());
  EXPECT_EQ(r.policy.evaluate(nr("clone"), kForkFlags), Action::allow());
}

TEST(PolicyParse, CloneDeniedOutrightIgnoresFlagRules) {
  Parsed r = parse("deny clone -> kill\nclone-flags require CLONE_THREAD\n");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.policy.evaluate(nr("clone"), kThreadFlags), Action::kill());
}

TEST(PolicyParse, IncludeRelativeAndOverride) {
  std::map<std::string, std::string> files = {
      {"/p/base.policy",
       "default allow\ndeny ptrace io_uring_setup\nclone-flags deny CLONE_NEWNS\n"},
      {"/abs/other.policy", "deny bpf\n"},
  };
  Parsed r = parse(
      "include base.policy\n"
      "include /abs/other.policy\n"
      "allow io_uring_setup\n"  // the including file overrides what it includes
      "default errno EPERM\n"   // ... and its default
      "allow read\n",
      files);
  ASSERT_TRUE(r.ok) << r.error;
  const Policy& p = r.policy;
  EXPECT_EQ(p.default_action, Action::errno_(EPERM));
  EXPECT_EQ(p.default_where.str(), "/p/main.policy:4");
  EXPECT_EQ(p.evaluate(nr("io_uring_setup"), 0), Action::allow());
  EXPECT_EQ(p.evaluate(nr("ptrace"), 0), Action::errno_(EPERM));
  EXPECT_EQ(p.evaluate(nr("bpf"), 0), Action::errno_(EPERM));
  EXPECT_EQ(p.clone_deny, uint64_t(CLONE_NEWNS));
  Where w;
  p.base_action(nr("ptrace"), &w);
  EXPECT_EQ(w.str(), "/p/base.policy:2");
}

TEST(PolicyParse, IncluderWinsWhateverTheOrder) {
  std::map<std::string, std::string> files = {{"/p/base.policy", "default allow\nallow ptrace\n"}};
  Parsed r = parse("default kill\ndeny ptrace\ninclude base.policy\n", files);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.policy.default_action, Action::kill());
  EXPECT_EQ(r.policy.evaluate(nr("ptrace"), 0), Action::errno_(EPERM));
}

// --- errors: each names FILE:LINE ------------------------------------------------------

TEST(PolicyErrors, UnknownDirective) {
  EXPECT_EQ(error_of("# x\n\npermit read\n"),
            "/p/main.policy:3: unknown directive 'permit' (expected default, allow, deny, "
            "clone-flags or include)");
}

TEST(PolicyErrors, Allow) {
  EXPECT_EQ(error_of("allow\n"), "/p/main.policy:1: 'allow' needs at least one syscall name");
  EXPECT_EQ(error_of("allow read -> kill\n"),
            "/p/main.policy:1: 'allow' takes no action: write deny NAME... -> ACTION");
  EXPECT_EQ(error_of("allow read nosuchcall\n"), "/p/main.policy:1: unknown syscall 'nosuchcall'");
}

TEST(PolicyErrors, Deny) {
  EXPECT_EQ(error_of("deny\n"), "/p/main.policy:1: 'deny' needs at least one syscall name");
  EXPECT_EQ(error_of("deny -> kill\n"), "/p/main.policy:1: 'deny' needs at least one syscall name");
  EXPECT_EQ(error_of("\ndeny ptrac\n"), "/p/main.policy:2: unknown syscall 'ptrac'");
  EXPECT_EQ(error_of("deny ptrace ->\n"),
            "/p/main.policy:1: missing action (allow, errno E or kill)");
  EXPECT_EQ(error_of("deny ptrace -> allow\n"),
            "/p/main.policy:1: 'allow' is not a denial here: use errno E or kill");
  EXPECT_EQ(error_of("deny ptrace -> refuse\n"),
            "/p/main.policy:1: unknown action 'refuse' (expected allow, errno E or kill)");
  EXPECT_EQ(error_of("deny ptrace -> kill now\n"),
            "/p/main.policy:1: unexpected 'now' after the action");
  EXPECT_EQ(error_of("deny ptrace -> kill nolog nolog\n"),
            "/p/main.policy:1: unexpected 'nolog' after the action");
}

TEST(PolicyErrors, Errno) {
  EXPECT_EQ(error_of("default errno\n"),
            "/p/main.policy:1: 'errno' needs a value, e.g. errno EPERM");
  EXPECT_EQ(error_of("default errno EWHAT\n"), "/p/main.policy:1: unknown errno 'EWHAT'");
  EXPECT_EQ(error_of("default errno -1\n"), "/p/main.policy:1: unknown errno '-1'");
  EXPECT_EQ(error_of("default errno 0\n"), "/p/main.policy:1: errno 0 is out of range (1 to 4094)");
  EXPECT_EQ(error_of("default errno 4095\n"),
            "/p/main.policy:1: errno 4095 is out of range (1 to 4094)");
  EXPECT_EQ(error_of("default errno 99999999\n"), "/p/main.policy:1: unknown errno '99999999'");
}

TEST(PolicyErrors, Default) {
  EXPECT_EQ(error_of("default\n"), "/p/main.policy:1: missing action (allow, errno E or kill)");
  EXPECT_EQ(error_of("default allow nolog\n"), "/p/main.policy:1: 'nolog' applies to denials only");
  EXPECT_EQ(error_of("default allow\n# x\ndefault allow\n"),
            "/p/main.policy:3: 'default' is given twice (first at /p/main.policy:1)");
}

TEST(PolicyErrors, ConflictingRules) {
  EXPECT_EQ(error_of("allow ptrace\ndeny ptrace\n"),
            "/p/main.policy:2: 'ptrace' is given errno EPERM here but allow at "
            "/p/main.policy:1");
  EXPECT_EQ(error_of("deny ptrace\ndeny ptrace -> kill\n"),
            "/p/main.policy:2: 'ptrace' is given kill here but errno EPERM at /p/main.policy:1");
  // Two files included by the same file are at the same depth: they must agree.
  std::map<std::string, std::string> files = {{"/p/a.policy", "deny bpf\n"},
                                              {"/p/b.policy", "\nallow bpf\n"}};
  EXPECT_EQ(error_of("include a.policy\ninclude b.policy\n", files),
            "/p/b.policy:2: 'bpf' is given allow here but errno EPERM at /p/a.policy:1");
  files = {{"/p/a.policy", "default allow\n"}, {"/p/b.policy", "default kill\n"}};
  EXPECT_EQ(error_of("include a.policy\ninclude b.policy\n", files),
            "/p/b.policy:1: 'default kill' conflicts with 'default allow' at /p/a.policy:1");
}

TEST(PolicyErrors, CloneFlags) {
  EXPECT_EQ(error_of("clone-flags\n"),
            "/p/main.policy:1: 'clone-flags' needs 'deny' or 'require' and CLONE_* flags");
  EXPECT_EQ(error_of("clone-flags forbid CLONE_NEWNS\n"),
            "/p/main.policy:1: 'clone-flags' needs 'deny' or 'require' and CLONE_* flags");
  EXPECT_EQ(error_of("clone-flags deny\n"),
            "/p/main.policy:1: 'clone-flags deny' needs at least one CLONE_* flag");
  EXPECT_EQ(error_of("clone-flags require | -> kill\n"),
            "/p/main.policy:1: 'clone-flags require' needs at least one CLONE_* flag");
  EXPECT_EQ(error_of("clone-flags deny CLONE_NEWNS|CLONE_NEWFOO\n"),
            "/p/main.policy:1: unknown clone flag 'CLONE_NEWFOO'");
  EXPECT_EQ(error_of("clone-flags deny CLONE_NEWNS -> allow\n"),
            "/p/main.policy:1: 'allow' is not a denial here: use errno E or kill");
  EXPECT_EQ(error_of("clone-flags deny CLONE_NEWNS\nclone-flags require CLONE_THREAD -> kill\n"),
            "/p/main.policy:2: every clone-flags rule must have the same action: kill here, "
            "errno EPERM at /p/main.policy:1");
}

TEST(PolicyErrors, Include) {
  EXPECT_EQ(error_of("include\n"), "/p/main.policy:1: 'include' needs exactly one file name");
  EXPECT_EQ(error_of("include a b\n"), "/p/main.policy:1: 'include' needs exactly one file name");
  EXPECT_EQ(error_of("\ninclude missing.policy\n"),
            "/p/main.policy:2: cannot read the included file '/p/missing.policy': No such file "
            "or directory");
  std::map<std::string, std::string> files = {{"/p/a.policy", "include b.policy\n"},
                                              {"/p/b.policy", "# b\ninclude a.policy\n"}};
  EXPECT_EQ(error_of("include a.policy\n", files),
            "/p/b.policy:2: include cycle: '/p/a.policy' is already being read");
  // Errors inside an included file name that file and line.
  files = {{"/p/a.policy", "allow read\nallow nosuchcall\n"}};
  EXPECT_EQ(error_of("include a.policy\n", files), "/p/a.policy:2: unknown syscall 'nosuchcall'");
  // Nesting depth.
  files.clear();
  for (int i = 0; i < 12; i++)
    files["/p/n" + std::to_string(i) + ".policy"] =
        "include n" + std::to_string(i + 1) + ".policy\n";
  EXPECT_EQ(error_of("include n0.policy\n", files),
            "/p/n7.policy:1: includes are nested too deeply");
}

TEST(PolicyErrors, NulByte) {
  EXPECT_EQ(error_of(std::string("allow read\nallow\0write\n", 23)),
            "/p/main.policy:2: NUL byte in the policy file");
}

TEST(PolicyErrors, UnreadableFile) {
  Policy p;
  std::string error;
  EXPECT_FALSE(parse_policy_file("/nonexistent/x.policy", p, error));
  EXPECT_EQ(error, "/nonexistent/x.policy: cannot read the policy file: No such file or directory");
}

TEST(PolicyErrors, WorkerNeeds) {
  Policy p;
  std::string error;
  ASSERT_TRUE(parse_policy_text("default errno EPERM\nallow read\n", "/p/x.policy", p, error));
  EXPECT_FALSE(check_worker_needs(p, error));
  EXPECT_EQ(error,
            "/p/x.policy:1: the policy denies 'write', which every php-pool worker needs (add it "
            "to an allow line)");
  ASSERT_TRUE(parse_policy_text("# x\ndeny accept4 -> kill\n", "/p/x.policy", p, error));
  EXPECT_FALSE(check_worker_needs(p, error));
  EXPECT_EQ(error,
            "/p/x.policy:2: the policy denies 'accept4', which every php-pool worker needs (add "
            "it to an allow line)");
  ASSERT_TRUE(parse_policy_text("clone-flags deny CLONE_THREAD\n", "/p/x.policy", p, error));
  EXPECT_FALSE(check_worker_needs(p, error));
  EXPECT_EQ(error,
            "/p/x.policy:1: the clone-flags rules deny creating threads (clone with "
            "CLONE_THREAD), which every php-pool worker needs");
  ASSERT_TRUE(parse_policy_text("deny ptrace\n", "/p/x.policy", p, error));
  EXPECT_TRUE(check_worker_needs(p, error)) << error;
}

// --- compiling -------------------------------------------------------------------------

TEST(PolicyCompile, ShippedDefault) {
  Policy p;
  Program prog;
  std::string error;
  ASSERT_TRUE(parse_policy_file(kSourcePolicies + "default.policy", p, error)) << error;
  ASSERT_TRUE(check_worker_needs(p, error)) << error;
  ASSERT_TRUE(compile_policy(p, prog, error)) << error;
  EXPECT_FALSE(prog.plain.empty());
  if (seccomp_api_get() >= 5) {
    EXPECT_TRUE(prog.uses_notify);
    EXPECT_FALSE(prog.notify.empty());
  }
  EXPECT_EQ(p.default_action, Action::allow());
  for (const char* denied :
       {"ptrace",        "mount",         "umount2",         "unshare",
        "setns",         "bpf",           "perf_event_open", "kexec_load",
        "init_module",   "finit_module",  "delete_module",   "keyctl",
        "add_key",       "request_key",   "reboot",          "swapon",
        "swapoff",       "clock_settime", "settimeofday",    "adjtimex",
        "clock_adjtime", "iopl",          "ioperm",          "process_vm_readv",
        "pidfd_getfd"})
    EXPECT_EQ(p.evaluate(nr(denied), 0), Action::errno_(EPERM)) << denied;
  for (const char* allowed : {"execve", "fork", "vfork", "read", "socket", "connect", "kill"})
    EXPECT_EQ(p.evaluate(nr(allowed), 0), Action::allow()) << allowed;
  EXPECT_EQ(p.evaluate(nr("clone3"), 0), Action::errno_(ENOSYS, false));
  const int clone = nr("clone");
  EXPECT_EQ(p.evaluate(clone, kForkFlags), Action::allow());
  EXPECT_EQ(p.evaluate(clone, kSpawnFlags), Action::allow());
  EXPECT_EQ(p.evaluate(clone, kThreadFlags), Action::allow());
  for (uint64_t f : {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
                     CLONE_NEWNET, 0x02000000 /* CLONE_NEWCGROUP */})
    EXPECT_EQ(p.evaluate(clone, kForkFlags | f), Action::errno_(EPERM)) << std::hex << f;
}

TEST(PolicyCompile, ShippedStrict) {
  Policy p;
  Program prog;
  std::string error;
  ASSERT_TRUE(parse_policy_file(kSourcePolicies + "strict.policy", p, error)) << error;
  ASSERT_TRUE(check_worker_needs(p, error)) << error;
  ASSERT_TRUE(compile_policy(p, prog, error)) << error;
  EXPECT_FALSE(prog.plain.empty());
  EXPECT_LE(prog.plain.size(), 4096u);
  EXPECT_EQ(p.default_action, Action::errno_(EPERM));
  for (const char* denied : {"execve", "execveat", "fork", "vfork", "ptrace", "unshare", "mount",
                             "bpf", "add_key", "init_module", "process_vm_writev"})
    EXPECT_EQ(p.evaluate(nr(denied), 0), Action::errno_(EPERM)) << denied;
  for (const char* allowed : {"read", "write", "openat", "accept4", "connect", "getrandom", "futex",
                              "mmap", "setitimer", "flock", "ioctl"})
    EXPECT_EQ(p.evaluate(nr(allowed), 0), Action::allow()) << allowed;
  EXPECT_EQ(p.evaluate(nr("clone3"), 0), Action::errno_(ENOSYS, false));
  const int clone = nr("clone");
  EXPECT_EQ(p.evaluate(clone, kThreadFlags), Action::allow());
  EXPECT_EQ(p.evaluate(clone, kForkFlags), Action::errno_(EPERM));
  EXPECT_EQ(p.evaluate(clone, kSpawnFlags), Action::errno_(EPERM));
  EXPECT_EQ(p.evaluate(clone, kThreadFlags | CLONE_NEWUSER), Action::errno_(EPERM));
}

TEST(PolicyCompile, EveryActionCombination) {
  // A default that is neither allow nor the clone action: allowed clone plus the denied cases.
  for (const char* text : {"default kill nolog\nallow read write\n"
                           "clone-flags require CLONE_THREAD -> errno EPERM\n",
                           "default errno EACCES nolog\ndeny read -> kill\ndeny write -> kill "
                           "nolog\nclone-flags deny CLONE_NEWNS -> errno ENOSYS nolog\n",
                           "default allow\n"}) {
    Policy p;
    Program prog;
    std::string error;
    ASSERT_TRUE(parse_policy_text(text, "/p/x.policy", p, error)) << error;
    EXPECT_TRUE(compile_policy(p, prog, error)) << text << ": " << error;
    EXPECT_FALSE(prog.plain.empty());
  }
}

// --- sandbox.seccomp values --------------------------------------------------------------

TEST(PolicySpec, Resolve) {
  std::string path, error;
  EXPECT_TRUE(resolve_policy_spec("off", path, error));
  EXPECT_EQ(path, "");
  ASSERT_TRUE(resolve_policy_spec("default", path, error)) << error;
  EXPECT_TRUE(path.ends_with("/seccomp/default.policy")) << path;
  ASSERT_TRUE(resolve_policy_spec("strict", path, error)) << error;
  EXPECT_TRUE(path.ends_with("/seccomp/strict.policy")) << path;
  EXPECT_TRUE(resolve_policy_spec("/etc/x.policy", path, error));
  EXPECT_EQ(path, "/etc/x.policy");
  EXPECT_FALSE(resolve_policy_spec("relative.policy", path, error));
  EXPECT_EQ(error,
            "sandbox.seccomp = relative.policy: expected default, strict, off or the absolute "
            "path of a policy file");
}

TEST(PolicySpec, CheckPolicy) {
  std::string error;
  EXPECT_TRUE(check_policy("off", error)) << error;
  EXPECT_TRUE(check_policy("default", error)) << error;
  EXPECT_TRUE(check_policy("strict", error)) << error;
  char dir[] = "/tmp/pp-policy-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir));
  std::string file = std::string(dir) + "/broken.policy";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_TRUE(f);
  fputs("# a broken policy\ndefault allow\ndeny ptrace -> explode\n", f);
  fclose(f);
  EXPECT_FALSE(check_policy(file, error));
  EXPECT_EQ(error, file + ":3: unknown action 'explode' (expected allow, errno E or kill)");
  EXPECT_FALSE(check_policy(std::string(dir) + "/missing.policy", error));
  EXPECT_EQ(error, std::string(dir) +
                       "/missing.policy: cannot read the policy file: No such file or directory");
  unlink(file.c_str());
  rmdir(dir);
}
