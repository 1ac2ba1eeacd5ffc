#pragma once
// A drill: plan.<action> run through the plan executor in dry run (nothing
// mutates), with an in-memory journal and optionally the read-only
// pre-checks. `vigil drill` and the engine's scheduled drills (drill.schedule)
// both run it; its outcome carries the measured timeline for the history.

#include <functional>
#include <string>

#include "actuators/plan_executor.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"
#include "decision/objectives.hpp"

namespace vigil::app {

struct drill_options {
  std::string action = "failover";  ///< failover | failback
  bool planned = false;
  bool allow_data_loss = false;
  bool prechecks = false;
  bool scheduled = false;  ///< recorded as a scheduled drill
};

struct drill_outcome {
  actuators::plan_outcome outcome;
  bool unexpected = false;  ///< a pre-check found an unexpected state
  decision::recorded_timeline timeline;
  [[nodiscard]] bool ok() const { return outcome.ok() && !unexpected; }
};

/// The plan request a drill runs (from -> to by the configured roles).
[[nodiscard]] actuators::plan_request drill_request(const common::config& cfg, const drill_options& o);

/// Runs the drill (blocking; pre-checks call AWS). `print` gets the
/// executor's lines (may be empty). The plan must have steps.
[[nodiscard]] drill_outcome run_drill(const common::config& cfg, const drill_options& o, const common::clock& clock,
                                      const std::function<void(const std::string&)>& print);

}  // namespace vigil::app
