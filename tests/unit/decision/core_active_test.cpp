// The active region as state (core::set_active): with the dr active the roles
// swap for classification consequences, gates, pages and recommendations; the
// topology keeps its configured (home) roles.
#include <gtest/gtest.h>

#include "decision/continuity.hpp"
#include "harness.hpp"

namespace vigil::decision::testing {

namespace {

const char* e1 = "us-east-1";
const char* w2 = "us-west-2";
constexpr region_index east = 0;
constexpr region_index west = 1;

/// 20 s healthy, then us-west-2 (the configured dr) made the active region.
harness dr_active(const topology& topo) {
  harness h(topo);
  h.run(duration{20000});
  h.c.set_active(west, h.now, "failover-us-east-1-x-r1", {"alice"});
  h.run(duration{2000});
  return h;
}

std::vector<std::string> gate_names_of(const recommendation& r) {
  std::vector<std::string> out;
  for (const auto& g : r.gates)
    out.emplace_back(to_string(g.name));
  return out;
}

const gate_result& gate(const recommendation& r, gate_name n) {
  for (const auto& g : r.gates) {
    if (g.name == n) return g;
  }
  throw std::logic_error("no gate " + std::string(to_string(n)));
}

/// 30 s of a regional outage of us-east-1 that recommends nothing: the last page's summary.
std::string outage_of_east_page(harness& h, const topology& topo) {
  h.probe = region_down(topo, east);
  h.run(duration{30000});
  EXPECT_EQ(h.declared(e1), classification::regional_outage);
  EXPECT_FALSE(h.c.current_recommendation());
  const auto pages = h.all<page>();
  return pages.empty() ? std::string{} : pages.back().summary;
}

}  // namespace

TEST(CoreActive, StartsWithTheConfiguredPrimary) {
  harness h(make_test_topology());
  EXPECT_EQ(h.c.active().region, e1);
  EXPECT_EQ(h.c.active().state, active_mode::active);
  const auto j = to_json(h.c.status());
  EXPECT_EQ(j["active"]["region"], e1);
  EXPECT_TRUE(j["active"]["since"].is_null());
  EXPECT_EQ(j["active"]["state"], "active");
}

TEST(CoreActive, OutageOfTheActiveDrRecommendsFailbackWithTheOutageGates) {
  const auto topo = make_test_topology();
  harness h = dr_active(topo);
  const auto st = h.c.status();
  EXPECT_EQ(st.regions[west].role, region_role::primary);
  EXPECT_EQ(st.regions[east].role, region_role::dr);
  EXPECT_EQ(h.c.topo().primary(), east);  // the configured roles stay
  h.probe = region_down(topo, west);
  h.run(duration{30000});
  EXPECT_EQ(h.declared(w2), classification::regional_outage);
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->action, action_kind::failback);
  EXPECT_EQ(rec->from, w2);
  EXPECT_EQ(rec->to, e1);
  EXPECT_EQ(rec->state, recommendation_state::pending_approval) << rec->reason;
  EXPECT_EQ(gate_names_of(*rec), (std::vector<std::string>{"primary_regional", "dr_healthy", "replication_lag",
                                                           "cooldown", "not_silenced", "leader"}));
  EXPECT_NE(gate(*rec, gate_name::primary_regional).detail.find(w2), std::string::npos);
  EXPECT_NE(gate(*rec, gate_name::dr_healthy).detail.find(e1), std::string::npos);
  EXPECT_FALSE(gate(*rec, gate_name::replication_lag).blocking);
  EXPECT_EQ(rec->evidence["primary"]["name"], w2);
  bool named = false;
  for (const auto& p : h.all<page>()) {
    if (p.kind != page_kind::regional_outage) continue;
    EXPECT_EQ(p.summary.find("primary us-west-2 regional outage"), 0U) << p.summary;
    if (p.summary.find("failback to us-east-1 recommended") != std::string::npos) named = true;
    EXPECT_EQ(p.details["role"], "primary");
  }
  EXPECT_TRUE(named);

  // Approved and executed: the cooldown starts as for any move away from an outage.
  const auto r = h.c.approve(h.approval_for("alice"), h.now);
  EXPECT_TRUE(r.execute) << r.detail;
  h.run(duration{1000});  // collects the execute_plan event
  const auto ex = h.all<execute_plan>();
  ASSERT_EQ(ex.size(), 1U);
  EXPECT_EQ(ex[0].action, action_kind::failback);
  EXPECT_EQ(ex[0].from, w2);
  h.c.plan_started(rec->id, h.now);
  EXPECT_TRUE(h.c.status().cooldown.last_failover_at);
}

TEST(CoreActive, FailbackIsBlockedWhenTheOtherRegionIsNotHealthy) {
  const auto topo = make_test_topology();
  harness h = dr_active(topo);
  const auto k = *topo.find_check("api-web@us-east-1");
  h.probe = [&topo, k](vantage_index, check_index c, time_point) {
    return std::optional(topo.checks[c].region == west || c == k ? outcome::timeout : outcome::ok);
  };
  h.run(duration{30000});
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->action, action_kind::failback);
  EXPECT_EQ(rec->state, recommendation_state::blocked);
  EXPECT_FALSE(gate(*rec, gate_name::dr_healthy).ok);
  EXPECT_NE(gate(*rec, gate_name::dr_healthy).detail.find("us-east-1 is service_degraded"), std::string::npos)
      << gate(*rec, gate_name::dr_healthy).detail;
}

