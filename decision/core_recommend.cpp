// Recommendations (docs/design.md, "Recommendations"): creation once per incident, gates,
// supersession, expiry, withdrawal, approvals.
#include <algorithm>

#include "decision/canonical_json.hpp"
#include "decision/core_state.hpp"
#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {

constexpr std::size_t past_kept = 64;

bool is_outage(classification c) {
  return c == classification::regional_outage || c == classification::global_outage;
}

std::string flips(const std::vector<gate_result>& before, bool loss_before, const std::vector<gate_result>& after,
                  bool loss_after) {
  std::string s;
  for (std::size_t i = 0; i < before.size() && i < after.size(); ++i) {
    if (before[i].ok == after[i].ok) continue;
    if (!s.empty()) s += ", ";
    s += std::string(to_string(after[i].name)) + (after[i].ok ? " now passes" : " now fails: " + after[i].detail);
  }
  if (loss_before != loss_after) {
    if (!s.empty()) s += ", ";
    s += loss_after ? "allow_data_loss now required" : "allow_data_loss no longer required";
  }
  return s;
}

}  // namespace

gate_evaluation core::state::gates_for(action_kind a, std::optional<bool> plan) const {
  if (!plan) plan = a != away() || (rec && rec->action == a && planned(*rec));
  // Outage gates judge the region left (as "primary") and the target (as
  // "dr"); planned gates judge the target as "primary" (primary_healthy).
  const region_index src = source_of(a);
  const auto dst = static_cast<region_index>(1 - src);
  const region_index p = *plan ? dst : src;
  const region_index d = *plan ? src : dst;
  gate_inputs in;
  in.action = a;
  in.planned = *plan;
  in.p = &topo.p;
  in.now = now;
  in.primary = topo.regions[p].name;
  in.dr = topo.regions[d].name;
  in.primary_declared = regions[p].h.declared();
  in.primary_since = regions[p].h.since();
  in.dr_declared = regions[d].h.declared();
  in.dr_since = regions[d].h.since();
  in.dr_gate_checks_not_up = regions[d].gate_checks_not_up;
  in.primary_gate_checks_not_up = regions[p].gate_checks_not_up;
  in.lag_latest = lag_latest;
  in.lag_last_value = lag_last_value;
  in.lag_region = topo.regions[ad()].name;
  in.lag_direction_measured = ad() == topo.dr() || topo.p.failback_lag_source_configured;
  in.last_failover = last_failover;
  in.cooldown_acknowledged = cooldown_acknowledged;
  in.cooldown_acknowledged_by = cooldown_acknowledged_by;
  in.silences = silences;
  std::vector<down_check> primary_down;
  for (const check_index c : topo.regions[p].checks) {
    const auto& ci = topo.checks[c];
    if (ci.role == check_role::classify && check_state[c] == verdict::down) primary_down.push_back({ci.id, ci.service});
  }
  in.primary_down = primary_down;
  in.leader = leader;
  in.readiness = readiness[static_cast<std::size_t>(a)];
  return evaluate_gates(in);
}

nlohmann::json core::state::evidence_summary() const {
  const region_index p = ap();
  const region_index d = ad();
  auto one = [&](region_index r) {
    return nlohmann::json{{"name", topo.regions[r].name},
                          {"classification", to_string(regions[r].h.declared())},
                          {"down_services", regions[r].down_services},
                          {"services_down", regions[r].counts.services_down},
                          {"services_total", regions[r].counts.services},
                          {"down_voters", regions[r].down_voters}};
  };
  return {{"primary", one(p)}, {"dr", one(d)}, {"quorum", quorum}, {"vantages", static_cast<std::int64_t>(n_vantages)}};
}

void core::state::emit_rec(const std::string& reason) {
  audit("recommendation", "recommendation " + rec->id + " " + std::string(to_string(rec->state)) + ": " + reason,
        to_json(*rec, topo.p.approvals_required));
  out.emplace_back(recommendation_changed{now, *rec, topo.p.approvals_required, reason});
}

void core::state::set_rec_state(recommendation_state s, const std::string& reason) {
  rec->state = s;
  rec->reason = reason;
  emit_rec(reason);
}

void core::state::retire_recommendation(approval_reason why) {
  past.push_back(past_recommendation{rec->id, why});
  while (past.size() > past_kept)
    past.pop_front();
}

