// A point-in-time copy of a pool's status, in php-fpm's terms: what the status page, the D-Bus
// GetStatus method and fpm_get_status() show. A plain struct, no dependencies, so the SAPI can
// fill a PHP array from it without linking the status library.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace php_pool::status {

// One worker, as a row of php-fpm's full status. Strings are raw (empty when unknown); the
// renderers apply php-fpm's "-" placeholders and escaping.
struct ProcessRow {
  pid_t pid = 0;
  std::string state;         // php-fpm's stage name: Idle, Running, Reading headers, ...
  int64_t start_time = 0;    // seconds since the epoch
  uint64_t start_since = 0;  // seconds
  uint64_t requests = 0;
  uint64_t request_duration = 0;  // µs: the running request's, or the last one's when idle
  std::string request_method;
  std::string request_uri;  // php-fpm's request URI: the SCRIPT_NAME, without the query string
  std::string query_string;
  uint64_t content_length = 0;
  std::string user;
  std::string script;
  double last_request_cpu = 0;       // %, of the last request (0 unless idle, as php-fpm)
  uint64_t last_request_memory = 0;  // bytes, peak of the last request (0 unless idle)
};

struct Snapshot {
  std::string pool;
  std::string process_manager;  // static, dynamic, ondemand
  int64_t start_time = 0;       // seconds since the epoch
  uint64_t start_since = 0;     // seconds
  uint64_t accepted_conn = 0;
  unsigned listen_queue = 0;
  unsigned max_listen_queue = 0;
  unsigned listen_queue_len = 0;
  unsigned idle = 0;
  unsigned active = 0;
  unsigned total = 0;
  unsigned max_active = 0;
  unsigned max_children_reached = 0;
  uint64_t slow_requests = 0;
  std::vector<ProcessRow> processes;
};

}  // namespace php_pool::status
