// The SAPI: sapi_module_struct callbacks, engine start-up in the manager, per-request execution
// in the workers. Every Zend/PHP include stays in this folder.
#include "sapi/sapi.hpp"

#include <malloc.h>

#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/log.hpp"
#include "sapi/ini_values.hpp"
#include "sapi/pathinfo.hpp"
#include "sapi/php.hpp"
#include "sapi/post_body.hpp"

// fpm_get_status(), defined in fpm_status_function.cpp.
extern const zend_function_entry php_pool_fpm_get_status_entry;

namespace php_pool::sapi {
namespace {

// --- per-request state -------------------------------------------------------------------

struct Current {
  RequestIo* io = nullptr;
  fastcgi::Params* params = nullptr;
  bool stderr_started = false;  // fastcgi.logging joins messages with "; "
  std::string path_translated;
};
Current g_cur;

// Pool settings the request path needs.
std::vector<std::string> g_limit_extensions;

// The cgi.* / fastcgi.* ini settings php-fpm registers.
struct CgiGlobals {
  bool rfc2616_headers;
  bool nph;
  bool fix_pathinfo;
  bool discard_path;
  bool script_path_encoded;
  bool logging;
  char* error_header;
};
CgiGlobals cgi_globals;

const char* param(const char* name) {
  const std::string* v = g_cur.params ? fastcgi::find_param(*g_cur.params, name) : nullptr;
  return v ? v->c_str() : nullptr;
}

// --- sapi_module_struct callbacks --------------------------------------------------------

size_t ub_write(const char* str, size_t len) {
  // After fastcgi_finish_request() the client has its whole response: what the script still
  // prints goes nowhere and the script goes on (php-fpm drops it too, but aborts the script
  // once about 8 KiB of it fill its buffer).
  if (g_cur.io && g_cur.io->finished()) return len;
  if (!g_cur.io || !g_cur.io->write_stdout(str, len)) {
    php_handle_aborted_connection();
    return 0;
  }
  return len;
}

// As php-fpm 8.2: flush() pushes what was written; it does not force the headers out.
void sapi_flush(void*) {
  if (g_cur.io && !g_cur.io->finished() && !g_cur.io->flush()) php_handle_aborted_connection();
}

char* sapi_getenv(const char* name, size_t) {
  return const_cast<char*>(param(name));
}

void write_raw(const char* s, size_t n) {
  if (g_cur.io) g_cur.io->write_stdout(s, n);
}

// php-fpm's header block: a Status line unless the code is 200, then the headers.
int send_headers(sapi_headers_struct* headers) {
  if (SG(request_info).no_headers == 1) return SAPI_HEADER_SENT_SUCCESSFULLY;
  int response_status = SG(sapi_headers).http_response_code;
  bool ignore_status = false;
  std::string block;
  block.reserve(256);
  if (cgi_globals.nph || SG(sapi_headers).http_response_code != 200) {
    const char* line = SG(sapi_headers).http_status_line;
    const char* sp = line ? strchr(line, ' ') : nullptr;
    bool has_status = false;
    std::string status;
    if (cgi_globals.rfc2616_headers && line) {
      status = line;
      if (sp) response_status = atoi(sp + 1);
    } else if (sp && sp - line >= 5 && strncasecmp(line, "HTTP/", 5) == 0) {
      status = std::string("Status:") + sp;
      response_status = atoi(sp + 1);
    } else {
      zend_llist_position pos;
      for (auto* h = (sapi_header_struct*)zend_llist_get_first_ex(&headers->headers, &pos); h;
           h = (sapi_header_struct*)zend_llist_get_next_ex(&headers->headers, &pos)) {
        if (h->header_len > 7 && strncasecmp(h->header, "Status:", 7) == 0) {
          has_status = true;
          break;
        }
      }
      if (!has_status) {
        int code = SG(sapi_headers).http_response_code;
        const char* reason = nullptr;
        for (auto* e = http_status_map; e->code; e++)
          if (e->code == code) {
            reason = e->str;
            break;
          }
        status = "Status: " + std::to_string(code);
        if (reason) status += std::string(" ") + reason;
      }
    }
    if (!has_status) {
      block += status;
      block += "\r\n";
      ignore_status = true;
    }
  }
  zend_llist_position pos;
  for (auto* h = (sapi_header_struct*)zend_llist_get_first_ex(&headers->headers, &pos); h;
       h = (sapi_header_struct*)zend_llist_get_next_ex(&headers->headers, &pos)) {
    if (!h->header_len) continue;
    if (h->header_len > 7 && strncasecmp(h->header, "Status:", 7) == 0) {
      if (ignore_status) continue;
      ignore_status = true;
    } else if (response_status == 304 && h->header_len > 13 &&
               strncasecmp(h->header, "Content-Type:", 13) == 0) {
      continue;
    }
    block.append(h->header, h->header_len);
    block += "\r\n";
  }
  block += "\r\n";
  write_raw(block.data(), block.size());
  return SAPI_HEADER_SENT_SUCCESSFULLY;
}

size_t read_post(char* buf, size_t count) {
  size_t remaining = SG(request_info).content_length - SG(read_post_bytes);
  if (remaining < count) count = remaining;
  size_t got = 0;
  while (got < count && g_cur.io) {
    size_t n = g_cur.io->read_body(buf + got, count - got);
    if (n == 0) break;
    got += n;
  }
  return got;
}

char* read_cookies() {
  return const_cast<char*>(param("HTTP_COOKIE"));
}

void (*php_original_import)(zval*) = nullptr;

void register_params(zval* array, bool filtered) {
  if (!g_cur.params) return;
  int arg = Z_ARR_P(array) == Z_ARR(PG(http_globals)[TRACK_VARS_ENV]) ? PARSE_ENV : PARSE_SERVER;
  for (auto& [k, v] : *g_cur.params) {
    char* val = v.data();
    size_t new_len = v.size();
    if (filtered && !sapi_module.input_filter(arg, k.c_str(), &val, v.size(), &new_len)) continue;
    php_register_variable_safe(k.c_str(), val, new_len, array);
  }
}

// $_SERVER/$_ENV: the process environment (clear_env + env[]), then the request's params.
void import_environment(zval* array) {
  for (int track : {TRACK_VARS_ENV, TRACK_VARS_SERVER}) {
    zval* g = &PG(http_globals)[track];
    if (Z_TYPE_P(g) == IS_ARRAY && Z_ARR_P(array) != Z_ARR_P(g) &&
        zend_hash_num_elements(Z_ARRVAL_P(g)) > 0) {
      zend_array_destroy(Z_ARR_P(array));
      Z_ARR_P(array) = zend_array_dup(Z_ARR_P(g));
      return;
    }
  }
  php_original_import(array);
  register_params(array, true);
}

void load_environment(zval* array) {
  php_original_import(array);
  register_params(array, false);
}

void register_variables(zval* track_vars_array) {
  php_import_environment_variables(track_vars_array);
  std::string self;
  if (cgi_globals.fix_pathinfo) {
    if (SG(request_info).request_uri) self = SG(request_info).request_uri;
    if (const char* pi = param("PATH_INFO")) self += pi;
  } else if (SG(request_info).request_uri) {
    self = SG(request_info).request_uri;
  }
  char* val = self.data();
  size_t len = self.size();
  if (sapi_module.input_filter(PARSE_SERVER, "PHP_SELF", &val, len, &len))
    php_register_variable_safe("PHP_SELF", val, len, track_vars_array);
}

void send_stderr(const char* message, size_t len) {
  if (!cgi_globals.logging || !g_cur.io || !len || g_cur.io->finished()) return;
  if (g_cur.stderr_started) g_cur.io->write_stderr("; ");
  g_cur.stderr_started = true;
  g_cur.io->write_stderr(std::string_view(message, len));
}

// SYSLOG_TYPE: PHP's syslog priority of the message (LOG_ERR for a fatal error, LOG_WARNING,
// LOG_NOTICE for error_log() and notices), so that `journalctl -p err` finds fatal errors.
void log_message(const char* message, int syslog_type) {
  log::Level level = syslog_type <= LOG_ERR       ? log::Level::Error
                     : syslog_type == LOG_WARNING ? log::Level::Warning
                                                  : log::Level::Notice;
  log::write(level, {}, "PHP message: %s", message);
  std::string m = std::string("PHP message: ") + message;
  send_stderr(m.data(), m.size());
}

int sapi_deactivate() {
  // Send the response before the engine tears the request down (as php-fpm does).
  if (SG(sapi_started) && g_cur.io && !g_cur.io->finished()) g_cur.io->finish();
  return SUCCESS;
}

int module_startup(sapi_module_struct* module);

sapi_module_struct g_module = {const_cast<char*>(kSapiName),
                               const_cast<char*>("php-pool FastCGI"),
                               module_startup,
                               php_module_shutdown_wrapper,
                               nullptr,  // activate
                               sapi_deactivate,
                               ub_write,
                               sapi_flush,
                               nullptr,  // get_stat
                               sapi_getenv,
                               php_error,
                               nullptr,  // header_handler
                               send_headers,
                               nullptr,  // send_header
                               read_post,
                               read_cookies,
                               register_variables,
                               log_message,
                               nullptr,  // get_request_time
                               nullptr,  // terminate_process
                               STANDARD_SAPI_MODULE_PROPERTIES};

// --- PHP functions php-fpm provides ---------------------------------------------------------

PHP_FUNCTION(fastcgi_finish_request) {
  ZEND_PARSE_PARAMETERS_NONE();
  if (g_cur.io && !g_cur.io->finished()) {
    php_output_end_all();
    php_header();
    g_cur.io->finish();
    RETURN_TRUE;
  }
  RETURN_FALSE;
}

PHP_FUNCTION(apache_request_headers) {
  ZEND_PARSE_PARAMETERS_NONE();
  array_init(return_value);
  if (!g_cur.params) return;
  for (auto& [k, v] : *g_cur.params)
    sapi_add_request_header(k.c_str(), k.size(), v.data(), v.size(), return_value);
}

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_finish, 0, 0, _IS_BOOL, 0)
ZEND_END_ARG_INFO()
ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_headers, 0, 0, IS_ARRAY, 0)
ZEND_END_ARG_INFO()

