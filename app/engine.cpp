#include "app/engine.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "app/batch_gate.hpp"
#include "app/engine_controls.hpp"
#include "app/engine_metrics.hpp"
#include "app/engine_notices.hpp"
#include "app/event_log.hpp"
#include "app/listeners.hpp"
#include "app/read_tokens.hpp"
#include "app/standing.hpp"
#include "app/status_history.hpp"
#include "app/status_page.hpp"
#include "app/status_view.hpp"
#include "common/descriptors.hpp"
#include "common/http_server.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "common/topology.hpp"
#include "decision/continuity.hpp"
#include "decision/record.hpp"
#include "decision/time_format.hpp"

namespace vigil::app {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

decision::time_point to_decision(common::wall_time t) {
  return decision::time_point{t.time_since_epoch()};
}

decision::time_point from_ms(std::int64_t ms) {
  return decision::time_point{std::chrono::milliseconds{ms}};
}

/// fsync(2) of a file or directory (a crash after the rename keeps the new content).
void fsync_path(const std::string& p, int flags) {
  const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + p + " to fsync it");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw std::runtime_error("fsync of " + p + " failed");
}

/// The snapshot without its check list (what the gauges and the head of /v1/status need).
decision::check_selection no_checks() {
  decision::check_selection s;
  s.none = true;
  return s;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

}  // namespace

struct engine::impl {
  asio::io_context& io;
  common::config cfg;
  const common::clock& clock;
  prometheus::Registry& registry;
  engine_hooks hooks;
  engine_options options;
  decision::core core;
  batch_gate gate;
  event_log events;
  engine_metrics metrics;
  asio::steady_timer timer;
  std::unique_ptr<common::http_server> server;
  std::unique_ptr<common::http_server> metrics_server;
  listener_metrics listener_counts;  ///< vigil_http_connections*, copied at each scrape
  read_token_gate read_gate;         ///< engine.read_tokens_file on GET /v1/*
  common::append_file audit;         ///< state_dir/audit.jsonl: every event, durable record (close-on-exec)
  common::append_file record;        ///< engine.record: every observation, for `vigil replay`
  /// check id -> vantage -> its newest failed observation ({outcome, detail, at}),
  /// erased when that vantage sees the check succeed: why a check is down
  /// (e.g. an AWS error code) is visible in /v1/status.
  std::map<std::string, json> last_failures;
  /// check id -> vantage -> why its newest observation was degraded (the
  /// `warning` outcome, or "degraded" when slow): a `warn`, shown apart from
  /// failures; erased by that vantage's next plain success or failure.
  std::map<std::string, std::map<std::string, std::string>> last_warnings;
  /// The status page's uptime history (GET /v1/history), fed at each tick.
  std::unique_ptr<status_history> history;
  bool ticked = false;
  bool stopped = false;
  bool leader = true;
  std::string published;  ///< the decision state last stored through hooks.on_continuity
  /// The active region as last written to state_dir/active.json.
  std::string active_written;
  /// The real (not dry-run) plan running now and its step results, for the
  /// active region's failing_over / split detail.
  struct running_plan {
    std::string id;
    decision::action_kind action = decision::action_kind::failover;
    std::string from, to;
    std::vector<std::string> approvers;
    std::map<std::string, std::string> steps;  ///< step -> its last status
  };
  std::optional<running_plan> real_plan;
  std::unique_ptr<operator_controls> controls;   ///< silences, windows, brake, plan commands
  std::unique_ptr<standing_approvals> standing;  ///< signed automatic-failover policies
  notice_board notices{cfg.deployment};          ///< operational notices (app/engine_notices.hpp)

  impl(asio::io_context& ctx, const common::config& c, const common::clock& clk, prometheus::Registry& reg,
       engine_hooks h, engine_options o)
      : io(ctx),
        cfg(c),
        clock(clk),
        registry(reg),
        hooks(std::move(h)),
        options(std::move(o)),
        core(common::make_topology(c)),
        gate(make_gate_options(c), std::set<std::string>(c.vantages.begin(), c.vantages.end())),
        metrics(reg, core.topo()),
        timer(ctx),
        listener_counts(reg),
        read_gate(reg, c.engine.read_tokens),
        leader(options.leader) {
    core.set_leader(leader);
    controls = std::make_unique<operator_controls>(cfg, core, reg, hooks, [this](const json& j) { record_event(j); });
    standing = std::make_unique<standing_approvals>(
        cfg, core, reg, hooks, [this](const json& j) { record_event(j); },
        [this](const std::string& key, decision::severity sev, const std::string& summary, const json& details) {
          standing_notice(key, sev, summary, details);
        });
    std::vector<history_check> hc;
    for (const auto& ci : core.topo().checks)
      hc.push_back({ci.id, core.topo().regions[ci.region].name, ci.service});
    history = std::make_unique<status_history>(
        std::move(hc), history_options{c.engine.history_bucket, static_cast<std::size_t>(c.engine.history_buckets)});
  }

