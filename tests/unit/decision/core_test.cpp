#include <gtest/gtest.h>

#include "decision/time_format.hpp"
#include "harness.hpp"

namespace vigil::decision::testing {

namespace {
const char* e1 = "us-east-1";
const char* w2 = "us-west-2";
}  // namespace

TEST(Core, StartsUnknownThenHealthyWithoutPages) {
  harness h(make_test_topology());
  EXPECT_EQ(h.declared(e1), classification::unknown);
  h.run(duration{20000});
  EXPECT_EQ(h.declared(e1), classification::healthy);
  EXPECT_EQ(h.declared(w2), classification::healthy);
  EXPECT_TRUE(h.all<page>().empty());
  EXPECT_FALSE(h.c.current_recommendation());
  const auto st = h.c.status();
  for (const auto& v : st.vantages)
    EXPECT_EQ(v.state, vantage_state::present) << v.name;
  for (const auto& c : st.checks)
    EXPECT_EQ(c.state, verdict::up) << c.id;
}

TEST(Core, OneServiceDownIsServiceDegradedPagedAfterGraceNoRecommendation) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  const auto k = *topo.find_check("api-web@us-east-1");
  h.probe = [k](vantage_index, check_index c, time_point) {
    return std::optional(c == k ? outcome::http_status : outcome::ok);
  };
  h.run(duration{60000});
  EXPECT_EQ(h.declared(e1), classification::service_degraded);
  const auto pages = h.all<page>();
  ASSERT_EQ(pages.size(), 1U);
  EXPECT_EQ(pages[0].kind, page_kind::service_degraded);
  EXPECT_EQ(pages[0].sev, severity::error);
  const auto cls = h.all<classification_changed>();
  const auto declared_at = cls.back().at;
  EXPECT_GE(pages[0].at - declared_at, h.c.topo().p.service_page_grace);
  EXPECT_FALSE(h.c.current_recommendation());
  // recovery: resolve after clear_for
  h.probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::ok); };
  h.run(duration{60000});
  EXPECT_EQ(h.declared(e1), classification::healthy);
  const auto after = h.all<page>();
  ASSERT_EQ(after.size(), 2U);
  EXPECT_EQ(after[1].action, page_action::resolve);
  EXPECT_EQ(after[1].incident_id, after[0].incident_id);
}

TEST(Core, RegionalOutageRecommendsFailoverInBoundedTime) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  const auto fault = h.now;
  h.probe = [&topo](vantage_index v, check_index c, time_point) -> std::optional<outcome> {
    if (v == 0) return std::nullopt;  // the primary-region vantage is gone
    return topo.checks[c].region == 0 ? outcome::timeout : outcome::ok;
  };
  h.run(duration{30000});
  EXPECT_EQ(h.declared(e1), classification::regional_outage);
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->action, action_kind::failover);
  EXPECT_EQ(rec->from, e1);
  EXPECT_EQ(rec->to, w2);
  EXPECT_EQ(rec->state, recommendation_state::pending_approval) << rec->reason;
  // fall x interval + confirm_for + 2 ticks = 6 + 2 + 2 = 10s (+ probe phase 2s)
  EXPECT_LE(rec->created_at - fault, duration{12000});
  EXPECT_FALSE(rec->allow_data_loss_required);
  EXPECT_EQ(rec->expected_data_loss_ms, 300);
  const auto pages = h.all<page>();
  bool regional = false;
  bool service = false;
  for (const auto& p : pages) {
    if (p.kind == page_kind::regional_outage) {
      regional = true;
      EXPECT_EQ(p.sev, severity::critical);
    }
    if (p.kind == page_kind::service_degraded) service = true;
  }
  EXPECT_TRUE(regional);
  EXPECT_FALSE(service);
}

namespace {

/// A probe failing the checks `ids` of us-east-1 (from every vantage except
/// `spared`) and answering everything else.
probe_fn failing(const topology& t, const std::vector<std::string>& ids, std::optional<vantage_index> spared = {}) {
  std::set<check_index> hit;
  for (const auto& id : ids)
    hit.insert(*t.find_check(id + "@us-east-1"));
  return [hit, spared](vantage_index v, check_index c, time_point) {
    return std::optional(hit.contains(c) && v != spared ? outcome::connect_error : outcome::ok);
  };
}

/// 20s healthy, then api-web@us-east-1 down from everywhere for 60s.
void api_web_down_for_a_minute(harness& h, const topology& t) {
  h.run(duration{20000});
  h.probe = failing(t, {"api-web"});
  h.run(duration{60000});
  ASSERT_EQ(h.declared(e1), classification::service_degraded);
}

}  // namespace

