#pragma once
// RFC 3339 UTC timestamps for decision/ output and record parsing, without
// any clock read (pure calendar arithmetic).

#include <optional>
#include <string>
#include <string_view>

#include "decision/types.hpp"

namespace vigil::decision {

/// 2026-11-22T03:00:00.000Z
[[nodiscard]] std::string format_time(time_point t);
/// 20261122T030000Z (for ids)
[[nodiscard]] std::string format_compact(time_point t);
/// Accepts YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM); fractions below a ms are truncated.
[[nodiscard]] std::optional<time_point> parse_time(std::string_view s);
/// Seconds with millisecond precision: 1500ms -> "1.5s".
[[nodiscard]] std::string format_seconds(duration d);

}  // namespace vigil::decision