const zend_function_entry g_functions[] = {
    ZEND_FE(fastcgi_finish_request, arginfo_finish) ZEND_FE(apache_request_headers, arginfo_headers)
        ZEND_RAW_FENTRY("getallheaders", zif_apache_request_headers, arginfo_headers, 0)
            php_pool_fpm_get_status_entry,
    ZEND_FE_END};

PHP_INI_BEGIN()
STD_PHP_INI_BOOLEAN("cgi.rfc2616_headers", "0", PHP_INI_ALL, OnUpdateBool, rfc2616_headers,
                    CgiGlobals, cgi_globals)
STD_PHP_INI_BOOLEAN("cgi.nph", "0", PHP_INI_ALL, OnUpdateBool, nph, CgiGlobals, cgi_globals)
STD_PHP_INI_BOOLEAN("cgi.fix_pathinfo", "1", PHP_INI_SYSTEM, OnUpdateBool, fix_pathinfo, CgiGlobals,
                    cgi_globals)
STD_PHP_INI_BOOLEAN("cgi.discard_path", "0", PHP_INI_SYSTEM, OnUpdateBool, discard_path, CgiGlobals,
                    cgi_globals)
STD_PHP_INI_BOOLEAN("fastcgi.script_path_encoded", "1", PHP_INI_SYSTEM, OnUpdateBool,
                    script_path_encoded, CgiGlobals, cgi_globals)
