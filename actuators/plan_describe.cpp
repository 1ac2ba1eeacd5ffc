#include "actuators/plan_describe.hpp"

namespace vigil::actuators {

using nlohmann::json;

namespace {

std::string str(const json& p, const char* key, const std::string& fallback = {}) {
  const auto it = p.find(key);
  if (it == p.end() || it->is_null()) return fallback;
  return it->is_string() ? it->get<std::string>() : it->dump();
}

/// The region named in an ARN (arn:aws:rds:us-west-2:...), or `fallback`.
std::string region_of(const std::string& arn, const std::string& fallback) {
  const auto parts_start = arn.rfind("arn:", 0) == 0 ? std::string::size_type{0} : std::string::npos;
  if (parts_start == std::string::npos) return fallback;
  std::size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    pos = arn.find(':', pos);
    if (pos == std::string::npos) return fallback;
    ++pos;
  }
  const auto end = arn.find(':', pos);
  const std::string r = end == std::string::npos ? std::string{} : arn.substr(pos, end - pos);
  return r.empty() ? fallback : r;
}

planned_call call(std::string service, std::string op, json params, bool mutating) {
  return planned_call{std::move(service), std::move(op), std::move(params), mutating};
}

}  // namespace

aurora_promotion choose_promotion(const common::plan_step_config& step, const plan_context& ctx) {
  aurora_promotion out;
  out.mode = step.kind == "aurora_switchover" ? "switchover" : str(step.params, "mode", "auto");
  const bool switchover = out.mode == "switchover" || (out.mode == "auto" && ctx.planned);
  if (switchover) {
    out.operation = "SwitchoverGlobalCluster";
    out.statement = "planned switchover: no data loss, needs the old primary (SwitchoverGlobalCluster)";
    return out;
  }
  out.operation = "FailoverGlobalCluster";
  out.allow_data_loss = true;
  out.statement =
      "unplanned global failover: writes not yet replicated are lost (FailoverGlobalCluster AllowDataLoss=true)";
  if (!step.params.value("allow_data_loss", true)) {
    out.refusal = "refused before any call: this " + std::string(ctx.planned ? "planned" : "unplanned") +
                  " promotion in mode " + out.mode +
                  " needs FailoverGlobalCluster AllowDataLoss=true, and the step says allow_data_loss: false "
                  "(never allow loss); promote by hand or set mode: switchover if the old primary is up";
  }
  return out;
}

