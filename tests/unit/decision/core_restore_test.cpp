// core::restore_incident: an engine restarted mid-incident continues the
// incident its previous run paged about (same dedup key, no second trigger)
// and resolves it under that id, also when it cleared while the engine was down.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "decision/continuity.hpp"
#include "harness.hpp"

namespace vigil::decision::testing {

namespace {

/// The open incident a previous run leaves in its outbox: its last page that was not a resolve.
std::vector<open_incident> open_after(const harness& h) {
  std::map<std::string, page> last;
  for (const auto& p : h.all<page>()) {
    if (p.action == page_action::resolve) {
      last.erase(p.incident_id);
    } else {
      last[p.incident_id] = p;
    }
  }
  std::vector<open_incident> out;
  out.reserve(last.size());
  for (const auto& [id, p] : last)
    out.push_back({id, p.kind, p.region, p.vantage, p.incident_start, p.content_key});
  return out;
}

/// A fresh core (the restarted engine) at the same virtual time as `before`.
harness restarted(const harness& before) {
  harness h(before.c.topo());
  h.now = before.now;
  h.probe = before.probe;
  return h;
}

const char* e1 = "us-east-1";

}  // namespace

TEST(CoreRestore, RestartMidOutageSendsNoSecondTriggerAndResolvesOnce) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  h.probe = region_down(topo, 0);
  h.run(duration{30000});
  ASSERT_EQ(h.declared(e1), classification::regional_outage);
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  const auto open = open_after(h);
  ASSERT_EQ(open.size(), 1U);
  EXPECT_EQ(open[0].kind, page_kind::regional_outage);
  EXPECT_EQ(open[0].region, e1);
  EXPECT_GT(open[0].started, t0);
  EXPECT_LE(open[0].started, rec->created_at);
  EXPECT_FALSE(open[0].content_key.empty());

  harness h2 = restarted(h);
  EXPECT_TRUE(h2.c.restore_incident(open[0]));
  h2.run(duration{60000});  // the outage goes on
  EXPECT_EQ(h2.declared(e1), classification::regional_outage);
  for (const auto& p : h2.all<page>()) {
    EXPECT_NE(p.action, page_action::trigger) << p.incident_id;
    EXPECT_EQ(p.incident_id, open[0].incident_id);
  }
  // Nothing changed that on-call needs to hear about: the same recommendation id, no update at all.
  EXPECT_TRUE(h2.all<page>().empty());
  const auto rec2 = h2.c.current_recommendation();
  ASSERT_TRUE(rec2);
  EXPECT_EQ(rec2->id, rec->id);
  EXPECT_EQ(rec2->incident_id, open[0].incident_id);
  const auto st = h2.c.status();
  ASSERT_TRUE(st.incident);
  EXPECT_EQ(st.incident->id, open[0].incident_id);
  EXPECT_EQ(st.incident->started_at, open[0].started);

  h2.probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::ok); };
  h2.run(duration{60000});
  EXPECT_EQ(h2.declared(e1), classification::healthy);
  const auto pages = h2.all<page>();
  ASSERT_EQ(pages.size(), 1U);
  EXPECT_EQ(pages[0].action, page_action::resolve);
  EXPECT_EQ(pages[0].incident_id, open[0].incident_id);
}

TEST(CoreRestore, IncidentThatClearedWhileDownIsResolvedAfterRestart) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  h.probe = region_down(topo, 0);
  h.run(duration{30000});
  const auto open = open_after(h);
  ASSERT_EQ(open.size(), 1U);

  harness h2 = restarted(h);
  h2.probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::ok); };
  ASSERT_TRUE(h2.c.restore_incident(open[0]));
  h2.run(duration{30000});
  EXPECT_EQ(h2.declared(e1), classification::healthy);
  const auto pages = h2.all<page>();
  ASSERT_EQ(pages.size(), 1U);
  EXPECT_EQ(pages[0].action, page_action::resolve);
  EXPECT_EQ(pages[0].incident_id, open[0].incident_id);
  EXPECT_FALSE(h2.c.status().incident);
}

TEST(CoreRestore, AChangeAfterRestartIsAnUpdateUnderTheSameId) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  const auto k = *topo.find_check("api-web@us-east-1");
  h.probe = [k](vantage_index, check_index c, time_point) {
    return std::optional(c == k ? outcome::http_status : outcome::ok);
  };
  h.run(duration{40000});
  ASSERT_EQ(h.declared(e1), classification::service_degraded);
  const auto open = open_after(h);
  ASSERT_EQ(open.size(), 1U);
  EXPECT_EQ(open[0].kind, page_kind::service_degraded);

  harness h2 = restarted(h);
  h2.probe = region_down(topo, 0);  // it got worse while the engine was down
  ASSERT_TRUE(h2.c.restore_incident(open[0]));
  h2.run(duration{40000});
  EXPECT_EQ(h2.declared(e1), classification::regional_outage);
  const auto pages = h2.all<page>();
  ASSERT_FALSE(pages.empty());
  for (const auto& p : pages) {
    EXPECT_EQ(p.action, page_action::update);
    EXPECT_EQ(p.incident_id, open[0].incident_id);
  }
  EXPECT_EQ(pages.back().kind, page_kind::regional_outage);
}

