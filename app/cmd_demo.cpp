// `vigil demo`: the self-contained showcase on loopback (docs/design.md, "Processes and exit codes").
//
// Everything real but the services: fake health endpoints for two regions on
// 127.0.0.1, three agents (one per vantage) probing them over HTTP with the
// production prober and sending HMAC-signed batches to a real engine over
// HTTP, the real decision core, a real Ed25519 approval token verified by the
// production verifier, and plans of harmless local steps run for real. The
// script: a service outage in the primary (service_degraded: fix it, do not
// fail over), recovery, then a regional outage with the primary's own vantage
// gone (failover recommended), a demo approval and the plan (us-west-2
// becomes active); the day after: planned work in us-west-2 under a signed
// silence (downgraded pages, no action), then the old primary recovers and a
// proposed, approved failback makes us-east-1 active again. Exits 0 with a summary when every
// phase reached its expected state, 1 when one did not.
#include <curl/curl.h>
#include <prometheus/registry.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <filesystem>
#include <future>
#include <iomanip>
#include <mutex>
#include <ostream>
#include <set>
#include <sstream>
#include <thread>

#include "actuators/plan_runner.hpp"
#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/engine.hpp"
#include "approvals/approval.hpp"
#include "approvals/approval_hook.hpp"
#include "approvals/command_token.hpp"
#include "approvals/jti_ledger.hpp"
#include "approvals/keys.hpp"
#include "common/config_load.hpp"
#include "common/crypto.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/log.hpp"
#include "decision/time_format.hpp"
#include "decision/vocabulary.hpp"
#include "detector/agent.hpp"

namespace vigil::app {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::array<const char*, 4> demo_services{"api-web", "webapp", "partner-dashboard", "notifications"};
constexpr std::array<const char*, 2> demo_regions{"us-east-1", "us-west-2"};

/// The two regions' services: 200 {"status":"UP","db":"ok"} unless failed.
class fake_services {
 public:
  explicit fake_services(asio::io_context& io)
      : server_(io, "127.0.0.1:0", [this](const common::http_request& r) { return handle(r); }) {
    server_.start();
  }
  void fail(const std::string& region, const std::string& service) {
    std::lock_guard lock(mutex_);
    failing_.insert(region + "/" + service);
  }
  void heal(const std::string& region, const std::string& service) {
    std::lock_guard lock(mutex_);
    failing_.erase(region + "/" + service);
  }
  [[nodiscard]] std::string url(const std::string& region, const std::string& service) const {
    return server_.base_url() + "/" + region + "/" + service + "/health";
  }
  void stop() { server_.stop(); }

 private:
  common::http_response handle(const common::http_request& r) {
    // /<region>/<service>/health
    const auto second = r.path.find('/', 1);
    const auto third = second == std::string::npos ? std::string::npos : r.path.find('/', second + 1);
    if (third == std::string::npos) return common::http_response::error(404, "not_found", r.path);
    const std::string key = r.path.substr(1, third - 1);
    std::lock_guard lock(mutex_);
    if (failing_.count(key) != 0) return common::http_response::json(503, R"({"status":"DOWN","db":"unreachable"})");
    return common::http_response::json(200, R"({"status":"UP","db":"ok"})");
  }

