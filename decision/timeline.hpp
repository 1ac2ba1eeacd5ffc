#pragma once
// The timeline printed by `vigil simulate` and `vigil replay`: one entry per
// outward event with `t` (seconds since the start), `type` (classification,
// page, resolve, recommendation, approval, plan_step) and its fields.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "decision/events.hpp"

namespace vigil::decision {

struct timeline_entry {
  duration t{0};
  std::string type;
  nlohmann::json fields;  ///< type-specific
};

using timeline = std::vector<timeline_entry>;

/// Appends the timeline entries for `e` (audit records and execute_plan add none).
void append_timeline(timeline& tl, const event& e, time_point start);
/// {"t": seconds, "type": ..., ...fields}
[[nodiscard]] nlohmann::json to_json(const timeline_entry& e);
/// One human line: "  95.0s  classification  us-east-1 healthy -> regional_outage (...)".
[[nodiscard]] std::string to_text(const timeline_entry& e);

}  // namespace vigil::decision
