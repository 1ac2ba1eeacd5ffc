// The engine end to end in one process: real HTTP on 127.0.0.1 (port 0),
// signed batches, the real decision core, a manual clock and explicit ticks.
#include "app/engine.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "app/standing.hpp"
#include "approvals/approval.hpp"
#include "approvals/approval_hook.hpp"
#include "approvals/jti_ledger.hpp"
#include "approvals/keys.hpp"
#include "approvals/standing_policy.hpp"
#include "common/batch.hpp"
#include "common/config_load.hpp"

namespace vigil::app {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using nlohmann::json;

constexpr const char* config_yaml = R"(
deployment: engine-test
regions:
  - {name: us-east-1, role: primary}
  - {name: us-west-2, role: dr}
vantages: [us-east-1, us-west-2, eu-west-1]
decision: {tick: 1s, fall: 2, rise: 2, confirm_for: 2s, clear_for: 10s, service_page_grace: 3s}
probe_defaults: {interval: 1s, timeout: 500ms}
services:
  - name: api-web
    checks:
      - {region: us-east-1, http: {url: 'http://127.0.0.1:1/a'}}
      - {region: us-west-2, http: {url: 'http://127.0.0.1:1/b'}}
  - name: webapp
    checks:
      - {region: us-east-1, http: {url: 'http://127.0.0.1:1/c'}}
      - {region: us-west-2, http: {url: 'http://127.0.0.1:1/d'}}
  - name: notifications
    checks:
      - {region: us-east-1, http: {url: 'http://127.0.0.1:1/e'}}
      - {region: us-west-2, http: {url: 'http://127.0.0.1:1/f'}}
engine:
  listen: 127.0.0.1:9470
  agent_key_file: agent.key
  state_dir: STATE_DIR
paging: [{kind: log}]
plan:
  failover:
    dry_run: true
    steps:
      - {name: verify-dr, kind: verify, region: us-west-2}
)";

struct reply {
  unsigned status = 0;
  std::string body;
  std::string www_authenticate;
};

reply call(std::uint16_t port, http::verb verb, const std::string& target, const std::string& body = {},
           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  asio::io_context io;
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers)
    req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(sock, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  return {res.result_int(), res.body(), std::string(res[http::field::www_authenticate])};
}

class engine_test : public ::testing::Test {
 protected:
  void SetUp() override {
    state_dir_ = std::filesystem::temp_directory_path() /
                 ("vigil-engine-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(state_dir_);
    std::string yaml = config_yaml;
    yaml.replace(yaml.find("STATE_DIR"), 9, state_dir_.string() + engine_yaml());
    if (real_plans()) yaml.replace(yaml.find("dry_run: true"), 13, "dry_run: false");
    yaml += extra_yaml();
    auto loaded = common::load_config_text(
        yaml, "/virtual/engine-test.yaml", [](std::string_view) { return std::optional<std::string>{}; },
        [this](const std::string& path, std::string& error) -> std::optional<std::string> {
          if (path.ends_with("agent.key")) return std::string("agent-secret");
          if (const auto it = files_.find(std::filesystem::path(path).filename().string()); it != files_.end()) {
            return it->second;
          }
          error = "no such file";
          return std::nullopt;
        });
    ASSERT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].format());
    cfg_ = *loaded.value;
    engine_options opts;
    opts.tick_timer = false;
    opts.listen_override = "127.0.0.1:0";
    engine_hooks hooks;
    hooks.on_page = [this](const decision::page& p) { pages_.push_back(p); };
    add_hooks(hooks);
    engine_ = std::make_unique<engine>(io_, cfg_, clock_, registry_, hooks, opts);
    engine_->start();
    port_ = static_cast<std::uint16_t>(std::stoi(engine_->base_url().substr(engine_->base_url().rfind(':') + 1)));
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }

  void TearDown() override {
    if (!engine_) return;
    asio::post(io_, [this] { engine_->stop(); });
    io_.stop();
    thread_.join();
    engine_.reset();
    std::filesystem::remove_all(state_dir_);
  }

  virtual std::string extra_yaml() { return {}; }
  /// Lines added to the engine section ("\n  key: value").
  virtual std::string engine_yaml() { return {}; }
  [[nodiscard]] virtual bool real_plans() const { return false; }
  virtual void add_hooks(engine_hooks&) {}

  template <typename F>
  auto on_io(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    return fut.get();
  }

  reply post_batch(const std::string& vantage, const std::vector<std::pair<std::string, bool>>& results,
                   const std::string& key = "agent-secret") {
    common::batch b;
    b.vantage = vantage;
    b.seq = ++seq_;
    b.sent_at_ms = clock_.wall().time_since_epoch().count();
    for (const auto& [check, ok] : results) {
      b.observations.push_back({check, b.sent_at_ms, ok ? decision::outcome::ok : decision::outcome::http_status, 5.0,
                                ok ? 200 : 503, std::nullopt, ""});
    }
    const auto body = common::serialize_batch(b);
    return call(port_, http::verb::post, "/v1/observations", body,
                {{"X-Vigil-Signature", common::sign_batch(key, body)},
                 {"X-Vigil-Timestamp", std::to_string(b.sent_at_ms)},
                 {"Content-Type", "application/json"}});
  }

  /// One second of virtual time: every listed vantage reports, then a tick.
  void round(const std::vector<std::string>& vantages, const std::set<std::string>& failing) {
    for (const auto& v : vantages) {
      std::vector<std::pair<std::string, bool>> r;
      for (const auto& c : cfg_.checks)
        r.emplace_back(c.id, failing.count(c.id) == 0);
      ASSERT_EQ(post_batch(v, r).status, 202U);
    }
    on_io([this] {
      engine_->tick_now();
      return 0;
    });
    clock_.advance(std::chrono::seconds(1));
  }

  json status() { return json::parse(call(port_, http::verb::get, "/v1/status").body); }

  const std::vector<std::string> all_{"us-east-1", "us-west-2", "eu-west-1"};
  std::filesystem::path state_dir_;
  common::config cfg_;
  common::manual_clock clock_;
  prometheus::Registry registry_;
  asio::io_context io_;
  std::unique_ptr<engine> engine_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::uint64_t seq_ = 0;
  std::vector<decision::page> pages_;
  std::map<std::string, std::string> files_;
};

