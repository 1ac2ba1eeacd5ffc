#pragma once
// Route 53 ARC routing control data plane (JSON 1.0, target
// ToggleCustomerAPI.*, signing name route53-recovery-cluster).
//
// A cluster has five regional endpoints, of which at least three answer
// during a regional outage: arc_cluster tries them in random order until one
// answers (a 4xx other than throttling is an answer: it would say the same
// everywhere), so no single region is in the recovery path.

#include <string>
#include <vector>

#include "aws/client.hpp"

namespace vigil::aws {

struct arc_endpoint {
  std::string url;     ///< https://host-aaaaaa.us-east-1.example.com/v1
  std::string region;  ///< signing region of that endpoint
};

struct routing_control_state {
  std::string arn;
  std::string state;  ///< "On" | "Off"
  std::string name;
};

struct routing_control_update {
  std::string arn;
  std::string state;  ///< "On" | "Off"
};

class arc_cluster {
 public:
  arc_cluster(client& c, std::vector<arc_endpoint> endpoints, random_fn random = default_random());

  [[nodiscard]] result<routing_control_state> get_state(const std::string& arn);
  [[nodiscard]] result<none> update_state(const std::string& arn, const std::string& state,
                                          const std::vector<std::string>& safety_rules_to_override = {});
  [[nodiscard]] result<none> update_states(const std::vector<routing_control_update>& updates,
                                           const std::vector<std::string>& safety_rules_to_override = {});

  /// The endpoint that answered last ("" before any call).
  [[nodiscard]] const std::string& last_endpoint() const { return last_; }

 private:
  result<nlohmann::json> call(std::string_view action, const nlohmann::json& body);

  client& client_;
  std::vector<arc_endpoint> endpoints_;
  random_fn random_;
  std::string last_;
};

}  // namespace vigil::aws
