// What the access log needs from PHP's side of a request, kept after the request is over:
// the response headers as sent, php-fpm's request URI (SG(request_info).request_uri, the script
// name) and the script file. Captured by wrapping the SAPI's activate and send_headers
// callbacks in the worker, so sapi.cpp needs no change.
#pragma once

#include <string>
#include <vector>

namespace php_pool::sapi {

struct ResponseCapture {
  bool ran = false;             // the SAPI started the request (activate ran)
  std::string request_uri;      // php-fpm's %r: the script name ("" when none)
  std::string script_filename;  // php-fpm's %f: the script resolved ("" when none)
  bool headers_sent = false;
  int status = 0;                    // the response code the headers were sent with
  std::vector<std::string> headers;  // "Name: value", in the order PHP keeps them
};

// Installs the wrappers (once; in a worker, after the engine started).
void install_response_capture();
// Forgets the previous request's figures (called when a request begins).
void reset_response_capture();
const ResponseCapture& response_capture();

}  // namespace php_pool::sapi
