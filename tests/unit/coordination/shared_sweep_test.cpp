// coordination::sweep_shared: the leader's retention sweep of the shared outbox and
// plan journal (docs/ha.md), on the file coordinator.
#include "coordination/shared_sweep.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace vigil::coordination {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const common::wall_time now{std::chrono::milliseconds{1'795'000'000'000}};

json page_claim(const std::string& state, common::wall_time at) {
  return {{"state", state},
          {"by", "r0"},
          {"page", {{"incident_id", "x"}, {"timestamp_ms", at.time_since_epoch().count()}}}};
}

TEST(SharedSweep, ErasesOldDonePagesAndFinishedPlansOnly) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("vigil-sweep-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::remove_all(dir);
  coordination::file_coordinator c(dir / "shared", dir / "approvals.jti");
  const auto old = now - 26h;
  const auto recent = now - 1h;
  ASSERT_EQ(c.put_json_guarded("outbox/x/trigger/1", page_claim("done", old)), coordination::write_result::ok);
  ASSERT_EQ(c.put_json_guarded("outbox/x/resolve/2", page_claim("done", recent)), coordination::write_result::ok);
  ASSERT_EQ(c.put_json_guarded("outbox/y/trigger/1", page_claim("claimed", old)), coordination::write_result::ok);
  // Plan A ended 26 h ago, plan B 1 h ago, plan C never ended.
  const auto plan = [&](const std::string& hash, const std::string& rec, std::optional<common::wall_time> end) {
    ASSERT_EQ(c.put_json_guarded("journal/" + hash + "/000000", {{"type", "plan_begin"},
                                                                 {"hash", hash},
                                                                 {"recommendation_id", rec},
                                                                 {"at", common::format_rfc3339(old - 1h)}}),
              coordination::write_result::ok);
    ASSERT_EQ(c.put_json_guarded(coordination::coordination_keys::plan_step(rec, 0), {{"step", "one"}}),
              coordination::write_result::ok);
    if (end) {
      ASSERT_EQ(c.put_json_guarded("journal/" + hash + "/000001",
                                   {{"type", "plan_end"}, {"hash", hash}, {"at", common::format_rfc3339(*end)}}),
                coordination::write_result::ok);
    }
  };
  plan("aaaa", "failover-a", old);
  plan("bbbb", "failover-b", recent);
  plan("cccc", "failover-c", std::nullopt);

  const auto r = sweep_shared(c, now);
  EXPECT_EQ(r.outbox, 1U);
  EXPECT_EQ(r.journal, 2U);
  EXPECT_EQ(r.steps, 1U);
  const auto left = c.list("");
  EXPECT_FALSE(left.contains("outbox/x/trigger/1"));
  EXPECT_TRUE(left.contains("outbox/x/resolve/2"));
  EXPECT_TRUE(left.contains("outbox/y/trigger/1"));  // never done: kept
  EXPECT_FALSE(left.contains("journal/aaaa/000000"));
  EXPECT_FALSE(left.contains("plan/failover-a/0000"));
  EXPECT_TRUE(left.contains("journal/bbbb/000001"));
  EXPECT_TRUE(left.contains("plan/failover-b/0000"));
  EXPECT_TRUE(left.contains("journal/cccc/000000"));
  EXPECT_TRUE(left.contains("plan/failover-c/0000"));
  EXPECT_EQ(sweep_shared(c, now).outbox, 0U);  // nothing left to do
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vigil::coordination
