// The production plan steps against the strict fakes (ARC data plane, RDS
// global failover: signatures verified, calls counted) and crash safety: a
// 6-step plan killed with SIGKILL after its second step (and, separately,
// while a call is in flight) completes on restart with every mutating call
// received exactly once. The steps against moto_server (RDS detach, ECS,
// Route 53, SSM; dry run): servers/plan_steps_moto_test.cpp.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actuators/plan_executor.hpp"
#include "aws/ecs_ssm.hpp"
#include "aws/rds.hpp"
#include "common/waiter.hpp"
#include "tests/unit/actuators/plan_steps_rig.hpp"
#include "tests/unit/actuators/plan_test_support.hpp"

namespace vigil::actuators {
namespace {

using nlohmann::json;
using test_support::step;
using namespace std::chrono_literals;

using namespace plan_rig;

TEST(plan_steps, arc_routing_control_with_one_endpoint_down) {
  auto arc = test_support::start_fake_arc(2);
  test_support::plan_aws a(test_support::fake_key, test_support::fake_secret, {});
  // Several orders: whichever comes first, the dead endpoint never stops the step.
  for (int round = 0; round < 3; ++round) {
    exec_rig r(a.client.get());
    r.deps.random = aws::default_random(static_cast<std::uint64_t>(round) + 1);
    const auto out = r.run(
        {step("fence", "arc_routing_control", arc_params(*arc, test_support::rc_arn_a, round % 2 == 0 ? "Off" : "On"))},
        req(false, "h-arc-" + std::to_string(round)));
    ASSERT_TRUE(out.ok()) << out.detail << "\n" << arc->log();
  }
  const auto st = arc->state();
  EXPECT_EQ(st["calls"].value("UpdateRoutingControlState", 0), 3) << st.dump();
  EXPECT_TRUE(st["rejected"].empty()) << st.dump();
  EXPECT_EQ(st["states"][test_support::rc_arn_a], "Off");
  // Already in the wanted state: the pre-check skips the call.
  exec_rig again(a.client.get());
  const auto out = again.run({step("fence", "arc_routing_control", arc_params(*arc, test_support::rc_arn_a, "Off"))},
                             req(false, "h-arc-again"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.rto["steps"][0]["outcome"], "already_done");
  EXPECT_EQ(arc->calls("UpdateRoutingControlState"), 3);
  // Several controls go in one UpdateRoutingControlStates call.
  auto both = arc_params(*arc, test_support::rc_arn_a, "On");
  both.erase("routing_control_arn");
  both["routing_control_arns"] = {test_support::rc_arn_a, test_support::rc_arn_b};
  exec_rig multi(a.client.get());
  ASSERT_TRUE(multi.run({step("open", "arc_routing_control", both)}, req(false, "h-arc-multi")).ok());
  EXPECT_EQ(arc->calls("UpdateRoutingControlStates"), 1);
  EXPECT_EQ(arc->state()["states"][test_support::rc_arn_b], "On");
}

TEST(plan_steps, arc_refuses_a_wrong_signature_and_fails_the_step) {
  auto arc = test_support::start_fake_arc(1);
  test_support::plan_aws bad(test_support::fake_key, "not-the-secret", {});
  exec_rig r(bad.client.get());
  const auto out =
      r.run({step("fence", "arc_routing_control", arc_params(*arc, test_support::rc_arn_a, "Off", false))});
  EXPECT_EQ(out.result, plan_result::aborted);
  EXPECT_NE(out.detail.find("InvalidSignatureException"), std::string::npos) << out.detail;
  EXPECT_EQ(arc->calls("UpdateRoutingControlState"), 0);
}

/// The params of the last request of `action` the fake received.
json last_params(const test_support::python_fake& rds, const std::string& action) {
  json out;
  const json st = rds.state();
  for (const auto& q : st["requests"]) {
    if (q["action"] == action) out = q["params"];
  }
  return out;
}

plan_request planned_req(bool planned, const std::string& hash) {
  plan_request r = req(false, hash);
  r.ctx.planned = planned;
  return r;
}

TEST(plan_steps, unplanned_failover_with_the_primary_down_sends_allow_data_loss) {
  auto rds = test_support::start_fake_rds();
  rds->post("/_fake/region", {{"region", "us-east-1"}, {"status", "unavailable"}});
  test_support::plan_aws c(test_support::fake_key, test_support::fake_secret, {{"rds", rds->url()}});
  exec_rig r(c.client.get());
  // mode auto (the default), an outage-triggered (unplanned) plan, no --allow-data-loss.
  const auto out = r.run(
      {step("promote", "aurora_global_failover", failover_params()),
       step("wait-db", "wait_db_cluster", {{"cluster", "shop-west"}, {"region", "us-west-2"}, {"poll_interval", 100}})},
      req(false));
  ASSERT_TRUE(out.ok()) << out.detail << "\n" << rds->log();
  const auto st = rds->state();
  EXPECT_TRUE(st["rejected"].empty()) << st.dump();
  EXPECT_EQ(st["calls"].value("SwitchoverGlobalCluster", 0), 0);
  const json failover = last_params(*rds, "FailoverGlobalCluster");
  EXPECT_EQ(failover["TargetDbClusterIdentifier"], test_support::west_arn);
  EXPECT_EQ(failover["AllowDataLoss"], "true") << failover.dump();
  EXPECT_GE(st["calls"].value("DescribeDBClusters", 0), 2);  // headless check, then failing-over, then available
  // The old primary was down: it is left out of the global cluster until re-added.
  ASSERT_EQ(st["members"].size(), 1U) << st.dump();
  EXPECT_EQ(st["members"][0]["arn"], test_support::west_arn);
  EXPECT_TRUE(st["members"][0]["writer"].get<bool>());
  EXPECT_EQ(st["removed"][0]["arn"], test_support::east_arn);
  const std::string journal = test_support::read_file(r.dir.path() / "plan.jsonl");
  EXPECT_NE(journal.find("FailoverGlobalCluster AllowDataLoss=true accepted"), std::string::npos) << journal;
  EXPECT_NE(journal.find("unplanned global failover"), std::string::npos) << journal;
  EXPECT_NE(journal.find("\"planned\":false"), std::string::npos) << journal;
  // Again (another approval): the target is the writer, nothing is sent.
  exec_rig again(c.client.get());
  const auto out2 = again.run({step("promote", "aurora_global_failover", failover_params())}, req(false, "hash-2"));
  ASSERT_TRUE(out2.ok());
  EXPECT_EQ(out2.rto["steps"][0]["outcome"], "already_done");
  EXPECT_EQ(rds->calls("FailoverGlobalCluster"), 1);
  // The region recovers: the old primary comes back as a secondary, and a
  // planned switchover back to it is accepted.
  rds->post("/_fake/recover", {{"arn", test_support::east_arn}});
  exec_rig back(c.client.get());
  json to_east = failover_params();
  to_east["target_cluster_arn"] = test_support::east_arn;
  to_east["region"] = "us-east-1";
  plan_request failback = planned_req(true, "hash-3");
  failback.ctx.action = "failback";
  std::swap(failback.ctx.from, failback.ctx.to);
  const auto out3 = back.run({step("promote", "aurora_global_failover", to_east)}, failback);
  ASSERT_TRUE(out3.ok()) << out3.detail;
  EXPECT_EQ(last_params(*rds, "SwitchoverGlobalCluster")["TargetDbClusterIdentifier"], test_support::east_arn);
  EXPECT_TRUE(rds->state()["rejected"].empty());
}

TEST(plan_steps, aurora_mode_chooses_the_call) {
  struct row {
    const char* mode;
    bool planned;
    const char* action;
    bool loss;
  };
  const row rows[] = {
      {"auto", false, "FailoverGlobalCluster", true},          {"auto", true, "SwitchoverGlobalCluster", false},
      {"failover", true, "FailoverGlobalCluster", true},       {"failover", false, "FailoverGlobalCluster", true},
      {"switchover", false, "SwitchoverGlobalCluster", false}, {"switchover", true, "SwitchoverGlobalCluster", false}};
  for (const auto& w : rows) {
    auto rds = test_support::start_fake_rds();  // both regions up: every call is accepted
    test_support::plan_aws c(test_support::fake_key, test_support::fake_secret, {{"rds", rds->url()}});
    exec_rig r(c.client.get());
    json params = failover_params();
    params["mode"] = w.mode;
    const std::string label = std::string(w.mode) + (w.planned ? " planned" : " unplanned");
    const auto out = r.run({step("promote", "aurora_global_failover", params)}, planned_req(w.planned, "h-" + label));
    ASSERT_TRUE(out.ok()) << label << ": " << out.detail;
    const auto st = rds->state();
    EXPECT_EQ(st["calls"].value(w.action, 0), 1) << label << " " << st.dump();
    EXPECT_EQ(st["calls"].value("FailoverGlobalCluster", 0) + st["calls"].value("SwitchoverGlobalCluster", 0), 1)
        << label;
    EXPECT_EQ(last_params(*rds, w.action).contains("AllowDataLoss"), w.loss) << label;
    // The description a drill or approver sees names the same call.
    const auto d = describe_step(step("promote", "aurora_global_failover", params), planned_req(w.planned, "d").ctx);
    ASSERT_EQ(d.calls.size(), 1U) << label;
    EXPECT_EQ(d.calls[0].operation, w.action) << label;
    EXPECT_EQ(d.calls[0].params.contains("AllowDataLoss"), w.loss) << label;
    EXPECT_NE(d.summary.find(std::string("mode ") + w.mode), std::string::npos) << d.summary;
  }
  // The headless pre-check reads the target in its own region (from its ARN).
  json east = failover_params();
  east["target_cluster_arn"] = test_support::east_arn;
  const auto d = describe_step(step("promote", "aurora_global_failover", east), req().ctx);
  ASSERT_EQ(d.prechecks.size(), 2U);
  EXPECT_EQ(d.prechecks[1].operation, "DescribeDBClusters");
  EXPECT_EQ(d.prechecks[1].params["region"], "us-east-1");
}

TEST(plan_steps, fake_rds_refuses_a_switchover_with_the_primary_down) {
  auto rds = test_support::start_fake_rds();
  rds->post("/_fake/member", {{"arn", test_support::east_arn}, {"status", "unavailable"}});
  test_support::plan_aws c(test_support::fake_key, test_support::fake_secret, {{"rds", rds->url()}});
  // Explicit switchover: the fake refuses it as AWS does, and the step fails.
  json params = failover_params();
  params["mode"] = "switchover";
  exec_rig r(c.client.get());
  const auto out = r.run({step("promote", "aurora_global_failover", params)}, req(false, "h-sw"));
  EXPECT_EQ(out.result, plan_result::aborted);
  EXPECT_NE(out.detail.find("InvalidDBClusterStateFault"), std::string::npos) << out.detail;
  // FailoverGlobalCluster without AllowDataLoss is a switchover too.
  auto bare =
      aws::failover_global_cluster(*c.client, "us-west-2", {"shop-global", test_support::west_arn, false, false});
  ASSERT_FALSE(bare);
  EXPECT_EQ(bare.error().code, "InvalidDBClusterStateFault");
  // AllowDataLoss and Switchover together are an invalid combination.
  auto both = aws::failover_global_cluster(*c.client, "us-west-2", {"shop-global", test_support::west_arn, true, true});
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code, "InvalidParameterCombination");
  const auto st = rds->state();
  EXPECT_EQ(st["rejected"].size(), 3U) << st.dump();
  EXPECT_TRUE(st["members"][0]["writer"].get<bool>()) << "nothing changed: " << st.dump();
}

TEST(plan_steps, fake_rds_refuses_what_aws_refuses) {
  auto rds = test_support::start_fake_rds();
  test_support::plan_aws c(test_support::fake_key, test_support::fake_secret, {{"rds", rds->url()}});
  const auto code = [&](const std::string& target, bool loss) {
    auto r = aws::failover_global_cluster(*c.client, "us-west-2", {"shop-global", target, loss, false});
    return r ? std::string("accepted") : r.error().code;
  };
  // Not a secondary member, the writer itself.
  EXPECT_EQ(code(test_support::third_arn, true), "DBClusterNotFoundFault");
  EXPECT_EQ(code(test_support::east_arn, true), "InvalidGlobalClusterStateFault");
  // A failover in progress: the global cluster is not available.
  rds->post("/_fake/state", {{"global_status", "failing-over"}});
  EXPECT_EQ(code(test_support::west_arn, true), "InvalidGlobalClusterStateFault");
  rds->post("/_fake/state", {{"global_status", "available"}});
  // A headless target, then a target that is down.
  rds->post("/_fake/member", {{"arn", "shop-west"}, {"instances", 0}});
  EXPECT_EQ(code(test_support::west_arn, true), "InvalidDBClusterStateFault");
  rds->post("/_fake/member", {{"arn", "shop-west"}, {"instances", 1}, {"status", "unavailable"}});
  EXPECT_EQ(code(test_support::west_arn, true), "InvalidDBClusterStateFault");
  EXPECT_EQ(rds->state()["rejected"].size(), 5U);
  // An unknown control is refused too.
  rds->post("/_fake/member", {{"arn", "nope"}, {"status", "available"}});
  EXPECT_EQ(rds->state()["members"][1]["status"], "unavailable");
  rds->post("/_fake/member", {{"arn", "shop-west"}, {"status", "available"}});
  EXPECT_EQ(code(test_support::west_arn, false), "accepted");  // both up: a switchover is fine
}

TEST(plan_steps, headless_secondary_is_refused_before_any_change) {
  auto rds = test_support::start_fake_rds();
  rds->post("/_fake/member", {{"arn", test_support::west_arn}, {"instances", 0}});
  test_support::plan_aws c(test_support::fake_key, test_support::fake_secret, {{"rds", rds->url()}});
  exec_rig r(c.client.get());
  const auto out =
      r.run({step("promote", "aurora_global_failover", failover_params(), common::on_failure::continue_, 2)});
  EXPECT_EQ(out.result, plan_result::aborted);
  EXPECT_NE(out.detail.find("headless"), std::string::npos) << out.detail;
  EXPECT_EQ(rds->calls("FailoverGlobalCluster"), 0);
  EXPECT_EQ(rds->calls("SwitchoverGlobalCluster"), 0);
}

TEST(plan_steps, step_that_never_allows_loss_refuses_an_unplanned_failover) {
  auto rds = test_support::start_fake_rds();
  test_support::plan_aws c(test_support::fake_key, test_support::fake_secret, {{"rds", rds->url()}});
  json params = failover_params();
  params["allow_data_loss"] = false;
  exec_rig r(c.client.get());
  const auto out = r.run({step("promote", "aurora_global_failover", params)}, req(true, "h-never"));
  EXPECT_EQ(out.result, plan_result::aborted);
  EXPECT_NE(out.detail.find("allow_data_loss: false"), std::string::npos) << out.detail;
  EXPECT_EQ(rds->calls("FailoverGlobalCluster"), 0);
  // A planned run of the same step switches over: no loss involved.
  exec_rig planned(c.client.get());
  ASSERT_TRUE(planned.run({step("promote", "aurora_global_failover", params)}, planned_req(true, "h-never-2")).ok());
  EXPECT_EQ(rds->calls("SwitchoverGlobalCluster"), 1);
}

TEST(plan_steps, failed_over_elsewhere_aborts_with_a_clear_reason) {
  auto rds = test_support::start_fake_rds();
  rds->post("/_fake/state", {{"members",
                              {{{"arn", test_support::east_arn}, {"writer", false}},
                               {{"arn", test_support::west_arn}, {"writer", false}},
                               {{"arn", test_support::third_arn}, {"writer", true}}}}});
  test_support::plan_aws c(test_support::fake_key, test_support::fake_secret, {{"rds", rds->url()}});
  exec_rig r(c.client.get());
  const auto out =
      r.run({step("promote", "aurora_global_failover", failover_params(), common::on_failure::continue_, 3),
             step("after", "exec", {{"command", {"/bin/true"}}})});
  EXPECT_EQ(out.result, plan_result::aborted);
  EXPECT_NE(out.detail.find("shop-eu"), std::string::npos) << out.detail;
  EXPECT_NE(out.detail.find("eu-west-1"), std::string::npos) << out.detail;
  EXPECT_EQ(rds->calls("FailoverGlobalCluster"), 0);
  EXPECT_EQ(rds->calls("DescribeGlobalClusters"), 1);  // unexpected_state is not retried
  EXPECT_EQ(out.rto["steps"][1]["outcome"], "skipped");
}

TEST(plan_steps, planned_switchover) {
  auto rds = test_support::start_fake_rds();
  test_support::plan_aws c(test_support::fake_key, test_support::fake_secret, {{"rds", rds->url()}});
  exec_rig r(c.client.get());
  ASSERT_TRUE(r.run({step("switch", "aurora_switchover", failover_params())}).ok());
  EXPECT_EQ(rds->calls("SwitchoverGlobalCluster"), 1);
  EXPECT_EQ(rds->calls("FailoverGlobalCluster"), 0);
}

// --- crash safety ---------------------------------------------------------------

struct crash_rig {
  std::unique_ptr<test_support::python_fake> arc = test_support::start_fake_arc(2);
  std::unique_ptr<test_support::python_fake> rds = test_support::start_fake_rds();
  test_support::temp_dir dir{"plan-crash"};
  std::string counter = (dir.path() / "exec-count").string();

