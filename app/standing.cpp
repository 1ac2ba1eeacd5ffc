// Standing approvals on the engine: collect, arm, evaluate, use, revoke.
#include "app/standing.hpp"

#include <fcntl.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/log.hpp"

namespace vigil::app {

namespace {

/// A hold that lasts until a person acts (it is paged while an outage is on).
bool needs_a_person(decision::standing_hold h) {
  using enum decision::standing_hold;
  return h == lag_too_high || h == lag_unknown || h == dr_not_ready || h == cooldown || h == outside_hours ||
         h == gate_failed;
}

using nlohmann::json;

decision::time_point to_decision(common::wall_time t) {
  return decision::time_point{t.time_since_epoch()};
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i)
    out += (i == 0 ? "" : i + 1 == v.size() ? " and " : ", ") + v[i];
  return out;
}

std::string trim_token(std::string body) {
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  body = body.substr(first, body.find_last_not_of(" \t\r\n") - first + 1);
  if (!body.empty() && body.front() == '{') {  // also {"token": "..."}
    const json doc = json::parse(body, nullptr, false);
    if (doc.is_object() && doc.contains("token") && doc["token"].is_string()) return doc["token"].get<std::string>();
  }
  return body;
}

/// temporary file (0600), fsync, rename, fsync the directory.
void write_private(const std::filesystem::path& target, const std::string& text) {
  const auto tmp = target.parent_path() / (".tmp-" + target.filename().string());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(tmp.string() + ": cannot create");
  ::fchmod(fd, 0600);
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error(tmp.string() + ": cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0 || ::rename(tmp.c_str(), target.c_str()) != 0) throw std::runtime_error(target.string() + ": not stored");
  const int dir = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
}

}  // namespace

std::string configured_plan_hash(const common::config& cfg) {
  const auto plan = [](const common::plan_config& pc) {
    json steps = json::array();
    for (const auto& s : pc.steps) {
      steps.push_back(json{{"name", s.name},
                           {"kind", s.kind},
                           {"params", s.params},
                           {"timeout_ms", s.timeout.count()},
                           {"retries", s.retries},
                           {"on_failure", s.failure == common::on_failure::abort ? "abort" : "continue"}});
    }
    return json{{"dry_run", pc.dry_run}, {"steps", steps}};
  };
  return decision::standing_plan_hash(json{{"failover", plan(cfg.failover)}, {"failback", plan(cfg.failback)}});
}

standing_approvals::standing_approvals(const common::config& cfg, decision::core& core, prometheus::Registry& registry,
                                       const engine_hooks& hooks, event_fn record_event, notice_fn notice)
    : cfg_(cfg),
      core_(core),
      hooks_(hooks),
      record_event_(std::move(record_event)),
      notice_(std::move(notice)),
      plan_hash_(configured_plan_hash(cfg)),
      refusals_(registry),
      armed_gauge_(&prometheus::BuildGauge()
                        .Name("vigil_standing_armed")
                        .Help("Standing approvals armed (the engine may start the failover plan itself)")
                        .Register(registry)
                        .Add({})),
      uses_gauge_(&prometheus::BuildGauge()
                       .Name("vigil_standing_uses_left")
                       .Help("Automatic failovers the armed standing approvals still allow")
                       .Register(registry)
                       .Add({})) {
  if (!cfg.approvals.approvers.empty()) {
    verifier_ =
        std::make_unique<approvals::standing_verifier>(cfg.deployment, cfg.approvals, cfg.approvals.max_standing_ttl);
  }
  auto& held = prometheus::BuildCounter()
                   .Name("vigil_standing_held_total")
                   .Help(
                       "Standing approval evaluations held during an outage, by the condition that held them "
                       "(counted when the reason changes)")
                   .Register(registry);
  for (std::size_t i = 1; i < decision::standing_hold_count; ++i) {
    const std::string name(decision::to_string(static_cast<decision::standing_hold>(i)));
    held_[name] = &held.Add({{"reason", name}});
  }
}

standing_approvals::~standing_approvals() = default;

void standing_approvals::event(const std::string& type, const std::string& id, common::wall_time now, json extra) {
  json j{{"type", type}, {"at", common::format_rfc3339(now)}, {"policy", id}};
  if (extra.is_object())
    for (auto& [k, v] : extra.items())
      j[k] = v;
  record_event_(j);
}

approvals::standing_verified standing_approvals::add(std::string_view token, common::wall_time now, bool from_store) {
  if (!verifier_) {
    return {approvals::standing_reason::bad_signature, "this engine has no approvers configured", std::nullopt, {}};
  }
  auto v = verifier_->verify(token, now, plan_hash_);
  if (!v.ok()) return v;
  const auto& p = *v.policy;
  if (revoked_.contains(p.id)) {
    return {approvals::standing_reason::revoked, "policy " + p.id + " was revoked; sign a new one", std::nullopt, {}};
  }
  auto it = entries_.find(p.id);
  if (it == entries_.end()) {
    if (entries_.size() >= max_standing_policies) {
      return {approvals::standing_reason::too_many,
              std::to_string(max_standing_policies) + " policies are pending or armed; revoke one first",
              std::nullopt,
              {}};
    }
    it = entries_.emplace(p.id, entry{approvals::standing_collection(p, cfg_.approvals.required), 0, false, {}, false})
             .first;
  }
  if (auto refused = it->second.col.add(v, std::string(token))) return *refused;
  (void)from_store;
  return v;
}

void standing_approvals::load(common::wall_time now) {
  std::optional<json> doc;
  try {
    if (hooks_.load_standing) {
      doc = hooks_.load_standing();
    } else if (!cfg_.engine.state_dir.empty()) {
      const auto path = std::filesystem::path(cfg_.engine.state_dir) / "standing.json";
      if (std::filesystem::exists(path)) {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        doc = json::parse(ss.str());
      }
    }
  } catch (const std::exception& e) {
    common::logger("standing")->error("stored standing approvals not read: {}", e.what());
    return;
  }
  if (!doc || !doc->is_object()) return;
  entries_.clear();
  revoked_.clear();
  for (const auto& r : doc->value("revoked", json::array())) {
    if (!r.is_object()) continue;
    const auto exp = approvals::parse_rfc3339(r.value("exp", std::string{}));
    if (exp && *exp > now) revoked_[r.value("id", std::string{})] = *exp;
  }
  bool changed = false;
  for (const auto& p : doc->value("policies", json::array())) {
    if (!p.is_object()) continue;
    const std::string id = p.value("id", std::string{});
    for (const auto& t : p.value("tokens", json::array())) {
      if (!t.is_string()) continue;
      const auto v = add(t.get<std::string>(), now, true);
      if (v.ok()) continue;
      refusals_.count(v.reason);
      changed = true;
      if (v.reason == approvals::standing_reason::wrong_plan_hash) {
        event("standing_disarmed", id, now, {{"reason", "plan_changed"}, {"detail", v.message}});
        notice_("standing-" + id, decision::severity::warning,
                "standing approval " + id + " disarmed: the configured plan changed; sign a new policy",
                {{"policy", id}, {"detail", v.message}});
      } else if (v.reason == approvals::standing_reason::expired) {
        event("standing_expired", id, now, {{"detail", v.message}});
      }
    }
    if (const auto it = entries_.find(id); it != entries_.end()) {
      it->second.uses_spent = std::clamp(p.value("uses_spent", 0), 0, approvals::max_standing_uses);
      it->second.was_armed = it->second.col.armed();
      if (!it->second.col.armed() && p.value("armed", false)) {
        refusals_.count(approvals::standing_reason::under_signed);
        event("standing_disarmed", id, now,
              {{"reason", "under_signed"},
               {"detail", std::to_string(it->second.col.signatures().size()) + " of " +
                              std::to_string(cfg_.approvals.required) + " signatures verify"}});
      }
    }
  }
  if (changed) store();
  gauges();
}

void standing_approvals::store() {
  json policies = json::array();
  for (const auto& [id, e] : entries_) {
    json tokens = json::array();
    for (const auto& s : e.col.signatures())
      tokens.push_back(s.token);
    policies.push_back({{"id", id}, {"tokens", tokens}, {"uses_spent", e.uses_spent}, {"armed", e.col.armed()}});
  }
  json revoked = json::array();
  for (const auto& [id, exp] : revoked_)
    revoked.push_back({{"id", id}, {"exp", common::format_rfc3339(exp)}});
  const json doc{{"policies", policies}, {"revoked", revoked}};
  try {
    if (hooks_.store_standing) {
      if (!hooks_.store_standing(doc)) throw std::runtime_error("the shared store refused the write");
    } else if (!cfg_.engine.state_dir.empty()) {
      write_private(std::filesystem::path(cfg_.engine.state_dir) / "standing.json", doc.dump());
    }
  } catch (const std::exception& e) {
    common::logger("standing")->error("standing approvals not stored: {}", e.what());
  }
}

void standing_approvals::gauges() {
  int armed = 0;
  int uses = 0;
  for (const auto& [id, e] : entries_) {
    if (!e.col.armed()) continue;
    ++armed;
    uses += std::max(0, e.col.policy().uses - e.uses_spent);
  }
  armed_gauge_->Set(armed);
  uses_gauge_->Set(uses);
}

void standing_approvals::disarm(const std::string& id, const std::string& why, const std::string& type,
                                common::wall_time now, bool keep_revoked) {
  const auto it = entries_.find(id);
  if (it == entries_.end()) return;
  if (keep_revoked) revoked_[id] = it->second.col.policy().expires_at;
  entries_.erase(it);
  event(type, id, now, {{"detail", why}});
  notice_("standing-" + id + "-expiring", decision::severity::warning, "", {});
  notice_("standing-" + id + "-held", decision::severity::warning, "", {});
  store();
  gauges();
}

common::http_response standing_approvals::post(const common::http_request& r, common::wall_time now) {
  const std::string token = trim_token(r.body);
  const auto v = add(token, now, false);
  if (!v.ok()) {
    refusals_.count(v.reason);
    event("standing_refused", v.policy ? v.policy->id : "", now,
          {{"reason", std::string(approvals::to_string(v.reason))}, {"detail", v.message}});
    return common::http_response::error(approvals::http_status(v.reason), std::string(approvals::to_string(v.reason)),
                                        v.message);
  }
  auto& e = entries_.at(v.policy->id);
  event("standing_signed", v.policy->id, now,
        {{"signer", v.signer}, {"signatures", e.col.signatures().size()}, {"required", e.col.required()}});
  if (e.col.armed() && !e.was_armed) {
    e.was_armed = true;
    event("standing_armed", v.policy->id, now,
          {{"signed_by", e.col.signers()},
           {"policy", approvals::policy_json(e.col.policy())},
           {"until", common::format_rfc3339(e.col.policy().expires_at)}});
    common::logger("standing")->warn("standing approval {} armed: signed by {}", v.policy->id, joined(e.col.signers()));
  }
  store();
  gauges();
  return common::http_response::json(202, entry_json(e, now).dump());
}

common::http_response standing_approvals::revoke(const common::http_request& r, common::wall_time now) {
  if (!hooks_.verify_command) {
    return common::http_response::error(503, "not_configured", "this engine verifies no signed commands");
  }
  const auto extra = [this](const json& body) -> std::optional<approvals::command_result> {
    const std::string id = body.value("id", std::string{});
    if (entries_.contains(id)) return std::nullopt;
    approvals::command_result no;
    no.reason = approvals::command_reason::bad_command;
    no.message = "no pending or armed standing approval has id '" + id + "' (GET /v1/standing lists them)";
    return no;
  };
  const auto res = hooks_.verify_command(r.body, "standing_revoke", now, extra);
  if (!res.ok()) return common::http_response::error(res.http_status(), res.label(), res.message);
  const std::string id = res.command.value("id", std::string{});
  disarm(id, "revoked by " + res.signer + ": " + res.command.value("reason", std::string{}), "standing_revoked", now,
         true);
  notice_("standing-" + id, decision::severity::warning, "", {});
  return common::http_response::json(200, json{{"revoked", id}, {"by", res.signer}}.dump());
}

std::optional<common::http_response> standing_approvals::route(const common::http_request& r, common::wall_time now) {
  if (r.path != "/v1/standing" && r.path != "/v1/standing/revoke") return std::nullopt;
  if (r.path == "/v1/standing/revoke") {
    if (r.method != "POST") return common::http_response::error(405, "method_not_allowed", "POST only");
    if (hooks_.forward_to_leader)
      if (auto f = hooks_.forward_to_leader(r)) return f;
    return revoke(r, now);
  }
  if (r.method == "GET" || r.method == "HEAD") return common::http_response::json(200, status(now).dump());
  if (r.method != "POST") return common::http_response::error(405, "method_not_allowed", "GET or POST");
  if (hooks_.forward_to_leader)
    if (auto f = hooks_.forward_to_leader(r)) return f;
  return post(r, now);
}

void standing_approvals::fire(entry& e, common::wall_time now) {
  const auto& p = e.col.policy();
  const int use = e.uses_spent + 1;
  const std::string key = "standing:" + p.id + ":use:" + std::to_string(use);
  // Spent durably first: two replicas (or a restart mid-way) never both act.
  bool ours = true;
  try {
    if (hooks_.consume_once) ours = hooks_.consume_once(key, p.expires_at);
  } catch (const std::exception& ex) {
    event("standing_held", p.id, now, {{"reason", "ledger_unavailable"}, {"detail", ex.what()}});
    return;
  }
  e.uses_spent = use;
  store();
  gauges();
  if (!ours) {
    event("standing_use_taken", p.id, now, {{"use", use}, {"detail", "another replica spent this use"}});
    return;
  }
  const auto rec = core_.current_recommendation();
  const auto signers = e.col.signers();
  bool executed = false;
  std::string refusal;
  for (const auto& a :
       decision::standing_approvals(*rec, p.id, signers, use, to_decision(now), to_decision(p.expires_at))) {
    const auto res = core_.approve(a, to_decision(now));
    executed = executed || res.execute;
    if (!res.accepted) refusal = std::string(decision::to_string(res.reason)) + ": " + res.detail;
  }
  const std::string who = joined(signers);
  if (!executed) {
    event("standing_use_refused", p.id, now, {{"use", use}, {"detail", refusal}});
    return;
  }
  const std::string abort = "vigil plan abort --recommendation " + rec->id + " --reason '...' --key K --engine URL";
  event("standing_used", p.id, now,
        {{"use", use},
         {"uses_left", p.uses - e.uses_spent},
         {"recommendation_id", rec->id},
         {"signed_by", signers},
         {"detail", e.last.detail}});
  notice_("standing-" + p.id, decision::severity::critical,
          "automatic failover " + p.conditions.from + " -> " + p.conditions.to + " executing under standing approval " +
              p.id + " (signed by " + who + "); abort: " + abort,
          {{"policy", p.id}, {"recommendation_id", rec->id}, {"signed_by", signers}, {"abort", abort}});
}

void standing_approvals::tick(common::wall_time now, bool leader, bool brake) {
  if (entries_.empty()) return;
  std::vector<std::string> gone;
  for (auto& [id, e] : entries_) {
    const auto& p = e.col.policy();
    if (now >= p.expires_at) {
      gone.push_back(id);
      continue;
    }
    if (e.uses_spent >= p.uses) continue;
    if (!e.col.armed()) continue;
    if (leader && !e.reminded && p.expires_at - now <= std::chrono::hours(24)) {
      e.reminded = true;
      notice_("standing-" + id + "-expiring", decision::severity::warning,
              "standing approval " + id + " (automatic failover " + p.conditions.from + " -> " + p.conditions.to +
                  ") expires at " + common::format_rfc3339(p.expires_at) + "; sign a new one if it is still wanted",
              {{"policy", id}, {"expires_at", common::format_rfc3339(p.expires_at)}});
    }
  }
  for (const auto& id : gone) {
    const auto exp = entries_.at(id).col.policy().expires_at;
    disarm(id, "expired at " + common::format_rfc3339(exp), "standing_expired", now, true);
  }
  bool any_armed = false;
  for (auto& [id, e] : entries_)
    any_armed = any_armed || (e.col.armed() && e.uses_spent < e.col.policy().uses);
  if (!any_armed) return;
  const auto snap = core_.status();
  for (auto& [id, e] : entries_) {
    if (!e.col.armed() || e.uses_spent >= e.col.policy().uses) continue;
    decision::standing_inputs in;
    in.s = &snap;
    in.now = to_decision(now);
    in.rpo = cfg_.decision.max_lag;
    in.lag_max_age = cfg_.decision.lag_max_age;
    in.brake = brake;
    auto v = decision::evaluate_standing(e.col.policy().conditions, in);
    const bool outage = v.hold != decision::standing_hold::not_active && v.hold != decision::standing_hold::no_outage;
    if (!v.fire() && outage && v.hold != e.last.hold) {
      const std::string reason(decision::to_string(v.hold));
      held_.at(reason)->Increment();
      event("standing_held", id, now, {{"reason", reason}, {"detail", v.detail}});
    }
    // The on-call must not wait for an automatic failover that a condition
    // holds: page a warning for the holds only a person can lift (not the
    // transitional ones an outage passes through before firing, nor a
    // silence or brake an operator set on purpose).
    const std::string held_key = "standing-" + id + "-held";
    if (leader && !v.fire() && needs_a_person(v.hold)) {
      // Once per hold: the page's text names only the hold, so setting it
      // again every tick would change nothing.
      if (!e.held_paged || v.hold != e.last.hold) {
        const auto& p = e.col.policy();
        notice_(held_key, decision::severity::warning,
                "standing approval " + id + " holds the automatic failover " + p.conditions.from + " -> " +
                    p.conditions.to + ": " + std::string(decision::to_string(v.hold)) +
                    "; approve by hand (vigil approve) if the failover is wanted",
                {{"policy", id}, {"hold", std::string(decision::to_string(v.hold))}, {"detail", v.detail}});
        e.held_paged = true;
      }
    } else if (e.held_paged && (v.fire() || !outage || !leader)) {
      notice_(held_key, decision::severity::warning, "", {});
      e.held_paged = false;
    }
    e.last = v;
    if (v.fire() && leader) fire(e, now);
  }
}

json standing_approvals::entry_json(const entry& e, common::wall_time now) const {
  const auto& p = e.col.policy();
  const bool armed = e.col.armed() && e.uses_spent < p.uses && now < p.expires_at;
  json j{{"id", p.id},
         {"state", armed           ? "armed"
                   : e.col.armed() ? "used"
                                   : "pending"},
         {"policy", approvals::policy_json(p)},
         {"signed_by", e.col.signers()},
         {"signatures", e.col.signatures().size()},
         {"required", e.col.required()},
         {"uses_left", std::max(0, p.uses - e.uses_spent)},
         {"expires_at", common::format_rfc3339(p.expires_at)}};
  std::string when =
      p.conditions.from + " is in regional_outage for " + std::to_string(p.conditions.min_duration.count() / 1000) +
      " s seen by " + std::to_string(p.conditions.min_vantages) +
      " vantages, lag <= " + std::to_string(std::min(p.conditions.max_lag, cfg_.decision.max_lag).count()) +
      " ms, dr ready, no cooldown, silence or brake";
  if (p.conditions.hours) when += ", " + decision::format_standing_hours(*p.conditions.hours) + " UTC";
  j["when"] = when;
  j["banner"] = "armed: automatic failover " + p.conditions.from + " -> " + p.conditions.to + " when " + when +
                ", signed by " + joined(e.col.signers()) + ", until " + common::format_rfc3339(p.expires_at);
  if (e.last.hold != decision::standing_hold::none || !e.last.detail.empty()) {
    j["last_evaluation"] = {
        {"fire", e.last.fire()}, {"hold", std::string(decision::to_string(e.last.hold))}, {"detail", e.last.detail}};
  }
  return j;
}

json standing_approvals::status(common::wall_time now) const {
  json list = json::array();
  for (const auto& [id, e] : entries_)
    list.push_back(entry_json(e, now));
  json revoked = json::array();
  for (const auto& [id, exp] : revoked_)
    revoked.push_back(id);
  return {{"deployment", cfg_.deployment},
          {"plan_hash", plan_hash_},
          {"required", cfg_.approvals.required},
          {"max_ttl_s", cfg_.approvals.max_standing_ttl.count() / 1000},
          {"rpo_ms", cfg_.decision.max_lag.count()},
          {"policies", list},
          {"revoked", revoked}};
}

}  // namespace vigil::app
