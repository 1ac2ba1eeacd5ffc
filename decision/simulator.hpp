#pragma once
// `vigil simulate`: runs the decision core on virtual time (docs/design.md,
// "Scenario files"). Virtual agents in every vantage probe every check every
// probe interval (vantages staggered by the scenario's `stagger`, 100ms by
// default), send a batch each round, replication
// lag is sampled every lag interval, and the core ticks every params.tick.
// Deterministic for a seed: the noise RNG is splitmix64 seeded from it.
// Approvals are pre-verified (no crypto) and an approved recommendation is
// carried out as a simulated, dry plan (plan_step entries), so cooldown can
// be exercised.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "decision/scenario.hpp"
#include "decision/timeline.hpp"
#include "decision/types.hpp"

namespace vigil::decision {

/// What the simulation needs beyond the topology (from config).
struct sim_settings {
  duration timeout{2000};      ///< a slow probe at or above it times out
  duration degraded_after{0};  ///< a slow probe above it is degraded (0 = off)
  duration lag_interval{5000};
  std::optional<duration> initial_lag = duration{250};  ///< before any `lag` event (when a lag source exists)
  duration token_ttl{900000};                           ///< approvals.max_ttl
  std::vector<std::string> plan_steps;                  ///< failover plan step names (default: one "dry-run" step)
  std::vector<std::string> failback_steps;              ///< failback plan step names (default: one "dry-run" step)
  time_point start{std::chrono::milliseconds{1'795'000'000'000}};  ///< virtual epoch (2026-11-18)
};

struct expect_result {
  bool ok = false;
  std::string text;  ///< the expectation as written
  std::string why;   ///< what was (not) seen
  int line = 0;
};

struct sim_result {
  timeline entries;
  std::vector<expect_result> expects;
  std::vector<nlohmann::json> audit;  ///< every audit record, in order
  [[nodiscard]] bool ok() const;
};

/// Throws std::invalid_argument when the scenario names an unknown region,
/// service, check or vantage (with its line).
[[nodiscard]] sim_result simulate(const topology& topo, const sim_settings& settings, const scenario& sc);

/// Checks expectations against a timeline (also used by tests).
[[nodiscard]] std::vector<expect_result> check_expectations(const timeline& tl, const scenario& sc);

}  // namespace vigil::decision
