// The agent's suspicion rule (decision/suspicion.hpp): when a re-probe is
// hurried, and that a doubt always ends within max(fall, rise) - 1 re-probes.
#include "decision/suspicion.hpp"

#include <gtest/gtest.h>

namespace vigil::decision {
namespace {

/// Feeds `n` equal results; returns how many of them asked for a re-probe.
int feed(suspicion& s, bool success, int n, int fall = 3, int rise = 3) {
  int hurried = 0;
  for (int i = 0; i < n; ++i)
    hurried += s.observe(success, fall, rise) ? 1 : 0;
  return hurried;
}

TEST(suspicion, a_steady_check_is_never_hurried) {
  suspicion s;
  EXPECT_EQ(feed(s, true, 100), 0);  // from unknown, successes open no doubt
  EXPECT_EQ(s.state(), verdict::up);
  suspicion d;
  EXPECT_EQ(feed(d, false, 2), 2);  // failures from unknown: in doubt until down
  EXPECT_FALSE(d.observe(false, 3, 3));
  EXPECT_EQ(d.state(), verdict::down);
  EXPECT_EQ(feed(d, false, 100), 0);  // down and failing: settled
}

TEST(suspicion, a_failure_hurries_until_fall_settles_it_down) {
  suspicion s;
  feed(s, true, 3);
  EXPECT_TRUE(s.observe(false, 3, 3));  // 1 of 3: re-probe fast
  EXPECT_TRUE(s.in_doubt());
  EXPECT_TRUE(s.observe(false, 3, 3));   // 2 of 3
  EXPECT_FALSE(s.observe(false, 3, 3));  // 3 of 3: down, settled
  EXPECT_EQ(s.state(), verdict::down);
  EXPECT_FALSE(s.in_doubt());
}

TEST(suspicion, a_blip_that_recovers_on_its_first_reprobe_costs_one_reprobe) {
  suspicion s;
  feed(s, true, 3);
  EXPECT_TRUE(s.observe(false, 3, 3));
  EXPECT_FALSE(s.observe(true, 3, 3));  // agrees with `up` again: back to the grid
  EXPECT_EQ(s.state(), verdict::up);
  // The failure was reset exactly as on the grid: two more failures are not `down`.
  EXPECT_TRUE(s.observe(false, 3, 3));
  EXPECT_TRUE(s.observe(false, 3, 3));
  EXPECT_EQ(s.state(), verdict::up);
}

TEST(suspicion, a_success_while_down_hurries_until_rise_settles_it_up) {
  suspicion s;
  feed(s, false, 3);
  ASSERT_EQ(s.state(), verdict::down);
  EXPECT_TRUE(s.observe(true, 3, 2));
  EXPECT_FALSE(s.observe(true, 3, 2));  // rise 2: up
  EXPECT_EQ(s.state(), verdict::up);
  feed(s, false, 3);
  EXPECT_TRUE(s.observe(true, 3, 3));
  EXPECT_FALSE(s.observe(false, 3, 3));  // fails again: still down, settled
  EXPECT_EQ(s.state(), verdict::down);
}

TEST(suspicion, any_doubt_ends_within_max_fall_rise_minus_one_reprobes) {
  // Every sequence of 12 results, fall 4 and rise 2: no run of hurried
  // re-probes is longer than max(fall, rise) - 1 = 3.
  for (unsigned bits = 0; bits < (1U << 12U); ++bits) {
    suspicion s;
    int run = 0;
    for (unsigned i = 0; i < 12; ++i) {
      run = s.observe(((bits >> i) & 1U) != 0, 4, 2) ? run + 1 : 0;
      ASSERT_LE(run, 3) << "bits " << bits << " at " << i;
    }
  }
}

}  // namespace
}  // namespace vigil::decision