  static batch_gate_options make_gate_options(const common::config& c) {
    batch_gate_options o;
    o.key = c.engine.agent_key;
    o.max_age = c.engine.batch_max_age;
    o.max_future = c.engine.batch_max_age;
    o.max_body_bytes = c.engine.max_batch_bytes;
    for (const auto& r : c.regions)
      o.regions.insert(r.name);
    return o;
  }

  // --- the active region (docs/runbook.md, "The active region") ------------

  [[nodiscard]] std::string active_path() const {
    return cfg.engine.state_dir.empty() ? std::string{} : cfg.engine.state_dir + "/active.json";
  }

  /// Before the decision state is adopted: the newer of the two wins there.
  void load_active() {
    const std::string path = active_path();
    if (path.empty() || !std::filesystem::exists(path)) return;
    try {
      std::ifstream in(path);
      const json j = json::parse(in);
      if (!core.restore_active(decision::active_region_from_json(j))) {
        common::logger("engine")->error("{}: region '{}' is not configured: keeping the configured primary", path,
                                        j.value("region", std::string{}));
        return;
      }
      active_written = j.dump();
      const auto a = core.active();
      common::logger("engine")->info("active region {} ({}) restored from {}", a.region, decision::to_string(a.state),
                                     path);
    } catch (const std::exception& e) {
      common::logger("engine")->error("{}: not read ({}): keeping the configured primary", path, e.what());
      metrics.internal_error("active_state");
    }
  }

  /// Writes state_dir/active.json when the core's active region changed
  /// (here, or adopted from the leader): temporary file, fsync, rename.
  void persist_active() {
    const std::string path = active_path();
    if (path.empty()) return;
    const std::string text = decision::to_json(core.active()).dump();
    if (text == active_written) return;
    const std::string tmp = path + ".tmp";
    try {
      {
        std::ofstream out(tmp, std::ios::trunc);
        out << text << '\n';
        out.flush();
        if (!out) throw std::runtime_error("cannot write " + tmp);
      }
      fsync_path(tmp, O_RDONLY);
      std::filesystem::rename(tmp, path);
      fsync_path(cfg.engine.state_dir, O_RDONLY | O_DIRECTORY);
      active_written = text;
    } catch (const std::exception& e) {
      common::logger("engine")->error("active region not stored in {}: {}", path, e.what());
      metrics.internal_error("active_state");
    }
  }

  [[nodiscard]] const common::plan_config& plan_for(decision::action_kind a) const {
    return a == decision::action_kind::failover ? cfg.failover : cfg.failback;
  }

  /// "promote-db done, shift-traffic failed, scale-up not run".
  [[nodiscard]] std::string steps_text(const running_plan& p) const {
    std::string s;
    for (const auto& st : plan_for(p.action).steps) {
      const auto it = p.steps.find(st.name);
      const std::string status = it == p.steps.end() || it->second == "skipped" ? "not run" : it->second;
      s += (s.empty() ? "" : ", ") + st.name + " " + status;
    }
    return s;
  }

  void on_plan_started(const std::string& id, decision::time_point now) {
    const auto rec = core.current_recommendation();
    if (!rec || rec->id != id || plan_for(rec->action).dry_run) return;
    real_plan = running_plan{id, rec->action, rec->from, rec->to, rec->approvers, {}};
    core.set_active_state(
        decision::active_mode::failing_over,
        std::string(decision::to_string(rec->action)) + " " + id + " from " + rec->from + " to " + rec->to + " running",
        now);
  }

  void on_plan_step(const std::string& id, const std::string& step, const std::string& status,
                    decision::time_point now) {
    if (!real_plan || real_plan->id != id) return;
    real_plan->steps[step] = status;
    core.set_active_state(decision::active_mode::failing_over,
                          std::string(decision::to_string(real_plan->action)) + " " + id + " from " + real_plan->from +
                              " to " + real_plan->to + " running: " + steps_text(*real_plan),
                          now);
  }