STD_PHP_INI_BOOLEAN("fastcgi.logging", "1", PHP_INI_SYSTEM, OnUpdateBool, logging, CgiGlobals,
                    cgi_globals)
STD_PHP_INI_ENTRY("fastcgi.error_header", nullptr, PHP_INI_SYSTEM, OnUpdateString, error_header,
                  CgiGlobals, cgi_globals)
PHP_INI_END()

PHP_MINIT_FUNCTION(php_pool) {
  (void)type;
  cgi_globals = CgiGlobals{false, false, true, false, true, true, nullptr};
  REGISTER_INI_ENTRIES();
  return SUCCESS;
}

PHP_MSHUTDOWN_FUNCTION(php_pool) {
  (void)type;
  UNREGISTER_INI_ENTRIES();
  return SUCCESS;
}

PHP_MINFO_FUNCTION(php_pool) {
  (void)zend_module;
  php_info_print_table_start();
  php_info_print_table_row(2, "php-pool", "active");
  php_info_print_table_end();
  DISPLAY_INI_ENTRIES();
}

// Named as php-fpm's module so extension_loaded('cgi-fcgi') answers as it does there.
zend_module_entry g_module_entry = {STANDARD_MODULE_HEADER,
                                    "cgi-fcgi",
                                    g_functions,
                                    PHP_MINIT(php_pool),
                                    PHP_MSHUTDOWN(php_pool),
                                    nullptr,
                                    nullptr,
                                    PHP_MINFO(php_pool),
                                    PHP_VERSION,
                                    STANDARD_MODULE_PROPERTIES};

