// Leader election, local step-down deadline, fencing and shared state of the
// etcd coordinator, against a real 3-member etcd 3.4 cluster.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#include "coordination/coordination_etcd.hpp"
#include "coordination/coordination_runner.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/support/test_process.hpp"
#include "tests/unit/coordination/servers/etcd_test_util.hpp"

namespace vigil::coordination {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::replica;

std::vector<std::string> endpoints() {
  return vigil::testing::shared_etcd_cluster().endpoints();
}

TEST(EtcdElection, ExactlyOneLeaderAndTheTokenIsTheCreateRevision) {
  common::manual_clock clock;
  const auto prefix = testing::fresh_prefix("one");
  replica a(endpoints(), prefix, "a", clock);
  replica b(endpoints(), prefix, "b", clock);
  a->step(clock.monotonic());
  b->step(clock.monotonic());
  EXPECT_TRUE(a->is_leader());
  EXPECT_FALSE(b->is_leader());
  EXPECT_EQ(b->fencing_token(), 0);
  EXPECT_EQ(b->status().leader_id, "a");
  auto key = a->client().range(a->leader_key());
  ASSERT_TRUE(key);
  ASSERT_EQ(key.value.kvs.size(), 1U);
  EXPECT_EQ(key.value.kvs[0].value, "a");
  EXPECT_EQ(a->fencing_token(), key.value.kvs[0].create_revision);
  EXPECT_NE(key.value.kvs[0].lease, 0);
  EXPECT_EQ(a->health(), coordination_health::healthy);
  EXPECT_EQ(a.metric("vigil_fencing_token"), static_cast<double>(a->fencing_token()));
  EXPECT_EQ(a.metric("vigil_coordination_healthy"), 1.0);
  EXPECT_EQ(b.metric("vigil_fencing_token"), 0.0);
  EXPECT_EQ(a.metric("vigil_leader"), -1.0);  // the engine owns vigil_leader

  const auto js = a->status_json();
  EXPECT_EQ(js["leader"], true);
  EXPECT_EQ(js["fencing_token"], a->fencing_token());
  EXPECT_EQ(js["coordination"]["health"], "healthy");
  EXPECT_EQ(js["coordination"]["backend"], "etcd");
  a->resign();
  EXPECT_FALSE(a->is_leader());
  b->step(clock.monotonic());
  EXPECT_TRUE(b->is_leader()) << b->status().detail;
  EXPECT_GT(b->fencing_token(), key.value.kvs[0].create_revision);
}

TEST(EtcdElection, LeaderStepsDownOnItsLocalDeadlineBeforeTheLeaseExpires) {
  common::manual_clock clock;
  const auto prefix = testing::fresh_prefix("deadline");
  replica a(endpoints(), prefix, "a", clock, seconds(9));
  replica b(endpoints(), prefix, "b", clock, seconds(9));
  a->step(clock.monotonic());
  ASSERT_TRUE(a->is_leader());
  // 9 s lease: keepalive every 3 s, local deadline 6 s after the last one.
  clock.advance(milliseconds(5999));
  EXPECT_TRUE(a->is_leader());
  clock.advance(milliseconds(1));
  EXPECT_FALSE(a->is_leader()) << "no step ran: is_leader() checks the deadline itself";
  EXPECT_EQ(a->fencing_token(), 0);
  EXPECT_EQ(a->put_guarded("k", "v"), write_result::fenced);
  a->step(clock.monotonic());  // steps down and revokes the lease...
  EXPECT_FALSE(a->is_leader());
  EXPECT_NE(a->status().last_transition.find("local deadline"), std::string::npos) << a->status().last_transition;
  b->step(clock.monotonic());  // ...so the follower takes over at once
  EXPECT_TRUE(b->is_leader());
}

TEST(EtcdElection, KeepalivesMoveTheDeadline) {
  common::manual_clock clock;
  replica a(endpoints(), testing::fresh_prefix("keepalive"), "a", clock, seconds(9));
  a->step(clock.monotonic());
  const auto first = a->deadline();
  for (int i = 0; i < 6; ++i) {  // 6 × 2 s = 12 s: past the first deadline, still leader
    clock.advance(seconds(2));
    a->step(clock.monotonic());
    ASSERT_TRUE(a->is_leader()) << "step " << i << ": " << a->status().detail;
  }
  EXPECT_GT(a->deadline(), first + seconds(5));
}

TEST(EtcdElection, AKeepaliveWithoutTtlStepsDownAtOnce) {
  common::manual_clock clock;
  const auto prefix = testing::fresh_prefix("lost-lease");
  replica a(endpoints(), prefix, "a", clock, seconds(9));
  a->step(clock.monotonic());
  ASSERT_TRUE(a->is_leader());
  // Someone revokes the lease (an operator, or etcd expired it while we
  // were paused): the next keepalive answers 200 with no TTL.
  const auto key = a->client().range(a->leader_key());
  ASSERT_TRUE(key);
  const std::int64_t lease = key.value.kvs.at(0).lease;
  etcd_client other(etcd_client_options{endpoints()});
  ASSERT_TRUE(other.lease_revoke(lease));
  clock.advance(seconds(3));  // keepalive due, deadline still 3 s away
  a->step(clock.monotonic());
  EXPECT_FALSE(a->is_leader());
  EXPECT_NE(a->status().last_transition.find("without a TTL"), std::string::npos) << a->status().last_transition;
  EXPECT_EQ(a->status().leader_id, "") << "nobody leads until the back-off ends";
  clock.advance(seconds(3));
  a->step(clock.monotonic());
  EXPECT_TRUE(a->is_leader()) << "campaigns again after a keepalive interval";
}

TEST(EtcdElection, ADeposedLeaderCannotChangeSharedState) {
  common::manual_clock clock_a;  // a's clock never moves: it still believes it leads
  common::manual_clock clock_b;
  const auto prefix = testing::fresh_prefix("fence");
  replica a(endpoints(), prefix, "a", clock_a, seconds(9));
  replica b(endpoints(), prefix, "b", clock_b, seconds(9));
  a->step(clock_a.monotonic());
  ASSERT_TRUE(a->is_leader());
  const std::int64_t old_token = a->fencing_token();
  ASSERT_EQ(a->put_guarded("recommendation", "from-a"), write_result::ok);

  // a is "paused": its lease goes away behind its back and b takes over.
  etcd_client other(etcd_client_options{endpoints()});
  ASSERT_TRUE(other.lease_revoke(a->client().range(a->leader_key()).value.kvs.at(0).lease));
  b->step(clock_b.monotonic());
  ASSERT_TRUE(b->is_leader());
  ASSERT_NE(b->fencing_token(), old_token);
  ASSERT_EQ(b->put_guarded("recommendation", "from-b"), write_result::ok);

  // a wakes up still convinced (no step yet): every write carries its old token.
  ASSERT_TRUE(a->is_leader());
  EXPECT_EQ(a->put_guarded("recommendation", "stale"), write_result::fenced);
  EXPECT_EQ(a->put_guarded("outbox/inc-1", "stale", true), write_result::fenced);
  EXPECT_EQ(a->erase_guarded("recommendation"), write_result::fenced);
  EXPECT_EQ(a->put_with_token(old_token, "plan/r1/0000", "stale"), write_result::fenced);
  EXPECT_EQ(b->get("recommendation").value(), "from-b");
  EXPECT_FALSE(b->get("outbox/inc-1").has_value());
  EXPECT_FALSE(b->get("plan/r1/0000").has_value());
  a->step(clock_a.monotonic());
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a->status().leader_id, "b");
}