  void on_plan_finished(const std::string& id, bool ok, const std::string& detail, decision::time_point now) {
    if (!real_plan || real_plan->id != id) return;
    const running_plan p = std::move(*real_plan);
    real_plan.reset();
    if (ok) {
      if (const auto r = core.topo().find_region(p.to)) core.set_active(*r, now, id, p.approvers);
      return;
    }
    const bool any_ran = std::any_of(p.steps.begin(), p.steps.end(),
                                     [](const auto& kv) { return kv.second != "skipped" && kv.second != "dry_run"; });
    if (!any_ran) {  // refused, or failed before its first step acted: nothing moved
      core.set_active_state(decision::active_mode::active, "plan " + id + " did not run: " + detail, now);
      return;
    }
    core.set_active_state(decision::active_mode::split,
                          "split: " + steps_text(p) + " (plan " + id + " from " + p.from + " to " + p.to + ": " +
                              detail + "); finish or undo the remaining steps, then `vigil propose " +
                              std::string(decision::to_string(p.action)) +
                              "` (or the opposite action) to record where the system is",
                          now);
  }

  void open_files() {
    if (!cfg.engine.state_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(cfg.engine.state_dir, ec);
      if (ec) {
        throw std::system_error(ec, "cannot create engine.state_dir '" + cfg.engine.state_dir + "'");
      }
      audit.open(cfg.engine.state_dir + "/audit.jsonl");
    }
    if (!cfg.engine.record.empty()) {
      if (!record.open(cfg.engine.record))
        throw std::runtime_error("cannot open engine.record '" + cfg.engine.record + "' for appending");
    }
  }

  // --- ingest ------------------------------------------------------------

  void note_failure(const common::wire_observation& o, const std::string& vantage) {
    if (decision::is_success(o.result)) {
      if (const auto it = last_failures.find(o.check); it != last_failures.end()) {
        it->second.erase(vantage);
        if (it->second.empty()) last_failures.erase(it);
      }
      return;
    }
    last_failures[o.check][vantage] = json{{"outcome", decision::to_string(o.result)},
                                           {"detail", o.detail.substr(0, 512)},
                                           {"at", decision::format_time(from_ms(o.at_ms))}};
  }

  void note_warning(const common::wire_observation& o, const std::string& vantage) {
    const bool warned = o.result == decision::outcome::degraded ||
                        (decision::is_success(o.result) && o.warning != decision::outcome::ok);
    if (warned) {
      last_warnings[o.check][vantage] = std::string(
          decision::to_string(o.warning != decision::outcome::ok ? o.warning : decision::outcome::degraded));
    } else if (const auto it = last_warnings.find(o.check); it != last_warnings.end()) {
      it->second.erase(vantage);
      if (it->second.empty()) last_warnings.erase(it);
    }
  }

  /// One history sample per check from the tick's snapshot: down, up, or up
  /// but degraded (a counted vantage sees it down, or one voting up has a warn).
  /// One history sample per check from the core's per-check state and votes
  /// (no snapshot: with 10,000 checks that would cost every tick ~100 ms).
  void record_history(common::wall_time at) {
    const auto& checks = core.topo().checks;
    const auto& states = core.check_states();
    const auto& votes = core.check_votes();
    std::vector<history_sample> samples(checks.size(), history_sample::unknown);
    for (std::size_t i = 0; i < checks.size() && i < states.size() && i < votes.size(); ++i) {
      if (states[i] == decision::verdict::down) {
        samples[i] = history_sample::down;
      } else if (states[i] == decision::verdict::up) {
        // Up by quorum, but a vantage sees it down or reports a warn condition.
        const bool warned = votes[i].down > 0 || last_warnings.contains(checks[i].id);
        samples[i] = warned ? history_sample::degraded : history_sample::up;
      }
    }
    history->record(at, samples);
  }

