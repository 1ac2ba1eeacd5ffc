#include "common/connection_table.hpp"

#include <gtest/gtest.h>

namespace vigil::common {
namespace {

TEST(connection_table, admits_below_the_caps) {
  connection_table t(3, 2);
  EXPECT_TRUE(t.admit("a").admitted);
  EXPECT_TRUE(t.admit("b").admitted);
  EXPECT_EQ(t.size(), 2U);
  EXPECT_EQ(t.count("a"), 1U);
}

TEST(connection_table, at_the_total_cap_the_longest_waiting_goes) {
  connection_table t(3, 3);
  const auto first = t.admit("a").conn;
  const auto second = t.admit("b").conn;
  const auto third = t.admit("c").conn;
  t.waiting(first);  // first answered a request and waits again: now newer than second
  const auto r = t.admit("d");
  ASSERT_TRUE(r.admitted);
  ASSERT_TRUE(r.evicted.has_value());
  EXPECT_EQ(*r.evicted, second);
  EXPECT_FALSE(t.contains(second));
  EXPECT_TRUE(t.contains(first));
  EXPECT_TRUE(t.contains(third));
  EXPECT_EQ(t.size(), 3U);
  EXPECT_EQ(t.count("b"), 0U);
}

TEST(connection_table, busy_and_authenticated_connections_stay) {
  connection_table t(3, 3);
  const auto agent = t.admit("a").conn;
  const auto busy = t.admit("b").conn;
  const auto idle = t.admit("c").conn;
  t.busy(agent);
  t.authenticated(agent);
  t.waiting(agent);  // an agent's kept-alive connection waiting for its next batch
  t.busy(busy);
  const auto r = t.admit("d");
  ASSERT_TRUE(r.evicted.has_value());
  EXPECT_EQ(*r.evicted, idle);
  // Now every other one is busy or authenticated: the newcomer is refused.
  const auto newest = r.conn;
  t.busy(newest);
  const auto refused = t.admit("e");
  EXPECT_FALSE(refused.admitted);
  EXPECT_FALSE(refused.evicted.has_value());
  EXPECT_TRUE(t.contains(agent));
  EXPECT_TRUE(t.contains(busy));
  EXPECT_EQ(t.size(), 3U);
}

TEST(connection_table, the_per_address_cap_evicts_within_that_address) {
  connection_table t(10, 2);
  const auto other = t.admit("x").conn;  // the oldest overall, from another address
  const auto a1 = t.admit("a").conn;
  const auto a2 = t.admit("a").conn;
  const auto r = t.admit("a");
  ASSERT_TRUE(r.admitted);
  ASSERT_TRUE(r.evicted.has_value());
  EXPECT_EQ(*r.evicted, a1);
  EXPECT_TRUE(t.contains(other));
  EXPECT_TRUE(t.contains(a2));
  EXPECT_EQ(t.count("a"), 2U);
  t.busy(a2);
  t.busy(r.conn);
  EXPECT_FALSE(t.admit("a").admitted);  // both of a's are busy
  EXPECT_TRUE(t.admit("y").admitted);   // others are not held back by a
}

TEST(connection_table, remove_is_idempotent_and_frees_the_slot) {
  connection_table t(1, 1);
  const auto c = t.admit("a").conn;
  t.busy(c);
  EXPECT_FALSE(t.admit("b").admitted);
  t.remove(c);
  t.remove(c);
  EXPECT_EQ(t.size(), 0U);
  EXPECT_EQ(t.count("a"), 0U);
  EXPECT_TRUE(t.admit("b").admitted);
}

}  // namespace
}  // namespace vigil::common
