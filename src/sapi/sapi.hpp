// php-pool's SAPI over libphp. This header is the only view the rest of the code has of PHP:
// no Zend or PHP header is included outside src/sapi.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "fastcgi/codec.hpp"

namespace php_pool::sapi {

// One request's I/O, implemented by the worker over its FastCGI connection.
class RequestIo {
 public:
  virtual ~RequestIo() = default;
  // STDIN bytes; 0 at the end of the stream or when the client is gone.
  virtual size_t read_body(char* buf, size_t len) = 0;
  // STDOUT bytes (buffered); false when the client is gone or the request was finished.
  virtual bool write_stdout(const char* data, size_t len) = 0;
  virtual void write_stderr(std::string_view message) = 0;
  virtual bool flush() = 0;
  // Sends what is buffered and END_REQUEST; the script may go on (fastcgi_finish_request).
  virtual bool finish() = 0;
  virtual bool finished() const = 0;
  // The script has ended; PHP's request shutdown (shutdown functions, destructors) follows.
  virtual void script_ended() {}
};

struct EngineOptions {
  std::string php_ini;               // -c FILE|DIR; "" = libphp's own search (embed php.ini)
  std::vector<std::string> defines;  // -d name=value
};

// The name php_sapi_name() returns: php-fpm's, so opcache enables itself and applications
// that test for FPM behave as they do under php-fpm.
inline constexpr const char* kSapiName = "fpm-fcgi";

// In the manager, once: module startup (extensions, opcache shared memory).
bool engine_startup(const EngineOptions& options, std::string& error);
void engine_shutdown();

// In each worker after fork, before the first request: pool php_value/php_admin_value,
// per-worker signal set-up. `allow_root` is unused here; the sandbox decides.
bool worker_init(const config::PoolConfig& pool, std::string& error);

// Hook the status page and fpm_get_status() use (set by the worker).
using StatusExporter = bool (*)(void* php_array_zval);

struct RequestResult {
  int status = 200;
  uint64_t memory_peak = 0;       // Zend's chunks at the peak (php-fpm's %M)
  uint64_t memory_used_peak = 0;  // what the script had allocated at its peak, in bytes
  bool engine_broken = false;     // a bailout outside a script: the worker must not go on
};

// Runs one request: params are the request's CGI variables (edited as php-fpm edits them).
RequestResult run_request(RequestIo& io, fastcgi::Params& params);

// Between requests, in a worker that has been idle a while: gives the memory its requests left
// behind back to the system: the 2 MiB chunks Zend keeps cached for the next big request, the
// pages requests touched in the chunk it always keeps, and the C heap's free pages. php-fpm
// keeps them all for the worker's lifetime.
void release_idle_memory();
// The lighter step, for a short pause: only the pages of the chunk Zend always keeps past its
// first `keep_bytes` (Zend packs a request's allocations from the chunk's start).
void trim_idle_memory(size_t keep_bytes);

}  // namespace php_pool::sapi
