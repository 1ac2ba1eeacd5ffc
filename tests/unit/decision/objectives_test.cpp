#include "decision/objectives.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {

/// tests/unit/decision/fixtures/timelines.jsonl: four real executions and two
/// dry runs with known step durations and approval times (120, 60, 300, 30
/// and 90 s).
std::vector<recorded_timeline> fixture() {
  std::ifstream in(std::string(VIGIL_SOURCE_DIR) + "/tests/unit/decision/fixtures/timelines.jsonl");
  std::vector<recorded_timeline> out;
  for (std::string line; std::getline(in, line);)
    out.push_back(timeline_from_json(nlohmann::json::parse(line)));
  return out;
}

estimate_inputs fixture_inputs() {
  detection_inputs d;
  d.classify_checks = {{duration{2000}, duration{0}}, {duration{10000}, duration{1000}}};
  d.fall = 3;
  d.confirm_for = duration{2000};
  d.tick = duration{1000};
  estimate_inputs in;
  in.detection = compute_detection_bound(d);
  in.steps = {{"promote-db", duration{300000}}, {"shift-traffic", duration{60000}}, {"scale-up", duration{120000}}};
  in.rto_objective = duration{240000};
  return in;
}

}  // namespace

TEST(Objectives, EstimateFromRecordedHistory) {
  const auto history = fixture();
  ASSERT_EQ(history.size(), 6U);
  const auto e = estimate_rto(history, fixture_inputs());
  ASSERT_EQ(e.terms.size(), 5U);
  // detection: the suspicion-mode check is the slowest: 10 + 3 x 1 = 13 s, + confirm 2 s + 2 ticks.
  EXPECT_EQ(e.terms[0].term, "detection");
  EXPECT_DOUBLE_EQ(e.terms[0].seconds, 17.0);
  EXPECT_EQ(e.terms[0].source, "configured");
  // approval: median of 30, 60, 90, 120, 300 (dry runs count: a human approved them).
  EXPECT_EQ(e.terms[1].term, "approval");
  EXPECT_DOUBLE_EQ(e.terms[1].seconds, 90.0);
  EXPECT_EQ(e.terms[1].source, "measured");
  EXPECT_EQ(e.terms[1].samples, 5U);
  EXPECT_TRUE(e.approval_observed);
  // promote-db: real failover executions that were done: 40, 50, 45 -> p90 = 50
  // (the failback's 999 s and the dry runs' tenths do not count).
  EXPECT_EQ(e.terms[2].name, "promote-db");
  EXPECT_DOUBLE_EQ(e.terms[2].seconds, 50.0);
  EXPECT_EQ(e.terms[2].samples, 3U);
  // shift-traffic: 10 and 12 done (the failed 100 s does not count) -> 12.
  EXPECT_DOUBLE_EQ(e.terms[3].seconds, 12.0);
  EXPECT_EQ(e.terms[3].samples, 2U);
  // scale-up never ran: its timeout.
  EXPECT_EQ(e.terms[4].source, "timeout");
  EXPECT_DOUBLE_EQ(e.terms[4].seconds, 120.0);
  EXPECT_DOUBLE_EQ(e.total_s, 17.0 + 90.0 + 50.0 + 12.0 + 120.0);
  ASSERT_TRUE(e.objective_s);
  EXPECT_TRUE(e.exceeds());
  const auto j = to_json(e);
  EXPECT_DOUBLE_EQ(j["estimate_s"].get<double>(), 289.0);
  EXPECT_TRUE(j["exceeds"].get<bool>());
  EXPECT_EQ(j["terms"][2]["name"], "promote-db");
}