  std::mutex mutex_;
  std::set<std::string> failing_;
  common::http_server server_;
};

std::string demo_config(const fake_services& svc, const std::string& state_dir) {
  std::ostringstream y;
  y << "deployment: vigil-demo\n"
       "regions:\n  - {name: us-east-1, role: primary}\n  - {name: us-west-2, role: dr}\n"
       "vantages: [us-east-1, us-west-2, eu-west-1]\n"
       "decision: {tick: 500ms, fall: 2, rise: 2, stale_after: 3s, confirm_for: 1s, clear_for: 4s,\n"
       "           service_page_grace: 2s, max_lag: 5s, lag_max_age: 30s, cooldown: 1h, recommendation_ttl: 10m}\n"
       "probe_defaults: {interval: 1s, timeout: 800ms}\n"
       "services:\n";
  for (const auto& s : demo_services) {
    y << "  - name: " << s << "\n    checks:\n";
    for (const auto& r : demo_regions) {
      y << "      - region: " << r << "\n        http:\n          url: " << svc.url(r, s)
        << "\n          expect: ['status == 200', 'body.json(\"/status\") == \"UP\"']\n";
    }
  }
  y << "replication_lag: {source: postgres_standby, region: us-west-2, vantage: us-west-2,\n"
       "                  dsn: 'host=127.0.0.1 dbname=demo', interval: 1s,\n"
       "                  failback: {region: us-east-1, dsn: 'host=127.0.0.1 dbname=demo-home'}}\n"
       "engine:\n  listen: 127.0.0.1:9470\n  agent_key_file: demo-agent.key\n  state_dir: "
    << state_dir
    << "\n"
       "paging: [{kind: log}]\n"
       "approvals:\n  required: 1\n  max_ttl: 15m\n  approvers:\n    - {id: demo-oncall, public_key_file: "
       "demo-oncall.pub}\n"
       // Harmless local steps: the plans run for real, so the active region moves.
       "plan:\n  failover:\n    dry_run: false\n    steps:\n"
       "      - {name: fence-primary, kind: exec, command: [/bin/echo, fence, us-east-1], timeout: 10s}\n"
       "      - {name: promote-dr, kind: exec, command: [/bin/echo, promote, us-west-2], timeout: 10s}\n"
       "      - {name: verify, kind: verify, region: us-west-2, within: 30s}\n"
       "  failback:\n    dry_run: false\n    steps:\n"
       "      - {name: switch-back, kind: exec, command: [/bin/echo, switchover, us-east-1], timeout: 10s}\n"
       "      - {name: verify, kind: verify, region: us-east-1, within: 30s}\n";
  return y.str();
}

class demo {
 public:
  demo(command_io& io, bool serve) : io_(io), serve_(serve) {}

  int run() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    logging_config_quiet();
    state_dir_ = std::filesystem::temp_directory_path() / ("vigil-demo-" + common::random_hex(6));
    std::filesystem::create_directories(state_dir_);
    const int rc = run_phases();
    shutdown();
    std::error_code ec;
    std::filesystem::remove_all(state_dir_, ec);
    return rc;
  }

 private:
  static void logging_config_quiet() {
    common::logging_config lc;
    lc.level = "error";  // the demo prints its own timeline
    (void)common::setup_logging(lc, std::nullopt);
  }

  void say(const std::string& line) {
    std::lock_guard lock(print_mutex_);
    const auto t = std::chrono::duration<double>(clock_.monotonic() - start_).count();
    io_.out << "[" << std::fixed << std::setprecision(1) << std::setw(5) << t << "s] " << line << std::endl;
  }

  void on_event(const json& e) {
    const std::string type = e.value("type", "");
    if (type == "classification") {
      say("classification  " + e.value("region", "") + ": " + e.value("from", "") + " -> " + e.value("to", "") +
          (e.contains("down_services") && !e["down_services"].empty() ? "  (down: " + e["down_services"].dump() + ")"
                                                                      : ""));
      if (e.value("to", "") != "healthy" && e.value("to", "") != "unknown") {
        mark(e.value("to", ""));
      }
    } else if (type == "page") {
      say("PAGE " + e.value("action", "") + " [" + e.value("severity", "") + "] " + e.value("summary", ""));
      if (e.value("action", "") == "trigger") mark("page:" + e.value("kind", ""));
    } else if (type == "page_held") {
      say("PAGE held (silenced) " + e.value("summary", ""));
      mark("silenced:" + e.value("region", ""));
    } else if (type == "recommendation") {
      const json& r = e.contains("recommendation") ? e["recommendation"] : e;
      say("recommendation  " + r.value("action", "") + " " + r.value("from", "") + " -> " + r.value("to", "") + ": " +
          r.value("state", "") + (e.value("reason", "").empty() ? "" : "  (" + e.value("reason", "") + ")"));
      mark("rec:" + r.value("state", ""));
    } else if (type == "approval") {
      say(std::string("approval        ") + (e.value("accepted", false) ? "accepted" : "refused") + " from " +
          e.value("approver", "?") + " (" + e.value("reason", "") + ")");
    } else if (type == "execute_plan") {
      say("execute plan    " + e.value("action", "") + " " + e.value("from", "") + " -> " + e.value("to", "") +
          (e.value("planned", false) ? " (planned)" : ""));
    }
  }

