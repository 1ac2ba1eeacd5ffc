// The readiness items (actuators/readiness.hpp) against a recording transport
// that answers like AWS from a small world model: every item ok when the
// world is ready, and each injected fault reported by exactly its item with
// a detail naming what is wrong. Only read-only actions may be sent.

#include "actuators/readiness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

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
const std::string rc_east = "arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/east01";
const std::string rc_west = "arn:aws:route53-recovery-control::111122223333:controlpanel/p/routingcontrol/west01";
const std::string role = "arn:aws:iam::111122223333:role/vigil-actuator";

/// The AWS the items read: a ready world unless a test changes it.
struct world {
  std::string global_status = "available";
  bool target_member = true;
  int target_instances = 2;
  std::string target_version = "15.4";
  int max_capacity = 10;
  bool service_exists = true;
  std::string dr_task = "arn:aws:ecs:us-west-2:111122223333:task-definition/api:7";
  std::string primary_task = "arn:aws:ecs:us-east-1:111122223333:task-definition/api:9";
  std::map<std::string, std::string> controls{{rc_east, "On"}, {rc_west, "Off"}};
  std::set<std::string> down_hosts;
  bool zone = true;
  bool record = true;
  bool parameter = true;
  std::set<std::string> denied;
  std::vector<std::string> sent;

