// Operator controls: signed silences, maintenance windows, the actuation
// brake and plan abort/pause/resume (app/engine_controls.hpp).
#include "app/engine_controls.hpp"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "common/log.hpp"
#include "decision/time_format.hpp"

namespace vigil::app {

namespace {

using approvals::command_reason;
using approvals::command_result;
using nlohmann::json;

decision::time_point to_decision(common::wall_time t) {
  return decision::time_point{t.time_since_epoch()};
}

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

decision::action_kind proposal_kind(const json& body) {
  return str(body, "kind") == "failover" ? decision::action_kind::failover : decision::action_kind::failback;
}

/// POST /v1/propose accepted: the recommendation, proposed by the token's signer.
common::http_response propose(decision::core& core, const command_result& ok, common::wall_time now) {
  const auto res = core.propose(proposal_kind(ok.command), ok.signer, to_decision(now));
  if (!res.ok) return common::http_response::error(409, "not_proposed", res.reason);
  const json answer{{"accepted", true},
                    {"command", "propose"},
                    {"by", ok.signer},
                    {"recommendation_id", res.reason},
                    {"action", str(ok.command, "kind")}};
  return common::http_response::json(201, answer.dump());
}

std::optional<command_result> refusal(command_reason r, std::string message) {
  command_result out;
  out.reason = r;
  out.message = std::move(message);
  return out;
}

}  // namespace

operator_controls::operator_controls(const common::config& cfg, decision::core& core, prometheus::Registry& registry,
                                     const engine_hooks& hooks, event_fn record_event)
    : cfg_(cfg),
      core_(core),
      hooks_(hooks),
      record_event_(std::move(record_event)),
      limits_{cfg.silences.max_duration},
      metrics_(registry),
      active_gauge_(&prometheus::BuildGauge()
                         .Name("vigil_silences_active")
                         .Help("Silences in force: operator silences and active maintenance windows")
                         .Register(registry)
                         .Add({})),
      brake_gauge_(&prometheus::BuildGauge()
                        .Name("vigil_actuation_brake")
                        .Help("1 while the actuation brake is on: no plan step runs")
                        .Register(registry)
                        .Add({})),
      brake_(cfg.engine.actuation_brake),
      brake_detail_(cfg.engine.actuation_brake ? "engine.actuation_brake in the configuration" : "") {
  for (const auto& w : cfg.silences.windows) {
    std::string err;
    if (auto parsed = decision::parse_maintenance_window(w.name, w.scope, w.schedule, w.timezone, err)) {
      windows_.push_back(std::move(*parsed));
    }
  }
  gauges();
}

void operator_controls::load(common::wall_time now) {
  if (!hooks_.load_controls) return;
  std::optional<json> doc;
  try {
    doc = hooks_.load_controls();
  } catch (const std::exception& e) {
    common::logger("engine")->error("cannot read the stored silences and brake: {}", e.what());
    return;
  }
  if (!doc || !doc->is_object()) return;
  for (const auto& s : doc->value("silences", json::array())) {
    const auto until = common::wall_time{std::chrono::milliseconds{s.value("until_ms", std::int64_t{0})}};
    if (until <= now || str(s, "id").empty()) continue;
    silence x{str(s, "id"),
              str(s, "scope"),
              str(s, "by"),
              str(s, "reason"),
              common::wall_time{std::chrono::milliseconds{s.value("created_ms", std::int64_t{0})}},
              until};
    if (std::any_of(silences_.begin(), silences_.end(), [&](const silence& y) { return y.id == x.id; })) continue;
    add_to_core(x, now);
    silences_.push_back(std::move(x));
  }
  if (doc->contains("brake") && (*doc)["brake"].is_object() && !cfg_.engine.actuation_brake) {
    brake_ = (*doc)["brake"].value("on", false);
    brake_detail_ = str((*doc)["brake"], "detail");
  }
  if (hooks_.set_brake) hooks_.set_brake(brake_, brake_detail_);
  gauges();
}

void operator_controls::store() {
  json list = json::array();
  for (const auto& s : silences_) {
    list.push_back({{"id", s.id},
                    {"scope", s.scope},
                    {"by", s.by},
                    {"reason", s.reason},
                    {"created_ms", s.created.time_since_epoch().count()},
                    {"until_ms", s.until.time_since_epoch().count()}});
  }
  const json doc{{"silences", list}, {"brake", {{"on", brake_}, {"detail", brake_detail_}}}};
  if (hooks_.store_controls && !hooks_.store_controls(doc)) {
    common::logger("engine")->error("the silences and brake could not be stored; they hold until this engine stops");
  }
}

void operator_controls::gauges() {
  active_gauge_->Set(static_cast<double>(silences_.size() + windows_active_.size()));
  brake_gauge_->Set(brake_ ? 1 : 0);
}

void operator_controls::add_to_core(const silence& s, common::wall_time now) {
  core_.silence({s.id, s.scope == "all" ? std::string{} : s.scope, s.by, s.reason, to_decision(s.until)},
                to_decision(now));
}

void operator_controls::silence_ended(const std::string& id, common::wall_time now) {
  core_.unsilence(id, to_decision(now));
  // What the silence held is paged now (its next page is a trigger).
  for (const auto& incident : held_incidents_)
    core_.mark_unpaged(incident);
  held_incidents_.clear();
}

void operator_controls::tick(common::wall_time now) {
  const auto t = to_decision(now);
  std::set<std::string> active;
  for (const auto& w : decision::window_silences(windows_, t)) {
    active.insert(w.id);
    if (!windows_active_.contains(w.id)) core_.silence(w, t);
  }
  bool ended = false;
  for (const auto& id : windows_active_) {
    if (!active.contains(id)) {
      silence_ended(id, now);
      ended = true;
    }
  }
  windows_active_ = std::move(active);
  const auto expired = std::erase_if(silences_, [&](const silence& s) {
    if (s.until > now) return false;
    record_event_({{"type", "operator_command"},
                   {"command", "silence_expired"},
                   {"at", common::format_rfc3339(now)},
                   {"target", s.id},
                   {"by", s.by}});
    silence_ended(s.id, now);
    return true;
  });
  if (expired > 0) store();
  if (expired > 0 || ended) gauges();
}

std::vector<decision::down_check> operator_controls::down_in(const std::string& region) const {
  std::vector<decision::down_check> out;
  const auto r = core_.topo().find_region(region);
  if (!r) return out;
  decision::check_selection sel;
  sel.region = *r;
  for (const auto& c : core_.status(sel).checks) {
    if (c.role == decision::check_role::classify && c.state == decision::verdict::down) {
      out.push_back({c.id, c.service});
    }
  }
  return out;
}

std::optional<decision::page> operator_controls::filter(const decision::page& p) {
  if (p.action == decision::page_action::resolve && held_incidents_.erase(p.incident_id) > 0) return std::nullopt;
  decision::check_selection silences_only;
  silences_only.none = true;
  const auto statuses = core_.status(silences_only);
  const auto down = down_in(p.region);
  auto out = decision::apply_silences(
      p, statuses.silences, p.at, down,
      cfg_.silences.hold_pages ? decision::silenced_pages::hold : decision::silenced_pages::downgrade);
  if (!out) {
    held_incidents_.insert(p.incident_id);
    record_event_({{"type", "page_held"},
                   {"at", decision::format_time(p.at)},
                   {"incident_id", p.incident_id},
                   {"region", p.region},
                   {"summary", p.summary}});
  }
  return out;
}

json operator_controls::silences_json(common::wall_time now) const {
  json list = json::array();
  for (const auto& s : silences_) {
    list.push_back({{"id", s.id},
                    {"scope", s.scope},
                    {"by", s.by},
                    {"reason", s.reason},
                    {"created_at", common::format_rfc3339(s.created)},
                    {"until", common::format_rfc3339(s.until)},
                    {"remaining_s", std::chrono::duration_cast<std::chrono::seconds>(s.until - now).count()},
                    {"source", "operator"}});
  }
  for (const auto& w : decision::window_silences(windows_, to_decision(now))) {
    list.push_back({{"id", w.id},
                    {"scope", w.scope},
                    {"by", w.by},
                    {"reason", w.reason},
                    {"until", decision::format_time(w.until)},
                    {"source", "maintenance_window"}});
  }
  return list;
}

json operator_controls::status(common::wall_time now) const {
  json windows = json::array();
  for (const auto& w : cfg_.silences.windows) {
    windows.push_back({{"name", w.name}, {"scope", w.scope}, {"schedule", w.schedule}, {"timezone", w.timezone}});
  }
  return {{"silences", silences_json(now)},
          {"maintenance_windows", windows},
          {"silenced_pages", cfg_.silences.hold_pages ? "hold" : "downgrade"},
          {"actuation_brake", {{"on", brake_}, {"detail", brake_detail_}}}};
}

std::optional<command_result> operator_controls::precheck(const json& body, common::wall_time now) const {
  const std::string action = str(body, "action");
  const std::string id = str(body, "id");
  const auto find = [&] {
    return std::find_if(silences_.begin(), silences_.end(), [&](const silence& s) { return s.id == id; });
  };
  if (action == "silence") {
    if (find() != silences_.end()) {
      return refusal(command_reason::duplicate_silence,
                     "silence " + id + " is active; expire it first or use another id");
    }
    if (static_cast<int>(silences_.size()) >= cfg_.silences.max_active) {
      return refusal(command_reason::too_many_silences,
                     std::to_string(silences_.size()) + " silences are active (silences.max_active); expire one");
    }
  } else if (action == "unsilence") {
    if (find() == silences_.end()) {
      return refusal(command_reason::unknown_silence,
                     "no active operator silence has id " + id + " (GET /v1/silences lists them)");
    }
  } else if (action == "propose") {
    if (auto why = core_.propose_refusal(proposal_kind(body))) return refusal(command_reason::not_proposed, *why);
  } else if (action.starts_with("plan_")) {
    const json plan = hooks_.extra_status ? hooks_.extra_status().value("plan", json(nullptr)) : json(nullptr);
    const std::string rid = str(body, "recommendation_id");
    if (!plan.is_object() || str(plan, "state") != "executing" || str(plan, "recommendation_id") != rid) {
      return refusal(command_reason::no_plan, "no plan of recommendation " + rid + " is running here");
    }
  }
  (void)now;
  return std::nullopt;
}

common::http_response operator_controls::apply(const command_result& ok, common::wall_time now) {
  const json& body = ok.command;
  const std::string action = str(body, "action");
  const std::string reason = str(body, "reason");
  if (action == "propose") return propose(core_, ok, now);  // nothing to store: the core publishes it
  json answer{{"accepted", true}, {"command", action}, {"by", ok.signer}};
  if (action == "silence") {
    silence s{str(body, "id"),
              str(body, "scope"),
              ok.signer,
              reason,
              now,
              now + std::chrono::seconds(body["duration_s"].get<std::int64_t>())};
    add_to_core(s, now);
    answer["silence"] = {{"id", s.id}, {"scope", s.scope}, {"until", common::format_rfc3339(s.until)}};
    silences_.push_back(std::move(s));
  } else if (action == "unsilence") {
    const std::string id = str(body, "id");
    std::erase_if(silences_, [&](const silence& s) { return s.id == id; });
    silence_ended(id, now);
    answer["expired"] = id;
  } else if (action == "brake_on" || action == "brake_off") {
    brake_ = action == "brake_on";
    brake_detail_ = ok.signer + ": " + reason;
    if (hooks_.set_brake) hooks_.set_brake(brake_, brake_detail_);
    answer["actuation_brake"] = brake_;
  } else {
    const std::string rid = str(body, "recommendation_id");
    const std::string why = hooks_.plan_command ? hooks_.plan_command(action, rid, ok.signer, reason)
                                                : std::string("no_plan: this engine runs no plans");
    if (!why.empty()) {
      // The token is spent: the plan ended between the check and now.
      return common::http_response::error(404, "no_plan", why);
    }
    answer["recommendation_id"] = rid;
  }
  store();
  gauges();
  return common::http_response::json(202, answer.dump());
}

common::http_response operator_controls::command(const common::http_request& r, const std::string& route_action,
                                                 common::wall_time now) {
  if (hooks_.forward_to_leader) {  // HA: only the leader changes shared controls and runs plans
    if (auto forwarded = hooks_.forward_to_leader(r)) return std::move(*forwarded);
  }
  std::string action = route_action;
  if (action == "brake") {  // POST /v1/brake takes brake_on and brake_off
    const json doc = json::parse(r.body, nullptr, false);
    action = doc.is_object() && doc.contains("command") && doc["command"].is_object() ? str(doc["command"], "action")
                                                                                      : std::string{};
    if (action != "brake_on" && action != "brake_off") action = "brake_on";
  }
  command_result res;
  if (hooks_.verify_command) {
    res = hooks_.verify_command(r.body, action, now, [&](const json& body) { return precheck(body, now); });
  } else {
    res = approvals::command_verifier(nullptr, limits_).verify(r.body, action, now, [&](const json& body) {
      return precheck(body, now);
    });
  }
  metrics_.count(action, res);
  json ev{{"type", "operator_command"},
          {"command", action},
          {"at", common::format_rfc3339(now)},
          {"accepted", res.ok()},
          {"reason", res.label()}};
  if (res.ok()) {
    ev["by"] = res.signer;
    ev["target"] = approvals::command_target(res.command);
    ev["detail"] = res.command;
  } else {
    ev["hint"] = res.message;
  }
  record_event_(ev);
  if (!res.ok()) return common::http_response::error(res.http_status(), res.label(), res.message);
  common::logger("engine")->warn("operator command {} {} by {}", action, approvals::command_target(res.command),
                                 res.signer);
  return apply(res, now);
}

std::optional<common::http_response> operator_controls::route(const common::http_request& r, common::wall_time now) {
  static const std::map<std::string, std::string, std::less<>> posts{
      {"/v1/silences/expire", "unsilence"}, {"/v1/brake", "brake"},
      {"/v1/plan/abort", "plan_abort"},     {"/v1/plan/pause", "plan_pause"},
      {"/v1/plan/resume", "plan_resume"},   {"/v1/propose", "propose"}};
  if (r.path == "/v1/silences") {
    if (r.method == "POST") return command(r, "silence", now);
    if (r.method != "GET" && r.method != "HEAD") {
      return common::http_response::error(405, "method_not_allowed", "GET or POST /v1/silences");
    }
    return common::http_response::json(200, status(now).dump());
  }
  const auto it = posts.find(r.path);
  if (it == posts.end()) return std::nullopt;
  if (r.method != "POST") return common::http_response::error(405, "method_not_allowed", "POST " + r.path);
  return command(r, it->second, now);
}

}  // namespace vigil::app