void core::state::fill_content(recommendation& r, gate_evaluation ge, const std::string& why) const {
  r.gates = std::move(ge.gates);
  r.allow_data_loss_required = ge.allow_data_loss_required;
  r.expected_data_loss_ms = ge.expected_data_loss_ms;
  r.data_loss_bound = std::move(ge.data_loss_bound);
  r.evidence = evidence_summary();
  r.evidence_digest = canonical_hash(r.evidence);
  r.created_at = now;
  r.expires_at = now + topo.p.recommendation_ttl;
  r.state = r.gates_pass() ? recommendation_state::pending_approval : recommendation_state::blocked;
  r.reason = why;
  if (const auto* g = r.first_blocking_failure()) {
    r.reason += "; blocked by " + std::string(to_string(g->name)) + ": " + g->detail;
  }
  r.rehash();
}

void core::state::create_recommendation(action_kind a, const std::string& incident_id, time_point incident_start,
                                        const std::string& why, bool proposed) {
  const region_index p = topo.primary();
  const region_index d = topo.dr();
  recommendation r;
  r.revision = (rec && rec->incident_id == incident_id) ? rec->revision + 1 : 1;
  if (rec)
    retire_recommendation(rec->state == recommendation_state::expired     ? approval_reason::recommendation_expired
                          : rec->state == recommendation_state::withdrawn ? approval_reason::withdrawn
                          : is_open(rec->state)                           ? approval_reason::superseded
                                                                          : approval_reason::not_pending);
  r.action = a;
  r.from = topo.regions[a == action_kind::failover ? p : d].name;
  r.to = topo.regions[a == action_kind::failover ? d : p].name;
  r.incident_id = incident_id;
  r.planned = proposed && regions[a == action_kind::failover ? p : d].h.declared() == classification::healthy;
  r.id = std::string(to_string(a)) + "-" + r.from + "-" + format_compact(incident_start) + "-r" +
         std::to_string(r.revision);
  fill_content(r, gates_for(a, planned(r) || a != away()), why);
  rec = std::move(r);
  execute_emitted = false;
  rec_adopted = false;
  emit_rec(rec->reason);
}

void core::state::refresh_details(std::optional<gate_evaluation> ge) {
  if (!ge) ge = gates_for(rec->action);
  for (auto& g : rec->gates) {
    for (auto& mine : ge->gates) {
      if (mine.name == g.name) g.detail = std::move(mine.detail);
    }
  }
  rec->expected_data_loss_ms = ge->expected_data_loss_ms;
  rec->data_loss_bound = std::move(ge->data_loss_bound);
}

void core::state::update_recommendation() {
  const auto& pr = regions[ap()];
  // A follower shows the leader's recommendation as adopted (the leader
  // revises it); a primary continued from elsewhere is judged once classified.
  const bool hands_off = (rec_adopted && !leader) || pr.restored;
  if (rec && is_open(rec->state) && hands_off) {
    refresh_details();
  } else if (rec && is_open(rec->state)) {
    const bool failover = !planned(*rec);  // away from an outage (failover, or failback with the dr active)
    const auto& src = regions[source_of(rec->action)];
    if (now >= rec->expires_at) {
      set_rec_state(recommendation_state::expired, "not approved within " + format_seconds(topo.p.recommendation_ttl));
    } else if (failover &&
               (!src.incident_open || src.incident_id != rec->incident_id || !is_outage(src.h.declared()))) {
      const std::string why = src.h.declared() == classification::healthy
                                  ? std::string("primary recovered")
                                  : "primary is now " + std::string(to_string(src.h.declared()));
      set_rec_state(recommendation_state::withdrawn, "condition cleared before approval: " + why);
    } else if (!failover && pr.incident_open && is_outage(pr.h.declared())) {
      set_rec_state(recommendation_state::withdrawn, "primary is in an outage again: failback no longer applies");
    } else {
      gate_evaluation ge = gates_for(rec->action);
      if (materially_different(rec->gates, rec->allow_data_loss_required, ge.gates, ge.allow_data_loss_required)) {
        const std::string what =
            flips(rec->gates, rec->allow_data_loss_required, ge.gates, ge.allow_data_loss_required);
        const std::string old_id = rec->id;
        retire_recommendation(approval_reason::superseded);
        recommendation r = *rec;
        ++r.revision;
        r.id = old_id.substr(0, old_id.rfind("-r")) + "-r" + std::to_string(r.revision);
        r.supersedes = old_id;
        r.approvers.clear();
        r.used_jti.clear();
        fill_content(r, std::move(ge), "supersedes " + old_id + ": " + what);
        rec = std::move(r);
        rec_adopted = false;
        emit_rec(rec->reason);
      } else {
        refresh_details(std::move(ge));  // same material content: refresh what is shown, not what is hashed
      }
    }
  }
  // A finished failover recommendation stays visible until its incident closes.
  if (rec && !planned(*rec) && is_final(rec->state) &&
      (!regions[source_of(rec->action)].incident_open ||
       regions[source_of(rec->action)].incident_id != rec->incident_id)) {
    retire_recommendation(rec->state == recommendation_state::expired     ? approval_reason::recommendation_expired
                          : rec->state == recommendation_state::withdrawn ? approval_reason::withdrawn
                                                                          : approval_reason::not_pending);
    rec.reset();
  }
  if (leader && rec && rec->state == recommendation_state::approved && !execute_emitted && !pr.restored) {
    // Approved under a leader that lost its lease before the plan began: this
    // leader runs it (the plan runner resumes instead a plan its journal shows begun).
    execute_emitted = true;
    audit("plan", "recommendation " + rec->id + " was approved under the previous leader: executing it",
          {{"recommendation_id", rec->id}, {"hash", rec->hash}});
    out.emplace_back(execute_plan{now, rec->id, rec->hash, rec->action, rec->from, rec->to,
                                  rec->allow_data_loss_required, rec->approvers, rec->planned});
  }
  const bool busy = rec && !is_final(rec->state);
  // Split (a plan failed midway): nothing is recommended until an operator proposes.
  if (!busy && act.state != active_mode::split && pr.incident_open && !pr.recommended &&
      pr.h.declared() == classification::regional_outage) {
    regions[ap()].recommended = true;
    create_recommendation(away(), pr.incident_id, pr.incident_start,
                          topo.regions[ap()].name + " regional outage confirmed");
  }
}