  aws::http_response operator()(const aws::http_request& r) {
    const std::string action = iam_action(r);
    sent.push_back(action);
    if (down_hosts.contains(r.host)) {
      aws::http_response no;
      no.status = 0;
      no.transport_error = "connection refused";
      return no;
    }
    const auto query = [](const std::string& name, const std::string& inner) {
      return answer(
          200, "<" + name + "Response><" + name + "Result>" + inner + "</" + name + "Result></" + name + "Response>");
    };
    if (action == "rds:DescribeGlobalClusters") {
      std::string members = "<GlobalClusterMember><DBClusterArn>" + east +
                            "</DBClusterArn><IsWriter>true</IsWriter></GlobalClusterMember>";
      if (target_member) {
        members += "<GlobalClusterMember><DBClusterArn>" + west +
                   "</DBClusterArn><IsWriter>false</IsWriter></GlobalClusterMember>";
      }
      return query("DescribeGlobalClusters",
                   "<GlobalClusters><GlobalClusterMember><GlobalClusterIdentifier>shop-global"
                   "</GlobalClusterIdentifier><Status>" +
                       global_status + "</Status><EngineVersion>15.2</EngineVersion><GlobalClusterMembers>" + members +
                       "</GlobalClusterMembers></GlobalClusterMember></GlobalClusters>");
    }
    if (action == "rds:DescribeDBClusters") {
      std::string inst;
      for (int i = 0; i < target_instances; ++i)
        inst += "<DBClusterMember><DBInstanceIdentifier>w" + std::to_string(i) +
                "</DBInstanceIdentifier><IsClusterWriter>false</IsClusterWriter></DBClusterMember>";
      return query("DescribeDBClusters",
                   "<DBClusters><DBCluster><DBClusterIdentifier>shop-west</DBClusterIdentifier><DBClusterArn>" + west +
                       "</DBClusterArn><Status>available</Status><Engine>aurora-postgresql</Engine><EngineVersion>" +
                       target_version + "</EngineVersion><DBClusterMembers>" + inst +
                       "</DBClusterMembers></DBCluster></DBClusters>");
    }
    if (action == "ecs:DescribeServices") {
      const bool dr = r.host.find("us-west-2") != std::string::npos;
      if (dr && !service_exists) return answer(200, json{{"services", json::array()}}.dump());
      return answer(200, json{{"services",
                               {{{"serviceName", "api"},
                                 {"status", "ACTIVE"},
                                 {"taskDefinition", dr ? dr_task : primary_task},
                                 {"desiredCount", 1},
                                 {"runningCount", 1}}}}}
                             .dump());
    }
    if (action == "application-autoscaling:DescribeScalableTargets") {
      return answer(200, json{{"ScalableTargets",
                               {{{"ServiceNamespace", "ecs"},
                                 {"ResourceId", "service/shop/api"},
                                 {"ScalableDimension", "ecs:service:DesiredCount"},
                                 {"MinCapacity", 1},
                                 {"MaxCapacity", max_capacity}}}}}
                             .dump());
    }
    if (action == "route53-recovery-cluster:GetRoutingControlState") {
      const std::string arn = json::parse(r.body).value("RoutingControlArn", "");
      const auto it = controls.find(arn);
      if (it == controls.end()) {
        return answer(404, json{{"__type", "ResourceNotFoundException"}, {"message", "no " + arn}}.dump());
      }
      return answer(200, json{{"RoutingControlArn", arn}, {"RoutingControlState", it->second}}.dump());
    }
    if (action == "route53:GetHostedZone") {
      if (!zone) return answer(404, "<ErrorResponse><Error><Code>NoSuchHostedZone</Code></Error></ErrorResponse>");
      return answer(200,
                    "<GetHostedZoneResponse><HostedZone><Id>/hostedzone/Z1</Id><Name>shop.example.</Name>"
                    "</HostedZone></GetHostedZoneResponse>");
    }
    if (action == "route53:ListResourceRecordSets") {
      const std::string set = record ? "<ResourceRecordSet><Name>api.shop.example.</Name><Type>CNAME</Type>"
                                       "</ResourceRecordSet>"
                                     : "<ResourceRecordSet><Name>zzz.shop.example.</Name><Type>A</Type>"
                                       "</ResourceRecordSet>";
      return answer(200, "<ListResourceRecordSetsResponse><ResourceRecordSets>" + set +
                             "</ResourceRecordSets></ListResourceRecordSetsResponse>");
    }
    if (action == "ssm:GetParameter") {
      if (!parameter) return answer(400, json{{"__type", "ParameterNotFound"}, {"message", "none"}}.dump());
      return answer(200, json{{"Parameter", {{"Name", "/shop/active"}, {"Type", "String"}, {"Value", "x"}}}}.dump());
    }
    if (action == "iam:SimulatePrincipalPolicy") {
      std::string results;
      std::vector<std::string> resources;
      for (int i = 1;; ++i) {
        const std::string v =
            test_support::between("&" + r.body, "&ResourceArns.member." + std::to_string(i) + "=", "&");
        if (v.empty()) break;
        resources.push_back(aws::uri_decode(v));
      }
      if (resources.empty()) resources.push_back("*");
      for (int i = 1;; ++i) {
        const std::string a =
            aws::uri_decode(test_support::between("&" + r.body, "&ActionNames.member." + std::to_string(i) + "=", "&"));
        if (a.empty()) break;
        for (const auto& res : resources)
          results += "<member><EvalActionName>" + a + "</EvalActionName><EvalResourceName>" + res +
                     "</EvalResourceName><EvalDecision>" + (denied.contains(a) ? "implicitDeny" : "allowed") +
                     "</EvalDecision></member>";
      }
      return query("SimulatePrincipalPolicy",
                   "<EvaluationResults>" + results + "</EvaluationResults><IsTruncated>false</IsTruncated>");
    }
    return answer(400, json{{"__type", "UnknownOperationException"}, {"message", action}}.dump());
  }
};

struct rig : test_support::recording_client {
  world w;
  common::config cfg;
  std::optional<common::wall_time> cert;  ///< the DR check's certificate notAfter
  json status;