TEST(EtcdElection, SharedStateHelpers) {
  common::manual_clock clock;
  replica a(endpoints(), testing::fresh_prefix("state"), "a", clock);
  EXPECT_EQ(a->put_guarded("x", "y"), write_result::fenced) << "no step yet: not leader";
  a->step(clock.monotonic());
  ASSERT_TRUE(a->is_leader());
  const std::string key = coordination_keys::outbox("inc-7/trigger/1");
  EXPECT_EQ(a->put_guarded(key, "1", true), write_result::ok);
  EXPECT_EQ(a->put_guarded(key, "2", true), write_result::exists);
  EXPECT_EQ(a->get(key).value(), "1");
  EXPECT_EQ(a->put_json_guarded(coordination_keys::plan_step("rec-1", 2), {{"status", "done"}}), write_result::ok);
  EXPECT_EQ(a->put_json_guarded(coordination_keys::plan_step("rec-1", 10), {{"status", "started"}}), write_result::ok);
  const auto steps = a->list("plan/rec-1/");
  ASSERT_EQ(steps.size(), 2U);
  EXPECT_EQ(steps.begin()->first, "plan/rec-1/0002");
  EXPECT_EQ(a->get_json("plan/rec-1/0010").value()["status"], "started");
  EXPECT_FALSE(a->get_json("plan/rec-1/0003").has_value());
  EXPECT_EQ(a->erase_guarded(key), write_result::ok);
  EXPECT_FALSE(a->get(key).has_value());
  ASSERT_EQ(a->put_guarded("bad-json", "{"), write_result::ok);
  EXPECT_THROW((void)a->get_json("bad-json"), std::runtime_error);
}

