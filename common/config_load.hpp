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

/// Why a file holding a secret may not be used (its mode), or empty when it
/// may; given the resolved path. Injected like file_reader (tests).
using secret_mode_check = std::function<std::string(const std::string& path)>;

/// The rule on the real file system, as ssh applies it to private keys: a
/// secret (`*_file` secrets, engine.read_tokens_file, coordination.key_file)
/// readable by others (mode & 007) is refused, and so is one readable by its
/// group (mode & 070) when it belongs to the user vigil runs as: those bits
/// then let other accounts read it. A file owned by another account (root,
/// the kubelet) that vigil reads through its group, as deploy/ installs the
/// secrets (group `vigil`, 0640; Kubernetes fsGroup, 0440), is the intended
/// sharing and accepted. Empty when fine or when stat fails (reading reports
/// that), else "is readable by group/others (mode 0644)".
[[nodiscard]] std::string secret_file_exposure(const std::string& path);
[[nodiscard]] secret_mode_check real_secret_modes();

inline constexpr std::size_t max_secret_file_bytes = std::size_t{64} * 1024;
inline constexpr std::size_t max_config_file_bytes = std::size_t{16} * 1024 * 1024;

/// Reads the regular file `path` whole if it has at most `max_bytes`. A FIFO,
/// a device (/dev/zero), a socket or a directory is refused without blocking
/// (opened O_NONBLOCK, checked with fstat before any read).
[[nodiscard]] std::optional<std::string> read_regular_file(const std::string& path, std::size_t max_bytes,
                                                           std::string& error);

/// Loads `path` using the process environment and the real file system
/// (secret files' modes checked: real_secret_modes()).
[[nodiscard]] config_load_result load_config(const std::string& path);

/// Loads YAML text as if it were the file `file_name` (relative `*_file`
/// paths resolve against the file's directory). `secret_modes` absent: the
/// modes of secret files are not checked (files that are not on disk).
[[nodiscard]] config_load_result load_config_text(std::string_view yaml, const std::string& file_name,
                                                  const env_lookup& env, const file_reader& files,
                                                  const secret_mode_check& secret_modes = {});

}  // namespace vigil::common