  rig() : recording_client([this](const aws::http_request& r) { return w(r); }) {
    json eps = json::array();
    for (const char* h : {"a.us-east-1", "b.us-west-2", "c.eu-west-1", "d.ap-southeast-2", "e.ap-northeast-1"})
      eps.push_back(std::string("https://host-") + h + ".example.com/v1");
    cfg.failover.steps = {
        step("fence", "arc_routing_control",
             {{"routing_control_arn", rc_east}, {"state", "Off"}, {"cluster_endpoints", eps}}),
        step("promote", "aurora_global_failover",
             {{"global_cluster", "shop-global"}, {"target_cluster_arn", west}, {"region", "us-west-2"}}),
        step("activate", "ecs_scale",
             {{"cluster", "shop"}, {"service", "api"}, {"desired_count", 4}, {"region", "us-west-2"}}),
        step("flag", "ssm_parameter", {{"parameter", "/shop/active"}, {"value", "us-west-2"}, {"region", "us-west-2"}}),
        step("dns", "route53_upsert",
             {{"hosted_zone_id", "Z1"}, {"record_name", "api.shop.example."}, {"value", "api.usw2.shop.example."}}),
        step("shift", "arc_routing_control",
             {{"routing_control_arn", rc_west}, {"state", "On"}, {"cluster_endpoints", eps}}),
        step("tell", "exec", {{"command", json::array({"/bin/true"})}}),
    };
    cfg.failback.steps = {
        step("shift-back", "arc_routing_control",
             {{"routing_control_arns", {rc_west, rc_east}}, {"state", "On"}, {"cluster_endpoints", eps}}),
        step("primary", "ecs_scale",
             {{"cluster", "shop"}, {"service", "api"}, {"desired_count", 4}, {"region", "us-east-1"}}),
    };
    common::check_config c;
    c.id = "api@us-west-2";
    c.region = "us-west-2";
    c.service = "api";
    c.http = common::http_check_config{};
    c.http->url = "https://api.usw2.shop.example/health";
    cfg.checks.push_back(c);
    cert = clock.wall() + std::chrono::hours(24 * 60);
    status = {
        {"checks", {{{"id", "api@us-west-2"}, {"region", "us-west-2"}, {"state", "up"}, {"warn", json::object()}}}},
        {"replication_lag", {{"age_s", 3}, {"reachable", true}}}};
  }

  std::map<std::string, readiness_item> probe(bool failback = false, bool next = true) {
    readiness_request r;
    r.action = failback ? "failback" : "failover";
    r.cfg = &cfg;
    r.plan = failback ? &cfg.failback : &cfg.failover;
    r.other_plan = failback ? &cfg.failover : &cfg.failback;
    r.from = failback ? "us-west-2" : "us-east-1";
    r.to = failback ? "us-east-1" : "us-west-2";
    r.next = next;
    r.aws = client.get();
    r.actuator_role_arn = role;
    r.status = status;
    r.lag_configured = true;
    r.cert_min_days = 14;
    r.now = clock.wall();
    r.clock = &clock;
    r.cert_not_after = [this](const common::check_config&, std::string& error) {
      if (!cert) error = "connection refused";
      return cert;
    };
    std::map<std::string, readiness_item> out;
    for (auto& i : probe_plan(r)) {
      EXPECT_FALSE(out.contains(i.id)) << "duplicate item " << i.id;
      out.emplace(i.id, i);
    }
    return out;
  }
};

std::vector<std::string> failed_ids(const std::map<std::string, readiness_item>& items) {
  std::vector<std::string> out;
  for (const auto& [id, i] : items) {
    if (i.state != item_state::ok) out.push_back(id);
  }
  return out;
}

TEST(Readiness, EveryItemOkInAReadyWorldAndOnlyReadsAreSent) {
  rig g;
  const auto items = g.probe();
  EXPECT_EQ(failed_ids(items), std::vector<std::string>{});
  for (const char* id : {"precheck.fence",
                         "precheck.promote",
                         "precheck.activate",
                         "precheck.flag",
                         "precheck.dns",
                         "precheck.shift",
                         "aurora.global_cluster",
                         "aurora.target_member",
                         "aurora.dr_writer_candidate",
                         "aurora.engine_version",
                         "aurora.lag_source",
                         "ecs.activate.service",
                         "ecs.activate.max_capacity",
                         "ecs.activate.task_definition",
                         "arc.endpoints",
                         "arc.quorum",
                         "arc.east01",
                         "arc.west01",
                         "route53.dns.zone",
                         "route53.dns.record",
                         "ssm.flag.parameter",
                         "iam.rds:FailoverGlobalCluster",
                         "iam.ecs:UpdateService",
                         "iam.route53-recovery-cluster:UpdateRoutingControlState",
                         "dr_checks.healthy",
                         "dr_checks.certificates"}) {
    EXPECT_TRUE(items.contains(id)) << id;
  }
  EXPECT_FALSE(items.contains("precheck.tell"));  // local steps have nothing to ask AWS
  EXPECT_NE(items.at("arc.endpoints").detail.find("5 of 5"), std::string::npos) << items.at("arc.endpoints").detail;
  static const std::set<std::string> reads{"rds:DescribeGlobalClusters",
                                           "rds:DescribeDBClusters",
                                           "ecs:DescribeServices",
                                           "application-autoscaling:DescribeScalableTargets",
                                           "route53-recovery-cluster:GetRoutingControlState",
                                           "route53:GetHostedZone",
                                           "route53:ListResourceRecordSets",
                                           "ssm:GetParameter",
                                           "iam:SimulatePrincipalPolicy"};
  for (const auto& a : g.w.sent)
    EXPECT_TRUE(reads.contains(a)) << "a readiness run sent " << a;
}