int module_startup(sapi_module_struct* module) {
  return php_module_startup(module, &g_module_entry);
}

std::string g_ini_entries;

bool limited_extension(const std::string& path) {
  if (g_limit_extensions.empty()) return false;
  for (auto& ext : g_limit_extensions)
    if (path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0)
      return false;
  return true;
}

// Runs inside zend_first_try: kept out of line so no local lives across the longjmp.
__attribute__((noinline)) void serve(RequestResult& result) {
  apply_request_ini(param("PHP_VALUE"), param("PHP_ADMIN_VALUE"));
  if (php_request_startup() == FAILURE) {
    result.engine_broken = true;
    result.status = 500;
    return;
  }
  zend_file_handle file_handle;
  char* primary = nullptr;
  bool run = SG(request_info).request_method != nullptr;
  if (run && !SG(request_info).path_translated) {
    zend_try {
      log::write(log::Level::Debug, {}, "Primary script unknown");
      send_stderr("Primary script unknown", 22);
      SG(sapi_headers).http_response_code = 404;
      PUTS("File not found.\n");
    }
    zend_end_try();
    run = false;
  }
  if (run && limited_extension(SG(request_info).path_translated)) {
    zend_try {
      std::string m = std::string("Access to the script '") + SG(request_info).path_translated +
                      "' has been denied (see security.limit_extensions)";
      log::write(log::Level::Warning, {}, "%s", m.c_str());
      send_stderr(m.data(), m.size());
      SG(sapi_headers).http_response_code = 403;
      PUTS("Access denied.\n");
    }
    zend_end_try();
    run = false;
  }
  if (run) {
    primary = estrdup(SG(request_info).path_translated);
    if (php_fopen_primary_script(&file_handle) == FAILURE) {
      int err = errno;
      zend_try {
        log::write(log::Level::Error, {}, "Unable to open primary script: %s (%s)", primary,
                   strerror(err));
        if (err == EACCES) {
          SG(sapi_headers).http_response_code = 403;
          PUTS("Access denied.\n");
        } else {
          SG(sapi_headers).http_response_code = 404;
          PUTS("No input file specified.\n");
        }
      }
      zend_end_try();
    } else {
      EG(exit_status) = 0;
      php_execute_script(&file_handle);
      if (!file_handle.in_list) zend_destroy_file_handle(&file_handle);
    }
  }
  if (primary) efree(primary);
  if (EG(exit_status) == 255 && cgi_globals.error_header && *cgi_globals.error_header &&
      !SG(headers_sent)) {
    sapi_header_line ctr = {};
    ctr.line = cgi_globals.error_header;
    ctr.line_len = strlen(cgi_globals.error_header);
    sapi_header_op(SAPI_HEADER_REPLACE, &ctr);
  }
  result.status = SG(sapi_headers).http_response_code;
  result.memory_peak = zend_memory_peak_usage(1);
  result.memory_used_peak = zend_memory_peak_usage(0);
  if (SG(request_info).path_translated) {
    efree(SG(request_info).path_translated);
    SG(request_info).path_translated = nullptr;
  }
  if (g_cur.io) g_cur.io->script_ended();
  php_request_shutdown(nullptr);
}

}  // namespace

