#include "aws/iam.hpp"

namespace vigil::aws {

result<std::vector<policy_evaluation>> simulate_principal_policy(client& c, const std::string& policy_source_arn,
                                                                 const std::vector<std::string>& actions,
                                                                 const std::vector<std::string>& resources) {
  if (actions.empty()) return make_error("InvalidInput", "SimulatePrincipalPolicy needs at least one action");
  std::vector<std::pair<std::string, std::string>> base{{"PolicySourceArn", policy_source_arn}};
  for (std::size_t i = 0; i < actions.size(); ++i)
    base.emplace_back("ActionNames.member." + std::to_string(i + 1), actions[i]);
  for (std::size_t i = 0; i < resources.size(); ++i)
    base.emplace_back("ResourceArns.member." + std::to_string(i + 1), resources[i]);
  std::vector<policy_evaluation> out;
  std::string marker;
  for (int page = 0; page < 50; ++page) {
    auto p = base;
    if (!marker.empty()) p.emplace_back("Marker", marker);
    // IAM has one endpoint; the region only picks the partition.
    auto doc = c.query(service::iam, "us-east-1", "SimulatePrincipalPolicy", "2010-05-08", p);
    if (!doc) return doc.error();
    const auto* r = doc->descendant("SimulatePrincipalPolicyResult");
    if (r == nullptr) return make_error("MalformedResponse", "SimulatePrincipalPolicy: no result");
    if (const auto* list = r->child("EvaluationResults")) {
      for (const auto* m : list->all("member")) {
        out.push_back({m->text_at("EvalActionName"), m->text_at("EvalResourceName"), m->text_at("EvalDecision")});
      }
    }
    if (r->text_at("IsTruncated") != "true") break;
    marker = r->text_at("Marker");
    if (marker.empty()) break;
  }
  return out;
}

}  // namespace vigil::aws