  common::plan_config plan() const {
    common::plan_config p;
    p.dry_run = false;
    const auto exec_step = [&](const char* name) {
      return step(name, "exec", {{"command", {"/bin/sh", "-c", "echo $VIGIL_STEP $VIGIL_RESUMED >> " + counter}}});
    };
    p.steps = {
        step("fence-primary", "arc_routing_control", arc_params(*arc, test_support::rc_arn_a, "Off")),
        step("promote-db", "aurora_global_failover", failover_params()),
        step("wait-db", "wait_db_cluster", {{"cluster", "shop-west"}, {"region", "us-west-2"}, {"poll_interval", 100}}),
        step("shift-traffic", "arc_routing_control", arc_params(*arc, test_support::rc_arn_b, "On")),
        exec_step("activate"),
        exec_step("announce")};
    return p;
  }

  /// Runs the plan in a child process that stops (and tells us) when `stop_at`
  /// says so; we then SIGKILL it. Returns after the kill.
  void run_child_and_kill(const std::function<bool(std::size_t, const std::string&)>& stop_at,
                          std::size_t in_flight_step = 99) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      test_support::plan_aws c(test_support::fake_key, test_support::fake_secret, {{"rds", rds->url()}});
      plan_journal journal(dir.path() / "plan.jsonl");
      common::cv_waiter wait;
      step_deps deps;
      deps.aws = c.client.get();
      auto real = make_step_factory(deps);
      std::size_t index = 0;
      const auto p = plan();
      // Wraps the real runners: the in-flight step makes its call, then hangs.
      struct hang_after_run final : step_runner {
        std::unique_ptr<step_runner> inner;
        int fd;
        step_outcome precheck(const step_context& ctx) override { return inner->precheck(ctx); }
        step_outcome run(const step_context& ctx) override {
          (void)inner->run(ctx);
          (void)!::write(fd, "x", 1);
          ::pause();
          return step_outcome::failed("unreachable");
        }
      };
      step_factory f = [&](const common::plan_step_config& s) -> std::unique_ptr<step_runner> {
        auto r = real(s);
        if (index++ != in_flight_step) return r;
        auto h = std::make_unique<hang_after_run>();
        h->inner = std::move(r);
        h->fd = fds[1];
        return h;
      };
      plan_executor exec(journal, f, c.clock, wait, nullptr, executor_options{false, 0ms, 10ms, 50ms});
      executor_events ev;
      ev.on_step = [&](std::size_t i, const std::string&, const std::string& status, const std::string&) {
        if (stop_at(i, status)) {
          (void)!::write(fds[1], "x", 1);
          ::pause();  // killed here
        }
      };
      const auto r = req();
      (void)exec.execute(p, r, approval_ref{r.ctx.recommendation_hash, r.ctx.approvers}, ev);
      ::_exit(3);  // must not get here
    }
    ::close(fds[1]);
    char b = 0;
    ASSERT_EQ(::read(fds[0], &b, 1), 1) << "the child ended before the crash point";
    ::close(fds[0]);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  }

