// Seccomp policies: the text format (documented in php-pool.conf(5), "SECCOMP POLICY FILES"),
// its parser, and the compiler to a BPF program with libseccomp.
//
//   # comment                        (from # to the end of the line)
//   include FILE                     another policy file, relative to this file's directory
//   default ACTION                   what syscalls no rule names get (default: allow)
//   allow NAME...                    these syscalls are allowed
//   deny NAME... [-> ACTION]         these syscalls get ACTION (default: errno EPERM)
//   clone-flags deny FLAG... [-> ACTION]     clone() with any of these flags gets ACTION
//   clone-flags require FLAG... [-> ACTION]  clone() without all of these flags gets ACTION
//
//   ACTION := allow | errno E [nolog] | kill [nolog]     (E: a name such as EPERM, or 1..4094)
//
// Flags are CLONE_* names, separated by spaces or '|'. A file's own rules override the rules of
// the files it includes; two rules of the same depth that disagree are an error. Every error is
// "FILE:LINE: message". Parsing and compiling happen once, in the manager; workers only load the
// finished program (src/sandbox/enforce.hpp).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace php_pool::sandbox {

struct Action {
  enum class Kind : uint8_t { Allow, Errno, Kill };
  Kind kind = Kind::Allow;
  int error = 0;    // Errno: the value the syscall fails with
  bool log = true;  // false ("nolog"): decided by the kernel alone, never reported

  static Action allow() { return {}; }
  static Action errno_(int e, bool log = true) { return {Kind::Errno, e, log}; }
  static Action kill(bool log = true) { return {Kind::Kill, 0, log}; }
  bool denies() const { return kind != Kind::Allow; }
  bool operator==(const Action&) const = default;
  // As written in a policy file: "allow", "errno EPERM", "kill nolog".
  std::string describe() const;
};

struct Where {
  std::string file;
  int line = 0;
  std::string str() const { return file + ":" + std::to_string(line); }
};

struct SyscallRule {
  Action action;
  Where where;
  int depth = 0;  // include depth of the file that set it: 0 = the main file
};

struct Policy {
  std::string file;  // the main file
  Action default_action;
  Where default_where;  // line 0: the policy did not say
  int default_depth = 1 << 30;
  std::map<int, SyscallRule> rules;  // native syscall number -> rule
  // clone() gets clone_action when (flags & clone_deny) != 0 or (flags & clone_require) !=
  // clone_require, provided clone itself is allowed.
  uint64_t clone_deny = 0;
  uint64_t clone_require = 0;
  Action clone_action = Action::errno_(1);
  Where clone_where;
  int clone_depth = 1 << 30;
  bool has_clone_rules() const { return clone_deny || clone_require; }

  // What a call of syscall NR with first argument ARG0 gets: the same decision as the compiled
  // filter (the supervisor uses it to answer notifications and name the action in the log).
  Action evaluate(int nr, uint64_t arg0) const;
  // The action NR gets regardless of its arguments, and where that was decided.
  Action base_action(int nr, Where* where = nullptr) const;
};

// Reads a file for the parser. False with a message (e.g. strerror) when it cannot.
using FileReader =
    std::function<bool(const std::string& path, std::string& text, std::string& error)>;

struct ParseOptions {
  FileReader reader;  // empty: read from the file system
  int max_depth = 8;  // include nesting
};

// Parses the policy file PATH (and its includes). False with "FILE:LINE: message".
bool parse_policy_file(const std::string& path, Policy& out, std::string& error,
                       const ParseOptions& options = {});
// Parses TEXT as the content of FILE (includes are resolved against FILE's directory).
bool parse_policy_text(const std::string& text, const std::string& file, Policy& out,
                       std::string& error, const ParseOptions& options = {});

// Checks that the policy lets a php-pool worker run at all (accept, read, write, threads, the
// notification supervisor's own calls). False with "FILE:LINE: message".
bool check_worker_needs(const Policy& policy, std::string& error);

struct Program {
  // Denials that are logged return SECCOMP_RET_USER_NOTIF: a supervisor answers them (with the
  // errno, or by killing the caller) and writes the log line. Empty when the kernel or
  // libseccomp cannot do user notifications.
  std::vector<sock_filter> notify;
  // The same policy decided by the kernel alone (errno / kill, nothing logged): the fallback,
  // and the supervisor's own filter.
  std::vector<sock_filter> plain;
  bool uses_notify = false;  // `notify` has at least one SECCOMP_RET_USER_NOTIF
};

// Compiles POLICY for the native architecture (other architectures' syscalls kill the process).
bool compile_policy(const Policy& policy, Program& out, std::string& error);

// sandbox.seccomp = default | strict | off | /absolute/path -> the policy file to read; "" for
// off. Built-in names are looked up in PHP_POOL_DATADIR/seccomp, then in the source tree.
bool resolve_policy_spec(const std::string& spec, std::string& path, std::string& error);

// A policy ready for workers: read, checked (check_worker_needs) and compiled.
struct LoadedPolicy {
  std::string label;  // default, strict, or the file's path
  Policy policy;
  Program program;
};
// Everything the manager does with a sandbox.seccomp value: resolve, parse, check, compile.
// `off` succeeds with enabled = false. False with "FILE:LINE: message" (policy errors) or
// "sandbox.seccomp = VALUE: message".
bool load_policy(const std::string& spec, bool& enabled, LoadedPolicy& out, std::string& error);

// The native syscall's name ("execve"), or "syscall N".
std::string syscall_name(int nr);
// "EPERM" for EPERM, or the number as text.
std::string errno_name(int e);

}  // namespace php_pool::sandbox
