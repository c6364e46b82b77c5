// libFuzzer target for the seccomp policy parser and compiler (src/sandbox/policy.cpp).
//
// Input: the main policy file's text, optionally followed by a NUL byte and the text every
// `include` reads (so seeds can pair strict.policy with default.policy).
// Checks, abort()ing on any violation:
//  - a rejected policy has an error "FILE: message" or "FILE:LINE: message" naming one of the
//    two files, with LINE within that file;
//  - an accepted policy has valid actions (errno 1..4094), evaluate() agrees with its rules, and
//    it always compiles (both the plain and the notifying program);
//  - parsing is deterministic.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sandbox/policy.hpp"

namespace {

using namespace php_pool::sandbox;

const std::string kMain = "/f/main.policy";

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_seccomp_policy: %s: %s\n", what, detail.c_str());
  std::abort();
}

size_t count_lines(const std::string& text) {
  size_t n = 1;
  for (char c : text) n += c == '\n';
  return n;
}

void check_action(const Action& a, const char* where) {
  if (a.kind == Action::Kind::Errno && (a.error < 1 || a.error > 4094))
    fail("errno out of range", where);
  if (a.kind == Action::Kind::Allow && !a.log) fail("allow with nolog", where);
  if (a.kind != Action::Kind::Errno && a.error != 0) fail("errno on a non-errno action", where);
}

void check_error(const std::string& error, const std::string& main_text,
                 const std::string& inc_text) {
  if (error.empty()) fail("rejected without a message", "");
  size_t colon = error.find(": ");
  if (colon == std::string::npos) fail("error without ': '", error);
  std::string head = error.substr(0, colon);
  // FILE or FILE:LINE
  size_t line_colon = head.rfind(':');
  std::string file = line_colon == std::string::npos ? head : head.substr(0, line_colon);
  if (file.rfind("/f/", 0) != 0) fail("error names no input file", error);
  if (line_colon != std::string::npos) {
    std::string num = head.substr(line_colon + 1);
    if (num.empty() || num.size() > 9) fail("bad line number", error);
    for (char c : num)
      if (c < '0' || c > '9') fail("bad line number", error);
    size_t line = std::stoul(num);
    size_t lines = count_lines(file == kMain ? main_text : inc_text);
    if (line < 1 || line > lines) fail("line number outside the file", error);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string input(reinterpret_cast<const char*>(data), size);
  std::string main_text = input, inc_text;
  size_t nul = input.find('\0');
  if (nul != std::string::npos) {
    main_text = input.substr(0, nul);
    inc_text = input.substr(nul + 1);
  }
  ParseOptions options;
  options.reader = [&](const std::string& path, std::string& out, std::string& error) {
    if (path == kMain) {
      out = main_text;
      return true;
    }
    if (path.rfind("/f/", 0) == 0 && path.find('/', 3) == std::string::npos) {
      out = inc_text;
      return true;
    }
    error = "No such file or directory";
    return false;
  };
  Policy policy, again;
  std::string error, error2;
  bool ok = parse_policy_text(main_text, kMain, policy, error, options);
  bool ok2 = parse_policy_text(main_text, kMain, again, error2, options);
  if (ok != ok2 || error != error2) fail("parsing is not deterministic", error + " / " + error2);
  if (!ok) {
    check_error(error, main_text, inc_text);
    return 0;
  }
  check_action(policy.default_action, "default");
  check_action(policy.clone_action, "clone-flags");
  for (auto& [nr, rule] : policy.rules) {
    if (nr < 0) fail("negative syscall number", rule.where.str());
    check_action(rule.action, rule.where.str().c_str());
    if (!(policy.base_action(nr) == rule.action)) fail("base_action disagrees", rule.where.str());
    if (rule.where.file.rfind("/f/", 0) != 0) fail("rule from nowhere", rule.where.str());
  }
  if (policy.rules.size() != again.rules.size()) fail("parsing is not deterministic", "rules");
  std::string why;
  check_worker_needs(policy, why);  // either answer is fine; it must not crash
  Program program;
  if (!compile_policy(policy, program, error)) fail("an accepted policy does not compile", error);
  if (program.plain.empty()) fail("empty program", "");
  return 0;
}
