// The readiness, objectives and drill sections and approvals.max_standing_ttl:
// defaults, values, bounds, and the decision params they set.
#include <gtest/gtest.h>

#include "common/config_load.hpp"
#include "common/topology.hpp"
#include "config_test_util.hpp"

namespace vigil::common {
namespace {
using test::base_yaml;
using test::fake_world;
using test::has_error;

TEST(config_readiness, absent_sections_leave_readiness_off_and_no_objectives) {
  const fake_world w;
  const auto r = w.load(base_yaml);
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_FALSE(r.value->readiness.enabled);
  EXPECT_FALSE(r.value->objectives.rto.has_value());
  EXPECT_FALSE(r.value->drill.schedule.has_value());
  EXPECT_EQ(r.value->approvals.max_standing_ttl, duration{30LL * 24 * 3600 * 1000});
  EXPECT_EQ(make_topology(*r.value).p.readiness, decision::readiness_gate::off);
}

TEST(config_readiness, sections_are_read_with_their_defaults) {
  const fake_world w;
  const auto r = w.load(base_yaml +
                        "readiness: {interval: 2m}\n"
                        "objectives: {rto: 15m, rpo: 5s}\n"
                        "drill: {schedule: 24h}\n"
                        "approvals: {max_standing_ttl: 7d}\n");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  const auto& c = *r.value;
  EXPECT_TRUE(c.readiness.enabled);
  EXPECT_EQ(c.readiness.interval, duration{120000});
  EXPECT_FALSE(c.readiness.gate_blocking);
  EXPECT_EQ(c.readiness.cert_min_days, 14);
  EXPECT_EQ(c.readiness.timeout, duration{10000});
  EXPECT_EQ(c.objectives.rto, duration{900000});
  EXPECT_EQ(c.objectives.rpo, duration{5000});
  EXPECT_EQ(c.drill.schedule, duration{86400000});
  EXPECT_EQ(c.approvals.max_standing_ttl, duration{7LL * 24 * 3600 * 1000});
  EXPECT_EQ(make_topology(c).p.readiness, decision::readiness_gate::advisory);
}

TEST(config_readiness, blocking_gate_reaches_the_decision_params) {
  const fake_world w;
  const auto r = w.load(base_yaml + "readiness: {gate: blocking, cert_min_days: 30, timeout: 3s}\n");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_EQ(r.value->readiness.cert_min_days, 30);
  EXPECT_EQ(make_topology(*r.value).p.readiness, decision::readiness_gate::blocking);
}

TEST(config_readiness, bad_values_name_their_key_and_position) {
  const fake_world w;
  EXPECT_TRUE(has_error(w.load(base_yaml + "readiness: {gate: sometimes}\n"), "13:19", "readiness.gate", "sometimes"));
  EXPECT_TRUE(has_error(w.load(base_yaml + "readiness: {interval: 2d}\n"), "13:23", "readiness.interval", "24h"));
  EXPECT_TRUE(has_error(w.load(base_yaml + "readiness: {cert_min_days: 900}\n"), "13:28", "readiness.cert_min_days",
                        ""));
  EXPECT_TRUE(has_error(w.load(base_yaml + "readiness: {intervall: 2m}\n"), "13:13", "readiness.intervall", "did you mean \"interval\""));
  EXPECT_TRUE(has_error(w.load(base_yaml + "objectives: {rto: 0s}\n"), "13:19", "objectives.rto", ""));
  EXPECT_TRUE(has_error(w.load(base_yaml + "drill: {schedule: 10ms}\n"), "13:19", "drill.schedule", ""));
  EXPECT_TRUE(
      has_error(w.load(base_yaml + "approvals: {max_standing_ttl: 100d}\n"), "13:31", "approvals.max_standing_ttl",
                "at most 90d"));
}

}  // namespace
}  // namespace vigil::common