// `vigil iam --role actuator` lists every call a readiness run makes: the
// steps' own grants plus readiness_iam_grants().
TEST(Readiness, VigilIamCoversEveryCallARunSends) {
  rig g;
  g.cfg.readiness.enabled = true;
  g.cfg.readiness.actuator_role_arn = role;
  (void)g.probe();
  (void)g.probe(true, false);
  std::set<std::string> granted;
  for (const auto* plan : {&g.cfg.failover, &g.cfg.failback}) {
    for (const auto& s : plan->steps) {
      for (const auto& gr : step_iam_grants(s, {"123456789012", "us-west-2"}))
        granted.insert(gr.action);
    }
  }
  const auto extra = readiness_iam_grants(g.cfg);
  for (const auto& gr : extra)
    granted.insert(gr.action);
  ASSERT_FALSE(g.w.sent.empty());
  for (const auto& a : g.w.sent)
    EXPECT_TRUE(granted.contains(a)) << "a readiness run sent " << a << ", which `vigil iam` does not grant";
  const auto sim = std::find_if(extra.begin(), extra.end(),
                                [](const iam_grant& gr) { return gr.action == "iam:SimulatePrincipalPolicy"; });
  ASSERT_NE(sim, extra.end());
  EXPECT_EQ(sim->resources, std::vector<std::string>{role});
  const auto zone = std::find_if(extra.begin(), extra.end(),
                                 [](const iam_grant& gr) { return gr.action == "route53:GetHostedZone"; });
  ASSERT_NE(zone, extra.end());
  EXPECT_EQ(zone->resources, std::vector<std::string>{"arn:aws:route53:::hostedzone/Z1"});
  g.cfg.readiness.enabled = false;
  EXPECT_TRUE(readiness_iam_grants(g.cfg).empty());
}

TEST(Readiness, CertinfoExpireDateIsParsedAsUtc) {
  const auto t = certinfo_expire_date("Expire date:Jan  2 03:04:05 2027 GMT");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count(), 1798859045);
  EXPECT_FALSE(certinfo_expire_date("Start date:Jan  2 03:04:05 2026 GMT"));
  EXPECT_FALSE(certinfo_expire_date("Expire date:not a date"));
}

TEST(Readiness, ScalableTargetMaxBelowThePlansCount) {
  rig g;
  g.w.max_capacity = 0;
  const auto items = g.probe();
  EXPECT_EQ(failed_ids(items), std::vector<std::string>{"ecs.activate.max_capacity"});
  EXPECT_NE(items.at("ecs.activate.max_capacity").detail.find("MaxCapacity 0 < the plan's count 4"), std::string::npos)
      << items.at("ecs.activate.max_capacity").detail;
}

TEST(Readiness, HeadlessSecondaryFailsTheWriterCandidateAndThePrecheck) {
  rig g;
  g.w.target_instances = 0;
  const auto items = g.probe();
  EXPECT_EQ(failed_ids(items), (std::vector<std::string>{"aurora.dr_writer_candidate", "precheck.promote"}));
  EXPECT_NE(items.at("aurora.dr_writer_candidate").detail.find("headless"), std::string::npos);
}

