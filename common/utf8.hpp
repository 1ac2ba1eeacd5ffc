#pragma once
// UTF-8 helpers for text that leaves vigil with a size limit (page summaries,
// sink answers kept in logs, step output in the journal).

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil::common {

/// `text` cut to at most `max` bytes on a UTF-8 boundary, with "…" when cut.
[[nodiscard]] std::string truncate_utf8(std::string_view text, std::size_t max);

}  // namespace vigil::common
