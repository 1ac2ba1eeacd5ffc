// The single-node file coordinator and the coordinator factory.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "common/crypto.hpp"
#include "coordination/coordination.hpp"
#include "coordination/coordination_runner.hpp"

namespace vigil::coordination {
namespace {

struct temp_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("vigil-coord-" + common::random_hex(6));
  temp_dir() { std::filesystem::create_directories(path); }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

TEST(FileCoordinator, AlwaysLeaderWithTokenOne) {
  temp_dir d;
  file_coordinator c(d.path / "shared", d.path / "approvals.jti", "solo");
  c.step(common::mono_time{});
  EXPECT_TRUE(c.is_leader());
  EXPECT_EQ(c.fencing_token(), 1);
  EXPECT_EQ(c.health(), coordination_health::healthy);
  const auto js = c.status_json();
  EXPECT_EQ(js["leader"], true);
  EXPECT_EQ(js["fencing_token"], 1);
  EXPECT_EQ(js["coordination"]["backend"], "file");
  EXPECT_EQ(js["coordination"]["leader_id"], "solo");
}

TEST(FileCoordinator, SharedStateSurvivesReopening) {
  temp_dir d;
  {
    file_coordinator c(d.path / "shared", d.path / "approvals.jti");
    EXPECT_EQ(c.put_guarded("recommendation", "r1"), write_result::ok);
    EXPECT_EQ(c.put_guarded("outbox/inc-1/trigger/0", "p", true), write_result::ok);
    EXPECT_EQ(c.put_guarded("outbox/inc-1/trigger/0", "again", true), write_result::exists);
    EXPECT_EQ(c.put_json_guarded(coordination_keys::plan_step("rec/odd name", 1), {{"status", "done"}}),
              write_result::ok);
    EXPECT_EQ(c.put_guarded("../escape", "x"), write_result::ok);  // stays inside the directory
  }
  file_coordinator c(d.path / "shared", d.path / "approvals.jti");
  EXPECT_EQ(c.get("recommendation").value(), "r1");
  EXPECT_EQ(c.get("outbox/inc-1/trigger/0").value(), "p");
  EXPECT_FALSE(c.get("absent").has_value());
  EXPECT_EQ(c.get_json("plan/rec/odd name/0001").value()["status"], "done");
  EXPECT_EQ(c.get("../escape").value(), "x");
  EXPECT_FALSE(std::filesystem::exists(d.path / "escape"));
  const auto outbox = c.list("outbox/");
  ASSERT_EQ(outbox.size(), 1U);
  EXPECT_EQ(outbox.begin()->first, "outbox/inc-1/trigger/0");
  EXPECT_EQ(c.list("").size(), 4U);
  EXPECT_EQ(c.erase_guarded("recommendation"), write_result::ok);
  EXPECT_FALSE(c.get("recommendation").has_value());
}

TEST(FileCoordinator, LedgerIsSingleUse) {
  temp_dir d;
  common::manual_clock clock;
  file_coordinator c(d.path / "shared", d.path / "approvals.jti");
  const auto exp = clock.wall() + std::chrono::minutes(5);
  EXPECT_TRUE(c.ledger().try_consume("j1", exp));
  EXPECT_FALSE(c.ledger().try_consume("j1", exp));
  EXPECT_TRUE(std::filesystem::exists(d.path / "approvals.jti"));
}

TEST(MakeCoordinator, BuildsTheConfiguredBackend) {
  temp_dir d;
  common::manual_clock clock;
  prometheus::Registry registry;
  common::config cfg;
  cfg.engine.state_dir = d.path.string();
  auto file = make_coordinator(cfg, "r1", clock, registry);
  EXPECT_EQ(file->status().backend, "file");
  EXPECT_TRUE(file->is_leader());
  cfg.coordination.backend = common::coordination_backend::etcd;
  cfg.coordination.endpoints = {"http://127.0.0.1:1"};
  cfg.coordination.prefix = "/vigil/test";
  auto etcd = make_coordinator(cfg, "r1", clock, registry);
  EXPECT_EQ(etcd->status().backend, "etcd");
  EXPECT_FALSE(etcd->is_leader());
  EXPECT_EQ(etcd->step_interval(), std::chrono::seconds(1));
}

TEST(CoordinationNames, AreStable) {
  EXPECT_EQ(to_string(coordination_health::degraded), "degraded");
  EXPECT_EQ(to_string(write_result::fenced), "fenced");
  EXPECT_EQ(coordination_keys::plan_step("r", 3), "plan/r/0003");
  EXPECT_EQ(coordination_keys::decision_state, "decision");
}

}  // namespace
}  // namespace vigil::coordination
