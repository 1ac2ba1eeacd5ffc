// step_iam_grants() against what the production step runners really send:
// every AWS step kind runs its pre-check and its run (in every branch that
// sends another call: planned and unplanned, one and several routing
// controls, with and without a scalable target, secure or not) over a
// recording transport that answers like AWS. The IAM actions read off the
// signed requests must equal the grants vigil iam prints for that step:
// nothing sent without a grant, no grant for a call never sent.

#include "actuators/step_iam.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "actuators/plan_steps.hpp"
#include "aws/client.hpp"
#include "tests/support/aws_fakes.hpp"
#include "tests/unit/actuators/aws_action.hpp"
#include "tests/unit/actuators/plan_test_support.hpp"

namespace vigil::actuators {
namespace {

using nlohmann::json;
using test_support::answer;
using test_support::iam_action;
using test_support::step;
using namespace std::chrono_literals;

const std::string west = "arn:aws:rds:us-west-2:111122223333:cluster:shop-west";
const std::string east = "arn:aws:rds:us-east-1:111122223333:cluster:shop-east";
const std::string rc_a = "arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/a";
const std::string rc_b = "arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/b";

/// Answers like AWS for the actions the steps use; state that a run changes
/// (the ECS desired count) is kept so that the waits end.
struct aws_double {
  int desired = 1;
  bool failover_under_way = false;
  aws::http_response operator()(const aws::http_request& r) {
    const std::string action = iam_action(r);
    const std::string global =
        "<GlobalCluster><GlobalClusterIdentifier>shop-global</GlobalClusterIdentifier><GlobalClusterMembers>"
        "<GlobalClusterMember><DBClusterArn>" +
        east + "</DBClusterArn><IsWriter>true</IsWriter></GlobalClusterMember><GlobalClusterMember><DBClusterArn>" +
        west + "</DBClusterArn><IsWriter>false</IsWriter></GlobalClusterMember></GlobalClusterMembers></GlobalCluster>";
    const auto rds = [](const std::string& name, const std::string& inner) {
      return answer(
          200, "<" + name + "Response><" + name + "Result>" + inner + "</" + name + "Result></" + name + "Response>");
    };
    if (action == "rds:DescribeGlobalClusters")
      return rds("DescribeGlobalClusters", "<GlobalClusters>" + global + "</GlobalClusters>");
    if (action == "rds:DescribeDBClusters") {
      return rds(
          "DescribeDBClusters",
          "<DBClusters><DBCluster><DBClusterIdentifier>shop-west</DBClusterIdentifier><Status>available</Status>"
          "<DBClusterMembers><DBClusterMember><DBInstanceIdentifier>w1</DBInstanceIdentifier>"
          "<IsClusterWriter>true</IsClusterWriter></DBClusterMember></DBClusterMembers></DBCluster></DBClusters>");
    }
    if (action == "rds:FailoverGlobalCluster" || action == "rds:SwitchoverGlobalCluster" ||
        action == "rds:RemoveFromGlobalCluster") {
      return rds(action.substr(4), global);
    }
    if (action == "ecs:DescribeServices") {
      return answer(
          200,
          json{{"services",
                {{{"serviceName", "api"}, {"desiredCount", desired}, {"runningCount", desired}, {"pendingCount", 0}}}}}
              .dump());
    }
    if (action == "ecs:UpdateService") {
      desired = json::parse(r.body).value("desiredCount", desired);
      return answer(200, json{{"service", {{"desiredCount", desired}}}}.dump());
    }
    if (action == "application-autoscaling:DescribeScalableTargets") {
      return answer(200, json{{"ScalableTargets",
                               {{{"ServiceNamespace", "ecs"},
                                 {"ResourceId", "service/shop/api"},
                                 {"ScalableDimension", "ecs:service:DesiredCount"},
                                 {"MinCapacity", 1},
                                 {"MaxCapacity", 3}}}}}
                             .dump());
    }
    if (action == "application-autoscaling:RegisterScalableTarget") return answer(200, "{}");
    if (action == "route53:ChangeResourceRecordSets") {
      return answer(200,
                    "<ChangeResourceRecordSetsResponse><ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status>"
                    "</ChangeInfo></ChangeResourceRecordSetsResponse>");
    }
    if (action == "route53:GetChange") {
      return answer(200,
                    "<GetChangeResponse><ChangeInfo><Id>/change/C1</Id><Status>INSYNC</Status></ChangeInfo>"
                    "</GetChangeResponse>");
    }
    if (action == "ssm:GetParameter") return answer(200, json{{"Parameter", {{"Value", "elsewhere"}}}}.dump());
    if (action == "ssm:PutParameter") return answer(200, json{{"Version", 2}}.dump());
    if (action == "route53-recovery-cluster:GetRoutingControlState") {
      return answer(200, json{{"RoutingControlState", "On"}}.dump());
    }
    if (action.rfind("route53-recovery-cluster:UpdateRoutingControlState", 0) == 0) return answer(200, "{}");
    return answer(400, R"({"__type":"UnknownOperationException","message":")" + action + "\"}");
  }
};

struct recorder : test_support::recording_client {
  aws_double world;

