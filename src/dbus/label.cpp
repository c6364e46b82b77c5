#include "dbus/label.hpp"

#include <cstdint>

namespace php_pool::dbus {

std::string escape_label(std::string_view pool_name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(pool_name.size());
  for (size_t i = 0; i < pool_name.size(); i++) {
    unsigned char c = static_cast<unsigned char>(pool_name[i]);
    bool digit = c >= '0' && c <= '9';
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (alpha || (digit && i > 0)) {
      out += char(c);
    } else {
      out += '_';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string bus_name(std::string_view pool_name) {
  return kBusNamePrefix + escape_label(pool_name);
}

std::string valid_utf8(std::string_view text) {
  static constexpr char kReplacement[] = "\xef\xbf\xbd";
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    size_t len = 0;
    uint32_t cp = 0;
    if (c >= 0x01 && c < 0x80) {
      out += char(c);
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf)
      len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
      len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
      len = 4, cp = c & 0x07;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80)
        ok = false;
      else
        cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    // No overlong forms, no surrogates, nothing above U+10FFFF.
    if (ok && ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
               (cp >= 0xd800 && cp <= 0xdfff)))
      ok = false;
    if (ok) {
      out.append(text.data() + i, len);
      i += len;
    } else {
      out += kReplacement;
      i++;
    }
  }
  return out;
}

}  // namespace php_pool::dbus
