// D-Bus names of a pool (DESIGN.md "D-Bus") and D-Bus-safe text: pure, no bus needed.
#pragma once

#include <string>
#include <string_view>

namespace php_pool::dbus {

inline constexpr const char* kBusNamePrefix = "org.phppool.Pool1.";
inline constexpr const char* kObjectPath = "/org/phppool/Pool1";
inline constexpr const char* kInterface = "org.phppool.Pool1";
// Error names of org.phppool.Pool1 (besides the standard org.freedesktop.DBus.Error.*).
inline constexpr const char* kErrorConfigInvalid = "org.phppool.Pool1.Error.ConfigInvalid";
inline constexpr const char* kErrorStopping = "org.phppool.Pool1.Error.Stopping";

// The LABEL of a pool name: every byte outside [A-Za-z0-9] becomes '_' and two lowercase hex
// digits, and so does a leading digit ("site" -> "site", "example.com" -> "example_2ecom",
// "1st" -> "_31st"). The escaping is injective ('_' itself becomes "_5f"), so two pools never
// share a label. "" stays "" (not a valid bus name element).
std::string escape_label(std::string_view pool_name);

// The pool's well-known bus name: "org.phppool.Pool1." + escape_label(pool_name).
std::string bus_name(std::string_view pool_name);

// D-Bus strings must be valid UTF-8 without NUL: every byte that does not start a valid UTF-8
// sequence (and every NUL) becomes U+FFFD. URIs and methods come from web clients.
std::string valid_utf8(std::string_view text);

}  // namespace php_pool::dbus
