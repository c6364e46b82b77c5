// Requests the worker answers itself, without PHP: ping.path and pm.status_path (php-fpm
// answers them in the worker that accepts them, from the scoreboard), and the access log.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "fastcgi/codec.hpp"
#include "scoreboard/scoreboard.hpp"
#include "worker/connection.hpp"

namespace php_pool::worker {

class BuiltinPages {
 public:
  BuiltinPages(const config::PoolConfig& pool, scoreboard::Scoreboard& board);
  // True when the request was a ping or status request and has been answered.
  bool handle(const fastcgi::Params& params, Connection& conn, int& status);
  void log_access(const fastcgi::Params& params, int status, uint64_t duration_us,
                  uint64_t memory);

 private:
  const config::PoolConfig& pool_;
  scoreboard::Scoreboard& board_;
};

}  // namespace php_pool::worker
