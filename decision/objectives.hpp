#pragma once
// Recovery objectives: the recorded timelines of drills and failovers, and
// the RTO estimate computed from them (docs/runbook.md, "Objectives").
//
// Pure: the history comes in as parsed records, the configured bounds as
// plain numbers; nothing here reads a clock or a file.
//
// estimate = detection bound (configured, docs/failure-detection.md)
//          + median approval time observed (pending_approval -> the approval
//            that completed the set), or a default when never observed
//          + for each step of the plan: the p90 of its durations in real
//            executions, or its configured timeout when never executed.
// Dry runs (drills, plan.dry_run) describe steps without making their calls:
// their step durations are recorded and shown, never used for the estimate.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "decision/types.hpp"

namespace vigil::decision {

struct recorded_step {
  std::string name;
  std::string outcome;  ///< done | already_done | dry_run | failed | unexpected_state | skipped | cancelled
  double duration_s = 0;
  std::optional<time_point> started, finished;
};

/// One drill or plan execution, as appended to the timeline history.
struct recorded_timeline {
  std::string id;                              ///< the recommendation id, or drill-<action>-<compact time>
  std::string kind;                            ///< drill | plan (an approved recommendation's plan)
  bool dry_run = true;                         ///< no mutating call was made
  bool scheduled = false;                      ///< a scheduled drill (drill.schedule)
  std::string action;                          ///< failover | failback
  std::string result;                          ///< done | failed | aborted | refused
  std::optional<time_point> first_evidence;    ///< the incident's first failing observation
  std::optional<time_point> classified;        ///< the classification change
  std::optional<time_point> paged;             ///< the page that carried it
  std::optional<time_point> pending_approval;  ///< the recommendation became pending_approval
  std::optional<time_point> approved;          ///< the approval that completed the set
  std::optional<time_point> plan_started, plan_finished;
  std::vector<recorded_step> steps;

  [[nodiscard]] bool ok() const { return result == "done"; }
  /// pending_approval -> approved, when both are known.
  [[nodiscard]] std::optional<double> approval_s() const;
  [[nodiscard]] std::optional<double> plan_s() const;
};

/// One JSONL line of the history (RFC 3339 times, null when unknown).
[[nodiscard]] nlohmann::json to_json(const recorded_timeline& t);
/// Throws std::invalid_argument on a line that is not a timeline.
[[nodiscard]] recorded_timeline timeline_from_json(const nlohmann::json& j);

/// Median (mean of the two middle values for an even count); nullopt when empty.
[[nodiscard]] std::optional<double> median(std::vector<double> v);
/// Nearest-rank p90: the ceil(0.9 n)-th smallest; nullopt when empty.
[[nodiscard]] std::optional<double> p90(std::vector<double> v);

/// A classify check as the detection bound needs it.
struct detection_check {
  duration interval{2000};
  duration fast_interval{0};  ///< suspicion mode; 0 = off (cloudwatch checks: always 0)
};

struct detection_inputs {
  std::vector<detection_check> classify_checks;
  int fall = 3;
  duration confirm_for{2000};
  duration tick{1000};
};

/// The bound docs/failure-detection.md states for the slowest classify check:
/// fall x interval (suspicion mode: interval + fall x fast_interval)
/// + confirm_for + 2 ticks. Seconds, and the formula with its numbers.
struct detection_bound {
  double seconds = 0;
  std::string detail;
};
[[nodiscard]] detection_bound compute_detection_bound(const detection_inputs& in);

struct planned_step {
  std::string name;
  duration timeout{300000};
};

struct estimate_inputs {
  detection_bound detection;
  std::string action = "failover";  ///< whose plan is estimated
  std::vector<planned_step> steps;
  duration default_approval{300000};  ///< when no approval was ever observed
  std::optional<duration> rto_objective;
};

/// One term of the estimate and where its number comes from.
struct rto_term {
  std::string term;  ///< detection | approval | step
  std::string name;  ///< the step's name (step terms)
  double seconds = 0;
  std::string source;  ///< configured | measured | default | timeout
  std::size_t samples = 0;
  std::string detail;
};

struct rto_estimate {
  std::vector<rto_term> terms;
  double total_s = 0;
  std::optional<double> objective_s;
  bool approval_observed = false;
  [[nodiscard]] bool exceeds() const { return objective_s && total_s > *objective_s; }
};

[[nodiscard]] rto_estimate estimate_rto(const std::vector<recorded_timeline>& history, const estimate_inputs& in);
[[nodiscard]] nlohmann::json to_json(const rto_estimate& e);

/// The data-loss exposure now (docs/failure-detection.md, "The data-loss
/// bound"): the lag with a fresh sample; lag + its age when the sample is
/// older than lag_max_age or the source is unreachable; nullopt with none.
[[nodiscard]] std::optional<double> rpo_exposure_s(std::optional<double> lag_ms, std::optional<double> age_s,
                                                   bool reachable, duration lag_max_age);

/// The newest `n` drills, newest first: {id, at, scheduled, action, result, plan_s, steps}.
[[nodiscard]] nlohmann::json drill_trend(const std::vector<recorded_timeline>& history, std::size_t n);

}  // namespace vigil::decision