  /// A page as the pager gets it, after the silences (held pages never come here).
  void on_page_sent(const decision::page& p) {
    if (p.action != decision::page_action::trigger) return;
    if (p.sev == decision::severity::critical) mark("critical:" + p.region);
    if (p.summary.find("silenced") != std::string::npos) {
      say("  paged as " + std::string(decision::to_string(p.sev)) + ": " + p.summary);
      mark("silenced:" + p.region);
    }
  }

  void mark(const std::string& key) {
    std::lock_guard lock(seen_mutex_);
    first_seen_.emplace(key, clock_.monotonic());
  }
  bool seen(const std::string& key) {
    std::lock_guard lock(seen_mutex_);
    return first_seen_.count(key) != 0;
  }

  template <typename F>
  auto on_io(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io_ctx_, [&task] { task(); });
    return fut.get();
  }

  json status() {
    return on_io([this] { return engine_->status_json(); });
  }

  /// Polls /v1/status (through the engine) until `pred` holds or `limit` passes.
  bool wait_for(const std::string& what, const std::function<bool(const json&)>& pred, std::chrono::seconds limit) {
    const auto deadline = clock_.monotonic() + limit;
    while (clock_.monotonic() < deadline) {
      if (pred(status())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    say("FAILED: " + what + " did not happen within " + std::to_string(limit.count()) + " s");
    io_.err << "vigil demo: last status: " << status().dump(2) << "\n";
    return false;
  }

  static std::string cls(const json& s, const std::string& region) {
    return s["regions"][region]["classification"].get<std::string>();
  }

  void set_region(const std::string& region, bool failing) {
    for (const auto& s : demo_services) {
      if (failing) {
        services_->fail(region, s);
      } else {
        services_->heal(region, s);
      }
    }
  }

  int run_phases() {
    start_ = clock_.monotonic();
    services_ = std::make_unique<fake_services>(io_ctx_);
    approver_key_ = approvals::ed25519_key::generate();
    const std::string agent_key = common::random_hex(32);
    const std::string pub = approver_key_->public_pem();
    auto loaded = common::load_config_text(
        demo_config(*services_, state_dir_.string()), "<demo>/vigil-demo.yaml",
        [](std::string_view) { return std::optional<std::string>{}; },
        [&](const std::string& path, std::string& error) -> std::optional<std::string> {
          if (path.ends_with("demo-agent.key")) return agent_key;
          if (path.ends_with("demo-oncall.pub")) return pub;
          error = "not a demo file";
          return std::nullopt;
        });
    if (!loaded.ok()) {
      for (const auto& d : loaded.diagnostics)
        io_.err << d.format() << "\n";
      return exit_failed;
    }
    cfg_ = std::move(*loaded.value);

    ledger_ = std::make_unique<approvals::file_jti_ledger>(state_dir_ / "approvals.jti");
    verifier_ = std::make_unique<approvals::approval_verifier>(cfg_.deployment, cfg_.approvals, *ledger_);
    // Operator commands: their own verifier (no metrics), the same keys and jti ledger.
    command_tokens_ = std::make_unique<approvals::approval_verifier>(cfg_.deployment, cfg_.approvals, *ledger_);
    commands_ = std::make_unique<approvals::command_verifier>(command_tokens_.get(),
                                                              approvals::command_limits{cfg_.silences.max_duration});
    runner_ = std::make_unique<actuators::plan_runner>(io_ctx_, cfg_, std::chrono::milliseconds(250),
                                                       [this](const std::string& l) { say(l); });
    engine_hooks hooks;
    hooks.on_event = [this](const json& e) { on_event(e); };
    hooks.verify_token = make_token_verifier(*verifier_);
    hooks.verify_command = [this](std::string_view body, std::string_view action, common::wall_time now,
                                  const approvals::command_verifier::extra_check& extra) {
      return commands_->verify(body, action, now, extra);
    };
    hooks.on_page = [this](const decision::page& p) { on_page_sent(p); };
    hooks.on_execute = [this](const decision::execute_plan& e) { runner_->execute(e); };
    hooks.extra_status = [this] { return json{{"plan", runner_->status()}}; };
    engine_options eo;
    eo.listen_override = serve_ ? "127.0.0.1:9470" : "127.0.0.1:0";
    engine_ = std::make_unique<engine>(io_ctx_, cfg_, clock_, registry_, hooks, eo);
    engine_->start();
    runner_->attach(*engine_);
    for (const auto& v : cfg_.vantages) {
      detector::agent_options ao;
      ao.vantage = v;
      ao.endpoints = {engine_->base_url()};
      ao.flush_interval = std::chrono::milliseconds(500);
      ao.run_lag_source = false;  // no database here: feed_lag() stands in for it
      // One registry per agent: each labels its families with its own vantage.
      agent_registries_.push_back(std::make_unique<prometheus::Registry>());
      agents_.push_back(std::make_unique<detector::agent>(io_ctx_, cfg_, ao, clock_, *agent_registries_.back()));
    }
    for (auto& a : agents_)
      a->start();
    io_thread_ = std::thread([this] { io_ctx_.run(); });

    io_.out << "vigil demo: two regions (us-east-1 primary, us-west-2 dr), 4 services each on "
            << services_->url("", "").substr(0, services_->url("", "").find("//health")) << "\n"
            << "            three vantages (us-east-1, us-west-2, eu-west-1) -> engine " << engine_->base_url()
            << " (status page: " << engine_->base_url() << "/)\n\n";
    lag_thread_ = std::thread([this] { feed_lag(); });

    say("phase 1: everything healthy");
    if (!wait_for(
            "both regions healthy",
            [](const json& s) { return cls(s, "us-east-1") == "healthy" && cls(s, "us-west-2") == "healthy"; },
            std::chrono::seconds(20))) {
      return exit_failed;
    }
    say("phase 2: notifications fails in us-east-1 (one service: fix it, do not fail over)");
    services_->fail("us-east-1", "notifications");
    if (!wait_for(
            "service_degraded in us-east-1 and its page",
            [this](const json& s) {
              return cls(s, "us-east-1") == "service_degraded" && seen("page:service_degraded");
            },
            std::chrono::seconds(20))) {
      return exit_failed;
    }
    if (!status()["recommendation"].is_null()) {
      say("FAILED: a single service outage produced a recommendation");
      return exit_failed;
    }
    say("  -> no failover recommendation for a single service, as it should be");
    services_->heal("us-east-1", "notifications");
    if (!wait_for(
            "us-east-1 healthy again", [](const json& s) { return cls(s, "us-east-1") == "healthy"; },
            std::chrono::seconds(20))) {
      return exit_failed;
    }

    say("phase 3: us-east-1 goes dark: every service fails and its own vantage stops reporting");
    regional_at_ = clock_.monotonic();
    regional_wall_ = clock_.wall();
    set_region("us-east-1", true);
    on_io([this] {
      agents_[0]->stop();  // the us-east-1 agent
      return 0;
    });
    if (!wait_for(
            "a failover recommendation pending approval",
            [](const json& s) {
              return cls(s, "us-east-1") == "regional_outage" && s["recommendation"].is_object() &&
                     s["recommendation"]["state"] == "pending_approval";
            },
            std::chrono::seconds(30))) {
      return exit_failed;
    }
    const json rec = status()["recommendation"];
    say("  gates: " + gates_line(rec));

    say("phase 4: on-call approves with a signed token bound to recommendation " +
        rec["hash"].get<std::string>().substr(0, 12) + "…");
    common::http_call call = approval_call(rec, rec["action"]);
    const auto reply = common::http_perform(call);
    say("  POST /v1/approvals -> HTTP " + std::to_string(reply.status) + " " + reply.body);
    if (!reply.success()) return exit_failed;
    const auto replay = common::http_perform(call);
    say("  the same token again -> HTTP " + std::to_string(replay.status) + " (" +
        json::parse(replay.body, nullptr, false).value("error", "?") + ": an approval drives one execution)");

    if (!wait_for("the failover plan to finish", plan_done, std::chrono::seconds(60))) return exit_failed;
    const json finished = status();
    if (finished["recommendation"].value("state", "") != "done") {
      say("FAILED: the plan did not end done: " + finished["recommendation"].dump());
      return exit_failed;
    }
    if (!check_rto(finished["plan"].value("rto", json(nullptr)))) return exit_failed;
    if (!wait_for("us-west-2 active, roles swapped", active_is("us-west-2"), std::chrono::seconds(20))) {
      return exit_failed;
    }
    mark("active:us-west-2");
    say("  -> plan done: us-west-2 is the active region (role primary), us-east-1 is now the dr");

    if (!planned_work()) return exit_failed;
    if (!failback()) return exit_failed;
    print_summary();
    if (serve_) serve_forever();
    return exit_ok;
  }

  static bool plan_done(const json& s) {
    return s.contains("plan") && s["plan"].is_object() && s["plan"]["state"] == "done" &&
           s["recommendation"].is_object() && s["recommendation"]["state"] == "done";
  }

  static std::function<bool(const json&)> active_is(const std::string& region) {
    const std::string other = region == demo_regions[0] ? demo_regions[1] : demo_regions[0];
    return [region, other](const json& s) {
      return s.contains("active") && s["active"].value("region", "") == region &&
             s["active"].value("state", "") == "active" && s["regions"][region].value("role", "") == "primary" &&
             s["regions"][other].value("role", "") == "dr";
    };
  }

  /// A signed approval (or cooldown acknowledgement) of `rec`, as `vigil approve` sends it.
  common::http_call approval_call(const json& rec, const std::string& action) {
    approvals::approval_claims c;
    c.recommendation_id = rec["id"];
    c.recommendation_hash = rec["hash"];
    c.action = action;
    c.allow_data_loss = action == rec["action"] && rec.value("allow_data_loss_required", false);
    c.audience = cfg_.deployment;
    c.subject = "demo-oncall";
    c.issued_at = clock_.wall();
    c.expires_at = clock_.wall() + std::chrono::minutes(10);
    c.jti = approvals::new_jti();
    common::http_call call;
    call.method = "POST";
    call.url = engine_->base_url() + "/v1/approvals";
    call.body = approvals::sign_approval(*approver_key_, c);
    return call;
  }

  /// A signed operator command, as `vigil silence create|expire` sends it.
  bool command(const std::string& path, const json& body) {
    if (const auto why = approvals::check_command(body, approvals::command_limits{})) {
      say("FAILED: bad command: " + *why);
      return false;
    }
    common::http_call call;
    call.method = "POST";
    call.url = engine_->base_url() + path;
    call.headers = {{"Content-Type", "application/json"}};
    call.body = approvals::sign_command(*approver_key_, body, cfg_.deployment, "demo-oncall", clock_.wall(),
                                        std::chrono::minutes(5))
                    .dump();
    const auto r = common::http_perform(call);
    say("  POST " + path + " -> HTTP " + std::to_string(r.status));
    if (!r.success()) say("FAILED: " + r.body);
    return r.success();
  }

  /// The day after, part 1: a signed silence over the new primary while its
  /// services are worked on: pages downgraded, nothing recommended.
  bool planned_work() {
    say("phase 5: planned work in us-west-2: a signed silence (region:us-west-2), then its services fail");
    const json silence{{"action", "silence"},
                       {"id", "demo-maintenance"},
                       {"scope", "region:us-west-2"},
                       {"duration_s", 900},
                       {"reason", "planned work in the new primary"}};
    if (!command("/v1/silences", silence)) return false;
    set_region("us-west-2", true);
    if (!wait_for(
            "a silenced (non-critical) page for us-west-2",
            [this](const json& s) { return cls(s, "us-west-2") != "healthy" && seen("silenced:us-west-2"); },
            std::chrono::seconds(30))) {
      return false;
    }
    if (seen("critical:us-west-2")) {
      say("FAILED: a critical page for us-west-2 went out under the silence");
      return false;
    }
    const json rec = status()["recommendation"];
    if (rec.is_object() && rec.value("state", "") != "done") {
      bool blocked = false;
      for (const auto& g : rec["gates"])
        blocked = blocked || (g["name"] == "not_silenced" && !g["ok"].get<bool>());
      if (!blocked) {
        say("FAILED: a recommendation under the silence is not blocked by not_silenced: " + rec.dump());
        return false;
      }
      say("  -> recommendation blocked: not_silenced");
    }
    say("  -> the page went out downgraded, no critical page, no action");
    set_region("us-west-2", false);
    if (!wait_for(
            "us-west-2 healthy again", [](const json& s) { return cls(s, "us-west-2") == "healthy"; },
            std::chrono::seconds(30))) {
      return false;
    }
    return command("/v1/silences/expire",
                   json{{"action", "unsilence"}, {"id", "demo-maintenance"}, {"reason", "planned work done"}});
  }

  /// The day after, part 2: the old primary recovers and we fail back.
  bool failback() {
    say("phase 6: us-east-1 recovers; on-call proposes failback, acknowledges the cooldown and approves");
    set_region("us-east-1", false);
    on_io([this] {
      detector::agent_options ao;
      ao.vantage = cfg_.vantages[0];
      ao.endpoints = {engine_->base_url()};
      ao.flush_interval = std::chrono::milliseconds(500);
      ao.run_lag_source = false;
      agent_registries_.push_back(std::make_unique<prometheus::Registry>());
      agents_.push_back(std::make_unique<detector::agent>(io_ctx_, cfg_, ao, clock_, *agent_registries_.back()));
      agents_.back()->start();
      return 0;
    });
    if (!wait_for(
            "us-east-1 healthy again", [](const json& s) { return cls(s, "us-east-1") == "healthy"; },
            std::chrono::seconds(40))) {
      return false;
    }
    // Signed like every operator command: the engine refuses an unsigned proposal.
    if (!command("/v1/propose",
                 json{{"action", "propose"}, {"kind", "failback"}, {"reason", "us-east-1 is healthy again"}})) {
      return false;
    }
    json rec = status()["recommendation"];
    if (rec.value("state", "") == "blocked") {
      say("  gates: " + gates_line(rec));
      const auto ack = common::http_perform(approval_call(rec, std::string(approvals::acknowledge_cooldown_action)));
      say("  cooldown acknowledged (signed) -> HTTP " + std::to_string(ack.status));
      if (!ack.success()) return false;
    }
    if (!wait_for(
            "the failback pending approval",
            [](const json& s) {
              return s["recommendation"].is_object() && s["recommendation"]["action"] == "failback" &&
                     s["recommendation"]["state"] == "pending_approval";
            },
            std::chrono::seconds(30))) {
      return false;
    }
    rec = status()["recommendation"];
    const auto reply = common::http_perform(approval_call(rec, rec["action"]));
    say("  approve failback -> HTTP " + std::to_string(reply.status));
    if (!reply.success()) {
      say("FAILED: " + reply.body);
      return false;
    }
    if (!wait_for("the failback plan to finish", plan_done, std::chrono::seconds(60))) return false;
    if (!wait_for("us-east-1 active again", active_is("us-east-1"), std::chrono::seconds(20))) return false;
    mark("active:us-east-1");
    say("  -> failback done: us-east-1 is the active region again");
    return true;
  }

  static std::string gates_line(const json& rec) {
    std::string out;
    for (const auto& g : rec["gates"]) {
      out += g["name"].get<std::string>() + (g["ok"].get<bool>() ? "=ok " : "=FAIL ");
    }
    if (rec.value("allow_data_loss_required", false)) out += "(data loss must be allowed explicitly)";
    return out;
  }

  void feed_lag() {
    // The demo has no database: the DR vantage reports a synthetic 300 ms
    // replication lag for both directions (into us-west-2, and into
    // us-east-1 for the failback), as two postgres_standby sources would.
    while (!stopping_) {
      if (agents_.size() > 1) {
        const auto now = clock_.wall().time_since_epoch().count();
        agents_[1]->add_lag({now, 300, "", "us-west-2"});
        agents_[1]->add_lag({now, 300, "", "us-east-1"});
      }
      std::unique_lock lock(stop_mutex_);
      stop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_.load(); });
    }
  }

  /// The plan's RTO report against the fault this demo injected: the first
  /// evidence is the first failing probe after it (a probe in flight may
  /// fail up to one timeout earlier), and every interval up to the approval
  /// was measured.
  bool check_rto(const json& rto) {
    const auto from_fault = [&](const char* key) -> std::optional<double> {
      if (!rto.is_object() || !rto.contains(key) || !rto[key].is_string()) return std::nullopt;
      const auto t = decision::parse_time(rto[key].get<std::string>());
      if (!t) return std::nullopt;
      return std::chrono::duration<double>(*t - regional_wall_).count();
    };
    const auto evidence = from_fault("first_evidence");
    const auto classified = from_fault("classified");
    std::ostringstream o;
    o << std::fixed << std::setprecision(1);
    if (!evidence || !classified || *evidence < -1.0 || *evidence > *classified) {
      o << "FAILED: the RTO report's first evidence is not the first failing probe after the fault: " << rto.dump();
      say(o.str());
      return false;
    }
    for (const char* k : {"detection_s", "classification_to_page_s", "page_to_approval_s", "approval_to_start_s"}) {
      if (!rto.contains(k) || !rto[k].is_number()) {
        say("FAILED: the RTO report does not know " + std::string(k) + ": " + rto.dump());
        return false;
      }
    }
    o << "  RTO from the fault: first failing probe +" << *evidence << " s, outage declared +" << *classified
      << " s, paged " << rto["classification_to_page_s"].get<double>() << " s later, approved "
      << rto["page_to_approval_s"].get<double>() << " s after the page";
    say(o.str());
    return true;
  }

  void print_summary() {
    std::lock_guard lock(seen_mutex_);
    auto since = [this](const std::string& key) -> std::string {
      const auto it = first_seen_.find(key);
      if (it == first_seen_.end()) return "—";
      std::ostringstream o;
      o << std::fixed << std::setprecision(1) << std::chrono::duration<double>(it->second - regional_at_).count()
        << " s";
      return o.str();
    };
    io_.out << "\nsummary (times from the regional fault):\n"
            << "  regional_outage declared      " << since("regional_outage") << "\n"
            << "  critical page triggered       " << since("page:regional_outage") << "\n"
            << "  failover recommended          " << since("rec:pending_approval") << "\n"
            << "  failover done, us-west-2 active " << since("active:us-west-2") << "\n"
            << "  a single service outage earlier was classified service_degraded and paged, with no "
               "recommendation.\n"
            << "  the day after: planned work in us-west-2 under a signed silence paged no one critically;\n"
            << "  failback approved and done, us-east-1 active again at " << since("active:us-east-1") << ".\n"
            << "vigil demo: ok\n";
  }

  void serve_forever() {
    io_.out << "\nserving the status page on " << engine_->base_url() << "/ — Ctrl-C to stop\n" << std::flush;
    std::promise<void> done;
    asio::signal_set signals(io_ctx_, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { done.set_value(); });
    done.get_future().wait();
  }

  void shutdown() {
    stopping_ = true;
    stop_cv_.notify_all();
    if (lag_thread_.joinable()) lag_thread_.join();
    if (io_thread_.joinable()) {
      on_io([this] {
        for (auto& a : agents_)
          a->stop();
        if (engine_) engine_->stop();
        if (services_) services_->stop();
        return 0;
      });
      io_ctx_.stop();
      io_thread_.join();
    }
    agents_.clear();
    engine_.reset();
  }

  command_io& io_;
  bool serve_;
  common::real_clock clock_;
  common::mono_time start_{};
  common::mono_time regional_at_{};
  common::wall_time regional_wall_{};
  std::filesystem::path state_dir_;
  asio::io_context io_ctx_;
  prometheus::Registry registry_;
  std::vector<std::unique_ptr<prometheus::Registry>> agent_registries_;
  common::config cfg_;
  std::unique_ptr<fake_services> services_;
  std::unique_ptr<approvals::ed25519_key> approver_key_;
  std::unique_ptr<approvals::file_jti_ledger> ledger_;
  std::unique_ptr<approvals::approval_verifier> verifier_;
  std::unique_ptr<approvals::approval_verifier> command_tokens_;
  std::unique_ptr<approvals::command_verifier> commands_;
  std::unique_ptr<actuators::plan_runner> runner_;
  std::unique_ptr<engine> engine_;
  std::vector<std::unique_ptr<detector::agent>> agents_;
  std::thread io_thread_;
  std::thread lag_thread_;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  std::mutex print_mutex_;
  std::mutex seen_mutex_;
  std::map<std::string, common::mono_time> first_seen_;  ///< guarded by seen_mutex_ (io thread writes)
};

}  // namespace

int cmd_demo(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{{"serve", "", "keep the status page up on 127.0.0.1:9470 afterwards"}};
  auto parsed = parse_args(args, specs);
  if (!parsed.args) {
    io.err << "vigil demo: " << parsed.error << "\n";
    return exit_usage;
  }
  if (parsed.args->help) {
    io.out << "Usage: vigil demo [--serve]\n\nA self-contained showcase on 127.0.0.1: a service outage, then a "
              "regional outage, the recommendation, a demo approval and the failover plan; then planned work under a "
              "signed silence and the failback.\n\n"
           << format_options(specs);
    return exit_ok;
  }
  demo d(io, parsed.args->has("serve"));
  return d.run();
}

}  // namespace vigil::app
