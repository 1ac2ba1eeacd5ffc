#include <gtest/gtest.h>

#include "decision/snapshot.hpp"
#include "decision/time_format.hpp"
#include "harness.hpp"

namespace vigil::decision::testing {

namespace {

/// A harness in a confirmed primary regional outage with a pending recommendation.
struct outage : ::testing::Test {
  topology topo = make_test_topology();
  std::unique_ptr<harness> h;
  void SetUp() override { start(topo); }
  void start(topology t) {
    topo = std::move(t);
    h = std::make_unique<harness>(topo);
    h->run(duration{20000});
    h->probe = region_down(topo, 0);
    h->run(duration{20000});
    ASSERT_TRUE(h->c.current_recommendation());
  }
  recommendation rec() const { return *h->c.current_recommendation(); }
};

}  // namespace

TEST(RecommendationHash, SameInputsSameHashChangedGateNewHash) {
  recommendation a;
  a.action = action_kind::failover;
  a.from = "us-east-1";
  a.to = "us-west-2";
  a.gates = {{gate_name::primary_regional, true, true, "x"}, {gate_name::dr_healthy, true, true, "y"}};
  a.evidence_digest = "abc";
  a.created_at = t0;
  a.rehash();
  recommendation b = a;
  b.gates[0].detail = "other detail, same material content";
  b.rehash();
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.hash.size(), 64U);
  b.gates[1].ok = false;
  b.rehash();
  EXPECT_NE(a.hash, b.hash);
  recommendation c = a;
  c.allow_data_loss_required = true;
  c.rehash();
  EXPECT_NE(a.hash, c.hash);
  EXPECT_FALSE(materially_different(a.gates, false, a.gates, false));
  EXPECT_TRUE(materially_different(a.gates, false, b.gates, false));
  EXPECT_TRUE(materially_different(a.gates, false, a.gates, true));
  recommendation d = a;
  d.planned = true;  // the token binds the promotion mode too
  d.rehash();
  EXPECT_NE(a.hash, d.hash);
  EXPECT_EQ(d.canonical_content()["planned"], true);
  EXPECT_FALSE(a.canonical_content().contains("planned"));  // unplanned hashes as before plans had a mode
}

TEST(PromotionStatement, SaysWhatTheDatabaseCallLoses) {
  EXPECT_EQ(promotion_statement(true, 800), "planned switchover: no data loss, needs the old primary");
  EXPECT_EQ(promotion_statement(false, 800),
            "unplanned global failover: writes not yet replicated, up to 0.8 s, are lost");
  EXPECT_EQ(promotion_statement(false, 12345),
            "unplanned global failover: writes not yet replicated, up to 12.4 s, are lost");  // rounded up
  EXPECT_EQ(promotion_statement(false, 0),
            "unplanned global failover: writes not yet replicated, up to 0.0 s, are lost");
  EXPECT_NE(promotion_statement(false, std::nullopt).find("an unknown amount"), std::string::npos);
}

TEST_F(outage, ApprovalExecutesOnceAndStartsCooldown) {
  const auto r = rec();
  EXPECT_EQ(r.state, recommendation_state::pending_approval);
  EXPECT_FALSE(r.planned);  // outage-triggered: an unplanned failover
  const auto res = h->c.approve(h->approval_for("alice"), h->now);
  EXPECT_TRUE(res.accepted) << res.detail;
  EXPECT_TRUE(res.execute);
  EXPECT_EQ(rec().state, recommendation_state::approved);
  h->events.clear();
  for (auto& e : h->c.take_output())
    h->events.push_back(e);
  const auto plans = h->all<execute_plan>();
  ASSERT_EQ(plans.size(), 1U);
  EXPECT_EQ(plans[0].recommendation_hash, r.hash);
  EXPECT_FALSE(plans[0].planned);
  EXPECT_EQ(to_json(event{plans[0]})["planned"], false);
  const auto again = h->c.approve(h->approval_for("bob"), h->now);
  EXPECT_EQ(again.reason, approval_reason::not_pending);
  h->c.plan_started(r.id, h->now);
  h->c.plan_finished(r.id, true, "", h->now);
  EXPECT_EQ(rec().state, recommendation_state::done);
  EXPECT_TRUE(h->c.status().cooldown.last_failover_at);
}

TEST_F(outage, IncidentKnowsItsFirstFailingObservationAndItsPage) {
  // The fixture turned every us-east-1 check to timeout at t0 + 20 s, a probe instant.
  const auto inc = h->c.status().incident;
  ASSERT_TRUE(inc);
  ASSERT_TRUE(inc->first_evidence);
  EXPECT_EQ(*inc->first_evidence, t0 + duration{20000});
  // Declared after fall failures and confirm_for: well after the first evidence.
  EXPECT_GE(inc->started_at - *inc->first_evidence, h->c.topo().p.confirm_for + h->interval);
  ASSERT_TRUE(inc->paged_at);
  EXPECT_GE(*inc->paged_at, inc->started_at);
  EXPECT_LE(*inc->paged_at, h->now);
  const auto j = to_json(h->c.status());
  EXPECT_EQ(j["incident"]["first_evidence"], format_time(t0 + duration{20000})) << j["incident"];
  EXPECT_TRUE(j["incident"]["paged_at"].is_string()) << j["incident"];
}

