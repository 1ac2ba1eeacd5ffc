#pragma once
// Loading and validating configuration files (docs/design.md, "Configuration").
//
// load_config() reads YAML, substitutes ${ENV_VAR} in scalars, resolves
// `*_file` secrets, applies the decision defaults, validates everything and
// collects *all* problems (not only the first). Each diagnostic names the file,
// line:column (1-based), the key path and what was expected, e.g.
//   examples/x.yaml:12:7: error: decision.fall: expected an integer in [1, 100], got "three"
//   examples/x.yaml:3:3: error: servces: unknown key (did you mean "services"?)
// A result with any error has no value. Warnings never block.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"

namespace vigil::common {

struct config_diagnostic {
  enum class level : std::uint8_t { error, warning };
  level severity = level::error;
  source_pos pos;
  std::string message;

  /// "file:line:col: error: key.path: message"
  [[nodiscard]] std::string format() const;
};

struct config_load_result {
  std::optional<config> value;  ///< set only when there is no error
  std::vector<config_diagnostic> diagnostics;

  [[nodiscard]] bool ok() const { return value.has_value(); }
  [[nodiscard]] std::size_t error_count() const;
};

/// Environment lookup for ${VAR} substitution; nullopt = unset.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;
/// Reads a whole file (secrets, public keys); nullopt + reason on failure.
using file_reader = std::function<std::optional<std::string>(const std::string& path, std::string& error)>;

/// The process environment and the real file system. real_files() reads
/// with read_regular_file(), at most max_secret_file_bytes.
[[nodiscard]] env_lookup process_env();
[[nodiscard]] file_reader real_files();

inline constexpr std::size_t max_secret_file_bytes = std::size_t{64} * 1024;
inline constexpr std::size_t max_config_file_bytes = std::size_t{16} * 1024 * 1024;

/// Reads the regular file `path` whole if it has at most `max_bytes`. A FIFO,
/// a device (/dev/zero), a socket or a directory is refused without blocking
/// (opened O_NONBLOCK, checked with fstat before any read).
[[nodiscard]] std::optional<std::string> read_regular_file(const std::string& path, std::size_t max_bytes,
                                                           std::string& error);

/// Loads `path` using the process environment and the real file system.
[[nodiscard]] config_load_result load_config(const std::string& path);

/// Loads YAML text as if it were the file `file_name` (relative `*_file`
/// paths resolve against the file's directory).
[[nodiscard]] config_load_result load_config_text(std::string_view yaml, const std::string& file_name,
                                                  const env_lookup& env, const file_reader& files);

}  // namespace vigil::common
