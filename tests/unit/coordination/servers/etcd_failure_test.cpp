// etcd member loss and quorum loss under the coordinator, on a cluster of its
// own (this test kills members).
#include <gtest/gtest.h>

#include "coordination/coordination_etcd.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/unit/coordination/servers/etcd_test_util.hpp"

namespace vigil::coordination {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::replica;

TEST(EtcdFailure, OneMemberLostDegradesTwoLostStopsEveryoneRestartBringsALeaderBack) {
  vigil::testing::etcd_cluster cluster(3);
  common::real_clock clock;
  const auto prefix = testing::fresh_prefix("quorum");
  replica a(cluster.endpoints(), prefix, "a", clock, seconds(2));
  replica b(cluster.endpoints(), prefix, "b", clock, seconds(2));
  std::vector<etcd_coordinator*> both{a.c.get(), b.c.get()};
  auto leaders = [&] { return (a->is_leader() ? 1 : 0) + (b->is_leader() ? 1 : 0); };
  auto leader = [&]() -> etcd_coordinator& { return a->is_leader() ? *a : *b; };

  testing::drive_until(
      clock, both, [&] { return leaders() == 1; }, seconds(5), milliseconds(300));
  ASSERT_EQ(leaders(), 1);
  EXPECT_EQ(a->health(), coordination_health::healthy);

  // One member down (the first endpoint, which both clients prefer): service
  // continues, health says degraded, guarded writes still apply.
  cluster.kill(0);
  testing::drive_until(
      clock, both, [&] { return a->health() == coordination_health::degraded; }, seconds(5), milliseconds(300));
  testing::drive_until(
      clock, both, [] { return false; }, seconds(3), milliseconds(300));  // past a lease_ttl
  EXPECT_EQ(leaders(), 1);
  EXPECT_EQ(a->health(), coordination_health::degraded) << a->status().detail;
  EXPECT_EQ(b->health(), coordination_health::degraded) << b->status().detail;
  EXPECT_EQ(a.metric("vigil_coordination_healthy"), 0.0);
  EXPECT_GE(a.metric("vigil_coordination_endpoints_down"), 1.0);
  EXPECT_EQ(leader().put_guarded("recommendation", "r1"), write_result::ok);

  // Two down: no quorum. Within a step nobody is leader and health is lost.
  cluster.kill(1);
  const auto waited = testing::drive_until(
      clock, both,
      [&] {
        return leaders() == 0 && a->health() == coordination_health::lost && b->health() == coordination_health::lost;
      },
      seconds(5), milliseconds(300));
  std::printf("quorum loss noticed after %lld ms\n", static_cast<long long>(waited.count()));
  EXPECT_EQ(leaders(), 0);
  EXPECT_EQ(a->health(), coordination_health::lost) << a->status().detail;
  EXPECT_EQ(b->health(), coordination_health::lost) << b->status().detail;
  EXPECT_EQ(a->put_guarded("recommendation", "r2"), write_result::fenced);
  EXPECT_EQ(b->put_guarded("recommendation", "r2"), write_result::fenced);
  EXPECT_THROW((void)a->get("recommendation"), coordination_unavailable);
  // It stays that way while the outage lasts (longer than a lease_ttl).
  testing::drive_until(
      clock, both, [&] { return leaders() != 0; }, seconds(3), milliseconds(300));
  EXPECT_EQ(leaders(), 0);

  // Restart both: quorum returns and exactly one leader with it.
  cluster.start(0);
  cluster.start(1);
  const auto back = testing::drive_until(
      clock, both, [&] { return leaders() == 1; }, seconds(20), milliseconds(300));
  std::printf("leader back %lld ms after the restart\n", static_cast<long long>(back.count()));
  ASSERT_EQ(leaders(), 1);
  EXPECT_EQ(leader().get("recommendation").value(), "r1");
  EXPECT_EQ(leader().put_guarded("recommendation", "r3"), write_result::ok);
}

}  // namespace
}  // namespace vigil::coordination
