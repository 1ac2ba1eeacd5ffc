#pragma once
// ECS (JSON 1.1, AmazonEC2ContainerServiceV20141113.*) UpdateService and
// DescribeServices; SSM (JSON 1.1, AmazonSSM.*) PutParameter.

#include <optional>
#include <string>
#include <vector>

#include "aws/client.hpp"

namespace vigil::aws {

struct ecs_service {
  std::string arn;
  std::string name;
  std::string cluster_arn;
  std::string status;
  std::string task_definition;  ///< ARN of the task definition the service runs
  int desired_count = 0;
  int running_count = 0;
  int pending_count = 0;
  std::size_t deployments = 0;
};

struct ecs_failure {
  std::string arn;
  std::string reason;
};

struct describe_services_result {
  std::vector<ecs_service> services;
  std::vector<ecs_failure> failures;
};

struct update_service_request {
  std::string cluster;
  std::string service;
  std::optional<int> desired_count;
  bool force_new_deployment = false;
};

[[nodiscard]] result<ecs_service> update_service(client& c, const std::string& region, const update_service_request& r);
[[nodiscard]] result<describe_services_result> describe_services(client& c, const std::string& region,
                                                                 const std::string& cluster,
                                                                 const std::vector<std::string>& services);

struct put_parameter_request {
  std::string name;
  std::string value;
  std::string type = "String";  ///< String | StringList | SecureString
  bool overwrite = true;
};
/// GetParameter (without decryption): the parameter's type, or the
/// ParameterNotFound error.
[[nodiscard]] result<std::string> parameter_type(client& c, const std::string& region, const std::string& name);

/// Returns the new parameter version.
[[nodiscard]] result<std::int64_t> put_parameter(client& c, const std::string& region, const put_parameter_request& r);

}  // namespace vigil::aws