TEST(CoreActive, ServiceDegradedInTheNewPrimaryIsNoFailover) {
  const auto topo = make_test_topology();
  harness h = dr_active(topo);
  const auto k = *topo.find_check("checkout@us-west-2");
  h.probe = [k](vantage_index, check_index c, time_point) {
    return std::optional(c == k ? outcome::http_status : outcome::ok);
  };
  h.run(duration{60000});
  EXPECT_EQ(h.declared(w2), classification::service_degraded);
  EXPECT_FALSE(h.c.current_recommendation());
  const auto pages = h.all<page>();
  ASSERT_FALSE(pages.empty());
  EXPECT_EQ(pages.back().summary.find("primary us-west-2 service degraded"), 0U) << pages.back().summary;
}

TEST(CoreActive, OutageOfTheHomePrimaryWhileTheDrIsActiveRecommendsNothing) {
  const auto topo = make_test_topology();
  harness h = dr_active(topo);
  const std::string summary = outage_of_east_page(h, topo);
  EXPECT_NE(summary.find("dr us-east-1 regional outage"), std::string::npos) << summary;
  EXPECT_NE(summary.find("no failover applies"), std::string::npos) << summary;
}

TEST(CoreActive, ProposeFailbackWhileTheDrIsActiveIsAPlannedMoveHome) {
  const auto topo = make_test_topology();
  harness h = dr_active(topo);
  const auto refused = h.c.propose(action_kind::failover, "bob", h.now);
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.reason.find("already the active region"), std::string::npos) << refused.reason;
  const auto res = h.c.propose(action_kind::failback, "bob", h.now);
  ASSERT_TRUE(res.ok) << res.reason;
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->from, w2);
  EXPECT_EQ(rec->to, e1);
  EXPECT_EQ(gate_names_of(*rec),
            (std::vector<std::string>{"primary_healthy", "replication_lag", "cooldown", "not_silenced", "leader"}));
  EXPECT_TRUE(gate(*rec, gate_name::replication_lag).blocking);
  EXPECT_EQ(rec->state, recommendation_state::pending_approval) << rec->reason;
  h.run(duration{5000});  // stays open: a planned move is not withdrawn while both regions are healthy
  EXPECT_EQ(h.c.current_recommendation()->state, recommendation_state::pending_approval);
  const auto r = h.c.approve(h.approval_for("carol"), h.now);
  EXPECT_TRUE(r.execute) << r.detail;
  h.c.plan_started(rec->id, h.now);
  EXPECT_FALSE(h.c.status().cooldown.last_failover_at);  // a planned move starts no cooldown
  h.c.plan_finished(rec->id, true, "", h.now);
  h.c.set_active(east, h.now, rec->id, {"carol"});
  EXPECT_EQ(h.c.active().region, e1);
  EXPECT_EQ(h.c.status().regions[east].role, region_role::primary);
}

TEST(CoreActive, SplitRecommendsNothingUntilAnOperatorProposes) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  h.c.set_active_state(active_mode::split, "promote-db done, shift-traffic failed", h.now);
  const std::string summary = outage_of_east_page(h, topo);
  EXPECT_NE(summary.find("split"), std::string::npos) << summary;
  // The operator proposes the move to finish (either direction is allowed while split).
  const auto res = h.c.propose(action_kind::failover, "bob", h.now);
  ASSERT_TRUE(res.ok) << res.reason;
  EXPECT_EQ(h.c.current_recommendation()->to, w2);
  h.c.set_active(west, h.now, res.reason, {"bob"});
  EXPECT_EQ(h.c.active().state, active_mode::active);
  EXPECT_TRUE(h.c.active().detail.empty());
}

TEST(CoreActive, ANewActiveRegionForgetsTheLagOfTheOldDirection) {
  harness h(make_test_topology());
  h.run(duration{10000});
  ASSERT_TRUE(h.c.status().lag.ms);
  h.c.set_active(west, h.now);
  EXPECT_FALSE(h.c.status().lag.ms);
  active_region unknown;
  unknown.region = "eu-central-1";
  unknown.since = h.now;
  EXPECT_FALSE(h.c.restore_active(unknown));
  EXPECT_EQ(h.c.active().region, w2);
}

TEST(CoreActive, TheActiveRegionTravelsInTheDecisionStateAndTheNewerCopyWins) {
  const auto topo = make_test_topology();
  harness leader = dr_active(topo);
  const auto state = continuity_from_json(nlohmann::json::parse(to_json(leader.c.continuity_state()).dump()));
  ASSERT_TRUE(state.active);
  EXPECT_EQ(state.active->region, w2);
  EXPECT_EQ(state.active->recommendation_id, "failover-us-east-1-x-r1");
  EXPECT_EQ(state.active->approved_by, std::vector<std::string>{"alice"});
  harness successor(topo, false);
  successor.c.adopt(state);
  EXPECT_EQ(successor.c.active().region, w2);
  EXPECT_EQ(successor.c.active().since, leader.c.active().since);
  // An older copy does not undo a newer one.
  continuity old = state;
  old.active->region = e1;
  old.active->changed = state.active->changed - duration{1000};
  successor.c.adopt(old);
  EXPECT_EQ(successor.c.active().region, w2);
  // A document without "active" (written before it existed) leaves it as it is.
  nlohmann::json j = to_json(state);
  j.erase("active");
  successor.c.adopt(continuity_from_json(j));
  EXPECT_EQ(successor.c.active().region, w2);
  EXPECT_THROW((void)active_region_from_json(nlohmann::json{{"region", ""}}), std::invalid_argument);
}

}  // namespace vigil::decision::testing