std::optional<std::string> core::propose_refusal(action_kind a) const {
  const state& s = *s_;
  if (s.rec && !is_final(s.rec->state)) {
    return "recommendation " + s.rec->id + " is still " + std::string(to_string(s.rec->state));
  }
  const auto& pr = s.regions[s.ap()];
  const bool split = s.act.state == active_mode::split;
  if (a == action_kind::failover && !split && s.ap() != s.topo.primary()) {
    return s.act.region + " is already the active region (since " + format_time(s.act.since) +
           "): propose failback to move back to " + s.topo.regions[s.topo.primary()].name;
  }
  if (a == action_kind::failover && !split &&
      (!pr.incident_open || pr.h.declared() != classification::regional_outage)) {
    return "the primary is " + std::string(to_string(pr.h.declared())) +
           ": a failover needs a confirmed regional_outage";
  }
  return std::nullopt;
}

propose_result core::propose(action_kind a, const std::string& by, time_point now) {
  state& s = *s_;
  s.now = std::max(now, s.now);
  if (auto why = propose_refusal(a)) return {false, std::move(*why)};
  auto& pr = s.regions[s.ap()];
  const bool split = s.act.state == active_mode::split;
  if (a == action_kind::failover && !split) {
    pr.recommended = true;
    s.create_recommendation(a, pr.incident_id, pr.incident_start, "proposed by " + by, true);
  } else {
    // A failback (or, while split, either move) is proposed: gated on the target's health and the lag.
    s.create_recommendation(a, s.topo.deployment + "/" + std::string(to_string(a)) + "/" + format_compact(s.now), s.now,
                            "proposed by " + by + (split ? " (active region split: " + s.act.detail + ")" : ""), true);
  }
  return {true, s.rec->id};
}

