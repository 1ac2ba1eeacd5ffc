#pragma once
// Logging through spdlog: text or JSON lines on stderr, one level for every
// vigil logger.
//
// Call setup_logging() once at start-up (after the config is loaded, before
// threads start); then take named loggers with logger("engine"). Loggers made
// before or after setup share the same sink, level and format.
//
// JSON format: one object per line: {"ts":"2026-11-22T03:00:00.000Z",
// "level":"info","logger":"engine","msg":"..."} (ts in UTC, milliseconds;
// level spelled as in log_level_names(): trace, debug, info, warn, ...).
// Text format: "2026-11-22T03:00:00.000Z info [engine] ..." (spdlog's level
// names there: "warning" for warn).
//
// Thread safety: logger() may be called from any thread; setup_logging()
// must not race with logging.

#include <spdlog/common.h>
#include <spdlog/logger.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/config.hpp"

namespace vigil::common {

/// The level names logging.level and --log-level accept, lowest first.
[[nodiscard]] const std::array<std::string_view, 7>& log_level_names();

/// Applies `cfg` (and `level_override`, e.g. from --log-level, when set).
/// Returns an error text naming the bad level or format, and changes nothing
/// then. `sink` replaces the stderr sink (tests capture output with it).
[[nodiscard]] std::optional<std::string> setup_logging(const logging_config& cfg,
                                                       std::optional<std::string> level_override,
                                                       spdlog::sink_ptr sink = nullptr);

/// The named logger, created on first use with the current sink and level.
[[nodiscard]] std::shared_ptr<spdlog::logger> logger(std::string_view name);

}  // namespace vigil::common
