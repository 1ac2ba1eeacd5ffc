#pragma once
// The AWS permissions each plan step kind needs: the one list of the calls a
// step sends (pre-checks, the mutating calls, waits; a drill sends the same
// pre-checks), with the resources taken from the step's own parameters.
// `vigil iam` builds the actuator policy from it; the unit test
// step_iam_test.cpp runs every step kind against a recording transport and
// checks that the actions it actually sends are exactly these, so a new call
// in plan_steps_aws.cpp without an entry here fails the build's tests.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"

namespace vigil::actuators {

/// One permission a step needs: an IAM action on resources, maybe under a
/// condition.
struct iam_grant {
  std::string action;                  ///< "rds:DescribeDBClusters"
  std::vector<std::string> resources;  ///< ARNs, or "*" where the action has no resource-level permission
  nlohmann::json condition;            ///< IAM Condition block, or null
  /// false: AWS makes this call on vigil's behalf (KMS through SSM for a
  /// SecureString); the request vigil sends is another action.
  bool sent = true;
  std::string sid;  ///< statement name hint ("AuroraPromote"); grants with equal hints may share a statement
};

/// Where the ARNs point: the account, and the region a step without its own
/// `region` runs in (the plan's target region: the DR region for the failover
/// plan, the primary for the failback plan).
struct iam_scope {
  std::string account;  ///< 12 digits
  std::string default_region;
};

/// What the step `s` can send, for every outcome of its pre-checks and every
/// plan it can run in (planned or not). Unknown and local kinds (exec,
/// webhook, verify): none.
[[nodiscard]] std::vector<iam_grant> step_iam_grants(const common::plan_step_config& s, const iam_scope& scope);

/// The account named by the ARNs of the configured plans' steps, when they
/// agree on one; an error text when they name two; nullopt when none is named.
struct account_guess {
  std::optional<std::string> account;
  std::string error;
};
[[nodiscard]] account_guess account_in_plans(const common::config& cfg);

/// DB cluster ARN for an identifier or an ARN (an ARN is kept as it is).
[[nodiscard]] std::string db_cluster_arn(const std::string& id_or_arn, const std::string& region,
                                         const std::string& account);

}  // namespace vigil::actuators
