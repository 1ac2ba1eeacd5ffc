#include "decision/gates.hpp"

#include <gtest/gtest.h>

namespace vigil::decision {

namespace {
const time_point now{std::chrono::milliseconds{1'795'000'000'000}};

gate_inputs base(const params& p) {
  gate_inputs in;
  in.p = &p;
  in.now = now;
  in.primary = "us-east-1";
  in.dr = "us-west-2";
  in.primary_declared = classification::regional_outage;
  in.primary_since = now - duration{5000};
  in.dr_declared = classification::healthy;
  in.lag_latest = lag_sample{now - duration{2000}, duration{800}, std::nullopt};
  in.lag_last_value = in.lag_latest;
  in.leader = true;
  return in;
}

const gate_result& gate(const gate_evaluation& e, gate_name n) {
  for (const auto& g : e.gates) {
    if (g.name == n) return g;
  }
  throw std::runtime_error("no gate");
}
}  // namespace

TEST(Gates, AllPassInFixedOrder) {
  const params p;
  const auto e = evaluate_gates(base(p));
  ASSERT_EQ(e.gates.size(), 6U);
  const std::vector<gate_name> order{gate_name::primary_regional, gate_name::dr_healthy,   gate_name::replication_lag,
                                     gate_name::cooldown,         gate_name::not_silenced, gate_name::leader};
  for (std::size_t i = 0; i < order.size(); ++i) {
    EXPECT_EQ(e.gates[i].name, order[i]);
    EXPECT_TRUE(e.gates[i].ok) << e.gates[i].detail;
  }
  EXPECT_FALSE(e.allow_data_loss_required);
  EXPECT_EQ(e.expected_data_loss_ms, 800);
}

TEST(Gates, DrUnhealthyBlocks) {
  const params p;
  auto in = base(p);
  in.dr_declared = classification::service_degraded;
  const auto e = evaluate_gates(in);
  EXPECT_FALSE(gate(e, gate_name::dr_healthy).ok);
  EXPECT_TRUE(gate(e, gate_name::dr_healthy).blocking);
  in.dr_declared = classification::healthy;
  in.dr_gate_checks_not_up = 1;
  EXPECT_FALSE(gate(evaluate_gates(in), gate_name::dr_healthy).ok);
}

TEST(Gates, LagAboveBudgetDoesNotBlockButRequiresDataLoss) {
  const params p;
  auto in = base(p);
  in.lag_latest = lag_sample{now - duration{1000}, duration{9000}, std::nullopt};
  in.lag_last_value = in.lag_latest;
  const auto e = evaluate_gates(in);
  EXPECT_FALSE(gate(e, gate_name::replication_lag).ok);
  EXPECT_FALSE(gate(e, gate_name::replication_lag).blocking);
  EXPECT_TRUE(e.allow_data_loss_required);
  EXPECT_EQ(e.expected_data_loss_ms, 9000);
}

TEST(Gates, UnknownAndStaleLagStateTheBound) {
  const params p;
  auto in = base(p);
  in.lag_latest = lag_sample{now - duration{1000}, std::nullopt, std::nullopt};  // unreachable now
  in.lag_last_value = lag_sample{now - duration{45000}, duration{800}, std::nullopt};
  auto e = evaluate_gates(in);
  EXPECT_TRUE(e.allow_data_loss_required);
  EXPECT_EQ(e.expected_data_loss_ms, 45800);
  EXPECT_NE(gate(e, gate_name::replication_lag).detail.find("45.8s"), std::string::npos)
      << gate(e, gate_name::replication_lag).detail;
  in.lag_last_value.reset();
  e = evaluate_gates(in);
  EXPECT_TRUE(e.allow_data_loss_required);
  EXPECT_FALSE(e.expected_data_loss_ms.has_value());
  params none;
  none.lag_source_configured = false;
  in.p = &none;
  EXPECT_TRUE(evaluate_gates(in).allow_data_loss_required);
}

TEST(Gates, CooldownUnlessAcknowledged) {
  const params p;
  auto in = base(p);
  in.last_failover = now - duration{600000};
  EXPECT_FALSE(gate(evaluate_gates(in), gate_name::cooldown).ok);
  in.cooldown_acknowledged = true;
  in.cooldown_acknowledged_by = "bob";
  EXPECT_TRUE(gate(evaluate_gates(in), gate_name::cooldown).ok);
  in.cooldown_acknowledged = false;
  in.last_failover = now - p.cooldown;
  EXPECT_TRUE(gate(evaluate_gates(in), gate_name::cooldown).ok);
}

TEST(Gates, SilenceAndLeader) {
  const params p;
  auto in = base(p);
  std::vector<silence_spec> s{{"s1", "us-west-2", "carol", "maintenance", now + duration{60000}}};
  in.silences = s;
  in.leader = false;
  const auto e = evaluate_gates(in);
  EXPECT_FALSE(gate(e, gate_name::not_silenced).ok);
  EXPECT_FALSE(gate(e, gate_name::leader).ok);
  std::vector<silence_spec> other{{"s2", "eu-west-1", "carol", "", now + duration{60000}}};
  in.silences = other;
  EXPECT_TRUE(gate(evaluate_gates(in), gate_name::not_silenced).ok);
}

TEST(Gates, FailbackNeedsHealthyPrimaryAndLagWithinBudget) {
  const params p;
  auto in = base(p);
  in.action = action_kind::failback;
  in.primary_declared = classification::healthy;
  auto e = evaluate_gates(in);
  EXPECT_EQ(e.gates.front().name, gate_name::primary_healthy);
  EXPECT_TRUE(e.gates.front().ok);
  EXPECT_TRUE(gate(e, gate_name::replication_lag).blocking);
  in.lag_latest = lag_sample{now, std::nullopt, std::nullopt};
  in.lag_last_value.reset();
  e = evaluate_gates(in);
  EXPECT_FALSE(gate(e, gate_name::replication_lag).ok);
}

}  // namespace vigil::decision