  plan_outcome restart() {
    test_support::plan_aws c(test_support::fake_key, test_support::fake_secret, {{"rds", rds->url()}});
    plan_journal journal(dir.path() / "plan.jsonl");
    common::cv_waiter wait;
    step_deps deps;
    deps.aws = c.client.get();
    plan_executor exec(journal, make_step_factory(deps), c.clock, wait, nullptr,
                       executor_options{false, 0ms, 10ms, 50ms});
    const auto plans = journal.plans();
    EXPECT_EQ(plans.size(), 1u);
    EXPECT_FALSE(plans.at(0).ended());
    return exec.execute(plan(), plan_executor::request_from(plans.at(0)), plan_executor::approval_from(plans.at(0)));
  }

  void expect_exactly_once() {
    EXPECT_EQ(arc->calls("UpdateRoutingControlState"), 2) << arc->state().dump();
    EXPECT_EQ(rds->calls("FailoverGlobalCluster"), 1);
    EXPECT_TRUE(arc->state()["rejected"].empty());
    EXPECT_TRUE(rds->state()["rejected"].empty());
    EXPECT_EQ(test_support::read_file(counter), "activate 0\nannounce 0\n");
  }
};

TEST(plan_crash, sigkill_after_the_second_step_then_restart_completes_exactly_once) {
  crash_rig r;
  r.run_child_and_kill([](std::size_t i, const std::string& status) { return i == 1 && status == "done"; });
  EXPECT_EQ(r.arc->calls("UpdateRoutingControlState"), 1);
  EXPECT_EQ(r.rds->calls("FailoverGlobalCluster"), 1);
  const auto out = r.restart();
  ASSERT_TRUE(out.ok()) << out.detail;
  EXPECT_TRUE(out.resumed);
  r.expect_exactly_once();
  EXPECT_EQ(out.rto["steps"].size(), 6u);
}

TEST(plan_crash, sigkill_while_a_call_is_in_flight_rechecks_instead_of_repeating) {
  crash_rig r;
  // shift-traffic (index 3) sends its UpdateRoutingControlState, then the process dies
  // before the result is journaled.
  r.run_child_and_kill([](std::size_t, const std::string&) { return false; }, 3);
  EXPECT_EQ(r.arc->calls("UpdateRoutingControlState"), 2);
  const auto out = r.restart();
  ASSERT_TRUE(out.ok()) << out.detail;
  EXPECT_EQ(out.rto["steps"][3]["outcome"], "already_done");
  r.expect_exactly_once();
}

}  // namespace
}  // namespace vigil::actuators