  recorder() : recording_client([this](const aws::http_request& r) { return world(r); }) {}

  /// Pre-check then run, as planned and as unplanned plans: the actions sent.
  std::set<std::string> sent_by(const common::plan_step_config& s) {
    step_deps deps;
    deps.aws = client.get();
    deps.random = aws::default_random(3);
    for (const bool planned : {false, true}) {
      world = aws_double{};
      auto runner = make_step_factory(deps)(s);
      plan_context plan{"rec-1", "hash-1", "failover", "us-east-1", "us-west-2", true, {"alice"}, planned};
      step_context c{plan, s,     clock, clock.monotonic() + 10s, [](std::chrono::milliseconds) { return true; },
                     1,    false, {}};
      const auto pre = runner->precheck(c);
      EXPECT_NE(pre.kind, outcome_kind::failed) << s.kind << " pre-check: " << pre.detail;
      const auto run = runner->run(c);
      EXPECT_TRUE(run.ok()) << s.kind << " run: " << run.detail;
    }
    std::set<std::string> out;
    for (const auto& r : http.sent())
      out.insert(iam_action(r));
    return out;
  }
};

std::set<std::string> granted(const common::plan_step_config& s) {
  std::set<std::string> out;
  for (const auto& g : step_iam_grants(s, {"111122223333", "us-west-2"})) {
    if (g.sent) out.insert(g.action);
  }
  return out;
}

const json arc_endpoints = json::array({"https://host-a.us-west-2.example.com/v1"});

std::vector<common::plan_step_config> every_aws_step_variant() {
  return {
      step("fence", "arc_routing_control",
           {{"routing_control_arn", rc_a}, {"state", "Off"}, {"cluster_endpoints", arc_endpoints}}),
      step("fence-both", "arc_routing_control",
           {{"routing_control_arns", {rc_a, rc_b}}, {"state", "Off"}, {"cluster_endpoints", arc_endpoints}}),
      step("promote", "aurora_global_failover",
           {{"global_cluster", "shop-global"}, {"target_cluster_arn", west}, {"region", "us-west-2"}}),
      step("promote-loss", "aurora_global_failover",
           {{"global_cluster", "shop-global"},
            {"target_cluster_arn", west},
            {"mode", "failover"},
            {"region", "us-west-2"}}),
      step("promote-switch", "aurora_global_failover",
           {{"global_cluster", "shop-global"},
            {"target_cluster_arn", west},
            {"mode", "switchover"},
            {"region", "us-west-2"}}),
      step("switchover", "aurora_switchover",
           {{"global_cluster", "shop-global"}, {"target_cluster_arn", west}, {"region", "us-west-2"}}),
      step("detach", "aurora_detach",
           {{"global_cluster", "shop-global"}, {"db_cluster_arn", west}, {"region", "us-west-2"}}),
      step("wait", "wait_db_cluster", {{"cluster", "shop-west"}, {"region", "us-west-2"}}),
      step("scale", "ecs_scale",
           {{"cluster", "shop"}, {"service", "api"}, {"desired_count", 4}, {"region", "us-west-2"}}),
      step("scale-plain", "ecs_scale",
           {{"cluster", "shop"},
            {"service", "api"},
            {"desired_count", 4},
            {"scalable_target", false},
            {"region", "us-west-2"}}),
      step("dns", "route53_upsert",
           {{"hosted_zone_id", "Z1"}, {"record_name", "api.example.com."}, {"value", "api.usw2.example.com"}}),
      step("flag", "ssm_parameter", {{"parameter", "/shop/active"}, {"value", "us-west-2"}, {"region", "us-west-2"}}),
      step("flag-secure", "ssm_parameter",
           {{"parameter", "/shop/active"}, {"value", "us-west-2"}, {"secure", true}, {"region", "us-west-2"}}),
  };
}

TEST(step_iam, grants_equal_the_actions_each_step_kind_sends) {
  std::set<std::string> kinds;
  for (const auto& s : every_aws_step_variant()) {
    recorder rec;
    const auto sent = rec.sent_by(s);
    EXPECT_FALSE(sent.empty()) << s.name;
    EXPECT_EQ(sent, granted(s)) << s.name << " (" << s.kind << ")";
    kinds.insert(s.kind);
  }
  // Every AWS step kind of plan_steps_aws.cpp is exercised.
  EXPECT_EQ(kinds.size(), 8U);
}

TEST(step_iam, local_kinds_need_no_aws_permission) {
  for (const char* kind : {"exec", "webhook", "verify"})
    EXPECT_TRUE(step_iam_grants(step("x", kind, json::object()), {"111122223333", "us-west-2"}).empty()) << kind;
}

TEST(step_iam, resources_come_from_the_step_and_the_scope) {
  const iam_scope scope{"111122223333", "us-west-2"};
  const auto find = [](const std::vector<iam_grant>& gs, const std::string& action) {
    for (const auto& g : gs)
      if (g.action == action) return g;
    return iam_grant{};
  };
  const auto ecs = step_iam_grants(step("s", "ecs_scale", {{"cluster", "shop"}, {"service", "api"}}), scope);
  EXPECT_EQ(find(ecs, "ecs:UpdateService").resources,
            std::vector<std::string>{"arn:aws:ecs:us-west-2:111122223333:service/shop/api"});
  EXPECT_EQ(find(ecs, "application-autoscaling:DescribeScalableTargets").resources, std::vector<std::string>{"*"});

  const auto wait =
      step_iam_grants(step("w", "wait_db_cluster", {{"cluster", "shop-east"}, {"region", "us-east-1"}}), scope);
  EXPECT_EQ(find(wait, "rds:DescribeDBClusters").resources,
            std::vector<std::string>{"arn:aws:rds:us-east-1:111122223333:cluster:shop-east"});

  const auto promote =
      step_iam_grants(step("p", "aurora_switchover", {{"global_cluster", "g1"}, {"target_cluster_arn", east}}), scope);
  EXPECT_EQ(find(promote, "rds:SwitchoverGlobalCluster").resources,
            (std::vector<std::string>{"arn:aws:rds::111122223333:global-cluster:g1", east}));
  EXPECT_TRUE(find(promote, "rds:FailoverGlobalCluster").action.empty()) << "a switchover never fails over";

  const auto ssm = step_iam_grants(
      step("f", "ssm_parameter", {{"parameter", "/a/b"}, {"region", "us-east-1"}, {"secure", true}}), scope);
  EXPECT_EQ(find(ssm, "ssm:GetParameter").resources,
            std::vector<std::string>{"arn:aws:ssm:us-east-1:111122223333:parameter/a/b"});
  const auto kms = find(ssm, "kms:Decrypt");
  EXPECT_FALSE(kms.sent);
  EXPECT_EQ(kms.condition["StringEquals"]["kms:ViaService"], "ssm.us-east-1.amazonaws.com");
  EXPECT_EQ(kms.condition["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"],
            "arn:aws:ssm:us-east-1:111122223333:parameter/a/b");
  EXPECT_FALSE(find(ssm, "kms:Encrypt").action.empty());

  const auto dns = step_iam_grants(
      step("d", "route53_upsert", {{"hosted_zone_id", "Z1"}, {"record_name", "API.Example.com."}}), scope);
  const auto change = find(dns, "route53:ChangeResourceRecordSets");
  EXPECT_EQ(change.resources, std::vector<std::string>{"arn:aws:route53:::hostedzone/Z1"});
  EXPECT_EQ(change.condition["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"],
            json::array({"api.example.com"}));
}

TEST(step_iam, account_comes_from_the_plans_arns) {
  common::config cfg;
  cfg.failover.steps.push_back(step("p", "aurora_switchover", {{"target_cluster_arn", west}}));
  EXPECT_EQ(account_in_plans(cfg).account, "111122223333");
  cfg.failback.steps.push_back(
      step("p", "aurora_switchover", {{"target_cluster_arn", "arn:aws:rds:us-east-1:444455556666:cluster:x"}}));
  const auto two = account_in_plans(cfg);
  EXPECT_FALSE(two.account);
  EXPECT_NE(two.error.find("444455556666"), std::string::npos) << two.error;
  EXPECT_FALSE(account_in_plans(common::config{}).account);
}

}  // namespace
}  // namespace vigil::actuators