planned_step describe_step(const common::plan_step_config& step, const plan_context& ctx) {
  const json& p = step.params;
  planned_step out;
  out.name = step.name;
  out.kind = step.kind;
  const std::string region = str(p, "region", ctx.to);
  if (step.kind == "arc_routing_control") {
    json arns =
        p.contains("routing_control_arns") ? p["routing_control_arns"] : json::array({str(p, "routing_control_arn")});
    const std::string state = str(p, "state");
    for (const auto& arn : arns) {
      out.prechecks.push_back(
          call("route53-recovery-cluster", "GetRoutingControlState", {{"RoutingControlArn", arn}}, false));
    }
    if (arns.size() == 1) {
      out.calls.push_back(call("route53-recovery-cluster", "UpdateRoutingControlState",
                               {{"RoutingControlArn", arns[0]}, {"RoutingControlState", state}}, true));
    } else {
      json entries = json::array();
      for (const auto& arn : arns)
        entries.push_back({{"RoutingControlArn", arn}, {"RoutingControlState", state}});
      out.calls.push_back(call("route53-recovery-cluster", "UpdateRoutingControlStates",
                               {{"UpdateRoutingControlStateEntries", entries}}, true));
    }
    out.summary = "set " + std::to_string(arns.size()) + " routing control(s) " + state +
                  " through the ARC cluster endpoints (tried in random order)";
  } else if (step.kind == "aurora_global_failover" || step.kind == "aurora_switchover") {
    const std::string gc = str(p, "global_cluster");
    const std::string target = str(p, "target_cluster_arn");
    out.prechecks.push_back(
        call("rds", "DescribeGlobalClusters", {{"GlobalClusterIdentifier", gc}, {"region", region}}, false));
    // The target must have a DB instance that can become the writer.
    out.prechecks.push_back(call("rds", "DescribeDBClusters",
                                 {{"DBClusterIdentifier", target}, {"region", region_of(target, region)}}, false));
    const aurora_promotion how = choose_promotion(step, ctx);
    json params{{"GlobalClusterIdentifier", gc}, {"TargetDbClusterIdentifier", target}, {"region", region}};
    if (how.allow_data_loss) params["AllowDataLoss"] = true;
    if (how.refusal.empty()) out.calls.push_back(call("rds", how.operation, params, true));
    out.summary = "mode " + how.mode + ", " + (ctx.planned ? "planned" : "unplanned") + " plan: " + gc + " -> " +
                  target + ": " + (how.refusal.empty() ? how.statement : how.refusal);
  } else if (step.kind == "aurora_detach") {
    const std::string gc = str(p, "global_cluster");
    out.prechecks.push_back(call("rds", "DescribeGlobalClusters", {{"GlobalClusterIdentifier", gc}}, false));
    out.calls.push_back(call("rds", "RemoveFromGlobalCluster",
                             {{"GlobalClusterIdentifier", gc}, {"DbClusterIdentifier", str(p, "db_cluster_arn")}},
                             true));
    out.summary = "detach " + str(p, "db_cluster_arn") + " from " + gc;
  } else if (step.kind == "wait_db_cluster") {
    out.prechecks.push_back(
        call("rds", "DescribeDBClusters", {{"DBClusterIdentifier", str(p, "cluster")}, {"region", region}}, false));
    out.summary = "wait until " + str(p, "cluster") + " (" + region + ") is available and the writer";
  } else if (step.kind == "ecs_scale") {
    const json ids{{"cluster", str(p, "cluster")}, {"services", json::array({str(p, "service")})}, {"region", region}};
    out.prechecks.push_back(call("ecs", "DescribeServices", ids, false));
    const int count = p.value("desired_count", 0);
    const int min = p.value("min_capacity", count);
    const bool manage_min = p.value("scalable_target", true);
    const std::string resource = "service/" + str(p, "cluster") + "/" + str(p, "service");
    if (manage_min) {
      out.prechecks.push_back(call("application-autoscaling", "DescribeScalableTargets",
                                   {{"ServiceNamespace", "ecs"},
                                    {"ResourceIds", json::array({resource})},
                                    {"ScalableDimension", "ecs:service:DesiredCount"},
                                    {"region", region}},
                                   false));
      out.calls.push_back(call("application-autoscaling", "RegisterScalableTarget",
                               {{"ServiceNamespace", "ecs"},
                                {"ResourceId", resource},
                                {"ScalableDimension", "ecs:service:DesiredCount"},
                                {"MinCapacity", min},
                                {"region", region},
                                {"when", "a scalable target is registered and its MinCapacity differs"}},
                               true));
    }
    out.calls.push_back(call("ecs", "UpdateService",
                             {{"cluster", str(p, "cluster")},
                              {"service", str(p, "service")},
                              {"desiredCount", p.value("desired_count", 0)},
                              {"region", region}},
                             true));
    out.summary =
        "scale " + str(p, "cluster") + "/" + str(p, "service") + " in " + region + " to " + std::to_string(count) +
        (manage_min
             ? ", its auto scaling MinCapacity to " + std::to_string(min) + " (the previous minimum is journaled)"
             : "") +
        (p.value("wait", true) ? " and wait for the running count" : "");
  } else if (step.kind == "route53_upsert") {
    out.calls.push_back(call("route53", "ChangeResourceRecordSets",
                             {{"HostedZoneId", str(p, "hosted_zone_id")},
                              {"Action", "UPSERT"},
                              {"Name", str(p, "record_name")},
                              {"Type", str(p, "record_type", "CNAME")},
                              {"Values", p.contains("values") ? p["values"] : json::array({str(p, "value")})}},
                             true));
    out.calls.push_back(call("route53", "GetChange", {{"Id", "<from ChangeResourceRecordSets>"}}, false));
    out.summary = "UPSERT " + str(p, "record_name") +
                  " (Route 53 control plane in us-east-1: a dependency "
                  "in the recovery path)";
  } else if (step.kind == "ssm_parameter") {
    const bool secure = p.value("secure", false);
    const std::string shown = secure ? "<secure>" : str(p, "value");
    out.prechecks.push_back(call("ssm", "GetParameter", {{"Name", str(p, "parameter")}, {"region", region}}, false));
    out.calls.push_back(call("ssm", "PutParameter",
                             {{"Name", str(p, "parameter")},
                              {"Value", shown},
                              {"Type", secure ? "SecureString" : "String"},
                              {"Overwrite", true},
                              {"region", region}},
                             true));
    out.summary = "set SSM parameter " + str(p, "parameter") + " = " + shown + " in " + region;
  } else if (step.kind == "exec") {
    out.calls.push_back(call("exec", "run",
                             {{"argv", p.value("command", json::array())},
                              {"env",
                               {{"VIGIL_ACTION", ctx.action},
                                {"VIGIL_FROM", ctx.from},
                                {"VIGIL_TO", ctx.to},
                                {"VIGIL_RECOMMENDATION_ID", ctx.recommendation_id},
                                {"VIGIL_RECOMMENDATION_HASH", ctx.recommendation_hash},
                                {"VIGIL_ALLOW_DATA_LOSS", ctx.allow_data_loss ? "true" : "false"}}}},
                             true));
    out.summary = "run " + p.value("command", json::array()).dump();
  } else if (step.kind == "webhook") {
    out.calls.push_back(call("http", "POST", {{"url", str(p, "url")}}, true));
    out.summary = "POST the plan context to " + str(p, "url");
  } else if (step.kind == "verify") {
    out.prechecks.push_back(call("vigil", "CheckQuorum", {{"region", region}, {"state", "up"}}, false));
    out.summary = "verify every classify check of " + region + " is up by quorum";
  } else {
    out.summary = "unknown step kind " + step.kind;
  }
  return out;
}

std::vector<planned_step> describe_plan(const common::plan_config& plan, const plan_context& ctx) {
  std::vector<planned_step> out;
  out.reserve(plan.steps.size());
  for (const auto& s : plan.steps)
    out.push_back(describe_step(s, ctx));
  return out;
}

json to_json(const planned_step& s) {
  auto calls = [](const std::vector<planned_call>& v) {
    json a = json::array();
    for (const auto& c : v) {
      a.push_back({{"service", c.service}, {"operation", c.operation}, {"params", c.params}, {"mutating", c.mutating}});
    }
    return a;
  };
  return {{"name", s.name},
          {"kind", s.kind},
          {"summary", s.summary},
          {"prechecks", calls(s.prechecks)},
          {"calls", calls(s.calls)}};
}

}  // namespace vigil::actuators
