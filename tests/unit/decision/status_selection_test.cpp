// core::status(check_selection), core::check_states() and the check id index
// of topology: what GET /v1/status?region=&check=&summary= and the engine's
// per-tick metrics rely on.
#include <gtest/gtest.h>

#include "decision/core.hpp"
#include "tests/unit/decision/harness.hpp"

namespace vigil::decision {
namespace {

using testing::harness;
using testing::make_test_topology;

check_selection select(bool none, std::optional<region_index> region, std::string id_contains) {
  check_selection s;
  s.none = none;
  s.region = region;
  s.id_contains = std::move(id_contains);
  return s;
}

std::vector<std::string> ids(const snapshot& s) {
  std::vector<std::string> out;
  for (const auto& c : s.checks)
    out.push_back(c.id);
  return out;
}

TEST(status_selection, all_checks_by_default_none_region_or_id_part_on_request) {
  harness h(make_test_topology(3));
  h.run(duration{10000});
  const auto all = h.c.status();
  EXPECT_EQ(all.checks.size(), 6U);
  const auto none = h.c.status(select(true, std::nullopt, ""));
  EXPECT_TRUE(none.checks.empty());
  // Everything but the check list is the same.
  EXPECT_EQ(none.regions.size(), all.regions.size());
  EXPECT_EQ(none.regions[0].declared, all.regions[0].declared);
  EXPECT_EQ(none.vantages.size(), 3U);
  EXPECT_EQ(none.quorum, all.quorum);

  const auto dr = h.c.status(select(false, region_index{1}, ""));
  EXPECT_EQ(ids(dr), (std::vector<std::string>{"api-web@us-west-2", "checkout@us-west-2", "search@us-west-2"}));
  const auto part = h.c.status(select(false, std::nullopt, "check"));
  EXPECT_EQ(ids(part), (std::vector<std::string>{"checkout@us-east-1", "checkout@us-west-2"}));
  const auto both = h.c.status(select(false, region_index{0}, "search"));
  EXPECT_EQ(ids(both), (std::vector<std::string>{"search@us-east-1"}));
  EXPECT_TRUE(h.c.status(select(false, std::nullopt, "nothing-like-it")).checks.empty());
  // A selected check carries the same detail as in the full list.
  ASSERT_EQ(both.checks.size(), 1U);
  EXPECT_EQ(both.checks[0].state, all.checks[2].state);
  EXPECT_EQ(both.checks[0].by_vantage, all.checks[2].by_vantage);
}

TEST(status_selection, check_states_follow_the_ticks) {
  harness h(make_test_topology(2));
  ASSERT_EQ(h.c.check_states().size(), 4U);
  EXPECT_EQ(h.c.check_states()[0], verdict::unknown);
  h.probe = [](vantage_index, check_index k, time_point) {
    return std::optional<outcome>(k == 1 ? outcome::timeout : outcome::ok);
  };
  h.run(duration{12000});
  const auto s = h.c.status();
  for (std::size_t c = 0; c < s.checks.size(); ++c)
    EXPECT_EQ(h.c.check_states()[c], s.checks[c].state) << s.checks[c].id;
  EXPECT_EQ(h.c.check_states()[0], verdict::up);
  EXPECT_EQ(h.c.check_states()[1], verdict::down);
}

TEST(topology_index, find_check_uses_the_index_and_survives_a_changed_list) {
  auto t = make_test_topology(4);
  EXPECT_EQ(t.check_by_id.size(), t.checks.size());
  EXPECT_EQ(t.find_check("search@us-west-2"), check_index{6});
  EXPECT_EQ(t.find_check("search@eu-west-1"), std::nullopt);
  EXPECT_EQ(t.find_check(""), std::nullopt);
  // An id changed in place: the index never answers with the wrong check,
  // and index() again finds the new id.
  t.checks[6].id = "renamed@us-west-2";
  EXPECT_EQ(t.find_check("search@us-west-2"), std::nullopt);
  t.index();
  EXPECT_EQ(t.find_check("renamed@us-west-2"), check_index{6});
  // A check added after index(): found by the scan, not a stale index.
  t.checks.push_back(check_info{"extra@us-east-1", 0, "extra", 0, false, check_role::classify, duration{2000}});
  EXPECT_EQ(t.find_check("extra@us-east-1"), check_index{8});
}

TEST(topology_index, each_region_lists_a_service_once) {
  auto t = make_test_topology(3);
  // A second classify check of api-web in us-east-1.
  t.checks.push_back(
      check_info{"api-web-deep@us-east-1", 0, "api-web", 0, false, check_role::classify, duration{2000}});
  t.index();
  EXPECT_EQ(t.regions[0].services.size(), 3U);
  EXPECT_EQ(t.regions[0].checks.size(), 4U);
  EXPECT_EQ(t.regions[1].services.size(), 3U);
  EXPECT_EQ(t.find_check("api-web-deep@us-east-1"), check_index{6});
}

}  // namespace
}  // namespace vigil::decision
