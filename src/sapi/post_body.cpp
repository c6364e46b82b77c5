#include "sapi/post_body.hpp"

#include <cstring>

#include "sapi/php.hpp"

extern "C" {
#include "php_content_types.h"
#include "php_memory_streams.h"
}

namespace php_pool::sapi {

namespace {

// PHP's sapi_read_standard_form_data(), the same limits, warnings and outcome, with a memory
// buffer of kBodyInMemory instead of SAPI_POST_BLOCK_SIZE before the stream turns to a file.
void read_body() {
  if (SG(post_max_size) > 0 && SG(request_info).content_length > SG(post_max_size)) {
    php_error_docref(nullptr, E_WARNING,
                     "POST Content-Length of " ZEND_LONG_FMT
                     " bytes exceeds the limit of " ZEND_LONG_FMT " bytes",
                     SG(request_info).content_length, SG(post_max_size));
    return;
  }
  php_stream* body =
      php_stream_temp_create_ex(TEMP_STREAM_DEFAULT, kBodyInMemory, PG(upload_tmp_dir));
  SG(request_info).request_body = body;
  if (!sapi_module.read_post) return;
  for (;;) {
    char buffer[SAPI_POST_BLOCK_SIZE];
    size_t n = sapi_read_post_block(buffer, sizeof buffer);
    if (n > 0 && php_stream_write(body, buffer, n) != ssize_t(n)) {
      // as PHP does: a body that cannot be kept whole is not kept at all
      php_stream_truncate_set_size(body, 0);
      php_error_docref(nullptr, E_WARNING, "POST data can't be buffered; all data discarded");
      break;
    }
    if (SG(post_max_size) > 0 && SG(read_post_bytes) > SG(post_max_size)) {
      php_error_docref(
          nullptr, E_WARNING,
          "Actual POST length does not match Content-Length, and exceeds " ZEND_LONG_FMT " bytes",
          SG(post_max_size));
      break;
    }
    if (n < sizeof buffer) break;
  }
  php_stream_rewind(body);
}

// PHP's php_default_post_reader() (a POST of a type no handler parses), with read_body().
void read_other_body() {
  const char* method = SG(request_info).request_method;
  if (method && std::strcmp(method, "POST") == 0 && !SG(request_info).post_entry) read_body();
}

}  // namespace

void keep_request_bodies_in_memory() {
  void* ptr;
  ZEND_HASH_FOREACH_PTR(&SG(known_post_content_types), ptr) {
    auto* entry = static_cast<sapi_post_entry*>(ptr);
    if (entry->post_reader == sapi_read_standard_form_data) entry->post_reader = read_body;
  }
  ZEND_HASH_FOREACH_END();
  if (sapi_module.default_post_reader == php_default_post_reader)
    sapi_register_default_post_reader(read_other_body);
}

}  // namespace php_pool::sapi
