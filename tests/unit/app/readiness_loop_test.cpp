// The readiness loop's bookkeeping (app/readiness_loop.hpp) with a scripted
// probe and sinks that run at once: item states and since, one notice per
// failed item until it recovers, the dr_ready feed, the metrics and the
// GET /v1/readiness document; a follower does not run.

#include "app/readiness_loop.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "common/clock.hpp"

namespace vigil::app {
namespace {

using actuators::item_state;
using actuators::readiness_item;
using nlohmann::json;
using namespace std::chrono_literals;

struct rig {
  common::manual_clock clock;
  prometheus::Registry registry;
  common::config cfg;
  std::vector<readiness_item> items{{"arc.endpoints", item_state::ok, "5 of 5"},
                                    {"ecs.activate.max_capacity", item_state::ok, "MaxCapacity 10"}};
  bool leader = true;
  std::vector<std::string> notices;  ///< "set KEY" / "clear KEY"
  std::vector<std::tuple<std::string, bool, std::string>> gate;
  std::unique_ptr<readiness_loop> loop;

  rig() {
    cfg.regions = {{"us-east-1", common::region_role::primary, {}}, {"us-west-2", common::region_role::dr, {}}};
    common::plan_step_config s;
    s.name = "activate";
    s.kind = "exec";
    cfg.failover.steps = {s};
    readiness_sinks k;
    k.post = [](std::function<void()> f) { f(); };
    k.status = [] { return json::object(); };
    k.is_leader = [this] { return leader; };
    k.set_notice = [this](const std::string& key, const std::string&, const json&) { notices.push_back("set " + key); };
    k.clear_notice = [this](const std::string& key) { notices.push_back("clear " + key); };
    k.set_readiness = [this](const std::string& a, bool ok, const std::string& d, common::wall_time) {
      gate.emplace_back(a, ok, d);
    };
    loop = std::make_unique<readiness_loop>(cfg, readiness_settings{}, clock, registry, std::move(k),
                                            [this](const actuators::readiness_request& r) {
                                              EXPECT_EQ(r.action, "failover");
                                              EXPECT_EQ(r.to, "us-west-2");
                                              return items;
                                            });
  }
  std::string metrics() { return prometheus::TextSerializer().Serialize(registry.Collect()); }
};

TEST(ReadinessLoop, StatesSinceNoticesAndTheGate) {
  rig g;
  ASSERT_TRUE(g.loop->run_once());
  ASSERT_EQ(g.gate.size(), 1U);
  EXPECT_TRUE(std::get<1>(g.gate[0]));
  EXPECT_TRUE(g.notices.empty());
  auto doc = g.loop->to_json();
  EXPECT_TRUE(doc["plans"]["failover"]["ok"].get<bool>());
  EXPECT_FALSE(doc["plans"].contains("failback"));  // no steps: not checked
  EXPECT_NE(g.metrics().find(R"(vigil_readiness_ok{item="ecs.activate.max_capacity",plan="failover"} 1)"),
            std::string::npos);

  g.clock.advance(5min);
  g.items[1] = {"ecs.activate.max_capacity", item_state::failed, "MaxCapacity 0 < the plan's count 4"};
  ASSERT_TRUE(g.loop->run_once());
  g.clock.advance(5min);
  ASSERT_TRUE(g.loop->run_once());  // still failed: the notice is set again (idempotent), since stays
  EXPECT_EQ(g.notices, (std::vector<std::string>{"set readiness-failover-ecs.activate.max_capacity",
                                                 "set readiness-failover-ecs.activate.max_capacity"}));
  EXPECT_FALSE(std::get<1>(g.gate.back()));
  EXPECT_NE(std::get<2>(g.gate.back()).find("ecs.activate.max_capacity failed: MaxCapacity 0"), std::string::npos);
  doc = g.loop->to_json();
  const auto& item = doc["plans"]["failover"]["items"][1];
  EXPECT_EQ(item["state"], "failed");
  EXPECT_NE(item["since"], item["last_checked"]);  // failed since the first failed run, checked now
  EXPECT_NE(g.metrics().find(R"(vigil_readiness_ok{item="ecs.activate.max_capacity",plan="failover"} 0)"),
            std::string::npos);

  g.items[1].state = item_state::ok;
  g.items[0].state = item_state::unknown;
  ASSERT_TRUE(g.loop->run_once());
  EXPECT_EQ(g.notices.back(), "clear readiness-failover-ecs.activate.max_capacity");
  EXPECT_FALSE(std::get<1>(g.gate.back()));  // unknown is not ready, and does not page
  EXPECT_EQ(g.notices.size(), 3U);
  EXPECT_NE(g.metrics().find(R"(vigil_readiness_ok{item="arc.endpoints",plan="failover"} -1)"), std::string::npos);
}

TEST(ReadinessLoop, AFailedWarningItemPagesButTheGateStaysOpen) {
  rig g;
  g.items[0] = {"arc.endpoints", item_state::failed, "3 of 5 cluster endpoints answer", true};
  ASSERT_TRUE(g.loop->run_once());
  EXPECT_EQ(g.notices, (std::vector<std::string>{"set readiness-failover-arc.endpoints"}));
  ASSERT_EQ(g.gate.size(), 1U);
  EXPECT_TRUE(std::get<1>(g.gate[0]));  // the plan would still work
  auto doc = g.loop->to_json();
  EXPECT_TRUE(doc["plans"]["failover"]["ok"].get<bool>());
  EXPECT_TRUE(doc["plans"]["failover"]["items"][0]["warning"].get<bool>());
  EXPECT_EQ(doc["plans"]["failover"]["items"][0]["state"], "failed");
  EXPECT_NE(g.metrics().find(R"(vigil_readiness_ok{item="arc.endpoints",plan="failover"} 0)"), std::string::npos);
  g.items[0].state = item_state::ok;
  g.clock.advance(5min);
  ASSERT_TRUE(g.loop->run_once());
  EXPECT_EQ(g.notices.back(), "clear readiness-failover-arc.endpoints");
}

TEST(ReadinessLoop, AFollowerDoesNotRun) {
  rig g;
  g.leader = false;
  EXPECT_FALSE(g.loop->run_once());
  EXPECT_TRUE(g.gate.empty());
  EXPECT_TRUE(g.loop->to_json()["plans"].empty());
}

TEST(ReadinessLoop, ServesGetV1Readiness) {
  rig g;
  ASSERT_TRUE(g.loop->run_once());
  common::http_request r;
  r.method = "GET";
  r.path = "/v1/readiness";
  const auto resp = g.loop->route(r);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(json::parse(resp->body)["plans"]["failover"]["items"].size(), 2U);
  r.path = "/v1/status";
  EXPECT_FALSE(g.loop->route(r));
  r.path = "/v1/readiness";
  r.method = "POST";
  EXPECT_EQ(g.loop->route(r)->status, 405);
}

}  // namespace
}  // namespace vigil::app