// One service really down and a second one failing from two vantages for a
// few probes (noise): 2 of 4 services down is a regional outage by the
// fraction, but on thin evidence, which must hold clear_for first.
TEST(Core, ThinOutageOfBriefSecondServiceIsNoRegionalOutage) {
  const auto topo = make_test_topology();
  harness h(topo);
  api_web_down_for_a_minute(h, topo);
  h.probe = failing(topo, {"api-web", "checkout"}, vantage_index{0});
  h.run(duration{10000});
  EXPECT_EQ(h.c.status().regions[0].raw, classification::service_degraded);  // thin: still held back
  h.probe = failing(topo, {"api-web"});
  h.run(duration{50000});
  EXPECT_EQ(h.declared(e1), classification::service_degraded);
  for (const auto& c : h.all<classification_changed>())
    EXPECT_NE(c.to, classification::regional_outage);
  EXPECT_FALSE(h.c.current_recommendation());
}

// The same two services staying down: the thin evidence held clear_for, then
// confirm_for, and the region is a regional outage.
TEST(Core, ThinOutageThatHoldsClearForIsARegionalOutage) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  const time_point fault = h.now;
  h.probe = failing(topo, {"api-web", "checkout"});
  const auto& p = topo.p;
  h.run(p.fall * h.interval + p.clear_for - duration{2000});  // not yet: thin for less than clear_for
  EXPECT_EQ(h.declared(e1), classification::service_degraded);
  h.run(duration{30000});
  EXPECT_EQ(h.declared(e1), classification::regional_outage);
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  // fall x interval + clear_for + confirm_for + 2 ticks (+ probe phase 2s)
  EXPECT_LE(rec->created_at - fault, p.fall * h.interval + p.clear_for + p.confirm_for + 2 * p.tick + h.interval);
}

// One service down for a minute, then two more at once: 3 of 4 is not thin,
// the usual confirm_for applies.
TEST(Core, ThreeOfFourServicesDownIsNotThin) {
  const auto topo = make_test_topology();
  harness h(topo);
  api_web_down_for_a_minute(h, topo);
  const time_point fault = h.now;
  h.probe = failing(topo, {"api-web", "checkout", "search"});
  h.run(duration{15000});
  EXPECT_EQ(h.declared(e1), classification::regional_outage);
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  const auto& p = topo.p;
  EXPECT_LE(rec->created_at - fault, p.fall * h.interval + p.confirm_for + 2 * p.tick + h.interval);
}

TEST(Core, OneVantageSeeingARegionDownChangesNothing) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.probe = region_down(topo, 0, {2});
  h.run(duration{120000});
  EXPECT_EQ(h.declared(e1), classification::healthy);
  EXPECT_TRUE(h.all<page>().empty());
  for (const auto& v : h.c.status().vantages)
    EXPECT_EQ(v.state, vantage_state::present);
}

TEST(Core, IsolatedVantageIsImpairedAndPagedNothingElse) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  h.probe = [](vantage_index v, check_index, time_point) {
    return std::optional(v == 2 ? outcome::timeout : outcome::ok);
  };
  h.run(duration{60000});
  EXPECT_EQ(h.declared(e1), classification::healthy);
  EXPECT_EQ(h.declared(w2), classification::healthy);
  EXPECT_EQ(h.c.status().vantages[2].state, vantage_state::impaired);
  const auto pages = h.all<page>();
  ASSERT_EQ(pages.size(), 1U);
  EXPECT_EQ(pages[0].kind, page_kind::vantage_impaired);
  EXPECT_EQ(pages[0].vantage, "euw1");
}

TEST(Core, BothRegionsDownIsGlobalWithoutRecommendation) {
  harness h(make_test_topology());
  h.run(duration{20000});
  h.probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::connect_error); };
  h.run(duration{60000});
  EXPECT_EQ(h.declared(e1), classification::global_outage);
  EXPECT_EQ(h.declared(w2), classification::global_outage);
  EXPECT_TRUE(h.all<recommendation_changed>().empty());
}

