#include "sapi/ini_values.hpp"

#include <cstring>

#include "common/log.hpp"
#include "sapi/php.hpp"

namespace php_pool::sapi {
namespace {

const char* level(bool admin) {
  return admin ? "_admin" : "";
}

// disable_functions and disable_classes act on their own: PHP takes the functions and classes
// out (for good in this process). True when NAME is one of them.
bool disable(std::string_view name, const char* list) {
  if (name == "disable_functions") {
    if (*list) zend_disable_functions(list);
    return true;
  }
  if (name == "disable_classes") {
    std::string names = list;
    char* save = nullptr;
    for (char* c = strtok_r(names.data(), ", ", &save); c; c = strtok_r(nullptr, ", ", &save))
      zend_disable_class(c, strlen(c));
    return true;
  }
  return false;
}

struct Pass {
  const char* param;  // PHP_VALUE or PHP_ADMIN_VALUE, for the log
  bool admin;
};

// zend_parse_ini_string()'s callback: one line of PHP_VALUE or PHP_ADMIN_VALUE.
void request_entry(zval* key, zval* value, zval*, int type, void* arg) {
  const Pass& pass = *static_cast<const Pass*>(arg);
  if (type != ZEND_INI_PARSER_ENTRY || !key || Z_TYPE_P(key) != IS_STRING) {
    log::write(log::Level::Warning, {}, "%s: only name=value lines are taken", pass.param);
    return;
  }
  zend_string* name = Z_STR_P(key);
  if (!value || Z_TYPE_P(value) != IS_STRING) {
    log::write(log::Level::Warning, {}, "%s: no value for '%s'", pass.param, ZSTR_VAL(name));
    return;
  }
  if (zend_string_equals_literal(name, "extension")) {
    log::write(log::Level::Warning, {},
               "%s: extensions load with the pool (php_admin_value[extension]), not per request: "
               "'%s' ignored",
               pass.param, Z_STRVAL_P(value));
    return;
  }
  disable(std::string_view(ZSTR_VAL(name), ZSTR_LEN(name)), Z_STRVAL_P(value));
  if (!zend_hash_exists(EG(ini_directives), name)) {
    log::write(log::Level::Warning, {}, "%s: unknown PHP setting '%s', ignored", pass.param,
               ZSTR_VAL(name));
    return;
  }
  // Forced, as php-fpm: whatever the setting's level. SYSTEM at the ACTIVATE stage also makes
  // Zend lock it against ini_set(). Tracked in EG(modified_ini_directives): the request's end
  // restores both value and level.
  if (zend_alter_ini_entry_ex(name, Z_STR_P(value), pass.admin ? ZEND_INI_SYSTEM : ZEND_INI_USER,
                              ZEND_INI_STAGE_ACTIVATE, true) != SUCCESS) {
    log::write(log::Level::Warning, {}, "%s: PHP refused '%s' for '%s'", pass.param,
               Z_STRVAL_P(value), ZSTR_VAL(name));
  }
}

void apply_request_lines(const char* lines, Pass pass) {
  if (!lines || !*lines) return;
  std::string text = std::string(lines) + "\n";
  // unbuffered errors: a syntax error goes to the worker's stderr, never into the response
  zend_parse_ini_string(text.data(), true, ZEND_INI_SCANNER_NORMAL, request_entry, &pass);
}

}  // namespace

bool apply_pool_ini(const config::PhpIni& e, std::string& error) {
  if (e.name == "extension") {
    if (php_load_extension(e.value.c_str(), MODULE_PERSISTENT, 1) == FAILURE) {
      error = "cannot load extension '" + e.value + "'";
      return false;
    }
    return true;
  }
  if (disable(e.name, e.value.c_str())) return true;
  auto* entry =
      (zend_ini_entry*)zend_hash_str_find_ptr(EG(ini_directives), e.name.data(), e.name.size());
  if (!entry) {
    log::write(log::Level::Warning, {}, "php%s_value[%s]: unknown PHP setting, ignored",
               level(e.admin), e.name.c_str());
    return true;
  }
  zend_string* value = zend_string_init(e.value.data(), e.value.size(), 1);
  if (!entry->on_modify || entry->on_modify(entry, value, entry->mh_arg1, entry->mh_arg2,
                                            entry->mh_arg3, ZEND_INI_STAGE_ACTIVATE) == SUCCESS) {
    entry->value = value;
    if (e.admin) entry->modifiable = ZEND_INI_SYSTEM;
  } else {
    zend_string_release_ex(value, 1);
    log::write(log::Level::Warning, {}, "php%s_value[%s]: PHP refused the value '%s'",
               level(e.admin), e.name.c_str(), e.value.c_str());
  }
  return true;
}

void apply_request_ini(const char* php_value, const char* php_admin_value) {
  apply_request_lines(php_value, {"PHP_VALUE", false});
  apply_request_lines(php_admin_value, {"PHP_ADMIN_VALUE", true});
}

}  // namespace php_pool::sapi
