#pragma once
// Durations as written in config and scenario files: an integer or decimal
// followed by a unit: ms, s, m, h, d (e.g. "250ms", "1.5s", "5m", "7d").
// No unit, unknown units, negative values and overflow are rejected.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace vigil::common {

[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// The shortest exact spelling: 1500ms -> "1500ms", 2000ms -> "2s", 300000ms -> "5m".
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

}  // namespace vigil::common