TEST(CoreRestore, UnknownRegionOrOlderDuplicateIsResolvedAtFirstTick) {
  const auto topo = make_test_topology();
  harness h(topo);
  const open_incident gone{"shop-test/eu-central-1/20261122T000000Z",
                           page_kind::regional_outage,
                           "eu-central-1",
                           "",
                           t0 - duration{60000},
                           "regional_outage"};
  EXPECT_FALSE(h.c.restore_incident(gone));
  const open_incident older{"shop-test/us-east-1/A", page_kind::service_degraded, e1, "", t0 - duration{90000}, ""};
  const open_incident newer{"shop-test/us-east-1/B", page_kind::regional_outage, e1, "", t0 - duration{30000}, ""};
  EXPECT_TRUE(h.c.restore_incident(older));
  EXPECT_TRUE(h.c.restore_incident(newer));
  h.run(duration{1000});
  const auto pages = h.all<page>();
  ASSERT_EQ(pages.size(), 2U);
  std::set<std::string> resolved;
  for (const auto& p : pages) {
    EXPECT_EQ(p.action, page_action::resolve);
    resolved.insert(p.incident_id);
  }
  EXPECT_EQ(resolved, (std::set<std::string>{gone.incident_id, older.incident_id}));
  // The newer one is continued and resolved when the region is healthy.
  h.run(duration{30000});
  const auto after = h.all<page>();
  ASSERT_EQ(after.size(), 3U);
  EXPECT_EQ(after[2].incident_id, newer.incident_id);
  EXPECT_EQ(after[2].action, page_action::resolve);
}

TEST(CoreRestore, VantagePageIsHeldUntilTheVantagesCouldReport) {
  const auto topo = make_test_topology();
  harness h(topo);
  const open_incident absent{"shop-test/vantage/euw1/X", page_kind::vantage_absent, "", "euw1",
                             t0 - duration{60000},       "vantage_absent"};
  const open_incident back{"shop-test/vantage/usw2/Y", page_kind::vantage_absent, "", "usw2",
                           t0 - duration{60000},       "vantage_absent"};
  ASSERT_TRUE(h.c.restore_incident(absent));
  ASSERT_TRUE(h.c.restore_incident(back));
  h.probe = [](vantage_index v, check_index, time_point) {
    return v == 2 ? std::nullopt : std::optional(outcome::ok);  // euw1 is still silent
  };
  h.run(duration{40000});
  const auto pages = h.all<page>();
  ASSERT_EQ(pages.size(), 1U) << "euw1 still absent: no new trigger; usw2 reports: resolved after clear_for";
  EXPECT_EQ(pages[0].incident_id, back.incident_id);
  EXPECT_EQ(pages[0].action, page_action::resolve);
}

}  // namespace vigil::decision::testing

namespace vigil::decision::testing {

// An outage declared on thin evidence (2 of 4 services, held clear_for) and
// continued by a restarted core (adopted state and restored incident, as the
// engine does at start) is not held back again: the restart must not withdraw
// the recommendation on-call may be signing.
TEST(CoreRestore, ThinOutageDeclaredBeforeRestartIsNotHeldAgain) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  std::set<check_index> hit{*topo.find_check("api-web@us-east-1"), *topo.find_check("checkout@us-east-1")};
  h.probe = [hit](vantage_index, check_index c, time_point) {
    return std::optional(hit.contains(c) ? outcome::connect_error : outcome::ok);
  };
  h.run(duration{60000});
  ASSERT_EQ(h.declared(e1), classification::regional_outage);
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  const auto open = open_after(h);
  ASSERT_EQ(open.size(), 1U);

  harness h2 = restarted(h);
  h2.c.adopt(h.c.continuity_state());
  EXPECT_TRUE(h2.c.restore_incident(open[0]));
  const auto& p = topo.p;
  // Well inside clear_for: a fresh thin hold would still say service_degraded.
  ASSERT_LT(p.fall * h.interval + p.confirm_for + 2 * p.tick + h.interval, p.clear_for);
  h2.run(p.fall * h.interval + p.confirm_for + 2 * p.tick + h.interval);
  EXPECT_EQ(h2.declared(e1), classification::regional_outage);
  for (const auto& c : h2.all<classification_changed>())
    EXPECT_NE(c.to, classification::service_degraded);
  const auto rec2 = h2.c.current_recommendation();
  ASSERT_TRUE(rec2);
  EXPECT_EQ(rec2->id, rec->id);
  EXPECT_NE(rec2->state, recommendation_state::withdrawn);
}

}  // namespace vigil::decision::testing