  common::http_response get_history(const common::http_request& r) const {
    history_query q;
    if (const auto it = r.query.find("region"); it != r.query.end() && !it->second.empty()) {
      if (!core.topo().find_region(it->second)) {
        return common::http_response::error(400, "bad_query", "region: no configured region '" + it->second + "'");
      }
      q.region = it->second;
    }
    if (const auto it = r.query.find("check"); it != r.query.end()) q.check = it->second.substr(0, 256);
    if (const auto it = r.query.find("limit"); it != r.query.end()) {
      std::size_t n = 0;
      try {
        n = std::stoul(it->second);
      } catch (const std::exception&) {
      }
      if (n < 1 || n > 1000) return common::http_response::error(400, "bad_query", "limit must be 1..1000");
      q.limit = n;
    }
    return common::http_response::json(200, history->to_json(clock.wall(), q).dump());
  }

  common::http_response post_observations(const common::http_request& r) {
    const auto now = clock.wall();
    auto verdict = gate.check(r.body, r.header("x-vigil-signature"), r.header("x-vigil-timestamp"), now);
    if (!verdict.value) {
      metrics.batch_rejected(verdict.reason);
      common::logger("engine")->warn("refused batch from {}: {}: {}", r.remote, common::to_string(verdict.reason),
                                     verdict.message);
      return common::http_response::error(verdict.http_status, common::to_string(verdict.reason), verdict.message);
    }
    const common::batch& b = *verdict.value;
    const auto v = core.topo().find_vantage(b.vantage);
    if (!v) return common::http_response::error(400, "unknown_vantage", b.vantage);
    core.vantage_report(*v, to_decision(now));
    metrics.batch_accepted(*v, b.observations.size());
    std::size_t unknown = 0;
    for (const auto& o : b.observations) {
      const auto c = core.topo().find_check(o.check);
      if (!c) {
        ++unknown;  // an agent with a newer config: skip the check, keep the batch
        continue;
      }
      decision::observation obs;
      obs.vantage = *v;
      obs.check = *c;
      obs.at = from_ms(o.at_ms);
      obs.result = o.result;
      obs.warning = o.warning;
      obs.fast = o.fast;
      obs.latency_ms = static_cast<float>(o.latency_ms);
      if (o.value) obs.value = *o.value;
      core.ingest(obs);
      note_failure(o, b.vantage);
      note_warning(o, b.vantage);
      if (record.is_open()) record.write_line(decision::to_record_line(obs, core.topo()));
    }
    for (const auto& l : b.lag) {
      decision::lag_sample s;
      s.at = from_ms(l.at_ms);
      if (l.lag_ms) s.lag = std::chrono::milliseconds{*l.lag_ms};
      if (!l.region.empty()) s.region = core.topo().find_region(l.region);  // the batch gate checked the name
      core.ingest_lag(s);
      if (record.is_open()) record.write_line(decision::to_record_line(s, core.topo()));
    }
    if (record.is_open()) {
      record.write_line(decision::to_record_line(decision::report_record{*v, to_decision(now)}, core.topo()));
      record.flush();
    }
    if (unknown > 0) metrics.observations_unknown(unknown);
    auto accepted = common::http_response::json(
        202, json{{"accepted", b.observations.size() - unknown}, {"unknown_checks", unknown}, {"seq", b.seq}}.dump());
    accepted.authenticated = true;  // a signed batch: its connection is kept when the listener sheds others
    return accepted;
  }

  // --- approvals -----------------------------------------------------------

  common::http_response post_approval(const common::http_request& r) {
    std::string token = trim(r.body);
    if (!token.empty() && token.front() == '{') {  // also accept {"token": "..."}
      const json doc = json::parse(token, nullptr, false);
      if (doc.is_object() && doc.contains("token") && doc["token"].is_string()) token = doc["token"].get<std::string>();
    }
    if (hooks.forward_to_leader) {
      if (auto forwarded = hooks.forward_to_leader(r)) return std::move(*forwarded);
    }
    if (!hooks.verify_token) {
      metrics.approval("rejected", "approvals_not_configured");
      return common::http_response::error(503, "approvals_not_configured",
                                          "this engine has no approvers configured (approvals.approvers)");
    }
    const auto now = clock.wall();
    token_check checked = hooks.verify_token(token, now, core.current_recommendation(), cfg.approvals.required);
    if (!checked.approval) {  // counted by the verifier (vigil_approvals_total)
      record_event(json{{"type", "approval"},
                        {"at", common::format_rfc3339(now)},
                        {"accepted", false},
                        {"reason", checked.reason},
                        {"hint", checked.message}});
      const int status = checked.status != 0 ? checked.status : 401;
      return common::http_response::error(status, checked.reason, checked.message);
    }
    if (checked.acknowledge_cooldown) return acknowledge_cooldown(*checked.approval, now);
    const auto result = core.approve(*checked.approval, to_decision(now));
    // A refused token is not spent: its jti is released so the operator can
    // retry it (a replay stays a replay).
    if (!result.accepted && result.reason != decision::approval_reason::replayed_token && checked.release) {
      checked.release();
    }
    metrics.approval(result.accepted ? "accepted" : "rejected", decision::to_string(result.reason));
    drain();  // the approval_decided / execute_plan events go out now, not at the next tick
    json body{{"accepted", result.accepted},
              {"reason", decision::to_string(result.reason)},
              {"approvals", result.approvals},
              {"required", result.required},
              {"execute", result.execute}};
    if (!result.accepted) {
      body["error"] = decision::to_string(result.reason);
      body["message"] = result.hint + (result.detail.empty() ? "" : " (" + result.detail + ")");
      return common::http_response::json(409, body.dump());
    }
    return common::http_response::json(202, body.dump());
  }