namespace vigil::decision {

TEST(GatesReadiness, AbsentWhenReadinessIsOff) {
  const params p;  // readiness off: no loop configured
  auto in = base(p);
  in.readiness = plan_readiness{false, "ecs.api.max_capacity", now};
  for (const auto& g : evaluate_gates(in).gates)
    EXPECT_NE(g.name, gate_name::dr_ready);
}

TEST(GatesReadiness, AdvisoryGateFailsWithoutBlockingAfterDrHealthy) {
  params p;
  p.readiness = readiness_gate::advisory;
  auto in = base(p);
  in.readiness = plan_readiness{false, "ecs.api.max_capacity: 0 < 4", now - duration{90000}};
  const auto e = evaluate_gates(in);
  ASSERT_EQ(e.gates.size(), 7U);
  EXPECT_EQ(e.gates[1].name, gate_name::dr_healthy);
  EXPECT_EQ(e.gates[2].name, gate_name::dr_ready);
  const auto& g = gate(e, gate_name::dr_ready);
  EXPECT_FALSE(g.ok);
  EXPECT_FALSE(g.blocking);
  EXPECT_NE(g.detail.find("not ready 90s ago"), std::string::npos) << g.detail;
  EXPECT_NE(g.detail.find("ecs.api.max_capacity: 0 < 4"), std::string::npos) << g.detail;
}

TEST(GatesReadiness, BlockingGateNeverCheckedFailsAndReadyPasses) {
  params p;
  p.readiness = readiness_gate::blocking;
  auto in = base(p);
  const auto unknown = gate(evaluate_gates(in), gate_name::dr_ready);
  EXPECT_FALSE(unknown.ok);
  EXPECT_TRUE(unknown.blocking);
  EXPECT_NE(unknown.detail.find("not been checked"), std::string::npos) << unknown.detail;
  in.readiness = plan_readiness{true, "31 items ok", now - duration{1000}};
  const auto ready = gate(evaluate_gates(in), gate_name::dr_ready);
  EXPECT_TRUE(ready.ok);
  EXPECT_NE(ready.detail.find("ready 1s ago: 31 items ok"), std::string::npos) << ready.detail;
}

TEST(GatesReadiness, PlannedMoveShowsItAfterPrimaryHealthy) {
  params p;
  p.readiness = readiness_gate::advisory;
  auto in = base(p);
  in.action = action_kind::failback;
  in.primary_declared = classification::healthy;
  in.readiness = plan_readiness{true, "", now};
  const auto e = evaluate_gates(in);
  ASSERT_GE(e.gates.size(), 2U);
  EXPECT_EQ(e.gates[0].name, gate_name::primary_healthy);
  EXPECT_EQ(e.gates[1].name, gate_name::dr_ready);
  EXPECT_NE(e.gates[1].detail.find("failback plan"), std::string::npos) << e.gates[1].detail;
}

}  // namespace vigil::decision
