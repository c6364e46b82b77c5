#include "sapi/backtrace.hpp"

#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "sapi/php.hpp"

namespace php_pool::sapi {
namespace {

// Copies `len` bytes at `remote` in `pid` into `local`.
bool peek(pid_t pid, const void* remote, void* local, size_t len) {
  if (!remote) return false;
  iovec l{local, len}, r{const_cast<void*>(remote), len};
  return process_vm_readv(pid, &l, 1, &r, 1, 0) == ssize_t(len);
}

std::string peek_string(pid_t pid, const zend_string* remote) {
  zend_string head;
  if (!peek(pid, remote, &head, sizeof head)) return "";
  size_t len = std::min<size_t>(ZSTR_LEN(&head), 1024);
  std::string s(len, '\0');
  if (!peek(pid, reinterpret_cast<const char*>(remote) + offsetof(zend_string, val), s.data(), len))
    return "";
  return s;
}

}  // namespace

bool read_backtrace(pid_t pid, int depth, std::vector<Frame>& out, std::string& error) {
  out.clear();
  zend_execute_data* ex = nullptr;
  if (!peek(pid, &executor_globals.current_execute_data, &ex, sizeof ex)) {
    error = std::string("cannot read the worker's memory: ") + strerror(errno);
    return false;
  }
  // Frames and their callers' positions: walk once, collecting each frame's function and the
  // file:line of the nearest user frame below it (the call site).
  struct Raw {
    zend_execute_data* address;
    zend_execute_data frame;
    zend_function func;
    bool has_func;
  };
  std::vector<Raw> raw;
  for (int i = 0; ex && i < 256 && int(raw.size()) < depth + 1; i++) {
    Raw r{ex, {}, {}, false};
    if (!peek(pid, ex, &r.frame, sizeof r.frame)) break;
    // An internal function's struct is smaller than the union: fall back to its size.
    r.has_func = r.frame.func && (peek(pid, r.frame.func, &r.func, sizeof r.func) ||
                                  peek(pid, r.frame.func, &r.func, sizeof(zend_internal_function)));
    raw.push_back(r);
    ex = r.frame.prev_execute_data;
  }
  for (size_t i = 0; i < raw.size() && int(out.size()) < depth; i++) {
    const Raw& r = raw[i];
    if (!r.has_func) continue;
    Frame f;
    f.address = reinterpret_cast<uint64_t>(r.address);
    if (r.func.common.function_name) {
      f.function = peek_string(pid, r.func.common.function_name);
      if (r.func.common.scope) {
        zend_class_entry ce;
        if (peek(pid, r.func.common.scope, &ce, sizeof ce))
          f.function = peek_string(pid, ce.name) + "::" + f.function;
      }
    } else if (ZEND_USER_CODE(r.func.type)) {
      // Top-level code of a file: php-fpm names it by how it was entered.
      f.function = i + 1 < raw.size() ? "include" : "main";
    } else {
      f.function = "???";
    }
    // The call site: this frame's caller if it runs user code; for the outermost frame, its own
    // current line.
    const Raw* site = nullptr;
    for (size_t j = i + 1; j < raw.size(); j++)
      if (raw[j].has_func && ZEND_USER_CODE(raw[j].func.type)) {
        site = &raw[j];
        break;
      }
    if (!site && ZEND_USER_CODE(r.func.type)) site = &r;
    if (site && site->frame.opline) {
      zend_op op;
      if (peek(pid, site->frame.opline, &op, sizeof op)) f.line = op.lineno;
      f.file = peek_string(pid, site->func.op_array.filename);
    }
    f.function += "()";
    out.push_back(std::move(f));
  }
  return true;
}

}  // namespace php_pool::sapi
