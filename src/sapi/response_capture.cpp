#include "sapi/response_capture.hpp"

#include "sapi/php.hpp"

namespace php_pool::sapi {
namespace {

ResponseCapture g_capture;
bool g_installed = false;
int (*g_orig_activate_ret)() = nullptr;
int (*g_orig_send_headers)(sapi_headers_struct*) = nullptr;

int capture_activate() {
  g_capture.ran = true;
  const char* uri = SG(request_info).request_uri;
  const char* script = SG(request_info).path_translated;
  g_capture.request_uri = uri ? uri : "";
  g_capture.script_filename = script ? script : "";
  return g_orig_activate_ret ? g_orig_activate_ret() : SUCCESS;
}

int capture_send_headers(sapi_headers_struct* headers) {
  g_capture.headers_sent = true;
  g_capture.status = headers->http_response_code;
  g_capture.headers.clear();
  zend_llist_position pos;
  for (auto* h = static_cast<sapi_header_struct*>(zend_llist_get_first_ex(&headers->headers, &pos));
       h; h = static_cast<sapi_header_struct*>(zend_llist_get_next_ex(&headers->headers, &pos)))
    if (h->header_len) g_capture.headers.emplace_back(h->header, h->header_len);
  return g_orig_send_headers ? g_orig_send_headers(headers) : SAPI_HEADER_SENT_SUCCESSFULLY;
}

}  // namespace

void install_response_capture() {
  if (g_installed) return;
  g_installed = true;
  g_orig_activate_ret = sapi_module.activate;
  sapi_module.activate = capture_activate;
  g_orig_send_headers = sapi_module.send_headers;
  sapi_module.send_headers = capture_send_headers;
}

void reset_response_capture() {
  g_capture.ran = false;
  g_capture.request_uri.clear();
  g_capture.script_filename.clear();
  g_capture.headers_sent = false;
  g_capture.status = 0;
  g_capture.headers.clear();
}

const ResponseCapture& response_capture() {
  return g_capture;
}

}  // namespace php_pool::sapi
