// The replication-lag source follows the direction: the core counts only the
// samples about the region that is not active (the one a move would go to).
#include <gtest/gtest.h>

#include "harness.hpp"

namespace vigil::decision::testing {

namespace {

constexpr region_index east = 0;  // the configured primary
constexpr region_index west = 1;  // the configured dr

std::optional<std::int64_t> lag_ms(const core& c) {
  return c.status().lag.ms;
}

const gate_result& lag_gate_of(const recommendation& r) {
  for (const auto& g : r.gates) {
    if (g.name == gate_name::replication_lag) return g;
  }
  throw std::logic_error("no replication_lag gate");
}

}  // namespace

TEST(LagDirection, HomeActiveCountsOnlySamplesAboutTheDr) {
  harness h(make_test_topology());
  h.lag = std::nullopt;  // the harness feeds unreachable samples; these tests feed their own
  h.c.ingest_lag(lag_sample{t0, duration{111}, east});
  EXPECT_FALSE(lag_ms(h.c));
  EXPECT_EQ(h.c.status().lag.other_direction, 1U);
  h.c.ingest_lag(lag_sample{t0 + duration{1}, duration{222}, west});
  EXPECT_EQ(lag_ms(h.c), 222);
  h.c.ingest_lag(lag_sample{t0 + duration{2}, duration{333}, std::nullopt});  // untagged: the dr
  EXPECT_EQ(lag_ms(h.c), 333);
  EXPECT_EQ(h.c.status().lag.other_direction, 1U);
  EXPECT_EQ(h.c.status().lag.region, "us-west-2");
  const auto j = to_json(h.c.status());
  EXPECT_EQ(j["replication_lag"]["lag_other_direction"], 1);
  EXPECT_EQ(j["replication_lag"]["region"], "us-west-2");
}

TEST(LagDirection, DrActiveCountsOnlySamplesAboutThePrimary) {
  harness h(make_test_topology());
  h.lag = std::nullopt;
  h.c.set_active(west, t0);
  h.c.ingest_lag(lag_sample{t0, duration{111}, west});
  h.c.ingest_lag(lag_sample{t0 + duration{1}, duration{222}, std::nullopt});  // untagged = the dr
  EXPECT_FALSE(lag_ms(h.c));
  EXPECT_EQ(h.c.status().lag.other_direction, 2U);
  h.c.ingest_lag(lag_sample{t0 + duration{2}, duration{444}, east});
  EXPECT_EQ(lag_ms(h.c), 444);
  EXPECT_EQ(h.c.status().lag.region, "us-east-1");
}

TEST(LagDirection, FailbackGateReadsThePrimarysLag) {
  harness h(make_test_topology());  // the harness tags samples with the non-active region
  h.run(duration{20000});
  h.c.set_active(west, h.now, "failover-x", {"alice"});
  h.lag = duration{9000};  // above the 5 s budget
  h.run(duration{4000});
  ASSERT_TRUE(h.c.propose(action_kind::failback, "bob", h.now).ok);
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  const auto& g = lag_gate_of(*rec);
  EXPECT_FALSE(g.ok);
  EXPECT_TRUE(g.blocking);
  EXPECT_NE(g.detail.find("lag 9s above budget"), std::string::npos) << g.detail;
}

TEST(LagDirection, NoFailbackSourceMeansUnknownLagWhileTheDrIsActive) {
  auto topo = make_test_topology();
  topo.p.failback_lag_source_configured = false;
  harness h(topo);
  h.run(duration{20000});
  h.c.set_active(west, h.now, "failover-x", {"alice"});
  h.run(duration{4000});
  ASSERT_TRUE(h.c.propose(action_kind::failback, "bob", h.now).ok);
  const auto rec = h.c.current_recommendation();
  ASSERT_TRUE(rec);
  const auto& g = lag_gate_of(*rec);
  EXPECT_FALSE(g.ok);
  EXPECT_NE(g.detail.find("no replication_lag source measures this direction"), std::string::npos) << g.detail;
  EXPECT_NE(g.detail.find("us-east-1"), std::string::npos) << g.detail;
  EXPECT_TRUE(rec->allow_data_loss_required);
  // Home active: the configured source measures the dr, the gate reads it.
  harness home(topo);
  home.run(duration{20000});
  home.probe = region_down(topo, east);
  home.run(duration{30000});
  const auto failover = home.c.current_recommendation();
  ASSERT_TRUE(failover);
  EXPECT_EQ(failover->action, action_kind::failover);
  EXPECT_NE(lag_gate_of(*failover).detail.find("within budget"), std::string::npos) << lag_gate_of(*failover).detail;
}

}  // namespace vigil::decision::testing
