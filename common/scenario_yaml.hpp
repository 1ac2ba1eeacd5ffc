#pragma once
// Scenario files for `vigil simulate` (docs/design.md, "Scenario files"): YAML ->
// decision::scenario. Malformed input gives "file:line:column: reason"
// (1-based); names of regions, vantages and checks are checked later against
// the config by decision::simulate().

#include <optional>
#include <string>
#include <string_view>

#include "decision/scenario.hpp"

namespace vigil::common {

struct scenario_parse_result {
  std::optional<decision::scenario> value;
  std::string error;  ///< "file:line:col: reason" when value is empty
};

[[nodiscard]] scenario_parse_result parse_scenario_file(const std::string& path);
[[nodiscard]] scenario_parse_result parse_scenario_text(std::string_view yaml, const std::string& file_name);

}  // namespace vigil::common
