#include "aws/application_autoscaling.hpp"

namespace vigil::aws {
namespace {

constexpr std::string_view prefix = "AnyScaleFrontendService.";

int capacity(const nlohmann::json& t, const char* key) {
  const auto it = t.find(key);
  return it != t.end() && it->is_number_integer() ? it->get<int>() : 0;
}

}  // namespace

std::string ecs_resource_id(const std::string& cluster, const std::string& service) {
  return "service/" + cluster + "/" + service;
}

result<std::optional<scalable_target>> describe_scalable_target(client& c, const std::string& region,
                                                                const std::string& service_namespace,
                                                                const std::string& resource_id,
                                                                const std::string& dimension) {
  const nlohmann::json body{{"ServiceNamespace", service_namespace},
                            {"ResourceIds", nlohmann::json::array({resource_id})},
                            {"ScalableDimension", dimension}};
  auto j =
      c.json(service::application_autoscaling, region, std::string(prefix) + "DescribeScalableTargets", "1.1", body);
  if (!j) return j.error();
  const auto it = j->find("ScalableTargets");
  if (it == j->end() || !it->is_array()) {
    return make_error("MalformedResponse", "DescribeScalableTargets: no ScalableTargets in the answer");
  }
  for (const auto& t : *it) {
    if (!t.is_object() || t.value("ResourceId", std::string{}) != resource_id ||
        t.value("ScalableDimension", std::string{}) != dimension) {
      continue;
    }
    return std::optional<scalable_target>{scalable_target{
        t.value("ServiceNamespace", service_namespace), resource_id, dimension, capacity(t, "MinCapacity"),
        capacity(t, "MaxCapacity"), t.value("ScalableTargetARN", std::string{})}};
  }
  return std::optional<scalable_target>{};
}

result<std::string> register_scalable_target(client& c, const std::string& region,
                                             const register_scalable_target_request& r) {
  nlohmann::json body{{"ServiceNamespace", r.service_namespace},
                      {"ResourceId", r.resource_id},
                      {"ScalableDimension", r.scalable_dimension}};
  if (r.min_capacity) body["MinCapacity"] = *r.min_capacity;
  if (r.max_capacity) body["MaxCapacity"] = *r.max_capacity;
  auto j =
      c.json(service::application_autoscaling, region, std::string(prefix) + "RegisterScalableTarget", "1.1", body);
  if (!j) return j.error();
  return j->value("ScalableTargetARN", std::string{});
}

}  // namespace vigil::aws
