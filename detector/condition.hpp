#pragma once
// A CloudWatch check's condition on the metric value: "<op> <number>", op one
// of < <= > >= == !=, e.g. "< 50", ">= 1", "== 0". The condition states what
// HEALTHY looks like: a value that satisfies it is `ok`, one that does not is
// `condition_failed`.

#include <optional>
#include <string>
#include <string_view>

namespace vigil::detector {

enum class compare_op : unsigned char { lt, le, gt, ge, eq, ne };

struct condition {
  compare_op op = compare_op::lt;
  double threshold = 0;

  [[nodiscard]] bool holds(double value) const;
  [[nodiscard]] std::string to_string() const;  ///< "< 50"
};

/// Parses a condition; on failure returns nullopt and sets *error.
[[nodiscard]] std::optional<condition> parse_condition(std::string_view text, std::string* error = nullptr);

}  // namespace vigil::detector
