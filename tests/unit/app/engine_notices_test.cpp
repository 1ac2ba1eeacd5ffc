// Operational notices (app/engine_notices.hpp): one incident per key, paged
// once while set, updated when the summary changes, resolved when cleared.
#include "app/engine_notices.hpp"

#include <gtest/gtest.h>

namespace vigil::app {
namespace {

const decision::time_point t0{std::chrono::milliseconds{1'795'000'000'000}};

TEST(notice_board, triggers_once_updates_on_change_and_resolves_on_clear) {
  notice_board b("prod");
  const auto first = b.set("readiness-failover-arc.endpoints", decision::severity::warning,
                           "2 of 5 ARC endpoints do not answer", {{"item", "arc.endpoints"}}, t0);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->incident_id, "prod/notice/readiness-failover-arc.endpoints");
  EXPECT_EQ(first->kind, decision::page_kind::notice);
  EXPECT_EQ(first->action, decision::page_action::trigger);
  EXPECT_EQ(first->details["item"], "arc.endpoints");
  EXPECT_EQ(first->incident_start, t0);
  // The same notice again pages nothing.
  EXPECT_FALSE(b.set("readiness-failover-arc.endpoints", decision::severity::warning,
                     "2 of 5 ARC endpoints do not answer", {}, t0 + std::chrono::minutes(5))
                   .has_value());
  const auto changed = b.set("readiness-failover-arc.endpoints", decision::severity::warning,
                             "3 of 5 ARC endpoints do not answer", {}, t0 + std::chrono::minutes(10));
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->action, decision::page_action::update);
  EXPECT_EQ(changed->incident_start, t0);
  EXPECT_EQ(b.open_count(), 1U);
  const auto resolved = b.clear("readiness-failover-arc.endpoints", t0 + std::chrono::minutes(15));
  ASSERT_TRUE(resolved.has_value());
  EXPECT_EQ(resolved->action, decision::page_action::resolve);
  EXPECT_EQ(resolved->incident_id, first->incident_id);
  EXPECT_EQ(b.open_count(), 0U);
  EXPECT_FALSE(b.clear("readiness-failover-arc.endpoints", t0).has_value());
}

TEST(notice_board, refuses_malformed_keys_and_beyond_its_bound) {
  notice_board b("prod");
  EXPECT_FALSE(b.set("", decision::severity::warning, "x", {}, t0).has_value());
  EXPECT_FALSE(b.set("a/b", decision::severity::warning, "x", {}, t0).has_value());
  EXPECT_FALSE(b.set(std::string(129, 'a'), decision::severity::warning, "x", {}, t0).has_value());
  EXPECT_EQ(b.refused(), 3U);
  for (std::size_t i = 0; i < notice_board::max_notices; ++i)
    ASSERT_TRUE(b.set("k" + std::to_string(i), decision::severity::info, "x", {}, t0).has_value());
  EXPECT_FALSE(b.set("one-more", decision::severity::info, "x", {}, t0).has_value());
  EXPECT_EQ(b.refused(), 4U);
  const auto long_summary = b.set("k0", decision::severity::info, std::string(5000, 's'), {}, t0);
  ASSERT_TRUE(long_summary.has_value());
  EXPECT_EQ(long_summary->summary.size(), 1024U);
}

TEST(notice_board, a_restored_incident_resolves_when_its_key_is_cleared) {
  notice_board b("prod");
  EXPECT_FALSE(b.restore("prod/us-east-1/20261122T000000Z", t0));
  EXPECT_FALSE(b.restore("other/notice/objectives-rto", t0));
  ASSERT_TRUE(b.restore("prod/notice/objectives-rto", t0));
  const auto p = b.clear("objectives-rto", t0 + std::chrono::minutes(1));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->action, decision::page_action::resolve);
  EXPECT_EQ(p->incident_id, "prod/notice/objectives-rto");
}

}  // namespace
}  // namespace vigil::app
