#include "common/duration.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

namespace vigil::common {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t i = 0;
  std::int64_t whole = 0;
  bool digits = false;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (whole > std::numeric_limits<std::int64_t>::max() / 10 - 10) return std::nullopt;
    whole = whole * 10 + (text[i] - '0');
    digits = true;
    ++i;
  }
  std::int64_t frac = 0;
  std::int64_t frac_scale = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (frac_scale < 1'000'000'000) {
        frac = frac * 10 + (text[i] - '0');
        frac_scale *= 10;
      }
      digits = true;
      ++i;
    }
  }
  if (!digits) return std::nullopt;
  const std::string_view unit = text.substr(i);
  std::int64_t unit_ms = 0;
  if (unit == "ms") {
    unit_ms = 1;
  } else if (unit == "s") {
    unit_ms = 1000;
  } else if (unit == "m") {
    unit_ms = 60'000;
  } else if (unit == "h") {
    unit_ms = 3'600'000;
  } else if (unit == "d") {
    unit_ms = 86'400'000;
  } else {
    return std::nullopt;
  }
  if (whole > std::numeric_limits<std::int64_t>::max() / unit_ms - 1) return std::nullopt;
  // Fractions below a millisecond round to the nearest one: "1.0004s" is 1000ms.
  const std::int64_t frac_ms = (frac * unit_ms * 2 + frac_scale) / (2 * frac_scale);
  return std::chrono::milliseconds{whole * unit_ms + frac_ms};
}

std::string format_duration(std::chrono::milliseconds d) {
  const std::int64_t ms = d.count();
  if (ms != 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace vigil::common