  /// A verified acknowledge_cooldown token (its jti spent): the cooldown is
  /// acknowledged; at the next tick the gates pass it and the blocked
  /// recommendation is superseded by one its approvers can approve (the gate
  /// results are part of its hash). Not ticked here: ticks stay on the grid
  /// every replica shares.
  common::http_response acknowledge_cooldown(const decision::verified_approval& a, common::wall_time now) {
    core.acknowledge_cooldown(a.approver, to_decision(now));
    drain();
    metrics.approval("accepted", "cooldown_acknowledged");
    record_event(json{{"type", "approval"},
                      {"at", common::format_rfc3339(now)},
                      {"accepted", true},
                      {"reason", "cooldown_acknowledged"},
                      {"approver", a.approver},
                      {"recommendation_id", a.recommendation_id}});
    const json body{{"accepted", true},
                    {"reason", "cooldown_acknowledged"},
                    {"acknowledged_by", a.approver},
                    {"acknowledged_for", a.recommendation_id},
                    {"next", "the recommendation is re-evaluated at the next tick: fetch it and approve it"}};
    return common::http_response::json(202, body.dump());
  }

  // --- status --------------------------------------------------------------

  /// GET /v1/status, its query parameters applied (app/status_view.hpp).
  [[nodiscard]] common::http_response get_status(const common::http_request& r) const {
    auto q = parse_status_query(r.query, core.topo());
    if (!q.value) return common::http_response::error(400, "bad_query", q.message);
    return common::http_response::json(200, render_status(status_head(), core, last_failures, last_warnings, *q.value));
  }

  json status() const {
    return json::parse(render_status(status_head(), core, last_failures, last_warnings, status_query{}));
  }

  /// The status document but its check list (render_status adds that).
  json status_head() const {
    json s = decision::to_json(core.status(no_checks()));
    s["deployment"] = cfg.deployment;
    s["leader"] = leader;
    s["ready"] = ticked;
    // What the status page links to (absent: not configured).
    s["links"] = json::object();
    if (!cfg.engine.runbook_url.empty()) s["links"]["runbook"] = cfg.engine.runbook_url;
    if (!cfg.engine.dashboard_url.empty()) s["links"]["dashboard"] = cfg.engine.dashboard_url;
    s["notices"] = notices.to_json();
    const json controls_status = controls->status(clock.wall());  // alive while items() refers to it
    for (const auto& [k, v] : controls_status.items())
      s[k] = v;
    s["standing"] = standing->status(clock.wall())["policies"];
    if (hooks.extra_status) {
      const json extra = hooks.extra_status();  // keep it alive: items() only references it
      for (const auto& [k, v] : extra.items())
        s[k] = v;
    }
    return s;
  }

  common::http_response get_recommendation() const {
    const auto rec = core.current_recommendation();
    if (!rec) return common::http_response::error(404, "no_recommendation", "there is no recommendation right now");
    json r = decision::to_json(*rec, cfg.approvals.required);
    r["deployment"] = cfg.deployment;
    r["max_ttl_s"] = std::chrono::duration_cast<std::chrono::seconds>(cfg.approvals.max_ttl).count();
    const auto& plan = rec->action == decision::action_kind::failover ? cfg.failover : cfg.failback;
    json steps = json::array();
    for (const auto& st : plan.steps)
      steps.push_back({{"name", st.name}, {"kind", st.kind}});
    r["plan"] = {{"dry_run", plan.dry_run}, {"steps", steps}};
    return common::http_response::json(200, r.dump());
  }