// --- engine lifecycle -------------------------------------------------------------------

bool engine_startup(const EngineOptions& options, std::string& error) {
  zend_signal_startup();
  sapi_startup(&g_module);
  // sapi_startup() clears these: set them after it, before module startup.
  g_module.php_ini_ignore_cwd = 1;
  if (!options.php_ini.empty()) g_module.php_ini_path_override = strdup(options.php_ini.c_str());
  g_ini_entries.clear();
  for (auto& d : options.defines) {
    auto eq = d.find('=');
    g_ini_entries += eq == std::string::npos ? d + "=1" : d;
    g_ini_entries += "\n";
  }
  g_module.ini_entries = g_ini_entries.empty() ? nullptr : g_ini_entries.data();
  if (g_module.startup(&g_module) == FAILURE) {
    error = "PHP module startup failed";
    return false;
  }
  keep_request_bodies_in_memory();
  // Debian builds pcntl into libphp (php-fpm's build has none). A process forked by a script
  // would come back into the worker's loop and serve requests from a copy of its slot; one that
  // execs becomes another program holding the FastCGI socket. So, as under php-fpm, scripts see
  // no pcntl_fork() (function_exists() is false), nor pcntl_exec() or pcntl_unshare().
  // exec(), proc_open() and the like still fork and exec as the seccomp policy allows.
  zend_disable_functions("pcntl_fork,pcntl_rfork,pcntl_exec,pcntl_unshare");
  php_original_import = php_import_environment_variables;
  php_import_environment_variables = import_environment;
  php_load_environment_variables = load_environment;
  return true;
}

void engine_shutdown() {
  php_module_shutdown();
  sapi_shutdown();
}

// Zend re-reads its 8 deferred signal handlers with sigaction() at every request start, in case a
// script replaced one: 8 syscalls per request for what only pcntl_signal() can do. Skip it
// unless the previous request called pcntl_signal() (Debian builds pcntl into libphp).
bool g_signals_touched = false;
zif_handler g_pcntl_signal = nullptr;

PHP_FUNCTION(pcntl_signal_watched) {
  g_signals_touched = true;
  g_pcntl_signal(execute_data, return_value);
}

void watch_pcntl_signal() {
  auto* f = static_cast<zend_function*>(
      zend_hash_str_find_ptr(CG(function_table), "pcntl_signal", sizeof("pcntl_signal") - 1));
  if (f && f->type == ZEND_INTERNAL_FUNCTION) {
    g_pcntl_signal = f->internal_function.handler;
    f->internal_function.handler = ZEND_FN(pcntl_signal_watched);
  } else if (f) {
    return;  // not ours to wrap: keep Zend's check
  }
  SIGG(reset) = false;
}

bool worker_init(const config::PoolConfig& pool, std::string& error) {
  // Zend restores the handlers it saw at start-up on every request: capture the worker's.
  zend_signal_startup();
  watch_pcntl_signal();
  g_limit_extensions = pool.security_limit_extensions;
  // php-fpm's order: every php_value and php_flag, then every php_admin_value and
  // php_admin_flag, each from the pool file's last line to its first (php-fpm prepends each
  // line to its list). So an admin setting wins over a php_value of the same name wherever it
  // stands, and of two lines for one setting the first wins; extension and disable_functions
  // lines add up.
  for (bool admin : {false, true})
    for (auto e = pool.php_ini.rbegin(); e != pool.php_ini.rend(); ++e)
      if (e->admin == admin && !apply_pool_ini(*e, error)) return false;
  return true;
}

