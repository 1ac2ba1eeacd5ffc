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
// Structured fields: a log_fields object in scope adds its fields to every
// line the same thread logs until it goes out of scope:
//   const common::log_fields f{{"incident_id", id}, {"region", r}};
//   common::logger("engine")->warn("page sent");
// JSON: each field is a top-level key of the line ({"ts":...,"msg":"page
// sent","incident_id":"...","region":"..."}; a field never replaces ts,
// level, logger or msg). Text: appended as " key=value" after the message.
// The names vigil uses: incident_id, region, vantage, check,
// recommendation_id, step (docs/configuration.md, "logging").
//
// Thread safety: logger() may be called from any thread; setup_logging()
// must not race with logging. log_fields are per thread.

#include <spdlog/common.h>
#include <spdlog/logger.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// Fields added to this thread's log lines while the object lives (see
/// above). Empty values are left out. Nested scopes add to the outer ones.
class log_fields {
 public:
  log_fields(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);
  ~log_fields();
  log_fields(const log_fields&) = delete;
  log_fields& operator=(const log_fields&) = delete;

 private:
  std::size_t added_ = 0;
};

/// The fields in scope on this thread, oldest first (formatters and tests).
[[nodiscard]] const std::vector<std::pair<std::string, std::string>>& current_log_fields();

/// True when logging.format is json (a command's start-up banner then goes
/// through the logger instead of plain text on stdout).
[[nodiscard]] bool logging_json();

}  // namespace vigil::common