  common::http_response get_events(const common::http_request& r) {
    std::uint64_t since = 0;
    if (const auto it = r.query.find("since"); it != r.query.end()) {
      try {
        since = std::stoull(it->second);
      } catch (const std::exception&) {
        return common::http_response::error(400, "bad_query", "since must be a non-negative integer");
      }
    }
    return common::http_response::json(200, events.since(since).dump());
  }

  common::http_response route(const common::http_request& r) {
    if (auto refused = read_gate.check(r)) return std::move(*refused);
    if (auto c = controls->route(r, clock.wall())) {
      drain();
      return std::move(*c);
    }
    if (auto c = standing->route(r, clock.wall())) return std::move(*c);
    for (const auto& extra : hooks.extra_routes) {
      if (auto answer = extra(r)) {
        drain();
        return std::move(*answer);
      }
    }
    if (r.path == "/v1/observations") {
      if (r.method != "POST") return method_not_allowed();
      return post_observations(r);
    }
    if (r.path == "/v1/approvals") {
      if (r.method != "POST") return method_not_allowed();
      return post_approval(r);
    }
    if (r.method != "GET" && r.method != "HEAD") return method_not_allowed();
    if (r.path == "/v1/status") return get_status(r);
    if (r.path == "/v1/recommendation") return get_recommendation();
    if (r.path == "/v1/events") return get_events(r);
    if (r.path == "/v1/history") return get_history(r);
    if (r.path == "/healthz") return common::http_response::json(200, R"({"status":"ok"})");
    if (r.path == "/readyz") {
      return ticked ? common::http_response::json(200, R"({"status":"ready"})")
                    : common::http_response::json(503, R"({"status":"starting"})");
    }
    if (r.path == "/metrics") return metrics_response();
    if (r.path == "/" || r.path == "/index.html") {
      common::http_response page{200, "text/html; charset=utf-8", std::string(status_page_html()), {}};
      return page;
    }
    return common::http_response::error(404, "not_found", "no route for " + r.path);
  }

  common::http_response metrics_response() {
    if (server) listener_counts.update("api", *server);
    if (metrics_server) listener_counts.update("metrics", *metrics_server);
    common::http_response m{200, common::metrics_content_type, common::serialize_metrics(registry), {}};
    return m;
  }

  static common::http_response method_not_allowed() {
    return common::http_response::error(405, "method_not_allowed", "method not allowed on this path");
  }

  // --- tick and outputs ----------------------------------------------------

  /// A standing approval's page (summary empty: resolve it).
  void standing_notice(const std::string& key, decision::severity sev, const std::string& summary,
                       const json& details) {
    const auto now = to_decision(clock.wall());
    if (summary.empty()) {
      send_notice(notices.clear(key, now));
      return;
    }
    common::logger("standing")->warn("{} ({}): {}", key, decision::to_string(sev), summary);
    send_notice(notices.set(key, sev, summary, details, now));
  }

  void record_event(const json& j) {
    if (audit.is_open()) {
      audit.write_line(j.dump());
      audit.flush();
    }
    events.append(j);
    if (hooks.on_event) hooks.on_event(j);
  }

  void drain() {
    for (auto& ev : core.take_output()) {
      json j = decision::to_json(ev);
      record_event(j);
      log_decision_event(j);
      if (const auto* p = std::get_if<decision::page>(&ev)) {
        if (leader && hooks.on_page) {
          if (const auto filtered = controls->filter(*p)) hooks.on_page(*filtered);
        } else if (!leader && hooks.on_follower_page) {
          hooks.on_follower_page(*p);
        }
      } else if (const auto* e = std::get_if<decision::execute_plan>(&ev)) {
        if (leader && hooks.on_execute) hooks.on_execute(*e);
      } else if (const auto* c = std::get_if<decision::classification_changed>(&ev)) {
        metrics.classification_detected(c->region, c->to);
      }
    }
    persist_active();
    publish();
  }

  /// A notice's page (notice_board decided it): audited like the core's
  /// pages, sent only while this replica leads.
  void send_notice(std::optional<decision::page> p) {
    if (!p) return;
    json j = decision::to_json(decision::event{*p});
    record_event(j);
    log_decision_event(j);
    if (leader && hooks.on_page) {
      if (const auto filtered = controls->filter(*p)) hooks.on_page(*filtered);
    }
  }

