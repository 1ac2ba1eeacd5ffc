#pragma once
// What a plan step would do, call by call: the pre-check that makes a re-run
// safe and the mutating call(s). Used by dry runs (plan.*.dry_run: true), by
// `vigil drill`, by the demo and by the page that announces execution, so
// that every operator sees the exact calls before anything changes.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace vigil::actuators {

/// The approved recommendation a plan carries out.
struct plan_context {
  std::string recommendation_id;
  std::string recommendation_hash;
  std::string action;  ///< failover | failback
  std::string from;
  std::string to;
  bool allow_data_loss = false;  ///< the approval accepts loss beyond the RPO budget (or an unknown one)
  std::vector<std::string> approvers;
  bool planned = false;  ///< the recommendation's `planned`: the source region is healthy
};

/// How an Aurora step promotes the secondary, from its `mode` and the plan's
/// `planned` (docs/aws-notes.md, "Aurora Global Database"):
///   auto       unplanned -> FailoverGlobalCluster AllowDataLoss=true; planned -> SwitchoverGlobalCluster
///   failover   always FailoverGlobalCluster AllowDataLoss=true
///   switchover always SwitchoverGlobalCluster (the kind aurora_switchover is this)
/// A step with `allow_data_loss: false` never allows loss: a promotion that
/// would need AllowDataLoss is refused before any call (`refusal` says why).
struct aurora_promotion {
  std::string mode;       ///< auto | failover | switchover
  std::string operation;  ///< FailoverGlobalCluster | SwitchoverGlobalCluster
  bool allow_data_loss = false;
  std::string refusal;    ///< non-empty: do not call AWS
  std::string statement;  ///< operator-facing: "unplanned global failover: ..." / "planned switchover: ..."
};
[[nodiscard]] aurora_promotion choose_promotion(const common::plan_step_config& step, const plan_context& ctx);

struct planned_call {
  std::string service;    ///< rds, ecs, route53, ssm, route53-recovery-cluster, exec, http, vigil
  std::string operation;  ///< FailoverGlobalCluster, UpdateService, ...
  nlohmann::json params;
  bool mutating = false;
};

struct planned_step {
  std::string name;
  std::string kind;
  std::vector<planned_call> prechecks;  ///< read-only calls made first (also in dry run)
  std::vector<planned_call> calls;      ///< what the step changes
  std::string summary;                  ///< one line: "promote shop-prod-secondary (us-west-2), AllowDataLoss=false"
};

[[nodiscard]] planned_step describe_step(const common::plan_step_config& step, const plan_context& ctx);
[[nodiscard]] std::vector<planned_step> describe_plan(const common::plan_config& plan, const plan_context& ctx);
[[nodiscard]] nlohmann::json to_json(const planned_step& s);

}  // namespace vigil::actuators