// Pages of the chunk Zend always keeps from `first_page` on: free (the heap was reset at the end
// of the request) and Zend assumes nothing of a free page's contents, so the kernel may take
// them back; they come back zeroed on the next touch.
static void discard_kept_chunk_pages(size_t first_page) {
  if (!is_zend_mm()) return;
  first_page = std::max<size_t>(first_page, ZEND_MM_FIRST_PAGE);  // the header holds the heap
  if (first_page >= ZEND_MM_PAGES) return;
  auto chunk = reinterpret_cast<uintptr_t>(zend_mm_get_heap()) & ~(ZEND_MM_CHUNK_SIZE - 1);
  madvise(reinterpret_cast<void*>(chunk + first_page * ZEND_MM_PAGE_SIZE),
          (ZEND_MM_PAGES - first_page) * ZEND_MM_PAGE_SIZE, MADV_DONTNEED);
}

void trim_idle_memory(size_t keep_bytes) {
  discard_kept_chunk_pages(ZEND_MM_FIRST_PAGE +
                           (keep_bytes + ZEND_MM_PAGE_SIZE - 1) / ZEND_MM_PAGE_SIZE);
}

void release_idle_memory() {
  // Zend's end-of-request shutdown keeps as many cached chunks as the running average of the
  // requests' peaks; the same shutdown, between requests (the heap is empty then), halves that
  // average each time, so a few rounds free them all (munmap).
  for (int i = 0; i < 12; i++) shutdown_memory_manager(true, false);
  // What is left is the first chunk, whose pages stay resident once a request has touched them.
  discard_kept_chunk_pages(0);
  malloc_trim(0);
}

RequestResult run_request(RequestIo& io, fastcgi::Params& params) {
  RequestResult result;
  g_cur = Current{&io, &params, false, {}};

  Env env(params);
  PathOptions popt;
  popt.fix_pathinfo = cgi_globals.fix_pathinfo;
  popt.discard_path = cgi_globals.discard_path;
  popt.script_path_encoded = cgi_globals.script_path_encoded;
  if (PG(doc_root)) popt.doc_root = PG(doc_root);
  ScriptInfo info = resolve_script(env, popt);
  // Params may have been edited: look every value up after this point.
  std::string script_name = info.script_name.value_or("");

  SG(server_context) = &g_cur;
  SG(request_info).path_translated = nullptr;
  SG(request_info).request_method = const_cast<char*>(param("REQUEST_METHOD"));
  SG(request_info).proto_num = 1000;
  SG(request_info).query_string = nullptr;
  SG(request_info).request_uri = info.script_name ? script_name.data() : nullptr;
  SG(request_info).content_type = nullptr;
  SG(request_info).content_length = 0;
  SG(sapi_headers).http_response_code = 200;
  if (env.get("SCRIPT_FILENAME") || env.get("PATH_TRANSLATED")) {
    if (info.path_translated) {
      g_cur.path_translated = *info.path_translated;
      SG(request_info).path_translated = estrdup(info.path_translated->c_str());
    } else if (!env.get("SCRIPT_FILENAME")) {
      SG(sapi_headers).http_response_code = 404;
    }
    const char* ct = param("CONTENT_TYPE");
    const char* cl = param("CONTENT_LENGTH");
    SG(request_info).query_string = const_cast<char*>(param("QUERY_STRING"));
    SG(request_info).content_type = ct ? ct : "";
    SG(request_info).content_length = cl ? atol(cl) : 0;
    php_handle_auth_data(param("HTTP_AUTHORIZATION"));
  }

  // After a request that changed signal handlers, let Zend put its own back (see above).
  SIGG(reset) = g_signals_touched;
  g_signals_touched = false;
  zend_first_try {
    serve(result);
  }
  zend_catch {
    result.engine_broken = true;
  }
  zend_end_try();
  SG(server_context) = nullptr;
  g_cur = Current{};
  return result;
}

}  // namespace php_pool::sapi