  /// The leader stores its decision state after its pages went to the hooks
  /// (claimed in the shared outbox, or in the local one): a successor that
  /// reads a state finds the pages it implies claimed (docs/ha.md).
  void publish() {
    if (!leader || !hooks.on_continuity) return;
    const json state = decision::to_json(core.continuity_state());
    std::string text = state.dump();
    if (text == published) return;
    if (hooks.on_continuity(state)) published = std::move(text);
  }

  bool adopt(const json& state) {
    try {
      core.adopt(decision::continuity_from_json(state));
    } catch (const std::exception& e) {
      common::logger("engine")->error("decision state not adopted: {}", e.what());
      metrics.internal_error("adopt_state");
      return false;
    }
    drain();
    return true;
  }

  /// `at`: the tick's time; the timer passes its wall-clock grid point.
  void tick(std::optional<common::wall_time> at = std::nullopt) {
    const auto start = clock.monotonic();
    controls->tick(at ? *at : clock.wall());
    core.tick(to_decision(at ? *at : clock.wall()));
    drain();
    standing->tick(at ? *at : clock.wall(), leader, controls->brake_on());
    drain();  // a standing approval's execute_plan goes out in this tick
    metrics.update(core.status(no_checks()), core.check_states());
    record_history(at ? *at : clock.wall());
    metrics.tick_took(clock.monotonic() - start, clock.wall());
    ticked = true;
  }

  /// Ticks fall on multiples of decision.tick in wall-clock time and the core
  /// is ticked with that grid point, not the moment the timer fired: replicas
  /// with synchronised clocks that received the same batches then classify at
  /// the same instants, so their incident ids, page keys and recommendation
  /// ids agree (docs/ha.md) and a new leader continues the same incident.
  [[nodiscard]] common::wall_time grid_point(common::wall_time t) const {
    const auto tick_ms = std::max<std::int64_t>(1, cfg.decision.tick.count());
    const auto ms = t.time_since_epoch().count();
    return common::wall_time{std::chrono::milliseconds{ms - ms % tick_ms}};
  }

  void schedule_tick() {
    const auto now = clock.wall();
    const auto next = grid_point(now) + cfg.decision.tick;
    timer.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(next - now) +
                        std::chrono::milliseconds(2));
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped) return;
      try {
        tick(grid_point(clock.wall()));
      } catch (const std::exception& e) {
        // Unexpected inside the long-running loop: log with context, count, go on.
        common::logger("engine")->error("tick failed: {}", e.what());
        metrics.internal_error("tick");
      }
      schedule_tick();
    });
  }
};

engine::engine(asio::io_context& io, const common::config& cfg, const common::clock& clock,
               prometheus::Registry& registry, engine_hooks hooks, engine_options options)
    : impl_(std::make_unique<impl>(io, cfg, clock, registry, std::move(hooks), std::move(options))) {}

engine::~engine() {
  stop();
}

void engine::start() {
  auto& i = *impl_;
  i.open_files();
  if (!i.ticked) i.load_active();
  i.controls->load(i.clock.wall());
  i.standing->load(i.clock.wall());
  if (i.hooks.load_continuity && !i.ticked) {
    if (const auto state = i.hooks.load_continuity()) {
      if (i.adopt(*state))
        common::logger("engine")->info("decision state adopted (incidents, recommendation, cooldown)");
    }
  }
  if (i.hooks.open_incidents && !i.ticked) {
    std::size_t continued = 0;
    for (const auto& inc : i.hooks.open_incidents()) {
      if (inc.kind == decision::page_kind::notice) {
        if (i.notices.restore(inc.incident_id, inc.started)) ++continued;
        continue;
      }
      if (i.core.restore_incident(inc)) {
        ++continued;
      } else {
        common::logger("engine")->warn(
            "open incident {} from the previous run is not continued (no configured {} '{}', or a newer incident "
            "there): resolving it",
            inc.incident_id, inc.region.empty() ? "vantage" : "region", inc.region.empty() ? inc.vantage : inc.region);
      }
    }
    if (continued > 0) {
      common::logger("engine")->info("continuing {} open incident(s) from the previous run", continued);
    }
    i.drain();
  }
  const std::string listen = i.options.listen_override.empty() ? i.cfg.engine.listen : i.options.listen_override;
  i.server = std::make_unique<common::http_server>(
      i.io, listen, [&i](const common::http_request& r) { return i.route(r); },
      api_listener_options(i.cfg.engine, prepare_fd_limit()));
  i.server->start();
  if (!i.cfg.engine.metrics_listen.empty()) {
    i.metrics_server = std::make_unique<common::http_server>(
        i.io, i.cfg.engine.metrics_listen,
        [&i](const common::http_request& r) {
          if (r.path == "/metrics" || r.path == "/healthz" || r.path == "/readyz") return i.route(r);
          return common::http_response::error(404, "not_found", "only /healthz, /readyz and /metrics here");
        },
        metrics_listener_options(i.cfg.engine));
    i.metrics_server->start();
  }
  common::logger("engine")->info("engine for '{}' listening on {} (tick {} ms, quorum {})", i.cfg.deployment,
                                 i.server->base_url(), i.cfg.decision.tick.count(), i.core.status(no_checks()).quorum);
  if (i.options.tick_timer) i.schedule_tick();
}