TEST(Core, TooManyVantagesAbsentIsUnknown) {
  harness h(make_test_topology());
  h.run(duration{20000});
  h.probe = [](vantage_index v, check_index, time_point) -> std::optional<outcome> {
    if (v != 0) return std::nullopt;
    return outcome::ok;
  };
  h.run(duration{30000});
  EXPECT_EQ(h.declared(e1), classification::unknown);
  EXPECT_EQ(h.declared(w2), classification::unknown);
  int absent_pages = 0;
  for (const auto& p : h.all<page>())
    absent_pages += p.kind == page_kind::vantage_absent ? 1 : 0;
  EXPECT_EQ(absent_pages, 2);
  EXPECT_FALSE(h.c.current_recommendation());
}

TEST(Core, RegionScopeCheckAloneMakesARegionalOutage) {
  const auto topo = make_test_topology(4, true);
  harness h(topo);
  h.run(duration{20000});
  const auto k = *topo.find_check("alb-5xx@us-east-1");
  h.probe = [k](vantage_index, check_index c, time_point) {
    return std::optional(c == k ? outcome::condition_failed : outcome::ok);
  };
  h.run(duration{30000});
  EXPECT_EQ(h.declared(e1), classification::regional_outage);
  ASSERT_TRUE(h.c.current_recommendation());
}

TEST(Core, StatusJsonHasTheDocumentedShape) {
  harness h(make_test_topology());
  h.run(duration{20000});
  const auto j = to_json(h.c.status());
  EXPECT_TRUE(j.at("leader").get<bool>());
  EXPECT_EQ(j.at("regions").at(e1).at("role"), "primary");
  EXPECT_EQ(j.at("regions").at(e1).at("classification"), "healthy");
  EXPECT_EQ(j.at("vantages").at("euw1").at("state"), "present");
  EXPECT_EQ(j.at("checks").at(0).at("votes").at("up"), 3);
  EXPECT_EQ(j.at("replication_lag").at("ms"), 300);
  EXPECT_TRUE(j.at("incident").is_null());
  EXPECT_TRUE(j.at("recommendation").is_null());
}

TEST(Core, DropsOutOfRangeObservations) {
  harness h(make_test_topology());
  h.c.ingest(observation{9, 0, t0, outcome::ok, 1.0F});
  h.c.ingest(observation{0, 999, t0, outcome::ok, 1.0F});
  EXPECT_EQ(h.c.dropped(), 2U);
}

TEST(Core, EveryEventSerialisesWithVocabularyValues) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  h.probe = region_down(topo, 0);
  h.run(duration{30000});
  ASSERT_FALSE(h.events.empty());
  for (const auto& e : h.events) {
    const auto j = to_json(e);
    EXPECT_TRUE(j.contains("type"));
    EXPECT_TRUE(parse_time(j.at("at").get<std::string>()).has_value());
    if (j["type"] == "classification") {
      EXPECT_TRUE(from_string<classification>(j["to"].get<std::string>()).has_value());
    }
    if (j["type"] == "page") {
      EXPECT_TRUE(from_string<page_kind>(j["kind"].get<std::string>()).has_value());
    }
  }
}

}  // namespace vigil::decision::testing

namespace vigil::decision::testing {

TEST(core_future, items_dated_ahead_are_ignored_and_counted) {
  const topology topo = make_test_topology();
  harness h(topo);
  h.run(duration{10000});
  const time_point year_ahead = h.now + std::chrono::hours(24 * 365);
  h.c.ingest(observation{0, 0, year_ahead, outcome::ok, 20.0F});
  h.c.vantage_report(0, year_ahead);
  h.c.ingest_lag(lag_sample{year_ahead, duration{0}, std::nullopt});
  EXPECT_EQ(h.c.ignored_future(), 3U);
  // use1 stops reporting: absent after stale_after, not kept present by the date a year ahead.
  h.probe = [](vantage_index v, check_index, time_point) -> std::optional<outcome> {
    if (v == 0) return std::nullopt;
    return outcome::ok;
  };
  h.run(duration{10000});
  const auto st = h.c.status();
  EXPECT_EQ(st.vantages[0].state, vantage_state::absent);
  ASSERT_TRUE(st.lag.at);
  EXPECT_LE(*st.lag.at, h.now);  // the last real sample, not the one a year ahead
  // Within a tick plus future_skew: taken, and its age is 0, never negative.
  h.c.ingest_lag(lag_sample{h.now + duration{3000}, duration{100}, std::nullopt});
  EXPECT_EQ(h.c.ignored_future(), 3U);
  h.c.tick(h.now);
  const auto j = to_json(h.c.status());
  EXPECT_EQ(j["replication_lag"]["age_s"].get<double>(), 0.0);
  EXPECT_EQ(j["replication_lag"]["ms"], 100);
}

}  // namespace vigil::decision::testing
