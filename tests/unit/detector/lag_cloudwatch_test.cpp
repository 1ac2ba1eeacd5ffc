// Replication lag from CloudWatch (AuroraGlobalDBRPOLag) against a fake
// metric source: the newest datapoint with its own timestamp, the lag metrics,
// and a clear error without any datapoint. The PostgreSQL and aurora_sql
// sources run against a real server: servers/lag_source_test.cpp.

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "detector/lag_source.hpp"

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;

class fixed_source final : public metric_source {
 public:
  aws::result<std::vector<aws::metric_result>> get_metric_data(const std::string& region,
                                                               const std::vector<aws::metric_query>& q,
                                                               common::wall_time, common::wall_time end) override {
    seen_region = region;
    seen = q;
    if (empty) return std::vector<aws::metric_result>{{q[0].id, "", "Complete", {}}};
    return std::vector<aws::metric_result>{{q[0].id, "", "Complete", {{end - 45s, 812.4}, {end - 105s, 300}}}};
  }
  std::string seen_region;
  std::vector<aws::metric_query> seen;
  bool empty = false;
};

TEST(lag_cloudwatch, newest_datapoint_with_its_own_timestamp_and_metrics) {
  common::manual_clock clock;
  fixed_source cw;
  common::replication_lag_config cfg;
  cfg.source = common::lag_source::cloudwatch;
  cfg.region = "us-west-2";
  cfg.cluster = "shop-prod-secondary";
  auto src = make_lag_source(cfg, clock, &cw);
  const auto s = src->sample();
  ASSERT_TRUE(s.lag) << s.error;
  EXPECT_EQ(s.lag->count(), 812);
  EXPECT_EQ(s.at, clock.wall() - 45s);  // the datapoint's time: CloudWatch lag is stale by design
  EXPECT_EQ(cw.seen_region, "us-west-2");
  EXPECT_EQ(cw.seen[0].metric, "AuroraGlobalDBRPOLag");
  EXPECT_EQ(cw.seen[0].dimensions.at("DBClusterIdentifier"), "shop-prod-secondary");

  prometheus::Registry registry;
  lag_metrics m(registry, "use1");
  m.record(s, clock.wall());
  clock.advance(5s);
  m.update_age(clock.wall());
  double lag_s = -1, age_s = -1;
  for (const auto& fam : registry.Collect()) {
    if (fam.name == "vigil_agent_replication_lag_seconds") lag_s = fam.metric.at(0).gauge.value;
    if (fam.name == "vigil_agent_replication_lag_sample_age_seconds") age_s = fam.metric.at(0).gauge.value;
  }
  EXPECT_DOUBLE_EQ(lag_s, 0.812);
  EXPECT_DOUBLE_EQ(age_s, 50.0);

  cw.empty = true;
  const auto none = src->sample();
  EXPECT_FALSE(none.lag);
  EXPECT_NE(none.error.find("no AuroraGlobalDBRPOLag datapoint"), std::string::npos);
  const auto w = to_wire(none);
  EXPECT_FALSE(w.lag_ms);
  EXPECT_EQ(w.error, none.error);
}

}  // namespace
}  // namespace vigil::detector
