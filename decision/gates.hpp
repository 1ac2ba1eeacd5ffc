#pragma once
// Promotion gates (docs/design.md, "Promotion gates", "Gates in a fixed order"), evaluated every tick and
// again at approval time, reported by name in a fixed order.
//
// failover (primary -> dr):
//   primary_regional  the primary's declared classification is regional_outage
//   dr_healthy        the dr's declared classification is healthy and every
//                     `role: gate` check about the dr region is up by quorum
//   dr_ready          only with readiness configured: the last readiness run of
//                     the plan found every item ok (blocking only with
//                     `readiness.gate: blocking`; never run yet fails it)
//   replication_lag   newest sample <= max_lag and younger than lag_max_age.
//                     NOT blocking: when it fails (lag too high, unknown or
//                     stale) allow_data_loss_required becomes true and the
//                     detail states the bound
//   cooldown          no failover executed within `cooldown`, or acknowledged
//   not_silenced      no active silence covers either region (decision/silences.hpp)
//   leader            this replica holds the lease
// failback (dr -> primary), or any planned move: primary_healthy (declared healthy, gate checks
// up), dr_ready (as above), replication_lag (blocking: replication towards the old primary must be
// in place with lag within budget), cooldown, not_silenced, leader.

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "decision/recommendation.hpp"
#include "decision/silences.hpp"
#include "decision/types.hpp"

namespace vigil::decision {

struct gate_inputs {
  action_kind action = action_kind::failover;
  /// Which gate set: a planned move (target healthy, lag blocking) or one
  /// away from an outage. Default: planned unless the action is a failover.
  /// With the roles swapped (the dr active) an outage-triggered move is a
  /// failback with `primary` naming the region it leaves.
  std::optional<bool> planned;
  const params* p = nullptr;
  time_point now{};
  std::string primary;
  std::string dr;
  classification primary_declared = classification::unknown;
  time_point primary_since{};
  classification dr_declared = classification::unknown;
  time_point dr_since{};
  int dr_gate_checks_not_up = 0;             ///< role: gate checks about dr that are not up
  int primary_gate_checks_not_up = 0;        ///< same, about the primary (failback)
  std::optional<lag_sample> lag_latest;      ///< newest sample (value or unreachable)
  std::optional<lag_sample> lag_last_value;  ///< newest sample that had a value
  /// false: no configured source measures the lag into `lag_region` (the dr
  /// active and no replication_lag.failback): the lag is unknown.
  bool lag_direction_measured = true;
  std::string lag_region;
  std::optional<time_point> last_failover;  ///< plan_started of the last executed failover
  bool cooldown_acknowledged = false;
  std::string cooldown_acknowledged_by;
  std::span<const silence_spec> silences;
  /// The primary's classify checks that are down (decision/silences.hpp: a
  /// service or check silence covering all of them blocks too).
  std::span<const down_check> primary_down;
  bool leader = false;
  /// The last readiness run of this action's plan (nullopt: none yet).
  std::optional<plan_readiness> readiness;
};

struct gate_evaluation {
  std::vector<gate_result> gates;
  bool allow_data_loss_required = false;
  std::optional<std::int64_t> expected_data_loss_ms;
  std::string data_loss_bound;
};

[[nodiscard]] gate_evaluation evaluate_gates(const gate_inputs& in);

}  // namespace vigil::decision
