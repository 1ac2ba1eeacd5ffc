#include "detector/condition.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <utility>

namespace vigil::detector {

bool condition::holds(double v) const {
  switch (op) {
    case compare_op::lt:
      return v < threshold;
    case compare_op::le:
      return v <= threshold;
    case compare_op::gt:
      return v > threshold;
    case compare_op::ge:
      return v >= threshold;
    case compare_op::eq:
      return v == threshold;
    case compare_op::ne:
      return v != threshold;
  }
  return false;
}

std::string condition::to_string() const {
  static constexpr std::string_view names[] = {"<", "<=", ">", ">=", "==", "!="};
  return fmt::format("{} {}", names[static_cast<int>(op)], threshold);
}

std::optional<condition> parse_condition(std::string_view text, std::string* error) {
  const auto fail = [&](std::string msg) -> std::optional<condition> {
    if (error != nullptr) *error = std::move(msg);
    return std::nullopt;
  };
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ')
    text.remove_suffix(1);
  // Two-character operators first, so "<=" is not read as "<" then "=".
  static constexpr std::pair<std::string_view, compare_op> ops[] = {{"<=", compare_op::le}, {">=", compare_op::ge},
                                                                    {"==", compare_op::eq}, {"!=", compare_op::ne},
                                                                    {"<", compare_op::lt},  {">", compare_op::gt}};
  condition c;
  std::size_t n = 0;
  for (const auto& [spelling, op] : ops) {
    if (text.starts_with(spelling)) {
      c.op = op;
      n = spelling.size();
      break;
    }
  }
  if (n == 0) return fail("condition '" + std::string(text) + "' must start with one of < <= > >= == !=");
  text.remove_prefix(n);
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  if (text.empty()) return fail("condition has no number after the operator");
  const auto r = std::from_chars(text.data(), text.data() + text.size(), c.threshold);
  if (r.ec != std::errc{} || r.ptr != text.data() + text.size() || !std::isfinite(c.threshold)) {
    return fail("condition threshold '" + std::string(text) + "' is not a number");
  }
  return c;
}

}  // namespace vigil::detector
