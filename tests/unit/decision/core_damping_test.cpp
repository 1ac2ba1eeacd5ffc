// Pages that must not mislead on-call: impairment needs a lasting
// disagreement (impaired_after), vantage pages are damped like regions, and a
// region's page text describes the incident, not the current tick.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace vigil::decision::testing {

namespace {

const char* e1 = "us-east-1";

/// Everything fails from `start`, but vantage 0 probes one interval ahead of
/// the others: it reaches `fall` two ticks before them.
probe_fn global_outage_seen_first_by_vantage_0(time_point start) {
  return [start](vantage_index v, check_index, time_point now) {
    const time_point from = v == 0 ? start : start + duration{2000};
    return std::optional(now >= from ? outcome::connect_error : outcome::ok);
  };
}

std::vector<page> pages_of(const harness& h, page_kind k, std::optional<page_action> a = std::nullopt) {
  std::vector<page> out;
  for (const auto& p : h.all<page>()) {
    if (p.kind == k && (!a || p.action == *a)) out.push_back(p);
  }
  return out;
}

}  // namespace

TEST(CoreDamping, FirstVantageToSeeAGlobalOutageIsNotImpaired) {
  harness h(make_test_topology());
  h.run(duration{20000});
  h.probe = global_outage_seen_first_by_vantage_0(h.now);
  h.run(duration{60000});
  EXPECT_EQ(h.declared(e1), classification::global_outage);
  EXPECT_TRUE(pages_of(h, page_kind::vantage_impaired).empty());
  for (const auto& v : h.c.status().vantages)
    EXPECT_EQ(v.state, vantage_state::present) << v.name;
}

TEST(CoreDamping, WithoutTheHoldTheFirstVantageIsPagedImpaired) {
  auto topo = make_test_topology();
  topo.p.impaired_after = duration{0};
  harness h(topo);
  h.run(duration{20000});
  h.probe = global_outage_seen_first_by_vantage_0(h.now);
  h.run(duration{60000});
  const auto impaired = pages_of(h, page_kind::vantage_impaired, page_action::trigger);
  ASSERT_FALSE(impaired.empty());
  EXPECT_EQ(impaired[0].vantage, "use1");
}

TEST(CoreDamping, LastingDisagreementImpairsAfterImpairedAfter) {
  auto topo = make_test_topology();
  topo.p.impaired_after = duration{5000};
  harness h(topo);
  h.run(duration{20000});
  const time_point start = h.now;
  h.probe = [](vantage_index v, check_index, time_point) {
    return std::optional(v == 2 ? outcome::timeout : outcome::ok);
  };
  h.run(duration{60000});
  const auto impaired = pages_of(h, page_kind::vantage_impaired, page_action::trigger);
  ASSERT_EQ(impaired.size(), 1U);
  // fall (3 probes, 2s apart: down at +4s) + impaired_after 5s
  EXPECT_GE(impaired[0].at - start, duration{9000});
  EXPECT_LE(impaired[0].at - start, duration{11000});
}

TEST(CoreDamping, FlappingVantageLinkIsOneIncident) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  const time_point start = h.now;
  // euw1's own link breaks for 10s out of every 20s: it sees everything fail.
  h.probe = [start](vantage_index v, check_index, time_point now) {
    const bool broken = v == 2 && (now - start) % duration{20000} < duration{10000};
    return std::optional(broken ? outcome::timeout : outcome::ok);
  };
  h.run(duration{545000});  // ends inside a broken half: healing starts the steady period
  EXPECT_EQ(pages_of(h, page_kind::vantage_impaired, page_action::trigger).size(), 1U);
  EXPECT_TRUE(pages_of(h, page_kind::vantage_impaired, page_action::resolve).empty()) << "still flapping";
  EXPECT_EQ(h.declared(e1), classification::healthy);

  h.probe = [](vantage_index, check_index, time_point) { return std::optional(outcome::ok); };
  const time_point healed = h.now;
  h.run(duration{60000});
  const auto resolved = pages_of(h, page_kind::vantage_impaired, page_action::resolve);
  ASSERT_EQ(resolved.size(), 1U);
  // steady (present) for clear_for before the resolve
  EXPECT_GE(resolved[0].at - healed, topo.p.clear_for);
  EXPECT_EQ(resolved[0].incident_id, pages_of(h, page_kind::vantage_impaired)[0].incident_id);
}

TEST(CoreDamping, VantageAbsentThenImpairedIsOneIncidentUpdated) {
  const auto topo = make_test_topology();
  harness h(topo);
  h.run(duration{20000});
  h.probe = [](vantage_index v, check_index, time_point) { return v == 2 ? std::nullopt : std::optional(outcome::ok); };
  h.run(duration{30000});
  h.probe = [](vantage_index v, check_index, time_point) {
    return std::optional(v == 2 ? outcome::timeout : outcome::ok);
  };
  h.run(duration{30000});
  const auto pages = h.all<page>();
  ASSERT_EQ(pages.size(), 2U);
  EXPECT_EQ(pages[0].kind, page_kind::vantage_absent);
  EXPECT_EQ(pages[0].action, page_action::trigger);
  EXPECT_EQ(pages[1].kind, page_kind::vantage_impaired);
  EXPECT_EQ(pages[1].action, page_action::update);
  EXPECT_EQ(pages[1].incident_id, pages[0].incident_id);
}

TEST(CoreDamping, FlappingServicePageDescribesTheIncident) {
  const auto topo = make_test_topology();
  const auto k = *topo.find_check("api-web@us-east-1");
  harness h(topo);
  h.run(duration{20000});
  const time_point start = h.now;
  h.probe = [k, start](vantage_index, check_index c, time_point now) {
    const bool failing = c == k && (now - start) % duration{20000} < duration{10000};
    return std::optional(failing ? outcome::http_status : outcome::ok);
  };
  h.run(duration{300000});
  const auto pages = pages_of(h, page_kind::service_degraded);
  ASSERT_FALSE(pages.empty());
  for (const auto& p : pages) {
    EXPECT_NE(p.summary.find("api-web down (1/4 services down) from 3/3 vantages"), std::string::npos) << p.summary;
    EXPECT_EQ(p.details.at("down_services"), nlohmann::json::array({"api-web"})) << p.details.dump();
  }
}

}  // namespace vigil::decision::testing
