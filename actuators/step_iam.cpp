// The AWS permissions of each plan step kind (see step_iam.hpp). The ARN
// formats and the actions without resource-level permissions are in
// docs/aws-notes.md, "IAM".
#include "actuators/step_iam.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "actuators/plan_describe.hpp"

namespace vigil::actuators {

using nlohmann::json;

namespace {

std::string str(const json& p, const char* key, const std::string& fallback = {}) {
  const auto it = p.find(key);
  return it != p.end() && it->is_string() ? it->get<std::string>() : fallback;
}

/// The `index`-th colon-separated field of an ARN ("" when absent).
std::string arn_field(const std::string& arn, int index) {
  std::size_t start = 0;
  for (int i = 0; i < index; ++i) {
    start = arn.find(':', start);
    if (start == std::string::npos) return {};
    ++start;
  }
  const auto end = arn.find(':', start);
  return arn.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool is_arn(const std::string& s) {
  return s.rfind("arn:", 0) == 0;
}

/// Route 53's normalised record name: lower case, no trailing dot.
std::string normalised_record(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

iam_grant grant(std::string sid, std::string action, std::vector<std::string> resources, json condition = nullptr,
                bool sent = true) {
  return iam_grant{std::move(action), std::move(resources), std::move(condition), sent, std::move(sid)};
}

void collect_accounts(const json& j, std::set<std::string>& out) {
  if (j.is_string()) {
    const auto s = j.get<std::string>();
    if (is_arn(s)) {
      const std::string acct = arn_field(s, 4);
      if (!acct.empty()) out.insert(acct);
    }
  } else if (j.is_structured()) {
    for (const auto& v : j)
      collect_accounts(v, out);
  }
}

std::vector<iam_grant> arc_grants(const json& p) {
  std::vector<std::string> arns;
  if (const auto it = p.find("routing_control_arns"); it != p.end() && it->is_array()) {
    for (const auto& a : *it)
      if (a.is_string()) arns.push_back(a.get<std::string>());
  }
  if (arns.empty()) arns.push_back(str(p, "routing_control_arn"));
  // One ARN: UpdateRoutingControlState; several: one UpdateRoutingControlStates batch.
  const char* update = arns.size() == 1 ? "route53-recovery-cluster:UpdateRoutingControlState"
                                        : "route53-recovery-cluster:UpdateRoutingControlStates";
  return {grant("ArcRoutingControls", "route53-recovery-cluster:GetRoutingControlState", arns),
          grant("ArcRoutingControls", update, arns)};
}

std::vector<iam_grant> aurora_promote_grants(const common::plan_step_config& s, const iam_scope& scope,
                                             const std::string& region) {
  const json& p = s.params;
  const std::string global = "arn:aws:rds::" + scope.account + ":global-cluster:" + str(p, "global_cluster");
  const std::string target_param = str(p, "target_cluster_arn");
  const std::string target_region = is_arn(target_param) ? arn_field(target_param, 3) : region;
  const std::string target = db_cluster_arn(target_param, target_region, scope.account);
  std::vector<iam_grant> out{grant("AuroraRead", "rds:DescribeGlobalClusters", {global}),
                             // the headless-target pre-check
                             grant("AuroraRead", "rds:DescribeDBClusters", {target})};
  // The promotion call, as the step chooses it, for an unplanned and a planned plan.
  std::set<std::string> ops;
  for (const bool planned : {false, true}) {
    plan_context ctx;
    ctx.planned = planned;
    const auto how = choose_promotion(s, ctx);
    if (how.refusal.empty()) ops.insert(how.operation);
  }
  for (const auto& op : ops)
    out.push_back(grant("AuroraPromote", "rds:" + op, {global, target}));
  return out;
}

std::vector<iam_grant> aurora_detach_grants(const json& p, const iam_scope& scope, const std::string& region) {
  const std::string global = "arn:aws:rds::" + scope.account + ":global-cluster:" + str(p, "global_cluster");
  const std::string member = db_cluster_arn(str(p, "db_cluster_arn"), region, scope.account);
  return {grant("AuroraRead", "rds:DescribeGlobalClusters", {global}),
          grant("AuroraDetach", "rds:RemoveFromGlobalCluster", {global, member})};
}

std::vector<iam_grant> ecs_grants(const json& p, const iam_scope& scope, const std::string& region) {
  const std::string service =
      "arn:aws:ecs:" + region + ":" + scope.account + ":service/" + str(p, "cluster") + "/" + str(p, "service");
  std::vector<iam_grant> out{grant("EcsService", "ecs:DescribeServices", {service}),
                             grant("EcsService", "ecs:UpdateService", {service})};
  if (p.value("scalable_target", true)) {
    // DescribeScalableTargets has no resource-level permission; a scalable
    // target's ARN ends in an id AWS assigns, unknown before it exists.
    out.push_back(grant("ScalableTargetRead", "application-autoscaling:DescribeScalableTargets", {"*"}));
    out.push_back(grant("ScalableTargetMinimum", "application-autoscaling:RegisterScalableTarget",
                        {"arn:aws:application-autoscaling:" + region + ":" + scope.account + ":scalable-target/*"}));
  }
  return out;
}

std::vector<iam_grant> route53_grants(const json& p) {
  std::vector<std::string> names{normalised_record(str(p, "record_name"))};
  const json condition{{"ForAllValues:StringEquals",
                        {{"route53:ChangeResourceRecordSetsNormalizedRecordNames", names},
                         {"route53:ChangeResourceRecordSetsRecordTypes", {str(p, "record_type", "CNAME")}},
                         {"route53:ChangeResourceRecordSetsActions", {"UPSERT"}}}}};
  return {grant("Route53Upsert", "route53:ChangeResourceRecordSets",
                {"arn:aws:route53:::hostedzone/" + str(p, "hosted_zone_id")}, condition),
          // change ids are assigned by ChangeResourceRecordSets
          grant("Route53WaitForChange", "route53:GetChange", {"arn:aws:route53:::change/*"})};
}

std::vector<iam_grant> ssm_grants(const json& p, const iam_scope& scope, const std::string& region) {
  std::string name = str(p, "parameter");
  if (!name.empty() && name.front() == '/') name.erase(0, 1);
  const std::string param = "arn:aws:ssm:" + region + ":" + scope.account + ":parameter/" + name;
  std::vector<iam_grant> out{grant("SsmParameter", "ssm:GetParameter", {param}),
                             grant("SsmParameter", "ssm:PutParameter", {param})};
  if (p.value("secure", false)) {
    // A SecureString: SSM encrypts (PutParameter) and decrypts (GetParameter
    // WithDecryption) with KMS as the caller, with the parameter's ARN as
    // encryption context. Key ids are not in the config: any key, only via SSM
    // in this region, only for this parameter.
    const json condition{
        {"StringEquals",
         {{"kms:ViaService", "ssm." + region + ".amazonaws.com"}, {"kms:EncryptionContext:PARAMETER_ARN", param}}}};
    const std::vector<std::string> keys{"arn:aws:kms:" + region + ":" + scope.account + ":key/*"};
    out.push_back(grant("KmsForSecureParameter", "kms:Decrypt", keys, condition, false));
    out.push_back(grant("KmsForSecureParameter", "kms:Encrypt", keys, condition, false));
  }
  return out;
}

}  // namespace

std::string db_cluster_arn(const std::string& id_or_arn, const std::string& region, const std::string& account) {
  if (is_arn(id_or_arn)) return id_or_arn;
  return "arn:aws:rds:" + region + ":" + account + ":cluster:" + id_or_arn;
}

std::vector<iam_grant> step_iam_grants(const common::plan_step_config& s, const iam_scope& scope) {
  const json& p = s.params;
  const std::string region = str(p, "region", scope.default_region);
  if (s.kind == "arc_routing_control") return arc_grants(p);
  if (s.kind == "aurora_global_failover" || s.kind == "aurora_switchover") {
    return aurora_promote_grants(s, scope, region);
  }
  if (s.kind == "aurora_detach") return aurora_detach_grants(p, scope, region);
  if (s.kind == "wait_db_cluster") {
    return {grant("AuroraRead", "rds:DescribeDBClusters", {db_cluster_arn(str(p, "cluster"), region, scope.account)})};
  }
  if (s.kind == "ecs_scale") return ecs_grants(p, scope, region);
  if (s.kind == "route53_upsert") return route53_grants(p);
  if (s.kind == "ssm_parameter") return ssm_grants(p, scope, region);
  return {};  // exec, webhook, verify: no AWS call
}

account_guess account_in_plans(const common::config& cfg) {
  std::set<std::string> found;
  for (const auto* plan : {&cfg.failover, &cfg.failback}) {
    for (const auto& s : plan->steps)
      collect_accounts(s.params, found);
  }
  account_guess out;
  if (found.size() > 1) {
    std::string all;
    for (const auto& a : found)
      all += (all.empty() ? "" : ", ") + a;
    out.error = "the plans' ARNs name several accounts (" + all + "): pass --account";
  } else if (found.size() == 1) {
    out.account = *found.begin();
  }
  return out;
}

}  // namespace vigil::actuators