approval_result core::approve(const verified_approval& a, time_point now) {
  state& s = *s_;
  s.now = std::max(now, s.now);
  approval_result r;
  r.required = s.topo.p.approvals_required;
  auto decide = [&](approval_reason reason, std::string detail) {
    r.accepted = reason == approval_reason::accepted;
    r.reason = reason;
    r.hint = std::string(approval_hint(reason));
    r.detail = std::move(detail);
    if (s.rec && s.rec->id == a.recommendation_id) r.approvals = static_cast<int>(s.rec->approvers.size());
    s.audit("approval",
            "approval by " + a.approver + " of " + a.recommendation_id + ": " + std::string(to_string(reason)) +
                (r.detail.empty() ? "" : " (" + r.detail + ")"),
            {{"approver", a.approver},
             {"recommendation_id", a.recommendation_id},
             {"recommendation_hash", a.recommendation_hash},
             {"jti", a.jti},
             {"allow_data_loss", a.allow_data_loss},
             {"reason", to_string(reason)},
             {"detail", r.detail}});
    s.out.emplace_back(
        approval_decided{s.now, r.accepted, reason, r.hint, a.recommendation_id, a.approver, r.approvals, r.required});
    return r;
  };
  auto from_past = [&]() -> std::optional<approval_reason> {
    for (auto it = s.past.rbegin(); it != s.past.rend(); ++it) {
      if (it->id == a.recommendation_id) return it->reason;
    }
    return std::nullopt;
  };
  if (!s.rec || s.rec->id != a.recommendation_id) {
    if (auto why = from_past()) return decide(*why, "recommendation " + a.recommendation_id + " was retired");
    if (!s.rec) return decide(approval_reason::no_recommendation, "");
    return decide(approval_reason::unknown_recommendation, "current recommendation is " + s.rec->id);
  }
  recommendation& rec = *s.rec;
  if (a.recommendation_hash != rec.hash) {
    return decide(approval_reason::wrong_hash, "token hash " + a.recommendation_hash + ", recommendation " + rec.hash);
  }
  if (a.expires_at <= s.now)
    return decide(approval_reason::token_expired, "token expired " + format_time(a.expires_at));
  if (is_open(rec.state) && s.now >= rec.expires_at) {
    s.set_rec_state(recommendation_state::expired,
                    "not approved within " + format_seconds(s.topo.p.recommendation_ttl));
  }
  switch (rec.state) {
    case recommendation_state::expired:
      return decide(approval_reason::recommendation_expired, "expired at " + format_time(rec.expires_at));
    case recommendation_state::withdrawn:
      return decide(approval_reason::withdrawn, rec.reason);
    case recommendation_state::blocked:
    case recommendation_state::pending_approval:
      break;
    default:
      return decide(approval_reason::not_pending, "state " + std::string(to_string(rec.state)));
  }
  if (std::find(rec.used_jti.begin(), rec.used_jti.end(), a.jti) != rec.used_jti.end()) {
    return decide(approval_reason::replayed_token, "jti " + a.jti);
  }
  if (std::find(rec.approvers.begin(), rec.approvers.end(), a.approver) != rec.approvers.end()) {
    return decide(approval_reason::duplicate_approver, a.approver + " already approved");
  }
  if (!s.planned(rec) && s.regions[s.source_of(rec.action)].restored) {
    return decide(approval_reason::blocked,
                  "the primary has not been classified since this engine took the recommendation over; retry shortly");
  }
  // Gates are re-evaluated at this moment: the approval binds the content the
  // operator saw; if it has changed materially since, a new revision is due.
  gate_evaluation ge = s.gates_for(rec.action);
  if (materially_different(rec.gates, rec.allow_data_loss_required, ge.gates, ge.allow_data_loss_required)) {
    s.update_recommendation();
    return decide(approval_reason::superseded, "evidence changed at approval time: now " + s.rec->id);
  }
  for (std::size_t i = 0; i < ge.gates.size(); ++i)
    rec.gates[i].detail = ge.gates[i].detail;
  if (const auto* g = rec.first_blocking_failure()) {
    return decide(approval_reason::blocked, std::string(to_string(g->name)) + ": " + g->detail);
  }
  if (rec.allow_data_loss_required && !a.allow_data_loss) {
    return decide(approval_reason::missing_allow_data_loss, "data loss bound " + rec.data_loss_bound);
  }
  rec.approvers.push_back(a.approver);
  rec.used_jti.push_back(a.jti);
  const int count = static_cast<int>(rec.approvers.size());
  const bool complete = count >= s.topo.p.approvals_required;
  decide(approval_reason::accepted, std::to_string(count) + "/" + std::to_string(s.topo.p.approvals_required));
  if (complete) {
    s.set_rec_state(
        recommendation_state::approved, "approved by " + [&] {
          std::string names;
          for (const auto& n : rec.approvers)
            names += (names.empty() ? "" : ", ") + n;
          return names;
        }());
    if (!s.execute_emitted) {
      s.execute_emitted = true;
      s.out.emplace_back(execute_plan{s.now, rec.id, rec.hash, rec.action, rec.from, rec.to,
                                      rec.allow_data_loss_required || a.allow_data_loss, rec.approvers, rec.planned});
      r.execute = true;
    }
  } else {
    s.emit_rec("approved by " + a.approver + " (" + std::to_string(count) + "/" +
               std::to_string(s.topo.p.approvals_required) + ")");
  }
  return r;
}

}  // namespace vigil::decision