void engine::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->timer.cancel();
  if (impl_->server) impl_->server->stop();
  if (impl_->metrics_server) impl_->metrics_server->stop();
}

std::string engine::base_url() const {
  return impl_->server ? impl_->server->base_url() : std::string{};
}

std::string engine::metrics_url() const {
  if (impl_->metrics_server) return impl_->metrics_server->base_url() + "/metrics";
  return base_url() + "/metrics";
}

void engine::plan_started(const std::string& id, bool dry_run) {
  const auto now = to_decision(impl_->clock.wall());
  impl_->core.plan_started(id, now, dry_run);
  impl_->on_plan_started(id, now);
  impl_->drain();
}

void engine::plan_step(const std::string& id, const std::string& step, const std::string& status) {
  const auto now = to_decision(impl_->clock.wall());
  impl_->core.plan_step(id, step, status, now);
  impl_->on_plan_step(id, step, status, now);
  impl_->drain();
}

void engine::plan_finished(const std::string& id, bool ok, const std::string& detail, bool dry_run) {
  const auto now = to_decision(impl_->clock.wall());
  impl_->on_plan_finished(id, ok, detail, now);  // the active region first: the page of "done" names it
  impl_->core.plan_finished(id, ok, detail, now, dry_run);
  impl_->drain();
}

void engine::set_leader(bool leader) {
  if (leader && !impl_->leader) {
    impl_->published.clear();                    // a new term stores its state once at least
    impl_->controls->load(impl_->clock.wall());  // the silences and brake the last leader stored
    impl_->standing->load(impl_->clock.wall());  // the standing approvals it armed and the uses spent
  }
  if (!leader && impl_->leader) impl_->notices.forget_all();  // the new leader raises or clears them
  impl_->leader = leader;
  impl_->core.set_leader(leader);
}

bool engine::is_leader() const {
  return impl_->leader;
}

void engine::set_notice(const std::string& key, decision::severity sev, const std::string& summary,
                        const nlohmann::json& details) {
  impl_->send_notice(impl_->notices.set(key, sev, summary, details, to_decision(impl_->clock.wall())));
}

void engine::clear_notice(const std::string& key) {
  impl_->send_notice(impl_->notices.clear(key, to_decision(impl_->clock.wall())));
}

void engine::set_readiness(decision::action_kind plan, std::optional<decision::plan_readiness> r) {
  impl_->core.set_readiness(plan, std::move(r));
  impl_->drain();
}

bool engine::adopt_continuity(const nlohmann::json& state) {
  return impl_->adopt(state);
}

std::set<std::string> engine::open_incident_ids() const {
  std::set<std::string> out;
  for (const auto& inc : impl_->core.continuity_state().incidents)
    out.insert(inc.incident_id);
  return out;
}

bool engine::mark_unpaged(const std::string& incident_id) {
  return impl_->core.mark_unpaged(incident_id);
}

void engine::set_read_tokens(const std::vector<std::string>& tokens) {
  impl_->read_gate.set(tokens);
}

void engine::tick_now() {
  impl_->tick();
}

nlohmann::json engine::status_json() const {
  return impl_->status();
}

nlohmann::json engine::status_head_json() const {
  return impl_->status_head();
}

}  // namespace vigil::app
