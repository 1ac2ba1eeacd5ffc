#pragma once
// Standing approvals (docs/approvals.md, "Standing approvals"): a signed,
// bounded, revocable policy under which the engine starts the failover plan
// itself. This is the pure part: given the policy's conditions and the core's
// state as of a tick, fire or hold (and why). Token format, signatures and
// persistence live in approvals/standing_policy.hpp and app/standing.*.
//
// Conditions, checked in this order (the first that fails is the hold reason):
//   not_active       `from` is not the active region (the policy moves from -> to only)
//   no_outage        `from` is not declared regional_outage
//   too_short        declared for less than min_duration
//   too_few_vantages fewer than min_vantages present vantages see a check of `from` down
//   lag_unknown      no fresh lag sample with a value (older than lag_max_age, or unreachable)
//   lag_too_high     newest lag > min(max_lag, params.max_lag = the RPO)
//   not_pending      no failover recommendation from -> to (yet)
//   dr_not_ready     its dr_ready gate is absent (readiness not configured) or fails
//   cooldown         its cooldown gate fails
//   silenced         its not_silenced gate fails
//   brake            the actuation brake is on
//   outside_hours    now (UTC) is outside the policy's hours
//   not_pending      the recommendation is not pending_approval (blocked, executing, ...)
//   lag_unknown      the recommendation requires allow_data_loss (a policy never grants it)
//   gate_failed      another blocking gate fails (detail names it)
// All time is injected; nothing here reads a clock.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decision/snapshot.hpp"
#include "decision/types.hpp"

namespace vigil::decision {

enum class standing_hold : std::uint8_t {
  none,  ///< fire
  not_active,
  no_outage,
  too_short,
  too_few_vantages,
  lag_unknown,
  lag_too_high,
  dr_not_ready,
  cooldown,
  silenced,
  brake,
  outside_hours,
  not_pending,
  gate_failed,
};
inline constexpr std::size_t standing_hold_count = 14;
[[nodiscard]] std::string_view to_string(standing_hold h);
[[nodiscard]] std::optional<standing_hold> standing_hold_from_string(std::string_view s);

/// Minutes of the UTC day [from, to): from > to wraps midnight ("22:00-06:00").
struct standing_hours {
  int from_min = 0;
  int to_min = 0;
  bool operator==(const standing_hours&) const = default;
};
/// "HH:MM-HH:MM" (UTC); nullopt when malformed or empty (from == to).
[[nodiscard]] std::optional<standing_hours> parse_standing_hours(std::string_view s);
[[nodiscard]] std::string format_standing_hours(const standing_hours& h);
[[nodiscard]] bool within_hours(const standing_hours& h, time_point now);

struct standing_conditions {
  std::string from;
  std::string to;
  duration min_duration{120000};
  int min_vantages = 2;
  duration max_lag{5000};
  std::optional<standing_hours> hours;
  bool operator==(const standing_conditions&) const = default;
};

struct standing_inputs {
  const snapshot* s = nullptr;  ///< core::status() of the tick (with checks)
  time_point now{};
  duration rpo{5000};           ///< params.max_lag: a policy never allows more
  duration lag_max_age{30000};  ///< params.lag_max_age
  bool brake = false;
};

struct standing_verdict {
  standing_hold hold = standing_hold::none;
  std::string detail;  ///< operator-facing, with numbers
  [[nodiscard]] bool fire() const { return hold == standing_hold::none; }
};

[[nodiscard]] standing_verdict evaluate_standing(const standing_conditions& c, const standing_inputs& in);

/// What a fired policy hands to core::approve(), one per signer: approver
/// "standing:<id>:<signer>", jti "standing:<id>:use:<use>:<signer>", never
/// allow_data_loss (the core re-evaluates every gate at approval time).
[[nodiscard]] std::vector<verified_approval> standing_approvals(const recommendation& rec, const std::string& policy_id,
                                                                const std::vector<std::string>& signers, int use,
                                                                time_point now, time_point expires_at);

/// The hash a standing policy binds: hex SHA-256 of the canonical JSON of
/// the plan as configured ({"dry_run", "steps": [{"name", "kind", "params",
/// "timeout_ms", "retries", "on_failure"}...]}). A changed plan disarms every policy.
[[nodiscard]] std::string standing_plan_hash(const nlohmann::json& plan);

}  // namespace vigil::decision