TEST(Objectives, NoApprovalObservedUsesTheDefault) {
  auto in = fixture_inputs();
  in.rto_objective = duration{900000};
  in.default_approval = duration{300000};
  const auto e = estimate_rto({}, in);
  EXPECT_FALSE(e.approval_observed);
  EXPECT_EQ(e.terms[1].source, "default");
  EXPECT_NE(e.terms[1].detail.find("unknown"), std::string::npos);
  EXPECT_DOUBLE_EQ(e.total_s, 17.0 + 300.0 + 300.0 + 60.0 + 120.0);
  EXPECT_FALSE(e.exceeds());
}

TEST(Objectives, MedianAndP90) {
  EXPECT_FALSE(median({}));
  EXPECT_FALSE(p90({}));
  EXPECT_DOUBLE_EQ(*median({3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(*median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(*p90({7}), 7.0);
  EXPECT_DOUBLE_EQ(*p90({10, 9, 8, 7, 6, 5, 4, 3, 2, 1}), 9.0);
  EXPECT_DOUBLE_EQ(*p90({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), 10.0);
}

TEST(Objectives, DetectionBoundWithoutSuspicionMode) {
  detection_inputs d;
  d.classify_checks = {{duration{2000}, duration{0}}, {duration{5000}, duration{0}}};
  const auto b = compute_detection_bound(d);
  EXPECT_DOUBLE_EQ(b.seconds, 15.0 + 2.0 + 2.0);
  EXPECT_NE(b.detail.find("fall 3 x interval 5s"), std::string::npos) << b.detail;
}

TEST(Objectives, RpoExposure) {
  const duration max_age{30000};
  EXPECT_FALSE(rpo_exposure_s(std::nullopt, std::nullopt, false, max_age));
  EXPECT_DOUBLE_EQ(*rpo_exposure_s(800.0, 2.0, true, max_age), 0.8);
  // stale: the lag plus its age (800 ms read 45 s ago -> 45.8 s)
  EXPECT_DOUBLE_EQ(*rpo_exposure_s(800.0, 45.0, true, max_age), 45.8);
  EXPECT_DOUBLE_EQ(*rpo_exposure_s(800.0, 2.0, false, max_age), 2.8);
}

TEST(Objectives, DrillTrendNewestFirst) {
  auto history = fixture();
  auto second = history[3];
  second.id = "drill-failover-2";
  second.result = "failed";
  history.push_back(second);
  const auto trend = drill_trend(history, 10);
  ASSERT_EQ(trend.size(), 2U);
  EXPECT_EQ(trend[0]["id"], "drill-failover-2");
  EXPECT_EQ(trend[0]["result"], "failed");
  EXPECT_EQ(trend[1]["id"], "drill-failover-20261201T040000Z");
  EXPECT_TRUE(trend[1]["scheduled"].get<bool>());
  EXPECT_DOUBLE_EQ(trend[1]["plan_s"].get<double>(), 1.0);
  EXPECT_EQ(drill_trend(history, 1).size(), 1U);
}

TEST(Objectives, TimelineRoundTripAndBadLines) {
  const auto history = fixture();
  const auto again = timeline_from_json(to_json(history[0]));
  EXPECT_EQ(again.id, "rec-1");
  EXPECT_FALSE(again.dry_run);
  ASSERT_TRUE(again.approval_s());
  EXPECT_DOUBLE_EQ(*again.approval_s(), 120.0);
  ASSERT_EQ(again.steps.size(), 2U);
  EXPECT_DOUBLE_EQ(again.steps[0].duration_s, 40.0);
  EXPECT_THROW((void)timeline_from_json(nlohmann::json::array()), std::invalid_argument);
  EXPECT_THROW((void)timeline_from_json({{"id", "x"}, {"kind", "drill"}, {"action", "failover"}}),
               std::invalid_argument);
  auto bad = to_json(history[0]);
  bad["approved"] = "yesterday";
  EXPECT_THROW((void)timeline_from_json(bad), std::invalid_argument);
  bad = to_json(history[0]);
  bad["steps"][0]["duration_s"] = -1;
  EXPECT_THROW((void)timeline_from_json(bad), std::invalid_argument);
}

}  // namespace vigil::decision
