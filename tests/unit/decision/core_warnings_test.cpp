// Warn-only conditions: a check whose probes are `degraded` by a failed warn
// condition stays up, never counts towards service or regional failure, and
// is paged as a check_warning (after confirm_for, resolved after clear_for).
#include <gtest/gtest.h>

#include "decision/continuity.hpp"
#include "harness.hpp"

namespace vigil::decision::testing {

namespace {

std::vector<page> warning_pages(const harness& h) {
  std::vector<page> out;
  for (const auto& p : h.all<page>()) {
    if (p.kind == page_kind::check_warning) out.push_back(p);
  }
  return out;
}

}  // namespace

TEST(CoreWarnings, ExpiringCertificatesEverywhereAreWarningsNotAnOutage) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  h.probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::degraded); };
  h.warning = [](vantage_index, check_index) { return outcome::cert_expiring; };
  h.run(duration{60000});
  EXPECT_EQ(h.declared("us-east-1"), classification::healthy);
  EXPECT_EQ(h.declared("us-west-2"), classification::healthy);
  EXPECT_TRUE(h.all<recommendation_changed>().empty());
  const auto pages = warning_pages(h);
  ASSERT_EQ(pages.size(), topo.checks.size()) << "one per check";
  EXPECT_EQ(pages.size(), h.all<page>().size()) << "and nothing else";
  for (const auto& p : pages) {
    EXPECT_EQ(p.action, page_action::trigger);
    EXPECT_EQ(p.sev, severity::warning);
    EXPECT_NE(p.summary.find("cert_expiring seen by 3/3 vantages"), std::string::npos) << p.summary;
    EXPECT_EQ(p.details.at("warning"), "cert_expiring");
  }
  EXPECT_EQ(pages[0].region, "us-east-1");
  EXPECT_EQ(pages[0].details.at("check"), "api-web@us-east-1");

  h.probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::ok); };
  const time_point renewed = h.now;
  h.run(duration{60000});
  const auto after = warning_pages(h);
  ASSERT_EQ(after.size(), 2 * topo.checks.size());
  EXPECT_EQ(after.back().action, page_action::resolve);
  EXPECT_GE(after.back().at - renewed, topo.p.clear_for);
}

TEST(CoreWarnings, OneVantageWarningIsNoQuorum) {
  harness h(make_test_topology());
  h.run(duration{20000});
  h.probe = [](vantage_index v, check_index, time_point) {
    return std::optional(v == 2 ? outcome::degraded : outcome::ok);
  };
  h.warning = [](vantage_index, check_index) { return outcome::timeout; };
  h.run(duration{60000});
  EXPECT_TRUE(h.all<page>().empty());
}

TEST(CoreWarnings, SlowButAnsweringWithoutAWarningPagesNothing) {
  harness h(make_test_topology());
  h.run(duration{20000});
  h.probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::degraded); };
  h.run(duration{60000});
  EXPECT_TRUE(h.all<page>().empty());
}

TEST(CoreWarnings, AWarningPageSurvivesARestartUnderItsId) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::degraded); };
  h.warning = [](vantage_index, check_index k) { return k == 0 ? outcome::cert_expiring : outcome::ok; };
  h.run(duration{30000});
  const auto first = warning_pages(h);
  ASSERT_EQ(first.size(), 1U);

  harness h2(topo);
  const auto& p = first[0];
  ASSERT_TRUE(h2.c.restore_incident({p.incident_id, p.kind, p.region, {}, p.incident_start, p.content_key}));
  h2.probe = h.probe;
  h2.warning = h.warning;
  h2.run(duration{30000});
  EXPECT_TRUE(warning_pages(h2).empty()) << "still warning: no second trigger";
  h2.probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::ok); };
  h2.run(duration{40000});
  const auto resolved = warning_pages(h2);
  ASSERT_EQ(resolved.size(), 1U);
  EXPECT_EQ(resolved[0].action, page_action::resolve);
  EXPECT_EQ(resolved[0].incident_id, p.incident_id);
}

TEST(CoreWarnings, AFollowerContinuesTheLeadersWarningAndARegionIncidentIsNotTakenForIt) {
  const auto topo = make_test_topology();
  harness leader(topo);
  leader.probe = [](vantage_index, check_index k, time_point) {
    return std::optional(k == 0 ? outcome::degraded : outcome::ok);
  };
  leader.warning = [](vantage_index, check_index) { return outcome::cert_expiring; };
  leader.run(duration{30000});
  const auto paged = warning_pages(leader);
  ASSERT_EQ(paged.size(), 1U);
  const continuity c = continuity_from_json(nlohmann::json::parse(to_json(leader.c.continuity_state()).dump()));
  ASSERT_EQ(c.incidents.size(), 1U);
  EXPECT_EQ(c.incidents[0].kind, page_kind::check_warning);

  harness follower(topo);
  follower.c.adopt(c);
  EXPECT_FALSE(follower.c.status().incident) << "a check warning is not the region's incident";
  follower.probe = leader.probe;
  follower.warning = leader.warning;
  follower.run(duration{30000});
  EXPECT_TRUE(warning_pages(follower).empty()) << "the leader paged it: same id, no second trigger";
  const continuity again = follower.c.continuity_state();
  ASSERT_EQ(again.incidents.size(), 1U);
  EXPECT_EQ(again.incidents[0].incident_id, paged[0].incident_id);
}

}  // namespace vigil::decision::testing
