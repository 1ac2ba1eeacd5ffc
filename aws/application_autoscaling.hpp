#pragma once
// Application Auto Scaling (JSON 1.1, target prefix AnyScaleFrontendService,
// SigV4 service "application-autoscaling"): the scalable target of an ECS
// service, whose MinCapacity the activation step raises so that a scale-in
// policy cannot undo a failover's desired count (docs/aws-notes.md,
// "Application Auto Scaling").

#include <optional>
#include <string>
#include <vector>

#include "aws/client.hpp"

namespace vigil::aws {

struct scalable_target {
  std::string service_namespace;   ///< "ecs"
  std::string resource_id;         ///< "service/<cluster>/<service>"
  std::string scalable_dimension;  ///< "ecs:service:DesiredCount"
  int min_capacity = 0;
  int max_capacity = 0;
  std::string arn;
};

/// The resource id of an ECS service's scalable target: service/<cluster>/<service>.
[[nodiscard]] std::string ecs_resource_id(const std::string& cluster, const std::string& service);
inline constexpr const char* ecs_desired_count = "ecs:service:DesiredCount";

/// DescribeScalableTargets for one resource and dimension: the target, or
/// nullopt when none is registered.
[[nodiscard]] result<std::optional<scalable_target>> describe_scalable_target(client& c, const std::string& region,
                                                                              const std::string& service_namespace,
                                                                              const std::string& resource_id,
                                                                              const std::string& dimension);

struct register_scalable_target_request {
  std::string service_namespace;
  std::string resource_id;
  std::string scalable_dimension;
  std::optional<int> min_capacity;
  std::optional<int> max_capacity;
};
/// RegisterScalableTarget (creates or updates; only the given capacities
/// change). Returns the target's ARN when the answer names it.
[[nodiscard]] result<std::string> register_scalable_target(client& c, const std::string& region,
                                                           const register_scalable_target_request& r);

}  // namespace vigil::aws