TEST(EtcdElection, ACrashedLeaderIsReplacedWithinLeaseTtlPlusATick) {
  common::real_clock clock;
  const auto prefix = testing::fresh_prefix("crash");
  auto a = std::make_unique<replica>(endpoints(), prefix, "a", clock, seconds(2));
  replica b(endpoints(), prefix, "b", clock, seconds(2));
  (*a)->step(clock.monotonic());
  b->step(clock.monotonic());
  ASSERT_TRUE((*a)->is_leader());
  a.reset();  // a crashes: no resign, no more keepalives
  const auto waited = testing::drive_until(
      clock, {b.c.get()}, [&] { return b->is_leader(); }, seconds(6), b->step_interval());
  EXPECT_TRUE(b->is_leader());
  // etcd expires leases on a 500 ms check: lease_ttl 2 s + that + one step.
  EXPECT_LE(waited, seconds(2) + milliseconds(500) + b->step_interval() + milliseconds(700));
  std::printf("takeover after %lld ms (lease_ttl 2000 ms, step %lld ms)\n", static_cast<long long>(waited.count()),
              static_cast<long long>(b->step_interval().count()));
}

TEST(EtcdElection, APausedLeaderResumesAlreadyDeposedAndFenced) {
  // SIGSTOP in miniature: the leader stops stepping (no keepalives) for
  // 2 × lease_ttl of real time while the follower keeps stepping.
  common::real_clock clock;
  const auto prefix = testing::fresh_prefix("pause");
  replica a(endpoints(), prefix, "a", clock, seconds(2));
  replica b(endpoints(), prefix, "b", clock, seconds(2));
  a->step(clock.monotonic());
  ASSERT_TRUE(a->is_leader());
  const std::int64_t old_token = a->fencing_token();
  testing::drive_until(
      clock, {b.c.get()}, [] { return false; }, seconds(4), b->step_interval());
  ASSERT_TRUE(b->is_leader());
  // "SIGCONT": before a's first step it already refuses to act, and the
  // requests it may have had in flight with its old token change nothing.
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a->put_guarded("recommendation", "stale"), write_result::fenced);
  EXPECT_EQ(a->put_with_token(old_token, "recommendation", "stale"), write_result::fenced);
  EXPECT_FALSE(b->get("recommendation").has_value());
  a->step(clock.monotonic());
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a->status().leader_id, "b");
}

TEST(EtcdElection, RunnerReportsLeadership) {
  common::real_clock clock;
  replica a(endpoints(), testing::fresh_prefix("runner"), "a", clock);
  std::atomic<int> became_leader{0};
  {
    coordination_runner runner(*a, clock, [&](bool leader) {
      if (leader) ++became_leader;
    });
    runner.start();
    testing::drive_until(
        clock, {}, [&] { return became_leader.load() > 0; }, seconds(5));
  }
  EXPECT_EQ(became_leader.load(), 1);
  EXPECT_TRUE(a->is_leader());
}

