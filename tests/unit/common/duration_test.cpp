// common/duration: the spelling of durations in config and scenario files.
#include "common/duration.hpp"

#include <gtest/gtest.h>

namespace vigil::common {
namespace {

using std::chrono::milliseconds;

TEST(duration, parses_every_unit) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds{250});
  EXPECT_EQ(parse_duration("2s"), milliseconds{2000});
  EXPECT_EQ(parse_duration("5m"), milliseconds{300000});
  EXPECT_EQ(parse_duration("1h"), milliseconds{3600000});
  EXPECT_EQ(parse_duration("7d"), milliseconds{604800000});
  EXPECT_EQ(parse_duration("0s"), milliseconds{0});
}

TEST(duration, parses_fractions_rounding_to_the_millisecond) {
  EXPECT_EQ(parse_duration("1.5s"), milliseconds{1500});
  EXPECT_EQ(parse_duration("0.25m"), milliseconds{15000});
  EXPECT_EQ(parse_duration("1.0004s"), milliseconds{1000});
  EXPECT_EQ(parse_duration("1.0006s"), milliseconds{1001});
  EXPECT_EQ(parse_duration(".5s"), milliseconds{500});
}

TEST(duration, rejects_bad_spellings) {
  for (const char* bad : {"", "10x", "10", "s", "-1s", "1 s", "1.5.2s", "ms", "1S", "1sec", "+1s", "1e3ms"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  }
}

TEST(duration, rejects_overflow) {
  EXPECT_FALSE(parse_duration("99999999999999999999s").has_value());
  EXPECT_FALSE(parse_duration("9223372036854775807d").has_value());
}

TEST(duration, formats_the_shortest_exact_spelling) {
  EXPECT_EQ(format_duration(milliseconds{1500}), "1500ms");
  EXPECT_EQ(format_duration(milliseconds{2000}), "2s");
  EXPECT_EQ(format_duration(milliseconds{300000}), "5m");
  EXPECT_EQ(format_duration(milliseconds{3600000}), "1h");
  EXPECT_EQ(format_duration(milliseconds{86400000}), "1d");
  EXPECT_EQ(format_duration(milliseconds{0}), "0ms");
}

TEST(duration, format_round_trips) {
  for (const long long ms : {1LL, 999LL, 1000LL, 61000LL, 90000LL, 7200000LL}) {
    EXPECT_EQ(parse_duration(format_duration(milliseconds{ms})), milliseconds{ms}) << ms;
  }
}

}  // namespace
}  // namespace vigil::common