TEST(Readiness, GlobalClusterStateMembershipAndEngineVersion) {
  rig g;
  g.w.global_status = "failing-over";
  g.w.target_member = false;
  g.w.target_version = "16.1";
  const auto items = g.probe();
  EXPECT_EQ(items.at("aurora.global_cluster").state, item_state::failed);
  EXPECT_NE(items.at("aurora.global_cluster").detail.find("is failing-over"), std::string::npos);
  EXPECT_EQ(items.at("aurora.target_member").state, item_state::failed);
  EXPECT_EQ(items.at("aurora.engine_version").state, item_state::failed);
  EXPECT_NE(items.at("aurora.engine_version").detail.find("16.1"), std::string::npos);
}

TEST(Readiness, RoutingControlDeletedOrAlreadyInThePlansState) {
  rig g;
  g.w.controls.erase(rc_west);
  auto items = g.probe();
  EXPECT_EQ(items.at("arc.west01").state, item_state::failed);
  EXPECT_NE(items.at("arc.west01").detail.find("does not exist"), std::string::npos) << items.at("arc.west01").detail;
  g.w.controls[rc_west] = "On";
  items = g.probe();
  EXPECT_EQ(items.at("arc.west01").state, item_state::failed);
  EXPECT_NE(items.at("arc.west01").detail.find("already On"), std::string::npos);
  // The plan that would not run next only needs its controls to exist.
  g.w.controls[rc_east] = "On";
  items = g.probe(true, false);
  EXPECT_EQ(items.at("arc.west01").state, item_state::ok) << items.at("arc.west01").detail;
  EXPECT_EQ(items.at("arc.east01").state, item_state::ok);
}

TEST(Readiness, ArcEndpointsNeedThreeOfFive) {
  rig g;
  auto items = g.probe();
  EXPECT_EQ(items.at("arc.endpoints").state, item_state::ok);
  EXPECT_TRUE(items.at("arc.endpoints").warning);
  EXPECT_FALSE(items.at("arc.quorum").warning);
  // Two of five down: the quorum holds (the plan works), the endpoints item warns.
  g.w.down_hosts = {"host-a.us-east-1.example.com", "host-b.us-west-2.example.com"};
  items = g.probe();
  EXPECT_EQ(items.at("arc.quorum").state, item_state::ok);
  EXPECT_NE(items.at("arc.quorum").detail.find("3 of 5"), std::string::npos) << items.at("arc.quorum").detail;
  EXPECT_EQ(items.at("arc.endpoints").state, item_state::failed);
  EXPECT_NE(items.at("arc.endpoints").detail.find("host-a.us-east-1"), std::string::npos);
  EXPECT_NE(items.at("arc.endpoints").detail.find("a majority still answers"), std::string::npos);
  // Three down: no routing control can change.
  g.w.down_hosts.insert("host-c.eu-west-1.example.com");
  items = g.probe();
  EXPECT_EQ(items.at("arc.quorum").state, item_state::failed);
  EXPECT_NE(items.at("arc.quorum").detail.find("2 of 5"), std::string::npos) << items.at("arc.quorum").detail;
  EXPECT_NE(items.at("arc.quorum").detail.find("at least 3 must"), std::string::npos);
  EXPECT_EQ(items.at("arc.endpoints").state, item_state::failed);
}

TEST(Readiness, DeniedPermissionNamesTheActionAndResource) {
  rig g;
  g.w.denied = {"rds:FailoverGlobalCluster"};
  const auto items = g.probe();
  EXPECT_EQ(failed_ids(items), std::vector<std::string>{"iam.rds:FailoverGlobalCluster"});
  const auto& d = items.at("iam.rds:FailoverGlobalCluster").detail;
  EXPECT_NE(d.find("implicitDeny"), std::string::npos) << d;
  EXPECT_NE(d.find("global-cluster:shop-global"), std::string::npos) << d;
  EXPECT_NE(d.find(role), std::string::npos) << d;
}