/// Approves the pending failover, runs its plan (real or dry run) and returns
/// the summary of the last region page sent after it finished.
std::string run_plan_and_page(harness& h, bool dry_run) {
  const auto id = h.c.current_recommendation()->id;
  EXPECT_TRUE(h.c.approve(h.approval_for("alice"), h.now).accepted);
  h.c.plan_started(id, h.now, dry_run);
  h.c.plan_finished(id, true, "every step", h.now, dry_run);
  h.events.clear();
  h.run(duration{2000});
  const auto pages = h.all<page>();
  return pages.empty() ? std::string() : pages.back().summary;
}

TEST_F(outage, DryRunEndsDryRunCompleteNeverDone) {
  const std::string summary = run_plan_and_page(*h, true);
  EXPECT_EQ(rec().state, recommendation_state::dry_run_complete);
  EXPECT_EQ(rec().reason, dry_run_complete_text);
  EXPECT_TRUE(rec().dry_run);
  EXPECT_NE(summary.find("failover to us-west-2 dry run complete: nothing changed"), std::string::npos) << summary;
  EXPECT_EQ(summary.find(" done"), std::string::npos) << summary;
  const auto j = to_json(rec(), 1);
  EXPECT_EQ(j["state"], "dry_run_complete");
  EXPECT_EQ(j["dry_run"], true);
  EXPECT_FALSE(h->c.status().cooldown.last_failover_at) << "a dry run changed nothing: no cooldown";
}

TEST_F(outage, RealRunEndsDone) {
  const std::string summary = run_plan_and_page(*h, false);
  EXPECT_EQ(rec().state, recommendation_state::done);
  EXPECT_FALSE(rec().dry_run);
  EXPECT_NE(summary.find("failover to us-west-2 done"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("dry run"), std::string::npos) << summary;
  EXPECT_EQ(to_json(rec(), 1)["state"], "done");
  EXPECT_TRUE(h->c.status().cooldown.last_failover_at);
}

TEST_F(outage, DryRunFailureSaysNothingChanged) {
  const auto id = rec().id;
  ASSERT_TRUE(h->c.approve(h->approval_for("alice"), h->now).accepted);
  h->c.plan_started(id, h->now, true);
  h->c.plan_finished(id, false, "step verify: no such cluster", h->now, true);
  EXPECT_EQ(rec().state, recommendation_state::failed);
  EXPECT_EQ(rec().reason, "dry run failed: step verify: no such cluster");
}

TEST_F(outage, PageSaysWhatTheUnplannedFailoverLoses) {
  bool said = false;
  for (const auto& p : h->all<page>()) {
    if (p.summary.find("failover to us-west-2 recommended") == std::string::npos) continue;
    EXPECT_NE(p.summary.find("unplanned global failover: writes not yet replicated, "), std::string::npos) << p.summary;
    said = true;
  }
  EXPECT_TRUE(said) << "no page announced the recommendation";
}

TEST_F(outage, RefusalReasons) {
  auto a = h->approval_for("alice");
  a.recommendation_hash = std::string(64, '0');
  EXPECT_EQ(h->c.approve(a, h->now).reason, approval_reason::wrong_hash);
  a = h->approval_for("alice");
  a.recommendation_id = "nope";
  EXPECT_EQ(h->c.approve(a, h->now).reason, approval_reason::unknown_recommendation);
  a = h->approval_for("alice");
  a.expires_at = h->now - duration{1};
  const auto res = h->c.approve(a, h->now);
  EXPECT_EQ(res.reason, approval_reason::token_expired);
  EXPECT_FALSE(res.hint.empty());
  EXPECT_EQ(to_string(res.reason), "token_expired");
}

TEST_F(outage, TwoApproversRequiredAndTheSameOneTwiceRefused) {
  auto t = make_test_topology();
  t.p.approvals_required = 2;
  start(t);
  auto res = h->c.approve(h->approval_for("alice"), h->now);
  EXPECT_TRUE(res.accepted);
  EXPECT_FALSE(res.execute);
  EXPECT_EQ(res.approvals, 1);
  auto dup = h->approval_for("alice");
  dup.jti = "another";
  EXPECT_EQ(h->c.approve(dup, h->now).reason, approval_reason::duplicate_approver);
  res = h->c.approve(h->approval_for("bob"), h->now);
  EXPECT_TRUE(res.accepted);
  EXPECT_TRUE(res.execute);
  EXPECT_EQ(rec().approvers.size(), 2U);
}

TEST_F(outage, ExpiresAfterTtlAndIsThenRefused) {
  auto t = make_test_topology();
  t.p.recommendation_ttl = duration{30000};
  start(t);
  const auto a = h->approval_for("alice");
  h->run(duration{31000});
  EXPECT_EQ(rec().state, recommendation_state::expired);
  EXPECT_EQ(h->c.approve(a, h->now).reason, approval_reason::recommendation_expired);
  // once per incident: no new one by itself, but an operator may re-propose
  h->run(duration{10000});
  EXPECT_EQ(rec().state, recommendation_state::expired);
  const auto p = h->c.propose(action_kind::failover, "alice", h->now);
  EXPECT_TRUE(p.ok) << p.reason;
  EXPECT_EQ(rec().revision, 2);
}

TEST_F(outage, WithdrawnWhenThePrimaryRecovers) {
  const auto a = h->approval_for("alice");
  h->probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::ok); };
  h->run(duration{40000});
  EXPECT_FALSE(h->c.current_recommendation());  // retired with its incident
  bool withdrawn = false;
  for (const auto& r : h->all<recommendation_changed>())
    withdrawn |= r.rec.state == recommendation_state::withdrawn;
  EXPECT_TRUE(withdrawn);
  EXPECT_EQ(h->c.approve(a, h->now).reason, approval_reason::withdrawn);
}