TEST_F(engine_test, healthy_then_ready_with_status_shape) {
  EXPECT_EQ(call(port_, http::verb::get, "/readyz").status, 503U);
  for (int i = 0; i < 4; ++i)
    round(all_, {});
  EXPECT_EQ(call(port_, http::verb::get, "/healthz").status, 200U);
  EXPECT_EQ(call(port_, http::verb::get, "/readyz").status, 200U);
  const json s = status();
  EXPECT_EQ(s["regions"]["us-east-1"]["classification"], "healthy");
  EXPECT_EQ(s["regions"]["us-east-1"]["role"], "primary");
  EXPECT_EQ(s["regions"]["us-west-2"]["classification"], "healthy");
  EXPECT_EQ(s["vantages"]["eu-west-1"]["state"], "present");
  EXPECT_TRUE(s["leader"].get<bool>());
  ASSERT_EQ(s["checks"].size(), 6U);
  EXPECT_EQ(s["checks"][0]["state"], "up");
  EXPECT_EQ(s["checks"][0]["votes"]["up"], 3);
  EXPECT_TRUE(s["recommendation"].is_null());
  EXPECT_EQ(call(port_, http::verb::get, "/v1/recommendation").status, 404U);
  EXPECT_NE(call(port_, http::verb::get, "/").body.find("<title>vigil</title>"), std::string::npos);
}

TEST_F(engine_test, one_service_down_is_service_degraded_without_recommendation) {
  for (int i = 0; i < 4; ++i)
    round(all_, {});
  for (int i = 0; i < 8; ++i)
    round(all_, {"webapp@us-east-1"});
  const json s = status();
  EXPECT_EQ(s["regions"]["us-east-1"]["classification"], "service_degraded");
  EXPECT_EQ(s["regions"]["us-east-1"]["down_services"], json::array({"webapp"}));
  EXPECT_TRUE(s["recommendation"].is_null());
  ASSERT_FALSE(pages_.empty());
  EXPECT_EQ(pages_.back().kind, decision::page_kind::service_degraded);
}

TEST_F(engine_test, history_buckets_each_check_per_tick_and_filters) {
  for (int i = 0; i < 4; ++i)
    round(all_, {});
  for (int i = 0; i < 8; ++i)
    round(all_, {"webapp@us-east-1"});
  const json h = json::parse(call(port_, http::verb::get, "/v1/history").body);
  EXPECT_EQ(h["buckets"], 72);  // engine.history_buckets default: 72 x 5 min
  EXPECT_EQ(h["bucket_s"], 300.0);
  EXPECT_EQ(h["ticks"].back(), 12);  // every tick of the test falls in one 5-min bucket
  EXPECT_EQ(h["memory_bytes"], 6 * 72 * 8);
  std::map<std::string, std::string> states;
  for (const auto& c : h["checks"])
    states[c["id"].get<std::string>()] = c["states"].get<std::string>();
  ASSERT_EQ(states.size(), 6U);
  EXPECT_EQ(states["webapp@us-east-1"], std::string(71, '-') + "d");  // down at some tick: the bucket is down
  EXPECT_EQ(states["webapp@us-west-2"], std::string(71, '-') + "u");
  const json west = json::parse(call(port_, http::verb::get, "/v1/history?region=us-west-2&check=WEBAPP").body);
  ASSERT_EQ(west["checks"].size(), 1U);
  EXPECT_EQ(west["checks"][0]["id"], "webapp@us-west-2");
  EXPECT_EQ(call(port_, http::verb::get, "/v1/history?region=nowhere").status, 400U);
  EXPECT_EQ(call(port_, http::verb::get, "/v1/history?limit=5000").status, 400U);
  EXPECT_EQ(json::parse(call(port_, http::verb::get, "/v1/history?limit=2").body)["truncated"], true);
  EXPECT_EQ(status()["checks"][0]["warn"], json::object());
}