TEST(EtcdJtiLedger, FiftyConcurrentConsumesFromThreeReplicasSucceedOnce) {
  common::real_clock clock;
  const auto prefix = testing::fresh_prefix("jti");
  std::vector<std::unique_ptr<replica>> rs;
  // The product's default lease (10 s, so 2 s requests): a busy machine
  // slows etcd's fsyncs, and the ledger must still give one answer each.
  for (const char* id : {"a", "b", "c"})
    rs.push_back(std::make_unique<replica>(endpoints(), prefix, id, clock, seconds(10)));
  const auto expires = clock.wall() + std::chrono::minutes(10);
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::atomic<int> errors{0};
  std::mutex first_error_mutex;
  std::string first_error;
  std::vector<std::thread> threads;
  threads.reserve(50);
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&, i] {
      try {
        const bool ok = (*rs[static_cast<std::size_t>(i % 3)])->ledger().try_consume("jti-same-1", expires);
        ++(ok ? accepted : refused);
      } catch (const std::exception& e) {
        ++errors;
        const std::scoped_lock lock(first_error_mutex);
        if (first_error.empty()) first_error = e.what();
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(accepted.load(), 1);
  EXPECT_EQ(refused.load() + errors.load(), 49);
  EXPECT_EQ(errors.load(), 0) << first_error;
  // A different jti is still fresh; a malformed one is refused outright.
  EXPECT_TRUE((*rs[1])->ledger().try_consume("jti-other", expires));
  EXPECT_THROW((void)(*rs[0])->ledger().try_consume("has space", expires), std::invalid_argument);
  // The entry carries a lease longer than the token's remaining life.
  auto& client = (*rs[0])->client();
  auto key = client.range(prefix + "/jti/jti-same-1");
  ASSERT_TRUE(key);
  ASSERT_EQ(key.value.kvs.size(), 1U);
  auto ttl = client.lease_time_to_live(key.value.kvs[0].lease);
  ASSERT_TRUE(ttl);
  EXPECT_GT(ttl.value.ttl, 600);
}

// A jti whose approval the core refused is released by the replica that
// consumed it, and only by it: the retry is accepted once, and another
// replica cannot release a use it did not make.
TEST(EtcdJtiLedger, ARefusedUseIsReleasedOnlyByItsReplicaAndTheRetryWinsOnce) {
  common::real_clock clock;
  const auto prefix = testing::fresh_prefix("jti-release");
  std::vector<std::unique_ptr<replica>> rs;
  for (const char* id : {"a", "b"})
    rs.push_back(std::make_unique<replica>(endpoints(), prefix, id, clock));
  auto& a = (*rs[0])->ledger();
  auto& b = (*rs[1])->ledger();
  const auto expires = clock.wall() + std::chrono::minutes(10);
  ASSERT_TRUE(a.try_consume("jti-retry", expires));
  EXPECT_FALSE(b.try_consume("jti-retry", expires));  // reserved: a concurrent use is a replay
  b.release("jti-retry", expires);                    // not b's record: nothing released
  EXPECT_FALSE(b.try_consume("jti-retry", expires));
  a.release("jti-retry", expires);  // the core refused a's use
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 10; ++i) {
    threads.emplace_back([&, i] {
      if ((*rs[static_cast<std::size_t>(i % 2)])->ledger().try_consume("jti-retry", expires)) ++accepted;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(accepted.load(), 1);
}

// A reservation whose txn answer arrives after the client gave up (etcd
// applied it): the ledger reads the key back instead of guessing, so the
// token is accepted once, the reservation survives (its lease is not
// revoked), and a second use is a replay.
TEST(EtcdJtiLedger, AWriteWhoseAnswerIsLostIsReadBackNotRevoked) {
  vigil::testing::child_process relay({vigil::testing::python(),
                                       vigil::testing::source_dir() + "/tests/support/etcd_slow_relay.py",
                                       endpoints().front(), "1.5", "1"});
  common::real_clock clock;
  const auto prefix = testing::fresh_prefix("jti-lost-answer");
  replica a({relay.base_url()}, prefix, "a", clock, seconds(2));  // 400 ms requests
  const auto expires = clock.wall() + std::chrono::minutes(10);
  EXPECT_TRUE(a->ledger().try_consume("jti-late-answer", expires));
  EXPECT_FALSE(a->ledger().try_consume("jti-late-answer", expires));
  replica b(endpoints(), prefix, "b", clock);
  EXPECT_FALSE(b->ledger().try_consume("jti-late-answer", expires));
  auto key = b->client().range(prefix + "/jti/jti-late-answer");
  ASSERT_TRUE(key);
  ASSERT_EQ(key.value.kvs.size(), 1U);
  EXPECT_NE(key.value.kvs[0].value.find("\"replica\":\"a\""), std::string::npos) << key.value.kvs[0].value;
  // The refused-use release still finds a's own reservation.
  a->ledger().release("jti-late-answer", expires);
  EXPECT_TRUE(b->ledger().try_consume("jti-late-answer", expires));
}

TEST(EtcdCoordinator, RejectsBadOptions) {
  common::manual_clock clock;
  prometheus::Registry r;
  etcd_coordinator_options o;
  EXPECT_THROW(etcd_coordinator(o, clock, r), std::invalid_argument);
  o.endpoints = {"http://127.0.0.1:1"};
  EXPECT_THROW(etcd_coordinator(o, clock, r), std::invalid_argument);
  o.replica_id = "a";
  o.lease_ttl = milliseconds(500);
  EXPECT_THROW(etcd_coordinator(o, clock, r), std::invalid_argument);
}

TEST(EtcdCoordinator, UnreachableEtcdIsLostAndNobodyLeads) {
  common::manual_clock clock;
  replica a({"http://127.0.0.1:" + std::to_string(vigil::testing::free_tcp_port())}, "/p", "a", clock);
  a->step(clock.monotonic());
  EXPECT_EQ(a->health(), coordination_health::lost);
  EXPECT_FALSE(a->is_leader());
  EXPECT_EQ(a.metric("vigil_coordination_healthy"), 0.0);
  EXPECT_THROW((void)a->get("x"), coordination_unavailable);
  EXPECT_THROW((void)a->ledger().try_consume("j1", clock.wall()), std::runtime_error);
}

}  // namespace
}  // namespace vigil::coordination
