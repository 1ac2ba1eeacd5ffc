#include "decision/hysteresis.hpp"

#include <gtest/gtest.h>

namespace vigil::decision {

TEST(ProbeHysteresis, UnknownUntilThresholdThenCountersResetEachOther) {
  probe_hysteresis h;
  EXPECT_EQ(h.state(), verdict::unknown);
  EXPECT_EQ(h.observe(true, 3, 3), transition::pending);
  EXPECT_EQ(h.observe(true, 3, 3), transition::pending);
  EXPECT_EQ(h.observe(true, 3, 3), transition::changed);
  EXPECT_EQ(h.state(), verdict::up);
  EXPECT_EQ(h.observe(false, 3, 3), transition::pending);
  EXPECT_EQ(h.observe(false, 3, 3), transition::pending);
  EXPECT_EQ(h.pending(), 2);
  EXPECT_EQ(h.observe(true, 3, 3), transition::unchanged);  // resets the failure counter
  EXPECT_EQ(h.pending(), 0);
  EXPECT_EQ(h.observe(false, 3, 3), transition::pending);
  EXPECT_EQ(h.observe(false, 3, 3), transition::pending);
  EXPECT_EQ(h.observe(false, 3, 3), transition::changed);
  EXPECT_EQ(h.state(), verdict::down);
  EXPECT_EQ(h.observe(false, 3, 3), transition::unchanged);
}

TEST(ProbeHysteresis, AsymmetricFallRise) {
  probe_hysteresis h;
  EXPECT_EQ(h.observe(false, 1, 2), transition::changed);
  EXPECT_EQ(h.state(), verdict::down);
  EXPECT_EQ(h.observe(true, 1, 2), transition::pending);
  EXPECT_EQ(h.observe(true, 1, 2), transition::changed);
  EXPECT_EQ(h.state(), verdict::up);
}

TEST(ClassificationHysteresis, ConfirmForWorseClearForBetter) {
  const time_point t{std::chrono::milliseconds{1'000'000}};
  const duration confirm{2000}, clear{30000};
  classification_hysteresis h;
  EXPECT_EQ(h.update(classification::unknown, t, confirm, clear), transition::unchanged);
  EXPECT_EQ(h.update(classification::healthy, t, confirm, clear), transition::pending);
  EXPECT_EQ(h.update(classification::healthy, t + duration{2000}, confirm, clear), transition::changed);
  EXPECT_EQ(h.declared(), classification::healthy);
  // worse: confirm_for
  EXPECT_EQ(h.update(classification::regional_outage, t + duration{3000}, confirm, clear), transition::pending);
  EXPECT_EQ(h.update(classification::regional_outage, t + duration{4000}, confirm, clear), transition::pending);
  EXPECT_EQ(h.update(classification::regional_outage, t + duration{5000}, confirm, clear), transition::changed);
  // a blip back to healthy resets nothing declared
  EXPECT_EQ(h.update(classification::healthy, t + duration{6000}, confirm, clear), transition::pending);
  EXPECT_EQ(h.update(classification::regional_outage, t + duration{7000}, confirm, clear), transition::unchanged);
  EXPECT_FALSE(h.pending());
  // stepping down from an outage needs clear_for
  EXPECT_EQ(h.update(classification::service_degraded, t + duration{8000}, confirm, clear), transition::pending);
  EXPECT_EQ(h.update(classification::service_degraded, t + duration{20000}, confirm, clear), transition::pending);
  EXPECT_EQ(h.update(classification::service_degraded, t + duration{38000}, confirm, clear), transition::changed);
  EXPECT_EQ(h.declared(), classification::service_degraded);
  EXPECT_EQ(h.since(), t + duration{38000});
}

TEST(ClassificationHysteresis, CandidateChangeRestartsTheHold) {
  const time_point t{std::chrono::milliseconds{0}};
  const duration confirm{2000}, clear{30000};
  classification_hysteresis h;
  (void)h.update(classification::healthy, t, confirm, clear);
  (void)h.update(classification::healthy, t + duration{2000}, confirm, clear);
  EXPECT_EQ(h.update(classification::service_degraded, t + duration{3000}, confirm, clear), transition::pending);
  EXPECT_EQ(h.update(classification::regional_outage, t + duration{4000}, confirm, clear), transition::pending);
  EXPECT_EQ(h.update(classification::regional_outage, t + duration{5000}, confirm, clear), transition::pending);
  EXPECT_EQ(h.update(classification::regional_outage, t + duration{6000}, confirm, clear), transition::changed);
}

TEST(ClassificationHysteresis, RequiredHold) {
  const duration c{2000}, k{30000};
  using ch = classification_hysteresis;
  EXPECT_EQ(ch::required_hold(classification::unknown, classification::healthy, true, c, k), c);
  EXPECT_EQ(ch::required_hold(classification::unknown, classification::healthy, false, c, k), k);
  EXPECT_EQ(ch::required_hold(classification::regional_outage, classification::unknown, false, c, k), k);
  EXPECT_EQ(ch::required_hold(classification::healthy, classification::unknown, false, c, k), c);
  EXPECT_EQ(ch::required_hold(classification::regional_outage, classification::global_outage, false, c, k), c);
}

}  // namespace vigil::decision
