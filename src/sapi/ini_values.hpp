// php.ini values that come from elsewhere than php.ini: the pool file's php_value and
// php_admin_value lines (set once in each worker) and the PHP_VALUE and PHP_ADMIN_VALUE params a
// web server may send with a request (set for that request only).
#pragma once

#include <string>

#include "config/config.hpp"

namespace php_pool::sapi {

// One pool-file line, as php-fpm sets it: on the master value, so that it holds for every
// request; an admin value becomes PHP_INI_SYSTEM, so that ini_set() cannot change it. False
// (with ERROR) when an extension cannot be loaded.
bool apply_pool_ini(const config::PhpIni& e, std::string& error);

// Before the request starts (post_max_size, max_input_vars and their kind act while it starts):
// PHP_VALUE and PHP_ADMIN_VALUE, each "name=value" lines in PHP's ini syntax (nginx:
// `fastcgi_param PHP_VALUE "upload_max_filesize=64M \n post_max_size=64M";`), either may be
// null. As in php-fpm they apply whatever a setting's level, and PHP_ADMIN_VALUE's cannot be
// changed by ini_set(); unlike php-fpm's, they end with the request, which restores what the
// worker had (php-fpm keeps them for the worker's next requests, whichever site sends them).
// disable_functions and disable_classes stay in force in this worker: PHP cannot undo them.
void apply_request_ini(const char* php_value, const char* php_admin_value);

}  // namespace php_pool::sapi
