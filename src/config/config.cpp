// load() and friends: the entry points of the pool-file parser.
#include "config/config.hpp"

#include <sys/stat.h>

#include <filesystem>

#include "config/internal.hpp"

namespace php_pool::config {

const char* to_string(PmStyle pm) {
  switch (pm) {
    case PmStyle::Static:
      return "static";
    case PmStyle::Dynamic:
      return "dynamic";
    case PmStyle::Ondemand:
      return "ondemand";
  }
  return "?";
}

const char* to_string(SchedPolicy policy) {
  switch (policy) {
    case SchedPolicy::Inherit:
      return "inherit";
    case SchedPolicy::Other:
      return "other";
    case SchedPolicy::Batch:
      return "batch";
    case SchedPolicy::Idle:
      return "idle";
  }
  return "?";
}

bool PhpIni::adds_up() const {
  return name == "extension" || name == "disable_functions" || name == "disable_classes";
}

bool PhpIni::shadowed_in(const std::vector<PhpIni>& entries) const {
  if (adds_up()) return false;
  for (const PhpIni& e : entries) {
    if (&e == this) return false;
    if (e.admin == admin && e.name == name) return true;
  }
  return false;
}

std::string Diagnostic::format() const {
  if (where.line > 0) return where.file + ":" + std::to_string(where.line) + ": " + message;
  if (!where.file.empty()) return where.file + ": " + message;
  return message;
}

LoadResult load(const std::string& file, const LoadOptions& options) {
  namespace fs = std::filesystem;
  LoadResult result;
  Config config;
  config.file = file;
  std::vector<Diagnostic> errors, warnings;
  std::error_code ec;
  if (!options.prefix.empty()) {
    config.prefix = fs::absolute(options.prefix, ec).lexically_normal().string();
    struct stat st;
    if (::stat(config.prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      errors.push_back(
          {{}, "the global prefix '" + options.prefix + "' does not exist or is not a directory"});
    }
  } else {
    config.prefix = fs::absolute(file, ec).lexically_normal().parent_path().string();
  }
  while (config.prefix.size() > 1 && config.prefix.back() == '/') config.prefix.pop_back();
  for (const auto& [name, value] : options.defines)
    config.ini_defines.push_back({name, value, true});

  if (errors.empty()) {
    detail::parse_files(file, config, !options.prefix.empty(), errors, warnings);
    if (!config.files.empty()) detail::validate(config, errors, warnings);
  }
  config.warnings = std::move(warnings);
  result.errors = std::move(errors);
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

const PoolConfig* select_pool(const Config& config, const std::string& name, std::string& error) {
  std::string names;
  for (const auto& p : config.pools) names += (names.empty() ? "'" : ", '") + p.name + "'";
  if (name.empty()) {
    if (config.pools.size() == 1) return &config.pools[0];
    if (config.pools.empty()) {
      error = config.file + ": no pool defined";
    } else {
      error = config.file + " defines " + std::to_string(config.pools.size()) + " pools (" + names +
              "): choose one with --pool NAME";
    }
    return nullptr;
  }
  for (const auto& p : config.pools) {
    if (p.name == name) return &p;
  }
  for (const auto& p : config.pools) {
    if (detail::to_lower(p.name) == detail::to_lower(name)) return &p;
  }
  error = config.file + " has no pool '" + name + "' (it defines " + names + ")";
  return nullptr;
}

}  // namespace php_pool::config
