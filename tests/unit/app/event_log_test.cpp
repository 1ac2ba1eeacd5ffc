#include "app/event_log.hpp"

#include <gtest/gtest.h>

namespace vigil::app {
namespace {

TEST(event_log, numbers_events_and_serves_since) {
  event_log log(100);
  EXPECT_EQ(log.last_seq(), 0U);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(log.append({{"type", "audit"}, {"i", i}}), static_cast<std::uint64_t>(i + 1));
  const auto after2 = log.since(2);
  ASSERT_EQ(after2.size(), 3U);
  EXPECT_EQ(after2[0]["seq"], 3);
  EXPECT_EQ(after2[2]["i"], 4);
  EXPECT_TRUE(log.since(5).empty());
  EXPECT_EQ(log.since(0, 2).size(), 2U);
  EXPECT_EQ(log.tail(2)[0]["seq"], 4);
}

TEST(event_log, keeps_only_the_newest_capacity_events) {
  event_log log(3);
  for (int i = 0; i < 10; ++i)
    log.append({{"i", i}});
  const auto all = log.since(0);
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0]["seq"], 8);
  EXPECT_EQ(log.since(8).size(), 2U);
  EXPECT_EQ(log.last_seq(), 10U);
}

}  // namespace
}  // namespace vigil::app
