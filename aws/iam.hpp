#pragma once
// IAM (query protocol, version 2010-05-08, a global service signed for
// us-east-1): SimulatePrincipalPolicy, with which the readiness loop asks
// whether the actuator role may still make every call of the plan
// (docs/aws-notes.md, "IAM policy simulation").

#include <string>
#include <vector>

#include "aws/client.hpp"

namespace vigil::aws {

struct policy_evaluation {
  std::string action;    ///< EvalActionName: "rds:FailoverGlobalCluster"
  std::string resource;  ///< EvalResourceName: an ARN or "*"
  std::string decision;  ///< EvalDecision: allowed | explicitDeny | implicitDeny
};

/// SimulatePrincipalPolicy for `policy_source_arn` (a user, group or role ARN)
/// over every action in `actions` on every resource in `resources` (empty:
/// "*"). Follows Marker pages. `actions` must not be empty.
[[nodiscard]] result<std::vector<policy_evaluation>> simulate_principal_policy(
    client& c, const std::string& policy_source_arn, const std::vector<std::string>& actions,
    const std::vector<std::string>& resources);

}  // namespace vigil::aws
