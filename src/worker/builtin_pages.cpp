#include "worker/builtin_pages.hpp"

#include <cstring>

namespace php_pool::worker {

namespace {
const std::string* find(const fastcgi::Params& params, std::string_view name) {
  for (auto& [k, v] : params)
    if (k == name) return &v;
  return nullptr;
}
}  // namespace

BuiltinPages::BuiltinPages(const config::PoolConfig& pool, scoreboard::Scoreboard& board)
    : pool_(pool), board_(board) {}

bool BuiltinPages::handle(const fastcgi::Params& params, Connection& conn, int& status) {
  if (pool_.ping_path.empty()) return false;
  const std::string* script_name = find(params, "SCRIPT_NAME");
  if (!script_name || *script_name != pool_.ping_path) return false;
  // php-fpm's ping answer: text/plain, never cached.
  std::string r =
      "Content-type: text/plain\r\n"
      "Expires: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
      "Cache-Control: no-cache, no-store, must-revalidate, max-age=0\r\n\r\n";
  r += pool_.ping_response;
  r += "\n";
  conn.respond(r);
  status = 200;
  return true;
}

void BuiltinPages::log_access(const fastcgi::Params&, int, uint64_t, uint64_t) {}

}  // namespace php_pool::worker
