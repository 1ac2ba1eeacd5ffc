#pragma once
// Logging through spdlog: text or JSON lines, one named logger per component.

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>

#include "common/config.hpp"

namespace vigil::common {

/// Configures the default sink and level for every logger. Returns an error
/// message for a bad level or format, empty on success.
std::string setup_logging(const logging_config& cfg, std::optional<std::string> level_override = std::nullopt);

/// The named logger ("engine", "agent", "http", ...), created on first use
/// with the configured sink and level.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

}  // namespace vigil::common
