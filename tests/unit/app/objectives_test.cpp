#include "app/objectives.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <filesystem>

#include "app/objectives_store.hpp"
#include "common/config_load.hpp"

namespace vigil::app {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Detection bound: fall 2 x interval 1s + confirm_for 2s + 2 ticks of 1s = 6s.
constexpr const char* objectives_yaml = R"(
deployment: objectives-test
regions:
  - {name: us-east-1, role: primary}
  - {name: us-west-2, role: dr}
vantages: [us-east-1, us-west-2, eu-west-1]
decision: {tick: 1s, fall: 2, rise: 2, confirm_for: 2s}
probe_defaults: {interval: 1s, timeout: 500ms}
services:
  - name: api
    checks:
      - {region: us-east-1, http: {url: 'http://127.0.0.1:1/a'}}
      - {region: us-west-2, http: {url: 'http://127.0.0.1:1/b'}}
engine: {agent_key_file: agent.key, state_dir: STATE_DIR}
paging: [{kind: log}]
plan:
  failover: {dry_run: true, steps: [{name: announce, kind: exec, command: [/bin/true], timeout: 40s}]}
)";

struct notice {
  std::string key;
  std::string summary;
  bool set = true;
};

class objectives_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("vigil-objectives-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::string yaml = objectives_yaml;
    yaml.replace(yaml.find("STATE_DIR"), 9, dir_.string());
    auto loaded = common::load_config_text(
        yaml, "/virtual/objectives.yaml", [](std::string_view) { return std::optional<std::string>{}; },
        [](const std::string&, std::string&) -> std::optional<std::string> { return std::string("agent-secret"); });
    ASSERT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].format());
    cfg_ = *loaded.value;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<objectives_service> make(objectives_settings s) {
    auto svc = std::make_unique<objectives_service>(io_, cfg_, clock_, registry_, s);
    objectives_seams seams;
    seams.is_leader = [this] { return leader_; };
    seams.status = [this] { return status_; };
    seams.set_notice = [this](const std::string& k, decision::severity, const std::string& summary, const json&) {
      notices_.push_back({k, summary, true});
    };
    seams.clear_notice = [this](const std::string& k) { notices_.push_back({k, "", false}); };
    svc->start(std::move(seams));
    return svc;
  }

  /// The events the engine hands over when an approved real plan ends.
  void plan_ran(objectives_service& svc, const std::string& id, double step_s) {
    const json pending{{"type", "recommendation"},
                       {"at", "2026-12-01T00:00:10.000Z"},
                       {"recommendation", {{"id", id}, {"state", "pending_approval"}}}};
    svc.observe(pending, [] { return json(nullptr); });
    const json rto{{"dry_run", false},
                   {"approved", "2026-12-01T00:00:40.000Z"},
                   {"plan_started", "2026-12-01T00:00:41.000Z"},
                   {"plan_finished", "2026-12-01T00:00:45.000Z"},
                   {"steps", {{{"name", "announce"}, {"outcome", "done"}, {"duration_s", step_s}}}}};
    const json plan{
        {"recommendation_id", id}, {"action", "failover"}, {"result", "done"}, {"dry_run", false}, {"rto", rto}};
    const auto status = [plan] { return plan; };
    svc.observe({{"type", "audit"},
                 {"at", "2026-12-01T00:00:44.000Z"},
                 {"kind", "plan"},
                 {"details", {{"recommendation_id", id}, {"step", "announce"}, {"status", "done"}}}},
                status);
    svc.observe({{"type", "recommendation"},
                 {"at", "2026-12-01T00:00:45.000Z"},
                 {"recommendation", {{"id", id}, {"state", "done"}}}},
                status);
  }

  std::size_t count(const std::string& key, bool set) const {
    std::size_t n = 0;
    for (const auto& x : notices_)
      n += x.key == key && x.set == set ? 1U : 0U;
    return n;
  }

  std::filesystem::path dir_;
  common::config cfg_;
  boost::asio::io_context io_;
  common::real_clock clock_;
  prometheus::Registry registry_;
  bool leader_ = true;
  json status_ = json::object();
  std::vector<notice> notices_;
};

