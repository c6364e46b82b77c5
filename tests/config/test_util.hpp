// Helpers for the config tests: a temporary directory with files, and error matchers.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"

namespace php_pool::config::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "php-pool-cfg-XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    if (!p) throw std::runtime_error("mkdtemp failed");
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes NAME (relative; directories are created) and returns its full path.
  std::string write(const std::string& name, const std::string& content) const {
    std::filesystem::path full = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(full.parent_path());
    std::ofstream(full, std::ios::binary) << content;
    return full.string();
  }
  std::string mkdir(const std::string& name) const {
    std::filesystem::path full = std::filesystem::path(path_) / name;
    std::filesystem::create_directories(full);
    return full.string();
  }

 private:
  std::string path_;
};

// A minimal valid pool (4 lines), to which tests append directives from line 5 on.
inline std::string pool(const std::string& extra, const std::string& name = "www") {
  return "[" + name + "]\nlisten = /run/php-pool/" + name +
         ".sock\npm = static\npm.max_children = 5\n" + extra;
}

inline std::string all_messages(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) out += d.format() + "\n";
  return out;
}

// True when some diagnostic formats exactly as FILE:LINE: MESSAGE.
inline bool has(const std::vector<Diagnostic>& ds, const std::string& file, int line,
                const std::string& message) {
  for (const auto& d : ds) {
    if (d.where.file == file && d.where.line == line && d.message == message) return true;
  }
  return false;
}

// True when some diagnostic at FILE:LINE contains FRAGMENT.
inline bool has_fragment(const std::vector<Diagnostic>& ds, const std::string& file, int line,
                         const std::string& fragment) {
  for (const auto& d : ds) {
    if (d.where.file == file && d.where.line == line &&
        d.message.find(fragment) != std::string::npos) {
      return true;
    }
  }
  return false;
}

#define EXPECT_ERROR(result, file, line, message)                                     \
  EXPECT_TRUE(::php_pool::config::testing::has((result).errors, file, line, message)) \
      << "want " << (file) << ":" << (line) << ": " << (message) << "\ngot:\n"        \
      << ::php_pool::config::testing::all_messages((result).errors)

#define EXPECT_ERROR_FRAGMENT(result, file, line, fragment)                                     \
  EXPECT_TRUE(::php_pool::config::testing::has_fragment((result).errors, file, line, fragment)) \
      << "want " << (file) << ":" << (line) << ": ..." << (fragment) << "...\ngot:\n"           \
      << ::php_pool::config::testing::all_messages((result).errors)

// Loads CONTENT written as NAME into DIR and expects success.
inline Config load_ok(const TempDir& dir, const std::string& content,
                      const std::string& name = "pool.conf", const LoadOptions& options = {}) {
  std::string file = dir.write(name, content);
  LoadResult r = load(file, options);
  EXPECT_TRUE(r.config.has_value()) << all_messages(r.errors);
  if (!r.config) return Config{};
  return *r.config;
}

}  // namespace php_pool::config::testing
