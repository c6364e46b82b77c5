#include "common/process_title.hpp"

#include <errno.h>

#include <algorithm>
#include <cstring>

namespace php_pool::process_title {
namespace {

char* g_start = nullptr;  // argv[0]
size_t g_room = 0;        // bytes from argv[0] to the end of the last contiguous argument

}  // namespace

void remember(int argc, char** argv) {
  if (argc < 1 || !argv[0]) return;
  // glibc's names for the program point into argv[0] (syslog()'s default ident, error
  // messages): keep copies, or they would read the title.
  program_invocation_name = strdup(program_invocation_name);
  program_invocation_short_name = strdup(program_invocation_short_name);
  g_start = argv[0];
  char* end = argv[0] + strlen(argv[0]) + 1;
  // The kernel lays the arguments out one after the other; stop at any that is not.
  for (int i = 1; i < argc && argv[i] == end; i++) end = argv[i] + strlen(argv[i]) + 1;
  g_room = size_t(end - g_start);
}

void set(const std::string& title) {
  if (!g_start || g_room < 2) return;
  size_t n = std::min(title.size(), g_room - 1);
  memcpy(g_start, title.data(), n);
  // The rest zeroed: /proc/PID/cmdline then ends with the title (ps shows it alone).
  memset(g_start + n, 0, g_room - n);
}

}  // namespace php_pool::process_title
