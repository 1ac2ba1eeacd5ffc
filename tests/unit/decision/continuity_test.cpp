// Decision state continuity (decision/continuity.hpp): core::continuity_state
// and core::adopt. A restarted core keeps the recommendation's id and hash (a
// token signed before the restart is accepted after it) and the cooldown; a
// follower continues the leader's incident id, closes what the leader
// resolved without paging, and never revises the leader's recommendation.
#include "decision/continuity.hpp"

#include <gtest/gtest.h>

#include "harness.hpp"

namespace vigil::decision::testing {

namespace {

const char* e1 = "us-east-1";

probe_fn all_ok() {
  return [](vantage_index, check_index, time_point) { return std::optional(outcome::ok); };
}

/// The state as it travels: through JSON text and back.
continuity wire(const core& c) {
  return continuity_from_json(nlohmann::json::parse(to_json(c.continuity_state()).dump()));
}

/// 20 s healthy, then 30 s of a regional outage of the primary: an incident and a recommendation.
harness in_outage(const topology& topo, bool leader = true) {
  harness h(topo, leader);
  h.run(duration{20000});
  h.probe = region_down(topo, 0);
  h.run(duration{30000});
  return h;
}

std::string incident_of(const harness& h) {
  const auto st = h.c.status();
  return st.incident ? st.incident->id : std::string{};
}

}  // namespace

TEST(Continuity, RoundTripKeepsIncidentsRecommendationAndCooldown) {
  const auto topo = make_test_topology();
  harness h = in_outage(topo);
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  h.c.plan_started(rec->id, h.now);
  h.c.acknowledge_cooldown("bob", h.now);
  const continuity c = wire(h.c);
  ASSERT_EQ(c.incidents.size(), 1U);
  EXPECT_EQ(c.incidents[0].incident_id, incident_of(h));
  EXPECT_EQ(c.incidents[0].region, e1);
  EXPECT_EQ(c.incidents[0].kind, page_kind::regional_outage);
  EXPECT_FALSE(c.incidents[0].content_key.empty());
  ASSERT_TRUE(c.rec);
  EXPECT_EQ(c.rec->id, rec->id);
  EXPECT_EQ(c.rec->hash, rec->hash);
  EXPECT_EQ(c.rec->created_at, rec->created_at);
  EXPECT_EQ(c.rec->state, recommendation_state::executing);
  ASSERT_TRUE(c.last_failover);
  EXPECT_EQ(*c.last_failover, h.now);
  EXPECT_TRUE(c.cooldown_acknowledged);
  EXPECT_EQ(c.cooldown_acknowledged_by, "bob");

  // A recommendation whose content does not match its hash is refused, naming the field.
  nlohmann::json j = to_json(h.c.continuity_state());
  j["recommendation"]["gates"][0]["ok"] = !j["recommendation"]["gates"][0]["ok"].get<bool>();
  try {
    (void)continuity_from_json(j);
    FAIL() << "tampered content accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("recommendation.hash"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)continuity_from_json(nlohmann::json{{"incidents", 3}}), std::invalid_argument);

  // `planned` is kept and hashed; a record written before it existed reads as unplanned.
  j = to_json(h.c.continuity_state());
  EXPECT_EQ(j["recommendation"]["planned"], false);
  j["recommendation"].erase("planned");
  const continuity old = continuity_from_json(j);
  ASSERT_TRUE(old.rec);
  EXPECT_FALSE(old.rec->planned);
  EXPECT_EQ(old.rec->hash, rec->hash);
  j["recommendation"]["planned"] = true;  // flipping it breaks the hash
  EXPECT_THROW((void)continuity_from_json(j), std::invalid_argument);
}

TEST(Continuity, RestartKeepsRecommendationIdAndHashSoAnEarlierTokenIsAccepted) {
  const auto topo = make_test_topology();
  harness h = in_outage(topo);
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  ASSERT_EQ(rec->state, recommendation_state::pending_approval);
  const verified_approval token = h.approval_for("alice", true);  // signed before the restart

  harness h2(topo);  // the restarted engine: same virtual time, a fresh core
  h2.now = h.now;
  h2.probe = h.probe;
  h2.c.adopt(wire(h.c));
  // Right after the restart the primary is not classified yet: not approvable, not revised either.
  EXPECT_EQ(h2.c.approve(token, h2.now).reason, approval_reason::blocked);
  h2.run(duration{20000});
  ASSERT_EQ(h2.declared(e1), classification::regional_outage);
  const auto rec2 = h2.c.current_recommendation();
  ASSERT_TRUE(rec2);
  EXPECT_EQ(rec2->id, rec->id);
  EXPECT_EQ(rec2->hash, rec->hash);
  EXPECT_EQ(rec2->state, recommendation_state::pending_approval);
  for (const auto& p : h2.all<page>())
    EXPECT_NE(p.action, page_action::trigger) << p.incident_id;
  const auto res = h2.c.approve(token, h2.now);
  EXPECT_TRUE(res.accepted) << to_string(res.reason) << " " << res.detail;
  EXPECT_TRUE(res.execute);
}

TEST(Continuity, RestartKeepsCooldownAndItsAcknowledgement) {
  const auto topo = make_test_topology();
  harness h = in_outage(topo);
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  h.c.plan_started(rec->id, h.now);
  h.c.plan_finished(rec->id, true, "", h.now);
  const auto failed_over = h.now;

  harness h2(topo);
  h2.now = h.now;
  h2.c.adopt(wire(h.c));
  auto cd = h2.c.status().cooldown;
  ASSERT_TRUE(cd.last_failover_at);
  EXPECT_EQ(*cd.last_failover_at, failed_over);
  EXPECT_FALSE(cd.acknowledged);

  h2.c.acknowledge_cooldown("bob", h2.now);
  harness h3(topo);
  h3.now = h2.now;
  h3.c.adopt(wire(h2.c));
  cd = h3.c.status().cooldown;
  ASSERT_TRUE(cd.last_failover_at);
  EXPECT_TRUE(cd.acknowledged);
  EXPECT_EQ(cd.acknowledged_by, "bob");
}

TEST(Continuity, FollowerContinuesTheLeadersIncidentAndKeepsItsRecommendation) {
  const auto topo = make_test_topology();
  harness leader(topo);
  harness follower(topo, /*leader=*/false);
  leader.run(duration{20000});
  leader.probe = region_down(topo, 0);
  leader.run(duration{30000});
  follower.run(duration{24000});  // it sees the outage four seconds later: another incident id
  follower.probe = region_down(topo, 0);
  follower.run(duration{26000});
  ASSERT_EQ(follower.now, leader.now);
  const std::string x = incident_of(leader);
  ASSERT_FALSE(x.empty());
  ASSERT_FALSE(incident_of(follower).empty());
  ASSERT_NE(incident_of(follower), x);
  const auto rec = leader.c.current_recommendation();
  ASSERT_TRUE(rec);

  follower.events.clear();
  follower.c.adopt(wire(leader.c));
  follower.run(duration{10000});
  leader.run(duration{10000});
  EXPECT_EQ(incident_of(follower), x);
  auto frec = follower.c.current_recommendation();
  ASSERT_TRUE(frec);
  // Its own `leader` gate fails, but it shows the leader's recommendation as it is.
  EXPECT_EQ(frec->id, rec->id);
  EXPECT_EQ(frec->hash, rec->hash);
  for (const auto& p : follower.all<page>())
    EXPECT_NE(p.action, page_action::trigger) << p.incident_id;

  // Leadership moves to the follower: the same incident, the same recommendation (its gates agree).
  follower.c.adopt(wire(leader.c));
  follower.c.set_leader(true);
  follower.events.clear();
  follower.run(duration{5000});
  EXPECT_EQ(incident_of(follower), x);
  frec = follower.c.current_recommendation();
  ASSERT_TRUE(frec);
  EXPECT_EQ(frec->id, rec->id);
  EXPECT_EQ(frec->hash, rec->hash);
  const auto res = follower.c.approve(leader.approval_for("alice", true), follower.now);
  EXPECT_TRUE(res.accepted) << to_string(res.reason) << " " << res.detail;

  // The region recovers: the new leader resolves the incident under the leader's id, once.
  follower.probe = all_ok();
  follower.run(duration{60000});
  const auto pages = follower.all<page>();
  std::size_t resolves = 0;
  for (const auto& p : pages) {
    EXPECT_EQ(p.incident_id, x);
    EXPECT_NE(p.action, page_action::trigger);
    resolves += p.action == page_action::resolve ? 1U : 0U;
  }
  EXPECT_EQ(resolves, 1U);
}

TEST(Continuity, IncidentTheLeaderResolvedIsClosedWithoutAPageAndNotReopened) {
  const auto topo = make_test_topology();
  harness leader = in_outage(topo);
  harness follower = in_outage(topo, /*leader=*/false);
  follower.c.adopt(wire(leader.c));
  const std::string x = incident_of(leader);
  leader.probe = all_ok();
  leader.run(duration{40000});
  ASSERT_TRUE(incident_of(leader).empty());
  // The follower still sees the outage (say its vantages lag); the leader's state says resolved.
  follower.run(duration{40000});
  ASSERT_EQ(incident_of(follower), x);
  follower.events.clear();
  const continuity c = wire(leader.c);
  ASSERT_TRUE(c.incidents.empty());
  ASSERT_FALSE(c.resolved.empty());
  EXPECT_EQ(c.resolved.back(), x);
  follower.c.adopt(c);
  EXPECT_TRUE(incident_of(follower).empty());
  // It takes over while it still sees the outage: no trigger of x again, no second incident.
  follower.c.set_leader(true);
  follower.run(duration{20000});
  EXPECT_TRUE(follower.all<page>().empty());
  follower.probe = all_ok();
  follower.run(duration{40000});
  EXPECT_TRUE(follower.all<page>().empty());
}

TEST(Continuity, NewLeaderResolvesAnAdoptedIncidentItSeesHealthy) {
  const auto topo = make_test_topology();
  harness old = in_outage(topo);
  const std::string x = incident_of(old);
  harness h(topo);  // has seen the region healthy all along
  h.run(duration{50000});
  ASSERT_EQ(h.now, old.now);
  h.c.adopt(wire(old.c));
  ASSERT_EQ(incident_of(h), x);
  h.run(duration{40000});
  const auto pages = h.all<page>();
  ASSERT_EQ(pages.size(), 1U);
  EXPECT_EQ(pages[0].incident_id, x);
  EXPECT_EQ(pages[0].action, page_action::resolve);
  EXPECT_TRUE(incident_of(h).empty());
}

// The old leader stored a state listing its incident, then its trigger's
// claim failed and it died: the new leader, told the incident was never
// paged, triggers it (same id) once it classifies the region, and only once.
TEST(Continuity, NewLeaderPagesAnAdoptedIncidentNobodyPaged) {
  const auto topo = make_test_topology();
  harness old = in_outage(topo);
  const std::string x = incident_of(old);
  harness h(topo);
  h.run(duration{20000});
  h.probe = region_down(topo, 0);
  h.run(duration{30000});
  ASSERT_EQ(h.now, old.now);
  h.c.adopt(wire(old.c));
  ASSERT_EQ(incident_of(h), x);
  EXPECT_FALSE(h.c.mark_unpaged("no-such-incident"));
  h.events.clear();
  h.run(duration{5000});
  ASSERT_TRUE(h.all<page>().empty());  // adopted as paged: nothing to say
  ASSERT_TRUE(h.c.mark_unpaged(x));
  h.run(duration{20000});
  const auto pages = h.all<page>();
  ASSERT_EQ(pages.size(), 1U);
  EXPECT_EQ(pages[0].incident_id, x);
  EXPECT_EQ(pages[0].action, page_action::trigger);
  EXPECT_EQ(pages[0].kind, page_kind::regional_outage);
  // Listed again in the state it hands on, and resolved once when the region heals.
  const continuity c = wire(h.c);
  ASSERT_EQ(c.incidents.size(), 1U);
  EXPECT_EQ(c.incidents[0].incident_id, x);
  h.events.clear();
  h.probe = all_ok();
  h.run(duration{40000});
  const auto after = h.all<page>();
  ASSERT_EQ(after.size(), 1U);
  EXPECT_EQ(after[0].action, page_action::resolve);
  EXPECT_EQ(after[0].incident_id, x);
}

// Unpaged, but the new leader sees the region healthy: no trigger and no resolve.
TEST(Continuity, AnUnpagedIncidentOfAHealthyRegionClosesSilently) {
  const auto topo = make_test_topology();
  harness old = in_outage(topo);
  const std::string x = incident_of(old);
  harness h(topo);
  h.run(duration{50000});
  h.c.adopt(wire(old.c));
  ASSERT_TRUE(h.c.mark_unpaged(x));
  h.events.clear();
  h.run(duration{40000});
  EXPECT_TRUE(h.all<page>().empty());
  EXPECT_TRUE(incident_of(h).empty());
}

}  // namespace vigil::decision::testing

namespace vigil::decision::testing {

TEST(Continuity, ApprovalAcceptedByALeaderThatDiedBeforeThePlanIsExecutedByTheNextOnce) {
  const auto topo = make_test_topology();
  harness leader = in_outage(topo);
  harness follower = in_outage(topo, /*leader=*/false);
  const auto res = leader.c.approve(leader.approval_for("alice", true), leader.now);
  ASSERT_TRUE(res.accepted) << to_string(res.reason);
  const continuity c = wire(leader.c);
  ASSERT_TRUE(c.rec);
  ASSERT_EQ(c.rec->state, recommendation_state::approved);

  follower.c.adopt(c);
  follower.run(duration{5000});
  EXPECT_TRUE(follower.all<execute_plan>().empty()) << "a follower never executes";
  // The leader died before its plan began: the follower leads and runs the approved plan, once.
  follower.c.set_leader(true);
  follower.run(duration{5000});
  const auto runs = follower.all<execute_plan>();
  ASSERT_EQ(runs.size(), 1U);
  EXPECT_EQ(runs[0].recommendation_id, c.rec->id);
  EXPECT_EQ(runs[0].recommendation_hash, c.rec->hash);
  EXPECT_EQ(runs[0].approvers, std::vector<std::string>{"alice"});
  follower.c.plan_started(c.rec->id, follower.now);
  follower.run(duration{5000});
  EXPECT_EQ(follower.all<execute_plan>().size(), 1U);

  // A plan the old leader had started is not started again by the next one.
  harness third = in_outage(topo, /*leader=*/false);
  third.c.adopt(wire(follower.c));
  third.c.set_leader(true);
  third.run(duration{5000});
  EXPECT_TRUE(third.all<execute_plan>().empty());
}

}  // namespace vigil::decision::testing
