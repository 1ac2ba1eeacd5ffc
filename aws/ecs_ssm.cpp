#include "aws/ecs_ssm.hpp"

namespace vigil::aws {
namespace {

constexpr std::string_view ecs_prefix = "AmazonEC2ContainerServiceV20141113.";

ecs_service parse_service(const nlohmann::json& s) {
  ecs_service out;
  out.arn = s.value("serviceArn", std::string{});
  out.name = s.value("serviceName", std::string{});
  out.cluster_arn = s.value("clusterArn", std::string{});
  out.status = s.value("status", std::string{});
  out.task_definition = s.value("taskDefinition", std::string{});
  out.desired_count = s.value("desiredCount", 0);
  out.running_count = s.value("runningCount", 0);
  out.pending_count = s.value("pendingCount", 0);
  if (s.contains("deployments") && s["deployments"].is_array()) out.deployments = s["deployments"].size();
  return out;
}

}  // namespace

result<ecs_service> update_service(client& c, const std::string& region, const update_service_request& r) {
  nlohmann::json body{{"cluster", r.cluster}, {"service", r.service}};
  if (r.desired_count) body["desiredCount"] = *r.desired_count;
  if (r.force_new_deployment) body["forceNewDeployment"] = true;
  auto j = c.json(service::ecs, region, std::string(ecs_prefix) + "UpdateService", "1.1", body);
  if (!j) return j.error();
  if (!j->contains("service") || !(*j)["service"].is_object()) {
    return make_error("MalformedResponse", "UpdateService: no service in the answer");
  }
  return parse_service((*j)["service"]);
}

result<describe_services_result> describe_services(client& c, const std::string& region, const std::string& cluster,
                                                   const std::vector<std::string>& services) {
  nlohmann::json body{{"cluster", cluster}, {"services", services}};
  auto j = c.json(service::ecs, region, std::string(ecs_prefix) + "DescribeServices", "1.1", body);
  if (!j) return j.error();
  describe_services_result out;
  if (j->contains("services") && (*j)["services"].is_array()) {
    for (const auto& s : (*j)["services"])
      out.services.push_back(parse_service(s));
  }
  if (j->contains("failures") && (*j)["failures"].is_array()) {
    for (const auto& f : (*j)["failures"]) {
      out.failures.push_back({f.value("arn", std::string{}), f.value("reason", std::string{})});
    }
  }
  return out;
}

result<std::int64_t> put_parameter(client& c, const std::string& region, const put_parameter_request& r) {
  nlohmann::json body{{"Name", r.name}, {"Value", r.value}, {"Type", r.type}, {"Overwrite", r.overwrite}};
  auto j = c.json(service::ssm, region, "AmazonSSM.PutParameter", "1.1", body);
  if (!j) return j.error();
  if (!j->contains("Version") || !(*j)["Version"].is_number_integer()) {
    return make_error("MalformedResponse", "PutParameter: no Version in the answer");
  }
  return (*j)["Version"].get<std::int64_t>();
}

result<std::string> parameter_type(client& c, const std::string& region, const std::string& name) {
  auto j = c.json(service::ssm, region, "AmazonSSM.GetParameter", "1.1",
                  nlohmann::json{{"Name", name}, {"WithDecryption", false}});
  if (!j) return j.error();
  if (!j->contains("Parameter") || !(*j)["Parameter"].is_object()) {
    return make_error("MalformedResponse", "GetParameter: no Parameter in the answer");
  }
  return (*j)["Parameter"].value("Type", std::string{});
}

}  // namespace vigil::aws