TEST_F(objectives_test, estimate_terms_and_the_rto_warning) {
  objectives_settings s;
  s.rto = 60s;  // 6s detection + 5m default approval + 40s timeout = 346s
  auto svc = make(s);
  const json doc = svc->document();
  EXPECT_DOUBLE_EQ(doc["rto"]["estimate_s"].get<double>(), 346.0);
  EXPECT_EQ(doc["rto"]["terms"][1]["source"], "default");
  EXPECT_EQ(doc["rto"]["terms"][2]["source"], "timeout");
  EXPECT_TRUE(doc["rto"]["exceeds"].get<bool>());
  ASSERT_EQ(count("objectives-rto", true), 1U);  // once, however often it is evaluated
  EXPECT_NE(notices_[0].summary.find("exceeds objectives.rto 1m"), std::string::npos) << notices_[0].summary;
  svc->evaluate();
  EXPECT_EQ(count("objectives-rto", true), 1U);
  // A real execution is recorded: approval 30s measured, the step 2s: 6 + 30 + 2 = 38s < 60s.
  plan_ran(*svc, "rec-1", 2.0);
  EXPECT_EQ(count("objectives-rto", false), 1U);
  const json after = svc->document();
  EXPECT_DOUBLE_EQ(after["rto"]["estimate_s"].get<double>(), 38.0);
  EXPECT_EQ(after["rto"]["terms"][1]["source"], "measured");
  EXPECT_EQ(after["history"]["records"], 1);
  // the record carries the step's end (from the audit event) and start (end - duration)
  const auto step = after["history"]["recent"][0]["steps"][0];
  EXPECT_EQ(step["finished"], "2026-12-01T00:00:44.000Z");
  EXPECT_EQ(step["started"], "2026-12-01T00:00:42.000Z");
  // The same plan's end seen again is not recorded twice.
  plan_ran(*svc, "rec-1", 2.0);
  EXPECT_EQ(svc->document()["history"]["records"], 1);
  // The history is durable: a new service (a restart) reads it.
  auto again = make(s);
  EXPECT_DOUBLE_EQ(again->document()["rto"]["estimate_s"].get<double>(), 38.0);
}

TEST_F(objectives_test, a_raised_objective_resolves_the_warning) {
  objectives_settings s;
  s.rto = 60s;
  auto svc = make(s);
  ASSERT_EQ(count("objectives-rto", true), 1U);
  s.rto = 1h;
  const auto what = svc->reload(s);
  EXPECT_NE(what.find("objectives.rto 3600s"), std::string::npos) << what;
  EXPECT_EQ(count("objectives-rto", false), 1U);
  EXPECT_FALSE(svc->document()["rto"]["exceeds"].get<bool>());
  // A restart with the raised objective sends the clear too (the previous run may have left it open).
  notices_.clear();
  auto restarted = make(s);
  EXPECT_EQ(count("objectives-rto", false), 1U);
  EXPECT_EQ(count("objectives-rto", true), 0U);
}

TEST_F(objectives_test, followers_do_not_page) {
  objectives_settings s;
  s.rto = 10s;
  leader_ = false;
  auto svc = make(s);
  svc->evaluate();
  EXPECT_TRUE(svc->document()["rto"]["exceeds"].get<bool>());
  EXPECT_TRUE(notices_.empty());
  leader_ = true;
  svc->evaluate();
  EXPECT_EQ(count("objectives-rto", true), 1U);
}

TEST_F(objectives_test, rpo_warning_after_two_evaluations_over_the_objective) {
  objectives_settings s;
  s.rpo = 5s;
  auto svc = make(s);
  status_ = {{"replication_lag", {{"ms", 9000}, {"age_s", 1.0}, {"reachable", true}}}};
  svc->evaluate();
  EXPECT_EQ(count("objectives-rpo", true), 0U);  // one late sample does not page
  svc->evaluate();
  EXPECT_EQ(count("objectives-rpo", true), 1U);
  const json doc = svc->document();
  EXPECT_DOUBLE_EQ(doc["rpo"]["exposure_s"].get<double>(), 9.0);
  EXPECT_TRUE(doc["rpo"]["exceeds"].get<bool>());
  const auto clears = count("objectives-rpo", false);  // the first evaluation of a term sends its state
  status_ = {{"replication_lag", {{"ms", 100}, {"age_s", 1.0}, {"reachable", true}}}};
  svc->evaluate();
  EXPECT_EQ(count("objectives-rpo", false), clears + 1);
  svc->evaluate();
  EXPECT_EQ(count("objectives-rpo", false), clears + 1);
  EXPECT_EQ(count("objectives-rto", true), 0U);  // no objectives.rto: never a warning
}

TEST_F(objectives_test, scheduled_drill_is_recorded_as_scheduled) {
  auto svc = make({});
  svc->run_scheduled_drill();
  for (int i = 0; i < 200 && svc->document()["history"]["records"] == 0; ++i)
    io_.run_for(50ms);
  const json doc = svc->document();
  ASSERT_EQ(doc["history"]["records"], 1);
  const auto trend = doc["drills"]["trend"];
  ASSERT_EQ(trend.size(), 1U);
  EXPECT_TRUE(trend[0]["scheduled"].get<bool>());
  EXPECT_EQ(trend[0]["result"], "done");
  // dry runs never count for the step terms
  EXPECT_EQ(doc["rto"]["terms"][2]["source"], "timeout");
  timeline_store store(timelines_path(dir_.string()));
  ASSERT_EQ(store.entries().size(), 1U);
  EXPECT_EQ(store.entries()[0].kind, "drill");
}

TEST_F(objectives_test, serves_get_only_on_its_path) {
  auto svc = make({});
  common::http_request r;
  r.method = "GET";
  r.path = "/v1/status";
  EXPECT_FALSE(svc->route(r));
  r.path = "/v1/objectives";
  const auto ok = svc->route(r);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  r.method = "POST";
  EXPECT_EQ(svc->route(r)->status, 405);
}

}  // namespace
}  // namespace vigil::app
