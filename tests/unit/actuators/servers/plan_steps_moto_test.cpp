// The production plan steps against moto_server with signature verification
// on: RDS detach/describe, ECS, Route 53 and SSM, run twice (the second run
// finds them in place), and a dry run that sends no mutating call.

#include <gtest/gtest.h>

#include <filesystem>

#include "aws/application_autoscaling.hpp"
#include "aws/ecs_ssm.hpp"
#include "tests/support/aws_moto.hpp"
#include "tests/unit/actuators/plan_steps_rig.hpp"
#include "tests/unit/actuators/plan_test_support.hpp"

namespace vigil::actuators {
namespace {

using test_support::moto;
using test_support::step;
using namespace plan_rig;

const auto* moto_env = ::testing::AddGlobalTestEnvironment(new test_support::moto_environment);

#define REQUIRE_MOTO()                                              \
  do {                                                              \
    if (!moto::instance().ok()) FAIL() << moto::instance().error(); \
  } while (false)

TEST(plan_steps, moto_detach_ecs_route53_ssm) {
  REQUIRE_MOTO();
  auto& m = moto::instance();
  const auto arns =
      m.seed("rds_global", {{"global", "plan-global"}, {"primary", "plan-east"}, {"secondary", "plan-west"}});
  m.seed("ecs", {{"cluster", "plan-shop"}, {"service", "api"}, {"desired", 1}, {"region", "us-west-2"}});
  const auto zone = m.seed("route53_zone", {{"name", "plan.example."}});
  test_support::plan_aws c(m.access_key(), m.secret_key(), {}, m.endpoint());
  exec_rig r(c.client.get());
  const std::vector<common::plan_step_config> steps{
      step("detach", "aurora_detach",
           {{"global_cluster", "plan-global"}, {"db_cluster_arn", arns["secondary_arn"]}, {"region", "us-west-2"}}),
      step("scale", "ecs_scale",
           {{"cluster", "plan-shop"}, {"service", "api"}, {"desired_count", 4}, {"region", "us-west-2"}}),
      step("dns", "route53_upsert",
           {{"hosted_zone_id", zone["zone_id"]},
            {"record_name", "api.plan.example."},
            {"record_type", "CNAME"},
            {"value", "api.usw2.plan.example."},
            {"ttl", 60}}),
      step("flag", "ssm_parameter",
           {{"parameter", "/plan/active-region"}, {"value", "us-west-2"}, {"region", "us-west-2"}}),
  };
  const auto out = r.run(steps);
  ASSERT_TRUE(out.ok()) << out.detail;
  for (const auto& s : out.rto["steps"])
    EXPECT_EQ(s["outcome"], "done") << s.dump();
  auto d = aws::describe_services(*c.client, "us-west-2", "plan-shop", {"api"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->services.at(0).desired_count, 4);
  EXPECT_EQ(d->services.at(0).running_count, 4);
  // The same plan for another approval: ECS and SSM are in place already.
  exec_rig again(c.client.get());
  const auto out2 = again.run({steps[1], steps[3]}, req(false, "hash-moto-2"));
  ASSERT_TRUE(out2.ok()) << out2.detail;
  EXPECT_EQ(out2.rto["steps"][0]["outcome"], "already_done");
  EXPECT_EQ(out2.rto["steps"][1]["outcome"], "already_done");
}

TEST(plan_steps, moto_ecs_scale_raises_and_restores_the_scalable_minimum) {
  REQUIRE_MOTO();
  auto& m = moto::instance();
  m.seed("ecs", {{"cluster", "aas-shop"}, {"service", "api"}, {"desired", 1}, {"region", "us-west-2"}});
  m.seed("ecs_scalable_target",
         {{"cluster", "aas-shop"}, {"service", "api"}, {"region", "us-west-2"}, {"min", 1}, {"max", 3}});
  test_support::plan_aws c(m.access_key(), m.secret_key(), {}, m.endpoint());
  const auto target = [&] {
    auto t =
        aws::describe_scalable_target(*c.client, "us-west-2", "ecs", "service/aas-shop/api", aws::ecs_desired_count);
    EXPECT_TRUE(t) << (t ? "" : t.error().to_string());
    return t && *t ? **t : aws::scalable_target{};
  };
  ASSERT_EQ(target().min_capacity, 1);
  // Activation: desired 5 raises MinCapacity to 5 and MaxCapacity (3) to 5.
  exec_rig r(c.client.get());
  const auto activate =
      step("scale", "ecs_scale",
           {{"cluster", "aas-shop"}, {"service", "api"}, {"desired_count", 5}, {"region", "us-west-2"}});
  const auto out = r.run({activate});
  ASSERT_TRUE(out.ok()) << out.detail;
  EXPECT_EQ(out.rto["steps"][0]["outcome"], "done");
  EXPECT_EQ(target().min_capacity, 5);
  EXPECT_EQ(target().max_capacity, 5);
  const std::string journal = test_support::read_file(r.dir.path() / "plan.jsonl");
  EXPECT_NE(journal.find("previous_min_capacity=1"), std::string::npos) << journal;
  auto d = aws::describe_services(*c.client, "us-west-2", "aas-shop", {"api"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->services.at(0).desired_count, 5);
  // Again: both in place, nothing changes.
  exec_rig again(c.client.get());
  const auto out2 = again.run({activate}, req(false, "hash-aas-2"));
  ASSERT_TRUE(out2.ok()) << out2.detail;
  EXPECT_EQ(out2.rto["steps"][0]["outcome"], "already_done");
  // The failback plan's ecs_scale restores the journaled minimum with min_capacity.
  exec_rig back(c.client.get());
  const auto out3 = back.run({step("shrink", "ecs_scale",
                                   {{"cluster", "aas-shop"},
                                    {"service", "api"},
                                    {"desired_count", 1},
                                    {"min_capacity", 1},
                                    {"region", "us-west-2"}})},
                             req(false, "hash-aas-3"));
  ASSERT_TRUE(out3.ok()) << out3.detail;
  EXPECT_EQ(target().min_capacity, 1);
  EXPECT_EQ(target().max_capacity, 5);
  d = aws::describe_services(*c.client, "us-west-2", "aas-shop", {"api"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->services.at(0).desired_count, 1);
  // The description names the Application Auto Scaling calls.
  const auto desc = describe_step(activate, req().ctx);
  ASSERT_EQ(desc.prechecks.size(), 2U);
  EXPECT_EQ(desc.prechecks[1].operation, "DescribeScalableTargets");
  EXPECT_EQ(desc.calls.at(0).operation, "RegisterScalableTarget");
  EXPECT_EQ(desc.calls.at(0).params["MinCapacity"], 5);
}

TEST(plan_steps, dry_run_sends_no_mutating_call) {
  REQUIRE_MOTO();
  auto& m = moto::instance();
  m.seed("ecs", {{"cluster", "dry-shop"}, {"service", "api"}, {"desired", 2}, {"region", "us-west-2"}});
  auto arc = test_support::start_fake_arc(1, m.access_key(), m.secret_key());
  auto rds = test_support::start_fake_rds(m.access_key(), m.secret_key());
  test_support::plan_aws c(m.access_key(), m.secret_key(), {{"rds", rds->url()}}, m.endpoint());
  const std::vector<common::plan_step_config> steps{
      step("fence", "arc_routing_control", arc_params(*arc, test_support::rc_arn_a, "Off")),
      step("promote", "aurora_global_failover", failover_params()),
      step("scale", "ecs_scale",
           {{"cluster", "dry-shop"}, {"service", "api"}, {"desired_count", 9}, {"region", "us-west-2"}}),
      step("flag", "ssm_parameter",
           {{"parameter", "/dry/active-region"}, {"value", "us-west-2"}, {"region", "us-west-2"}}),
      step("announce", "exec",
           {{"command",
             {"/bin/sh", "-c", "touch " + (std::filesystem::temp_directory_path() / "vigil-dry-ran").string()}}}),
  };
  for (const bool prechecks : {false, true}) {
    exec_rig r(c.client.get(), executor_options{prechecks, 0ms, 10ms, 50ms});
    const auto out = r.run(steps, req(false, prechecks ? "dry-2" : "dry-1"), true);
    ASSERT_TRUE(out.ok()) << out.detail;
  }
  EXPECT_EQ(arc->calls("UpdateRoutingControlState"), 0);
  EXPECT_EQ(arc->calls("GetRoutingControlState"), 1);  // only with --prechecks, read-only
  EXPECT_EQ(rds->calls("FailoverGlobalCluster"), 0);
  auto d = aws::describe_services(*c.client, "us-west-2", "dry-shop", {"api"});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->services.at(0).desired_count, 2);
  auto p =
      c.client->json(aws::service::ssm, "us-west-2", "AmazonSSM.GetParameter", "1.1", {{"Name", "/dry/active-region"}});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, "ParameterNotFound");
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::temp_directory_path() / "vigil-dry-ran"));
}

}  // namespace
}  // namespace vigil::actuators
