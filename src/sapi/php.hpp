// The PHP C API, included as C. Only files in src/sapi include this.
#pragma once

// php.h must come first: the order below is PHP's, not alphabetical.
// clang-format off
extern "C" {
#include "php.h"
#include "SAPI.h"
#include "php_main.h"
#include "php_variables.h"
#include "php_ini.h"
#include "php_output.h"
#include "http_status_codes.h"
#include "ext/standard/head.h"
#include "ext/standard/info.h"
#include "ext/standard/dl.h"
#include "zend_ini.h"
#include "zend_ini_scanner.h"
#include "zend_signal.h"
#include "zend_exceptions.h"
}
// clang-format on
