// Which script a request runs, and the CGI variables php-fpm derives for it (cgi.fix_pathinfo,
// Apache mod_proxy_fcgi's "proxy:fcgi://" SCRIPT_FILENAME, PATH_INFO split by stat()).
// Pure C++ over the request's params so it can be tested without PHP.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "fastcgi/codec.hpp"

namespace php_pool::sapi {

// The request's CGI environment: the FastCGI params, edited in place.
class Env {
 public:
  explicit Env(fastcgi::Params& params) : params_(params) {}
  const std::string* get(std::string_view name) const;
  void set(std::string_view name, std::string_view value);
  void unset(std::string_view name);
  fastcgi::Params& params() { return params_; }

 private:
  fastcgi::Params& params_;
};

struct PathOptions {
  bool fix_pathinfo = true;         // cgi.fix_pathinfo
  bool discard_path = false;        // cgi.discard_path
  bool script_path_encoded = true;  // fastcgi.script_path_encoded
  std::string doc_root;             // doc_root ini
  // stat() seam for tests: true when PATH is a regular file.
  std::function<bool(const std::string&)> is_regular_file;
  // realpath() seam: true when PATH resolves (exists).
  std::function<bool(const std::string&)> exists;
};

struct ScriptInfo {
  std::optional<std::string> path_translated;  // the file to run; empty: 404
  std::optional<std::string> script_name;      // SG(request_info).request_uri (PHP_SELF base)
};

ScriptInfo resolve_script(Env& env, const PathOptions& options);

// php-fpm refuses SCRIPT_FILENAMEs with a ".." path segment.
bool is_valid_path(std::string_view path);

}  // namespace php_pool::sapi
