// common::format_rfc3339 is decision::format_time on the wall clock's type.
#include <gtest/gtest.h>

#include "common/clock.hpp"
#include "decision/time_format.hpp"

namespace vigil::common {
namespace {

TEST(FormatRfc3339, MillisecondsAndUtc) {
  EXPECT_EQ(format_rfc3339(wall_time{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(wall_time{std::chrono::milliseconds{1795000000250}}), "2026-11-18T11:06:40.250Z");
  EXPECT_EQ(format_rfc3339(wall_time{std::chrono::milliseconds{-1}}), "1969-12-31T23:59:59.999Z");
}

TEST(FormatRfc3339, ReadsBackThroughTheDecisionParser) {
  for (const std::int64_t ms : {0LL, 1LL, 999LL, 1795000000250LL, 253402300799999LL}) {
    const wall_time t{std::chrono::milliseconds{ms}};
    const auto back = decision::parse_time(format_rfc3339(t));
    ASSERT_TRUE(back) << ms;
    EXPECT_EQ(back->time_since_epoch(), t.time_since_epoch()) << ms;
  }
}

}  // namespace
}  // namespace vigil::common