TEST(Readiness, MissingServiceZoneRecordAndParameter) {
  rig g;
  g.w.service_exists = false;
  g.w.record = false;
  g.w.parameter = false;
  auto items = g.probe();
  EXPECT_EQ(items.at("ecs.activate.service").state, item_state::failed);
  EXPECT_EQ(items.at("route53.dns.record").state, item_state::failed);
  EXPECT_EQ(items.at("ssm.flag.parameter").state, item_state::failed);
  EXPECT_NE(items.at("ssm.flag.parameter").detail.find("ParameterNotFound"), std::string::npos);
  g.w.zone = false;
  items = g.probe();
  EXPECT_EQ(items.at("route53.dns.zone").state, item_state::failed);
}

TEST(Readiness, TaskDefinitionFamilyMustMatchTheOtherRegion) {
  rig g;
  g.w.dr_task = "arn:aws:ecs:us-west-2:111122223333:task-definition/api-old:2";
  const auto items = g.probe();
  EXPECT_EQ(items.at("ecs.activate.task_definition").state, item_state::failed);
  EXPECT_NE(items.at("ecs.activate.task_definition").detail.find("api-old"), std::string::npos);
}

TEST(Readiness, DrChecksHealthCertificatesAndLag) {
  rig g;
  // Half an hour of margin: the probe reads the (real, millisecond) clock
  // again later, and 72 h minus a millisecond is 2 whole days.
  g.cert = g.clock.wall() + std::chrono::hours(24 * 3) + std::chrono::minutes(30);
  g.status["checks"][0]["state"] = "down";
  g.status["replication_lag"]["age_s"] = nullptr;
  const auto items = g.probe();
  EXPECT_EQ(items.at("dr_checks.certificates").state, item_state::failed);
  EXPECT_NE(items.at("dr_checks.certificates").detail.find("expires in 3 day(s) (< 14)"), std::string::npos)
      << items.at("dr_checks.certificates").detail;
  EXPECT_EQ(items.at("dr_checks.healthy").state, item_state::failed);
  EXPECT_NE(items.at("dr_checks.healthy").detail.find("api@us-west-2 is down"), std::string::npos);
  EXPECT_EQ(items.at("aurora.lag_source").state, item_state::failed);
}

TEST(Readiness, ACheckWithoutAQuorumStateIsUnknownNotFailed) {
  rig g;
  g.status["checks"][0]["state"] = "unknown";
  const auto items = g.probe();
  EXPECT_EQ(items.at("dr_checks.healthy").state, item_state::unknown);
  EXPECT_NE(items.at("dr_checks.healthy").detail.find("api@us-west-2 is unknown"), std::string::npos);
}

TEST(Readiness, AgentsReportingCertExpiringFailTheCertificates) {
  rig g;
  g.status["checks"][0]["warn"] = {{"us-east-1", "cert_expiring"}};
  const auto items = g.probe();
  EXPECT_EQ(items.at("dr_checks.certificates").state, item_state::failed);
  EXPECT_NE(items.at("dr_checks.certificates").detail.find("cert_expiring"), std::string::npos);
}

TEST(Readiness, WithoutAwsTheAwsItemsAreUnknown) {
  rig g;
  readiness_request r;
  r.action = "failover";
  r.cfg = &g.cfg;
  r.plan = &g.cfg.failover;
  r.to = "us-west-2";
  r.clock = &g.clock;
  const auto items = probe_plan(r);
  ASSERT_FALSE(items.empty());
  for (const auto& i : items) {
    if (i.id.starts_with("dr_checks.")) continue;
    EXPECT_EQ(i.state, item_state::unknown) << i.id;
  }
}

TEST(Readiness, FamilyAndMajorVersion) {
  EXPECT_EQ(task_family("arn:aws:ecs:us-west-2:1:task-definition/api:7"), "api");
  EXPECT_EQ(task_family("api:7"), "api");
  EXPECT_EQ(major_version("15.4"), "15");
  EXPECT_EQ(major_version("5.7.mysql_aurora.2.11.2"), "5");
}

}  // namespace
}  // namespace vigil::actuators