TEST_F(engine_test, regional_outage_with_primary_vantage_gone_recommends_failover) {
  for (int i = 0; i < 4; ++i)
    round(all_, {});
  const std::set<std::string> primary_down{"api-web@us-east-1", "webapp@us-east-1", "notifications@us-east-1"};
  for (int i = 0; i < 12; ++i)
    round({"us-west-2", "eu-west-1"}, primary_down);
  const json s = status();
  EXPECT_EQ(s["regions"]["us-east-1"]["classification"], "regional_outage");
  EXPECT_EQ(s["regions"]["us-west-2"]["classification"], "healthy");
  EXPECT_EQ(s["vantages"]["us-east-1"]["state"], "absent");
  ASSERT_TRUE(s["recommendation"].is_object());
  EXPECT_EQ(s["recommendation"]["action"], "failover");
  EXPECT_EQ(s["recommendation"]["to"], "us-west-2");
  const auto rec = call(port_, http::verb::get, "/v1/recommendation");
  ASSERT_EQ(rec.status, 200U);
  const json r = json::parse(rec.body);
  EXPECT_EQ(r["hash"].get<std::string>().size(), 64U);
  EXPECT_EQ(r["plan"]["steps"][0]["name"], "verify-dr");
  // Every event is served in order by /v1/events.
  const json ev = json::parse(call(port_, http::verb::get, "/v1/events?since=0").body);
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev[0]["seq"], 1);
  bool saw_regional = false;
  for (const auto& e : ev)
    saw_regional |= e["type"] == "classification" && e["to"] == "regional_outage";
  EXPECT_TRUE(saw_regional);
  EXPECT_TRUE(std::filesystem::exists(state_dir_ / "audit.jsonl"));
  // The audit log names approvers, regions and reasons: the owner's alone.
  EXPECT_EQ(std::filesystem::status(state_dir_ / "audit.jsonl").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(engine_test, refused_batches_are_answered_with_reason_and_counted) {
  const auto r = post_batch("eu-west-1", {{"api-web@us-east-1", true}}, "wrong-key");
  EXPECT_EQ(r.status, 401U);
  EXPECT_EQ(json::parse(r.body)["error"], "bad_signature");
  const auto stale = call(port_, http::verb::post, "/v1/observations", "{}", {});
  EXPECT_EQ(json::parse(stale.body)["error"], "missing_signature");
  const auto metrics = call(port_, http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find(R"(vigil_batches_rejected_total{reason="bad_signature"} 1)"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find(R"(vigil_batches_rejected_total{reason="missing_signature"} 1)"), std::string::npos);
  // Nothing refused reached the core.
  on_io([this] {
    engine_->tick_now();
    return 0;
  });
  EXPECT_EQ(status()["vantages"]["eu-west-1"]["state"], "absent");
}

TEST_F(engine_test, status_query_parameters_filter_summarise_and_refuse) {
  for (int i = 0; i < 4; ++i)
    round(all_, {});
  for (int i = 0; i < 4; ++i)
    round(all_, {"webapp@us-east-1"});
  const auto get = [this](const std::string& target) {
    const auto r = call(port_, http::verb::get, target);
    EXPECT_EQ(r.status, 200U) << target << ": " << r.body;
    return json::parse(r.body);
  };
  const json filtered = get("/v1/status?region=us-east-1&check=web");
  ASSERT_EQ(filtered["checks"].size(), 2U);  // api-web and webapp in us-east-1
  EXPECT_EQ(filtered["checks"][1]["id"], "webapp@us-east-1");
  EXPECT_EQ(filtered["checks"][1]["state"], "down");
  EXPECT_EQ(filtered["checks"][1]["last_failure"]["eu-west-1"]["outcome"], "http_status");
  EXPECT_EQ(filtered["check_counts"]["us-east-1"]["down"], 1);
  const json summary = get("/v1/status?summary=1");
  EXPECT_FALSE(summary.contains("checks"));
  EXPECT_EQ(summary["check_counts"]["us-east-1"]["total"], 3);
  EXPECT_EQ(summary["regions"]["us-east-1"]["down_services"], json::array({"webapp"}));
  EXPECT_EQ(get("/v1/status")["checks"].size(), 6U);
  const auto bad = call(port_, http::verb::get, "/v1/status?regoin=us-east-1");
  EXPECT_EQ(bad.status, 400U);
  EXPECT_EQ(json::parse(bad.body)["error"], "bad_query");
  EXPECT_EQ(call(port_, http::verb::get, "/v1/status?region=mars").status, 400U);
}

TEST_F(engine_test, approvals_without_approvers_are_refused_with_a_reason) {
  const auto r = call(port_, http::verb::post, "/v1/approvals", "v4.public.xxx");
  EXPECT_EQ(r.status, 503U);
  EXPECT_EQ(json::parse(r.body)["error"], "approvals_not_configured");
}

// The engine hands the incidents its previous run left open (hooks.open_incidents,
// the outbox in production) to the core at start: they are continued under their
// id and resolved under it, never triggered again.
class engine_restore_test : public engine_test {
 protected:
  void add_hooks(engine_hooks& hooks) override {
    hooks.open_incidents = [] {
      const decision::time_point started{std::chrono::milliseconds{1'795'000'000'000}};
      return std::vector<decision::open_incident>{
          {"engine-test/us-east-1/20261122T000000Z", decision::page_kind::regional_outage, "us-east-1", "", started,
           "regional_outage"},
          {"engine-test/ap-south-1/20261122T000000Z", decision::page_kind::regional_outage, "ap-south-1", "", started,
           ""}};
    };
  }
};

TEST_F(engine_restore_test, open_incidents_are_continued_and_resolved_under_their_id) {
  round(all_, {});
  json s = status();
  ASSERT_TRUE(s["incident"].is_object()) << s.dump();
  EXPECT_EQ(s["incident"]["id"], "engine-test/us-east-1/20261122T000000Z");
  // The region no longer configured is resolved at the first tick, the other one stays open while unknown.
  ASSERT_EQ(pages_.size(), 1U);
  EXPECT_EQ(pages_[0].incident_id, "engine-test/ap-south-1/20261122T000000Z");
  EXPECT_EQ(pages_[0].action, decision::page_action::resolve);
  for (int i = 0; i < 5; ++i)
    round(all_, {});
  s = status();
  EXPECT_EQ(s["regions"]["us-east-1"]["classification"], "healthy");
  EXPECT_TRUE(s["incident"].is_null());
  ASSERT_EQ(pages_.size(), 2U);
  EXPECT_EQ(pages_[1].incident_id, "engine-test/us-east-1/20261122T000000Z");
  EXPECT_EQ(pages_[1].action, decision::page_action::resolve);
  const auto events = json::parse(call(port_, http::verb::get, "/v1/events").body);
  EXPECT_NE(events.dump().find("continued from the previous run"), std::string::npos) << events.dump();
}

class engine_approval_test : public engine_test {
 protected:
  void SetUp() override {
    alice_ = approvals::ed25519_key::generate();
    bob_ = approvals::ed25519_key::generate();
    files_["alice.pub"] = alice_->public_pem();
    files_["bob.pub"] = bob_->public_pem();
    engine_test::SetUp();
  }
  std::string extra_yaml() override {
    return "approvals:\n  required: 1\n  max_ttl: 15m\n  approvers:\n"
           "    - {id: alice, public_key_file: alice.pub}\n    - {id: bob, public_key_file: bob.pub}\n";
  }
  void add_hooks(engine_hooks& hooks) override {
    std::filesystem::create_directories(state_dir_);
    ledger_ = std::make_unique<approvals::file_jti_ledger>(state_dir_ / "jti-test.ledger");
    verifier_ = std::make_unique<approvals::approval_verifier>("engine-test", cfg_approvals(), *ledger_);
    hooks.verify_token = make_token_verifier(*verifier_);
    hooks.on_execute = [this](const decision::execute_plan& e) { executed_.push_back(e); };
  }
  // The approvals section as load_config() will produce it (keys already read).
  common::approvals_config cfg_approvals() {
    common::approvals_config a;
    a.required = 1;
    a.max_ttl = std::chrono::minutes(15);
    a.approvers.push_back({"alice", "alice.pub", alice_->public_pem(), {}});
    a.approvers.push_back({"bob", "bob.pub", bob_->public_pem(), {}});
    return a;
  }

  std::string token(const approvals::ed25519_key& key, const std::string& who, const json& rec, bool allow_loss,
                    const std::string& hash = {}) {
    approvals::approval_claims c;
    c.recommendation_id = rec["id"];
    c.recommendation_hash = hash.empty() ? rec["hash"].get<std::string>() : hash;
    c.action = rec["action"];
    c.allow_data_loss = allow_loss;
    c.audience = "engine-test";
    c.subject = who;
    c.issued_at = clock_.wall();
    c.expires_at = clock_.wall() + std::chrono::minutes(10);
    c.jti = approvals::new_jti();
    return approvals::sign_approval(key, c);
  }

  json drive_to_recommendation() {
    for (int i = 0; i < 4; ++i)
      round(all_, {});
    for (int i = 0; i < 12; ++i)
      round({"us-west-2", "eu-west-1"}, {"api-web@us-east-1", "webapp@us-east-1", "notifications@us-east-1"});
    const auto r = call(port_, http::verb::get, "/v1/recommendation");
    EXPECT_EQ(r.status, 200U);
    return json::parse(r.body);
  }

  std::unique_ptr<approvals::ed25519_key> alice_, bob_;
  std::unique_ptr<approvals::file_jti_ledger> ledger_;
  std::unique_ptr<approvals::approval_verifier> verifier_;
  std::vector<decision::execute_plan> executed_;
};

TEST_F(engine_approval_test, a_signed_token_bound_to_the_recommendation_starts_the_plan_once) {
  const json rec = drive_to_recommendation();
  ASSERT_EQ(rec["state"], "pending_approval") << rec.dump();
  // No lag source is configured: the lag is unknown, so data loss must be allowed explicitly.
  ASSERT_TRUE(rec["allow_data_loss_required"].get<bool>());

  const auto without_loss = call(port_, http::verb::post, "/v1/approvals", token(*alice_, "alice", rec, false));
  EXPECT_EQ(without_loss.status / 100, 4U);
  EXPECT_EQ(json::parse(without_loss.body)["error"], "data_loss_not_allowed") << without_loss.body;

  const auto wrong =
      call(port_, http::verb::post, "/v1/approvals", token(*alice_, "alice", rec, true, std::string(64, 'a')));
  EXPECT_EQ(json::parse(wrong.body)["error"], "wrong_hash") << wrong.body;

  const auto forged = call(port_, http::verb::post, "/v1/approvals", token(*bob_, "alice", rec, true));
  EXPECT_EQ(forged.status / 100, 4U);
  EXPECT_NE(json::parse(forged.body)["error"], "ok");

  const std::string good = token(*alice_, "alice", rec, true);
  const auto ok = call(port_, http::verb::post, "/v1/approvals", good);
  ASSERT_EQ(ok.status, 202U) << ok.body;
  EXPECT_TRUE(json::parse(ok.body)["execute"].get<bool>());
  ASSERT_EQ(executed_.size(), 1U);
  EXPECT_EQ(executed_[0].recommendation_hash, rec["hash"]);
  EXPECT_TRUE(executed_[0].allow_data_loss);
  EXPECT_EQ(executed_[0].approvers, std::vector<std::string>{"alice"});

  const auto replay = call(port_, http::verb::post, "/v1/approvals", good);
  EXPECT_EQ(replay.status / 100, 4U);
  EXPECT_EQ(executed_.size(), 1U);  // an approval drives at most one execution
  const auto metrics = call(port_, http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find(R"(vigil_approval_decisions_total{reason="accepted",result="accepted"} 1)"), std::string::npos)
      << metrics;
}

// max_skew (60 s by default) is applied once: a token whose exp passed 30 s
// ago verifies, and the core accepts it too instead of refusing it as
// token_expired after its jti was spent.
TEST_F(engine_approval_test, a_token_inside_the_skew_is_accepted_not_burnt) {
  const json rec = drive_to_recommendation();
  ASSERT_EQ(rec["state"], "pending_approval") << rec.dump();
  approvals::approval_claims c;
  c.recommendation_id = rec["id"];
  c.recommendation_hash = rec["hash"];
  c.action = rec["action"];
  c.allow_data_loss = true;
  c.audience = "engine-test";
  c.subject = "alice";
  c.issued_at = clock_.wall() - std::chrono::minutes(10) - std::chrono::seconds(30);
  c.expires_at = clock_.wall() - std::chrono::seconds(30);
  c.jti = approvals::new_jti();
  const auto r = call(port_, http::verb::post, "/v1/approvals", approvals::sign_approval(*alice_, c));
  EXPECT_EQ(r.status, 202U) << r.body;
  EXPECT_EQ(executed_.size(), 1U);
}

// Inside the cooldown after an executed failover, the next recommendation is
// blocked; an acknowledge_cooldown token bound to it clears the block, once,
// and the recommendation that follows is approved as usual.
TEST_F(engine_approval_test, an_acknowledge_cooldown_token_unblocks_the_next_failover_once) {
  json rec = drive_to_recommendation();
  ASSERT_EQ(rec["state"], "pending_approval") << rec.dump();
  const auto ack_token = [&](const approvals::ed25519_key& key, const std::string& who, const json& r) {
    json a = r;
    a["action"] = "acknowledge_cooldown";
    return token(key, who, a, false);
  };
  // No cooldown yet: nothing to acknowledge, and the token is not spent.
  const auto early = call(port_, http::verb::post, "/v1/approvals", ack_token(*alice_, "alice", rec));
  EXPECT_EQ(early.status, 409U) << early.body;
  EXPECT_EQ(json::parse(early.body)["error"], "not_approvable") << early.body;

  ASSERT_EQ(call(port_, http::verb::post, "/v1/approvals", token(*alice_, "alice", rec, true)).status, 202U);
  ASSERT_EQ(executed_.size(), 1U);
  on_io([&] {
    engine_->plan_started(rec["id"], false);
    engine_->plan_finished(rec["id"], true, "done", false);
    return 0;
  });
  // The region heals, then fails again inside the cooldown (1 h by default).
  for (int i = 0; i < 20; ++i)
    round(all_, {});
  ASSERT_TRUE(status()["incident"].is_null()) << status().dump();
  rec = drive_to_recommendation();
  ASSERT_EQ(rec["state"], "blocked") << rec.dump();
  const auto gate = [](const json& r) {
    for (const auto& g : r["gates"])
      if (g["name"] == "cooldown") return g;
    return json();
  };
  ASSERT_FALSE(gate(rec)["ok"].get<bool>()) << rec.dump();

  const auto refused = call(port_, http::verb::post, "/v1/approvals", token(*bob_, "bob", rec, true));
  EXPECT_EQ(json::parse(refused.body)["error"], "not_approvable") << refused.body;
  json other = rec;
  other["hash"] = std::string(64, 'b');
  const auto wrong = call(port_, http::verb::post, "/v1/approvals", ack_token(*bob_, "bob", other));
  EXPECT_EQ(json::parse(wrong.body)["error"], "wrong_hash") << wrong.body;

  const std::string ack = ack_token(*bob_, "bob", rec);
  const auto ok = call(port_, http::verb::post, "/v1/approvals", ack);
  ASSERT_EQ(ok.status, 202U) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["reason"], "cooldown_acknowledged");
  EXPECT_EQ(executed_.size(), 1U);  // it approves nothing
  const auto replay = call(port_, http::verb::post, "/v1/approvals", ack);
  EXPECT_EQ(json::parse(replay.body)["error"], "replay") << replay.body;

  round({"us-west-2", "eu-west-1"}, {"api-web@us-east-1", "webapp@us-east-1", "notifications@us-east-1"});
  const json next = json::parse(call(port_, http::verb::get, "/v1/recommendation").body);
  EXPECT_EQ(next["state"], "pending_approval") << next.dump();
  EXPECT_NE(next["hash"], rec["hash"]);  // the gate results are part of the hash
  EXPECT_TRUE(gate(next)["ok"].get<bool>());
  EXPECT_NE(gate(next)["detail"].get<std::string>().find("acknowledged by bob"), std::string::npos) << next.dump();
  ASSERT_EQ(call(port_, http::verb::post, "/v1/approvals", token(*bob_, "bob", next, true)).status, 202U);
  EXPECT_EQ(executed_.size(), 2U);
  const auto metrics = call(port_, http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find(R"(vigil_approval_decisions_total{reason="cooldown_acknowledged",result="accepted"} 1)"),
            std::string::npos)
      << metrics;
}

// Signed operator commands through the engine's routes: a silence blocks the
// recommendation until it is expired; every refusal leaves the token unspent.
class engine_controls_test : public engine_approval_test {
 protected:
  void add_hooks(engine_hooks& hooks) override {
    engine_approval_test::add_hooks(hooks);
    commands_ = std::make_unique<approvals::command_verifier>(verifier_.get(), approvals::command_limits{});
    hooks.verify_command = [this](std::string_view body, std::string_view action, common::wall_time now,
                                  const approvals::command_verifier::extra_check& extra) {
      return commands_->verify(body, action, now, extra);
    };
  }
  json signed_command(const json& body, const approvals::ed25519_key& key, const std::string& who = "alice") {
    return approvals::sign_command(key, body, "engine-test", who, clock_.wall(), std::chrono::minutes(5));
  }
  std::string gate_detail(const json& rec, const std::string& name) {
    for (const auto& g : rec["gates"]) {
      if (g["name"] == name) return g["ok"].get<bool>() ? "ok" : g["detail"].get<std::string>();
    }
    return "absent";
  }
  std::unique_ptr<approvals::command_verifier> commands_;
};

TEST_F(engine_controls_test, a_signed_silence_blocks_the_recommendation_until_it_is_expired) {
  json rec = drive_to_recommendation();
  ASSERT_EQ(rec["state"], "pending_approval") << rec.dump();
  const json body{{"action", "silence"},
                  {"id", "s-1"},
                  {"scope", "region:us-east-1"},
                  {"duration_s", 3600},
                  {"reason", "planned maintenance"}};
  const auto forged = call(port_, http::verb::post, "/v1/silences", signed_command(body, *bob_, "alice").dump());
  EXPECT_EQ(json::parse(forged.body)["error"], "subject_mismatch") << forged.body;
  const json request = signed_command(body, *alice_);
  const auto ok = call(port_, http::verb::post, "/v1/silences", request.dump());
  ASSERT_EQ(ok.status, 202U) << ok.body;
  const auto replay = call(port_, http::verb::post, "/v1/silences", request.dump());
  EXPECT_EQ(json::parse(replay.body)["error"], "duplicate_silence") << replay.body;

  round({"us-west-2", "eu-west-1"}, {"api-web@us-east-1", "webapp@us-east-1", "notifications@us-east-1"});
  rec = json::parse(call(port_, http::verb::get, "/v1/recommendation").body);
  EXPECT_EQ(rec["state"], "blocked") << rec.dump();
  EXPECT_NE(gate_detail(rec, "not_silenced").find("silenced by alice"), std::string::npos) << rec.dump();
  const json listed = json::parse(call(port_, http::verb::get, "/v1/silences").body);
  ASSERT_EQ(listed["silences"].size(), 1U) << listed.dump();
  EXPECT_EQ(listed["silences"][0]["by"], "alice");
  EXPECT_EQ(json::parse(call(port_, http::verb::get, "/v1/status").body)["silences"].size(), 1U);

  const json unknown{{"action", "unsilence"}, {"id", "s-2"}, {"reason", "done"}};
  const auto missing = call(port_, http::verb::post, "/v1/silences/expire", signed_command(unknown, *alice_).dump());
  EXPECT_EQ(missing.status, 404U) << missing.body;
  const json expire{{"action", "unsilence"}, {"id", "s-1"}, {"reason", "work done"}};
  const auto expired =
      call(port_, http::verb::post, "/v1/silences/expire", signed_command(expire, *bob_, "bob").dump());
  ASSERT_EQ(expired.status, 202U) << expired.body;
  round({"us-west-2", "eu-west-1"}, {"api-web@us-east-1", "webapp@us-east-1", "notifications@us-east-1"});
  rec = json::parse(call(port_, http::verb::get, "/v1/recommendation").body);
  EXPECT_EQ(rec["state"], "pending_approval") << rec.dump();

  const auto metrics = call(port_, http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find(R"(vigil_operator_commands_total{command="silence",reason="ok",result="accepted"} 1)"),
            std::string::npos)
      << metrics;
  EXPECT_NE(
      metrics.find(R"(vigil_operator_commands_total{command="silence",reason="subject_mismatch",result="rejected"} 1)"),
      std::string::npos);
  EXPECT_NE(metrics.find("vigil_silences_active 0"), std::string::npos);
}

TEST_F(engine_controls_test, a_proposal_must_be_signed_and_names_its_signer) {
  // The body `vigil propose` sent before proposals were signed: refused, with a reason.
  const auto unsigned_body = call(port_, http::verb::post, "/v1/propose", R"({"action":"failback","by":"mallory"})");
  EXPECT_EQ(unsigned_body.status, 401U) << unsigned_body.body;
  EXPECT_EQ(json::parse(unsigned_body.body)["error"], "unsigned");
  const json failback{{"action", "propose"}, {"kind", "failback"}, {"reason", "primary healthy again"}};
  const auto forged = call(port_, http::verb::post, "/v1/propose", signed_command(failback, *bob_, "alice").dump());
  EXPECT_GE(forged.status, 401U) << forged.body;
  EXPECT_LE(forged.status, 403U) << forged.body;
  EXPECT_EQ(json::parse(forged.body)["error"], "subject_mismatch");
  EXPECT_FALSE(status()["recommendation"].is_object());
  // A failover without an outage is refused before its token is spent.
  const json failover{{"action", "propose"}, {"kind", "failover"}, {"reason", "drill"}};
  const auto early = call(port_, http::verb::post, "/v1/propose", signed_command(failover, *alice_).dump());
  EXPECT_EQ(early.status, 409U) << early.body;
  EXPECT_EQ(json::parse(early.body)["error"], "not_proposed");

  const auto ok = call(port_, http::verb::post, "/v1/propose", signed_command(failback, *alice_).dump());
  ASSERT_EQ(ok.status, 201U) << ok.body;
  const json answer = json::parse(ok.body);
  EXPECT_EQ(answer["by"], "alice");
  const json rec = status()["recommendation"];
  ASSERT_TRUE(rec.is_object());
  EXPECT_EQ(rec["id"], answer["recommendation_id"]);
  EXPECT_EQ(rec["action"], "failback");
  const auto metrics = call(port_, http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find(R"(vigil_operator_commands_total{command="propose",reason="unsigned",result="rejected"} 1)"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find(R"(vigil_operator_commands_total{command="propose",reason="ok",result="accepted"} 1)"),
            std::string::npos);
}

TEST_F(engine_controls_test, plan_commands_need_a_running_plan_and_the_brake_is_shown) {
  const json abort{{"action", "plan_abort"}, {"recommendation_id", "rec-1"}, {"reason", "stop"}};
  const auto none = call(port_, http::verb::post, "/v1/plan/abort", signed_command(abort, *alice_).dump());
  EXPECT_EQ(none.status, 404U) << none.body;
  EXPECT_EQ(json::parse(none.body)["error"], "no_plan");
  const json brake{{"action", "brake_on"}, {"reason", "game day"}};
  const auto on = call(port_, http::verb::post, "/v1/brake", signed_command(brake, *alice_).dump());
  ASSERT_EQ(on.status, 202U) << on.body;
  const json st = json::parse(call(port_, http::verb::get, "/v1/status").body);
  EXPECT_TRUE(st["actuation_brake"]["on"].get<bool>());
  EXPECT_EQ(st["actuation_brake"]["detail"], "alice: game day");
  EXPECT_NE(call(port_, http::verb::get, "/metrics").body.find("vigil_actuation_brake 1"), std::string::npos);
  const auto bad = call(port_, http::verb::post, "/v1/brake", R"({"token": "x", "command": {"action": "brake_on"}})");
  EXPECT_EQ(json::parse(bad.body)["error"], "bad_command") << bad.body;
}

}  // namespace
// The active region is state: a real failover that finished makes the dr the
// active region, durably (state_dir/active.json, kept across a restart); a
// real one that failed after a step leaves it split, naming the steps.
class engine_active_test : public engine_approval_test {
 protected:
  [[nodiscard]] bool real_plans() const override { return true; }

  json approve_and_start() {
    const json rec = drive_to_recommendation();
    EXPECT_EQ(rec["state"], "pending_approval") << rec.dump();
    EXPECT_EQ(call(port_, http::verb::post, "/v1/approvals", token(*alice_, "alice", rec, true)).status, 202U);
    on_io([&] {
      engine_->plan_started(rec["id"], false);
      return 0;
    });
    EXPECT_EQ(status()["active"]["state"], "failing_over");
    return rec;
  }
};

TEST_F(engine_active_test, a_real_failover_makes_the_dr_active_and_a_restart_keeps_it) {
  EXPECT_EQ(status()["active"]["region"], "us-east-1");
  const json rec = approve_and_start();
  on_io([&] {
    engine_->plan_step(rec["id"], "verify-dr", "done");
    engine_->plan_finished(rec["id"], true, "done", false);
    return 0;
  });
  const json a = status()["active"];
  EXPECT_EQ(a["region"], "us-west-2") << a.dump();
  EXPECT_EQ(a["state"], "active");
  EXPECT_EQ(a["recommendation_id"], rec["id"]);
  EXPECT_EQ(a["approved_by"], json::array({"alice"}));
  EXPECT_FALSE(a["since"].is_null());
  EXPECT_EQ(status()["regions"]["us-west-2"]["role"], "primary");
  round(all_, {});  // the gauges follow at the next tick
  const auto metrics = call(port_, http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find(R"(vigil_active_region{region="us-west-2"} 1)"), std::string::npos) << metrics;
  std::ifstream in(state_dir_ / "active.json");
  ASSERT_TRUE(in.good());
  EXPECT_EQ(json::parse(in)["region"], "us-west-2");

  // A restarted engine on the same state_dir starts with us-west-2 active.
  asio::io_context io2;
  prometheus::Registry registry2;
  engine_options opts;
  opts.tick_timer = false;
  opts.listen_override = "127.0.0.1:0";
  engine again(io2, cfg_, clock_, registry2, engine_hooks{}, opts);
  again.start();
  const json b = again.status_json()["active"];
  EXPECT_EQ(b["region"], "us-west-2") << b.dump();
  EXPECT_EQ(b["since"], a["since"]);
  EXPECT_EQ(b["recommendation_id"], rec["id"]);
  again.stop();
}

TEST_F(engine_active_test, a_real_plan_that_fails_after_a_step_leaves_the_active_region_split) {
  const json rec = approve_and_start();
  on_io([&] {
    engine_->plan_step(rec["id"], "verify-dr", "failed");
    engine_->plan_finished(rec["id"], false, "verify-dr: region not ready", false);
    return 0;
  });
  const json a = status()["active"];
  EXPECT_EQ(a["state"], "split") << a.dump();
  EXPECT_EQ(a["region"], "us-east-1");
  EXPECT_EQ(a["detail"].get<std::string>().rfind("split: verify-dr failed", 0), 0U) << a.dump();
  std::ifstream in(state_dir_ / "active.json");
  EXPECT_EQ(json::parse(in)["state"], "split");
}

// Standing approvals through the engine's routes (app/standing.hpp): two
// approvers arm a policy; refusals are named and counted; revocation
// disarms at once; a restart keeps it, a changed plan disarms it.
class engine_standing_test : public engine_controls_test {
 protected:
  std::string extra_yaml() override {
    std::string y = engine_controls_test::extra_yaml();
    y.replace(y.find("required: 1"), 11, "required: 2");
    return y;
  }
  void add_hooks(engine_hooks& hooks) override {
    engine_controls_test::add_hooks(hooks);
    hooks.consume_once = [this](const std::string& key, common::wall_time exp) {
      return ledger_->try_consume(key, exp);
    };
  }
  approvals::standing_policy policy() {
    const json st = json::parse(call(port_, http::verb::get, "/v1/standing").body);
    approvals::standing_policy p;
    p.id = approvals::new_policy_id();
    p.audience = "engine-test";
    p.conditions.from = "us-east-1";
    p.conditions.to = "us-west-2";
    p.conditions.min_duration = std::chrono::seconds(5);
    p.conditions.min_vantages = 2;
    p.conditions.max_lag = std::chrono::seconds(5);
    p.plan_hash = st["plan_hash"];
    p.issued_at = std::chrono::floor<std::chrono::seconds>(clock_.wall());
    p.expires_at = p.issued_at + std::chrono::hours(24 * 7);
    return p;
  }
  reply post_standing(const approvals::ed25519_key& key, const std::string& who, const approvals::standing_policy& p) {
    return call(port_, http::verb::post, "/v1/standing", approvals::sign_standing(key, p, who));
  }
  std::string metrics() { return call(port_, http::verb::get, "/metrics").body; }
};

TEST_F(engine_standing_test, two_signers_arm_it_refusals_are_named_and_revocation_disarms) {
  const auto p = policy();
  EXPECT_EQ(configured_plan_hash(cfg_), p.plan_hash);
  auto wrong_plan = p;
  wrong_plan.plan_hash = std::string(64, 'b');
  const auto refused = post_standing(*alice_, "alice", wrong_plan);
  EXPECT_EQ(refused.status, 409U);
  EXPECT_EQ(json::parse(refused.body)["error"], "wrong_plan_hash") << refused.body;
  EXPECT_EQ(json::parse(post_standing(*bob_, "alice", p).body)["error"], "subject_mismatch");

  const auto first = post_standing(*alice_, "alice", p);
  ASSERT_EQ(first.status, 202U) << first.body;
  EXPECT_EQ(json::parse(first.body)["state"], "pending") << "under-signed: 1 of 2";
  EXPECT_NE(metrics().find("vigil_standing_armed 0"), std::string::npos);
  EXPECT_EQ(json::parse(post_standing(*alice_, "alice", p).body)["error"], "duplicate_signer");
  const auto second = post_standing(*bob_, "bob", p);
  ASSERT_EQ(second.status, 202U) << second.body;
  const json armed = json::parse(second.body);
  EXPECT_EQ(armed["state"], "armed");
  EXPECT_EQ(armed["signed_by"], json::array({"alice", "bob"}));
  EXPECT_NE(armed["banner"].get<std::string>().find("armed: automatic failover us-east-1 -> us-west-2"),
            std::string::npos);
  const auto m = metrics();
  EXPECT_NE(m.find("vigil_standing_armed 1"), std::string::npos) << m;
  EXPECT_NE(m.find("vigil_standing_uses_left 1"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(vigil_standing_refused_total{reason="wrong_plan_hash"} 1)"), std::string::npos) << m;
  EXPECT_EQ(status()["standing"][0]["state"], "armed");
  EXPECT_EQ(std::filesystem::status(state_dir_ / "standing.json").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  // A restart on the same state keeps it; a changed plan disarms it.
  auto restart = [&](const common::config& c) {
    asio::io_context io2;
    prometheus::Registry registry2;
    engine_options opts;
    opts.tick_timer = false;
    opts.listen_override = "127.0.0.1:0";
    engine again(io2, c, clock_, registry2, engine_hooks{}, opts);
    again.start();
    json s = again.status_json()["standing"];
    again.stop();
    return s;
  };
  EXPECT_EQ(restart(cfg_)[0]["state"], "armed");
  auto changed = cfg_;
  changed.failover.steps[0].name = "verify-dr-2";
  EXPECT_TRUE(restart(changed).empty());

  // Revocation: a signed command by any one approver.
  const json body{{"action", "standing_revoke"}, {"id", p.id}, {"reason", "window over"}};
  const auto revoked = call(port_, http::verb::post, "/v1/standing/revoke", signed_command(body, *bob_, "bob").dump());
  ASSERT_EQ(revoked.status, 200U) << revoked.body;
  EXPECT_TRUE(json::parse(call(port_, http::verb::get, "/v1/standing").body)["policies"].empty());
  EXPECT_EQ(json::parse(post_standing(*alice_, "alice", p).body)["error"], "revoked");
  EXPECT_NE(metrics().find("vigil_standing_armed 0"), std::string::npos);
  const auto events = call(port_, http::verb::get, "/v1/events?since=0").body;
  for (const char* type : {"standing_armed", "standing_refused", "standing_revoked"})
    EXPECT_NE(events.find(type), std::string::npos) << type;
}

class engine_readiness_test : public engine_test {
 protected:
  std::string extra_yaml() override { return "readiness: {gate: blocking}\n"; }
  void add_hooks(engine_hooks& hooks) override {
    hooks.extra_routes.emplace_back([](const common::http_request& r) -> std::optional<common::http_response> {
      if (r.path != "/v1/extra") return std::nullopt;
      return common::http_response::json(200, R"({"extra":true})");
    });
  }
};

TEST_F(engine_readiness_test, notices_page_once_extra_routes_answer_and_readiness_feeds_the_gate) {
  round(all_, {});
  EXPECT_EQ(call(port_, http::verb::get, "/v1/extra").body, R"({"extra":true})");
  EXPECT_EQ(call(port_, http::verb::get, "/v1/nothing").status, 404U);
  on_io([this] {
    engine_->set_notice("readiness-failover-arc.endpoints", decision::severity::warning, "2 of 5 endpoints down");
    engine_->set_notice("readiness-failover-arc.endpoints", decision::severity::warning, "2 of 5 endpoints down");
    return 0;
  });
  ASSERT_EQ(pages_.size(), 1U);
  EXPECT_EQ(pages_[0].incident_id, "engine-test/notice/readiness-failover-arc.endpoints");
  EXPECT_EQ(pages_[0].action, decision::page_action::trigger);
  json s = status();
  ASSERT_EQ(s["notices"].size(), 1U) << s.dump();
  EXPECT_EQ(s["notices"][0]["summary"], "2 of 5 endpoints down");
  on_io([this] {
    engine_->clear_notice("readiness-failover-arc.endpoints");
    return 0;
  });
  ASSERT_EQ(pages_.size(), 2U);
  EXPECT_EQ(pages_[1].action, decision::page_action::resolve);
  EXPECT_TRUE(status()["notices"].empty());

  // A regional outage: the blocking dr_ready gate holds the failover until a readiness run says ready.
  const std::set<std::string> east{"api-web@us-east-1", "webapp@us-east-1", "notifications@us-east-1"};
  for (int i = 0; i < 12; ++i)
    round(all_, east);
  json rec = json::parse(call(port_, http::verb::get, "/v1/recommendation").body);
  ASSERT_EQ(rec["state"], "blocked") << rec.dump();
  bool found = false;
  for (const auto& g : rec["gates"]) {
    if (g["name"] != "dr_ready") continue;
    found = true;
    EXPECT_FALSE(g["ok"].get<bool>());
    EXPECT_TRUE(g["blocking"].get<bool>());
  }
  EXPECT_TRUE(found) << rec.dump();
  on_io([this] {
    engine_->set_readiness(decision::action_kind::failover,
                           decision::plan_readiness{true, "12 items ok", decision::time_point{}});
    return 0;
  });
  round(all_, east);
  rec = json::parse(call(port_, http::verb::get, "/v1/recommendation").body);
  EXPECT_EQ(rec["state"], "pending_approval") << rec.dump();
}

class read_token_test : public engine_test {
 protected:
  std::string engine_yaml() override {
    files_["tokens"] = "# the status page's\n" + page_token + "\n\n  " + cli_token + "  \n";
    return "\n  read_tokens_file: tokens";
  }
  reply get(const std::string& target, const std::string& auth = {}) {
    if (auth.empty()) return call(port_, http::verb::get, target);
    return call(port_, http::verb::get, target, {}, {{"Authorization", auth}});
  }
  const std::string page_token = "page-token-0123456789";
  const std::string cli_token = "cli-token-abcdefghijkl";
};

TEST_F(read_token_test, every_get_v1_route_needs_a_configured_token) {
  ASSERT_EQ(cfg_.engine.read_tokens, (std::vector<std::string>{page_token, cli_token}));
  round(all_, {});  // POST /v1/observations: signed batches need no read token
  for (const std::string target : {"/v1/status", "/v1/status?summary=1", "/v1/recommendation", "/v1/events",
                                   "/v1/history", "/v1/silences", "/v1/no-such-route"}) {
    SCOPED_TRACE(target);
    const auto missing = get(target);
    EXPECT_EQ(missing.status, 401U);
    EXPECT_EQ(missing.www_authenticate, "Bearer");
    const json m = json::parse(missing.body);
    EXPECT_EQ(m.at("error"), "unauthorized");
    EXPECT_EQ(m.at("reason"), "missing_token");
    const auto wrong = get(target, "Bearer " + page_token + "x");
    EXPECT_EQ(wrong.status, 401U);
    EXPECT_EQ(json::parse(wrong.body).at("reason"), "bad_token");
    EXPECT_EQ(get(target, "Basic " + page_token).status, 401U);
    const auto ok = get(target, "Bearer " + cli_token);
    EXPECT_NE(ok.status, 401U) << ok.body;
    EXPECT_EQ(get(target, "bearer " + page_token).status, ok.status);  // the scheme is case-insensitive
  }
  EXPECT_EQ(get("/v1/status", "Bearer " + page_token).status, 200U);
  EXPECT_EQ(get("/v1/recommendation", "Bearer " + page_token).status, 404U);  // through the gate to the route
  // Open without a token: probes, the scrape and the status page's static HTML.
  EXPECT_EQ(get("/healthz").status, 200U);
  EXPECT_EQ(get("/readyz").status, 200U);
  EXPECT_EQ(get("/").status, 200U);
  const auto metrics = get("/metrics");
  ASSERT_EQ(metrics.status, 200U);
  EXPECT_NE(metrics.body.find(R"(vigil_read_token_refusals_total{reason="missing_token"} 14)"), std::string::npos)
      << metrics.body;  // no header, and a Basic one
  EXPECT_NE(metrics.body.find(R"(vigil_read_token_refusals_total{reason="bad_token"} 7)"), std::string::npos);
}

TEST_F(read_token_test, replaced_tokens_apply_at_once_and_none_opens_the_routes) {
  const std::string fresh = "rotated-token-000000000";
  on_io([&] {
    engine_->set_read_tokens({fresh});
    return 0;
  });
  EXPECT_EQ(get("/v1/status", "Bearer " + page_token).status, 401U);
  EXPECT_EQ(get("/v1/status", "Bearer " + fresh).status, 200U);
  on_io([&] {
    engine_->set_read_tokens({});
    return 0;
  });
  EXPECT_EQ(get("/v1/status").status, 200U);
}

TEST_F(engine_test, without_read_tokens_the_read_routes_are_open) {
  EXPECT_EQ(call(port_, http::verb::get, "/v1/status").status, 200U);
  EXPECT_EQ(call(port_, http::verb::get, "/v1/silences").status, 200U);
  const auto metrics = call(port_, http::verb::get, "/metrics").body;
  EXPECT_NE(metrics.find(R"(vigil_read_token_refusals_total{reason="missing_token"} 0)"), std::string::npos);
}

}  // namespace vigil::app
