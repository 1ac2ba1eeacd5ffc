#include "app/validated_config.hpp"

#include <variant>

#include "detector/expect.hpp"

namespace vigil::app {

namespace {

void check_expects(const common::config& cfg, std::vector<common::config_diagnostic>& diags) {
  for (const auto& c : cfg.checks) {
    if (!c.http) continue;
    for (std::size_t i = 0; i < c.http->expect.size(); ++i) {
      const auto parsed = detector::parse_expect(c.http->expect[i]);
      if (const auto* err = std::get_if<detector::expect_error>(&parsed)) {
        common::source_pos pos = i < c.http->expect_pos.size() ? c.http->expect_pos[i] : c.pos;
        diags.push_back({common::config_diagnostic::level::error, pos,
                         "bad expect expression at column " + std::to_string(err->column) + ": " + err->message});
      }
    }
  }
}

}  // namespace

common::config_load_result load_validated_config(const std::string& path) {
  auto result = common::load_config(path);
  if (result.value) {
    check_expects(*result.value, result.diagnostics);
    if (result.error_count() > 0) result.value.reset();
  }
  return result;
}

}  // namespace vigil::app
