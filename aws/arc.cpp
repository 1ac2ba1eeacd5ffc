#include "aws/arc.hpp"

#include <algorithm>

namespace vigil::aws {

arc_cluster::arc_cluster(client& c, std::vector<arc_endpoint> endpoints, random_fn random)
    : client_(c), endpoints_(std::move(endpoints)), random_(std::move(random)) {}

result<nlohmann::json> arc_cluster::call(std::string_view action, const nlohmann::json& body) {
  if (endpoints_.empty()) return make_error("InvalidEndpoint", "ARC: no cluster endpoints configured");
  std::vector<std::size_t> order(endpoints_.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  // Fisher-Yates with the injected RNG: a random order spreads load and keeps
  // a dead region from always being tried first.
  for (std::size_t i = order.size() - 1; i > 0; --i) {
    const auto j = std::min(i, static_cast<std::size_t>(random_() * static_cast<double>(i + 1)));
    std::swap(order[i], order[j]);
  }
  aws_error last_error;
  std::string tried;
  // Two rounds: first one attempt per endpoint, so a dead regional endpoint
  // costs one connect timeout instead of a full retry schedule before the
  // next one is tried (in a regional outage one of five usually is dead);
  // only when none answered, each again with the standard retries.
  for (std::size_t k = 0; k < 2 * order.size(); ++k) {
    const bool first_round = k < order.size();
    const auto idx = order[k % order.size()];
    const auto& ep = endpoints_[idx];
    call_options opts;
    opts.endpoint = ep.url;
    if (first_round) opts.max_attempts = 1;
    auto r =
        client_.json(service::arc_cluster, ep.region, "ToggleCustomerAPI." + std::string(action), "1.0", body, opts);
    if (r) {
      last_ = ep.url;
      return r;
    }
    const auto& e = r.error();
    // A definite answer from the service (validation, access denied, conflict) is final.
    if (e.http_status >= 400 && e.http_status < 500 && !is_throttling(e) && e.code != "RequestTimeout") {
      last_ = ep.url;
      return e;
    }
    last_error = e;
    if (first_round) tried += (tried.empty() ? "" : ", ") + ep.region;
  }
  last_error.message = "no ARC cluster endpoint answered (tried " + tried + "); last: " + last_error.message;
  return last_error;
}

result<routing_control_state> arc_cluster::get_state(const std::string& arn) {
  auto j = call("GetRoutingControlState", {{"RoutingControlArn", arn}});
  if (!j) return j.error();
  return routing_control_state{j->value("RoutingControlArn", arn), j->value("RoutingControlState", std::string{}),
                               j->value("RoutingControlName", std::string{})};
}

result<none> arc_cluster::update_state(const std::string& arn, const std::string& state,
                                       const std::vector<std::string>& safety_rules_to_override) {
  nlohmann::json body{{"RoutingControlArn", arn}, {"RoutingControlState", state}};
  if (!safety_rules_to_override.empty()) body["SafetyRulesToOverride"] = safety_rules_to_override;
  auto j = call("UpdateRoutingControlState", body);
  if (!j) return j.error();
  return none{};
}

result<none> arc_cluster::update_states(const std::vector<routing_control_update>& updates,
                                        const std::vector<std::string>& safety_rules_to_override) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& u : updates)
    entries.push_back({{"RoutingControlArn", u.arn}, {"RoutingControlState", u.state}});
  nlohmann::json body{{"UpdateRoutingControlStateEntries", entries}};
  if (!safety_rules_to_override.empty()) body["SafetyRulesToOverride"] = safety_rules_to_override;
  auto j = call("UpdateRoutingControlStates", body);
  if (!j) return j.error();
  return none{};
}

}  // namespace vigil::aws
