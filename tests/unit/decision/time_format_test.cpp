#include "decision/time_format.hpp"

#include <gtest/gtest.h>

#include "decision/vocabulary.hpp"

namespace vigil::decision {

TEST(TimeFormat, RoundTrip) {
  const auto t = parse_time("2026-11-22T03:00:00.250Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_time(*t), "2026-11-22T03:00:00.250Z");
  EXPECT_EQ(format_compact(*t), "20261122T030000Z");
  EXPECT_EQ(parse_time("2026-11-22T05:00:00+02:00"), parse_time("2026-11-22T03:00:00Z"));
  EXPECT_FALSE(parse_time("2026-11-22 03:00"));
  EXPECT_FALSE(parse_time("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_time("2026-02-30T00:00:00Z"));
  EXPECT_EQ(format_seconds(duration{800}), "0.8s");
  EXPECT_EQ(format_seconds(duration{45800}), "45.8s");
  EXPECT_EQ(format_seconds(duration{2000}), "2s");
}

TEST(Vocabulary, NamesRoundTrip) {
  for (std::size_t i = 0; i < classification_names.size(); ++i) {
    const auto c = static_cast<classification>(i);
    EXPECT_EQ(from_string<classification>(to_string(c)), c);
  }
  for (std::size_t i = 0; i < approval_reason_names.size(); ++i) {
    const auto r = static_cast<approval_reason>(i);
    EXPECT_EQ(from_string<approval_reason>(to_string(r)), r);
    if (r != approval_reason::accepted) {
      EXPECT_FALSE(approval_hint(r).empty());
    }
  }
  EXPECT_EQ(to_string(gate_name::replication_lag), "replication_lag");
  EXPECT_FALSE(from_string<verdict>("maybe"));
}

}  // namespace vigil::decision