TEST_F(outage, SupersededWhenAGateFlipsAndTheOldHashIsRefused) {
  const auto before = rec();
  const auto a = h->approval_for("alice");
  h->lag = std::nullopt;    // lag source unreachable
  h->run(duration{40000});  // stale after lag_max_age 30s
  const auto after = rec();
  EXPECT_TRUE(after.allow_data_loss_required);
  EXPECT_NE(after.hash, before.hash);
  EXPECT_NE(after.id, before.id);
  EXPECT_EQ(after.supersedes, before.id);
  EXPECT_EQ(h->c.approve(a, h->now).reason, approval_reason::superseded);
  const auto no_loss = h->approval_for("alice", false);
  EXPECT_EQ(h->c.approve(no_loss, h->now).reason, approval_reason::missing_allow_data_loss);
  EXPECT_TRUE(h->c.approve(h->approval_for("alice", true), h->now).accepted);
}

TEST_F(outage, NotLeaderBlocksAndApprovalIsRefusedWithTheGate) {
  h->c.set_leader(false);
  h->run(duration{2000});
  EXPECT_EQ(rec().state, recommendation_state::blocked);
  const auto res = h->c.approve(h->approval_for("alice"), h->now);
  EXPECT_EQ(res.reason, approval_reason::blocked);
  EXPECT_NE(res.detail.find("leader"), std::string::npos);
}

TEST_F(outage, CooldownBlocksTheNextFailoverUntilAcknowledged) {
  const auto r = rec();
  ASSERT_TRUE(h->c.approve(h->approval_for("alice"), h->now).accepted);
  h->c.plan_started(r.id, h->now);
  h->c.plan_finished(r.id, true, "", h->now);
  h->probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::ok); };
  h->run(duration{60000});
  EXPECT_FALSE(h->c.current_recommendation());
  h->probe = region_down(topo, 0);
  h->run(duration{20000});
  ASSERT_TRUE(h->c.current_recommendation());
  EXPECT_EQ(rec().state, recommendation_state::blocked);
  EXPECT_EQ(rec().first_blocking_failure()->name, gate_name::cooldown);
  h->c.acknowledge_cooldown("bob", h->now);
  h->run(duration{2000});
  EXPECT_EQ(rec().state, recommendation_state::pending_approval);
  EXPECT_TRUE(h->c.approve(h->approval_for("alice"), h->now).accepted);
}

TEST_F(outage, SilenceBlocks) {
  h->c.silence({"m1", "", "carol", "game day", h->now + duration{60000}}, h->now);
  h->run(duration{2000});
  EXPECT_EQ(rec().state, recommendation_state::blocked);
  EXPECT_TRUE(h->c.unsilence("m1", h->now));
  h->run(duration{2000});
  EXPECT_EQ(rec().state, recommendation_state::pending_approval);
}

TEST(Failback, ProposedAndGated) {
  harness h(make_test_topology());
  h.run(duration{20000});
  const auto p = h.c.propose(action_kind::failback, "alice", h.now);
  ASSERT_TRUE(p.ok) << p.reason;
  const auto r = *h.c.current_recommendation();
  EXPECT_EQ(r.action, action_kind::failback);
  EXPECT_EQ(r.from, "us-west-2");
  EXPECT_EQ(r.to, "us-east-1");
  EXPECT_EQ(r.state, recommendation_state::pending_approval) << r.reason;
  EXPECT_TRUE(r.planned);  // proposed, and the source (dr) is healthy: a switchover
  EXPECT_EQ(to_json(r, 1)["planned"], true);
  EXPECT_FALSE(h.c.propose(action_kind::failback, "bob", h.now).ok);  // never two open
}

}  // namespace vigil::decision::testing
