// fpm_get_status() with php-fpm 8.2's array shape: the pool's fields with dashed keys, then
// "procs", a list with one array per process. Registered by sapi.cpp's function table through
// php_pool_fpm_get_status_entry.
#include "sapi/fpm_status_function.hpp"

#include <cstring>
#include <memory>
#include <utility>

#include "sapi/php.hpp"

namespace php_pool::sapi {
namespace {

std::function<status::Snapshot()> g_provider;

void add_string(zval* array, const char* key, const std::string& value) {
  add_assoc_stringl_ex(array, key, strlen(key), value.data(), value.size());
}

// php-fpm shows "-" for an empty method, user or script (not for the URI or query string).
const std::string& dash(const std::string& s) {
  static const std::string kDash = "-";
  return s.empty() ? kDash : s;
}

void fill(zval* rv, const status::Snapshot& s) {
  array_init(rv);
  add_string(rv, "pool", s.pool);
  add_string(rv, "process-manager", s.process_manager);
  add_assoc_long(rv, "start-time", zend_long(s.start_time));
  add_assoc_long(rv, "start-since", zend_long(s.start_since));
  add_assoc_long(rv, "accepted-conn", zend_long(s.accepted_conn));
  add_assoc_long(rv, "listen-queue", zend_long(s.listen_queue));
  add_assoc_long(rv, "max-listen-queue", zend_long(s.max_listen_queue));
  add_assoc_long(rv, "listen-queue-len", zend_long(s.listen_queue_len));
  add_assoc_long(rv, "idle-processes", zend_long(s.idle));
  add_assoc_long(rv, "active-processes", zend_long(s.active));
  add_assoc_long(rv, "total-processes", zend_long(s.total));
  add_assoc_long(rv, "max-active-processes", zend_long(s.max_active));
  add_assoc_long(rv, "max-children-reached", zend_long(s.max_children_reached));
  add_assoc_long(rv, "slow-requests", zend_long(s.slow_requests));
  zval procs;
  array_init(&procs);
  for (auto& p : s.processes) {
    zval row;
    array_init(&row);
    add_assoc_long(&row, "pid", zend_long(p.pid));
    add_string(&row, "state", p.state);
    add_assoc_long(&row, "start-time", zend_long(p.start_time));
    add_assoc_long(&row, "start-since", zend_long(p.start_since));
    add_assoc_long(&row, "requests", zend_long(p.requests));
    add_assoc_long(&row, "request-duration", zend_long(p.request_duration));
    add_string(&row, "request-method", dash(p.request_method));
    add_string(&row, "request-uri", p.request_uri);
    add_string(&row, "query-string", p.query_string);
    add_assoc_long(&row, "request-length", zend_long(p.content_length));
    add_string(&row, "user", dash(p.user));
    add_string(&row, "script", dash(p.script));
    add_assoc_double(&row, "last-request-cpu", p.last_request_cpu);
    add_assoc_long(&row, "last-request-memory", zend_long(p.last_request_memory));
    add_next_index_zval(&procs, &row);
  }
  add_assoc_zval(rv, "procs", &procs);
}

PHP_FUNCTION(fpm_get_status) {
  ZEND_PARSE_PARAMETERS_NONE();
  if (!g_provider) RETURN_FALSE;
  auto snapshot = std::make_unique<status::Snapshot>(g_provider());
  fill(return_value, *snapshot);
}

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_MASK_EX(arginfo_fpm_get_status, 0, 0, MAY_BE_ARRAY | MAY_BE_FALSE)
ZEND_END_ARG_INFO()

}  // namespace

void set_status_provider(std::function<status::Snapshot()> provider) {
  g_provider = std::move(provider);
}

}  // namespace php_pool::sapi

// The function table entry sapi.cpp lists (constant-initialised, so it is ready before any
// dynamic initialisation reads it).
extern const zend_function_entry php_pool_fpm_get_status_entry;
constinit const zend_function_entry php_pool_fpm_get_status_entry = {
    "fpm_get_status", php_pool::sapi::zif_fpm_get_status, php_pool::sapi::arginfo_fpm_get_status,
    uint32_t(sizeof(php_pool::sapi::arginfo_fpm_get_status) / sizeof(zend_internal_arg_info) - 1),
    0};
