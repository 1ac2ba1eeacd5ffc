// Decision state continuity (continuity.hpp): what a core hands to a
// successor, and adopting what another core handed over.
#include <algorithm>

#include "decision/continuity.hpp"
#include "decision/core_state.hpp"
#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {

bool vantage_kind(page_kind k) {
  return k == page_kind::vantage_impaired || k == page_kind::vantage_absent;
}

bool listed(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

void core::state::note_resolved(const std::string& incident_id) {
  if (std::find(resolved.begin(), resolved.end(), incident_id) != resolved.end()) return;
  resolved.push_back(incident_id);
  while (resolved.size() > continuity::resolved_kept)
    resolved.pop_front();
}

void core::state::close_adopted_incidents() {
  // Only the leader closes what it adopted: a follower waits for the leader's
  // resolve (it may just be slower to see the outage the leader saw).
  if (!leader) return;
  for (std::size_t r = 0; r < regions.size(); ++r) {
    auto& rr = regions[r];
    // Only an incident this core did not open itself can be open while the
    // region is declared healthy (its own close at the transition to healthy).
    if (!rr.incident_open || rr.h.declared() != classification::healthy || rr.raw != classification::healthy) {
      continue;
    }
    // Healthy for clear_for in this core's own view: the old leader's outage
    // view is not this one's (a new leader takes over lease_ttl after the old
    // one's last act, so it has classified what the old one saw by then).
    if (now - rr.h.since() < topo.p.clear_for) continue;
    rr.incident_open = false;  // update_region_pages resolves it under its id
    audit("page",
          "incident " + rr.incident_id + " taken over as open, but " + topo.regions[r].name + " has been healthy for " +
              format_seconds(topo.p.clear_for) + ": resolving it",
          {{"incident_id", rr.incident_id}});
  }
}

continuity core::continuity_state() const {
  const state& s = *s_;
  continuity c;
  for (std::size_t r = 0; r < s.regions.size(); ++r) {
    const auto& rr = s.regions[r];
    if (!rr.incident_open || !rr.page_sent) continue;  // held in its grace window: nothing was paged yet
    c.incidents.push_back({rr.incident_id, rr.sent_kind, s.topo.regions[r].name, {}, rr.incident_start, rr.sent_key});
  }
  for (std::size_t v = 0; v < s.n_vantages; ++v) {
    const auto& vr = s.vantages[v];
    if (!vr.paged) continue;
    c.incidents.push_back(
        {vr.incident_id, vr.paged_kind, {}, s.topo.vantages[v], vr.paged_since, std::string(to_string(vr.paged_kind))});
  }
  for (std::size_t k = 0; k < s.n_checks; ++k) {
    const auto& w = s.warnings[k];
    if (!w.paged) continue;
    c.incidents.push_back({w.incident_id,
                           page_kind::check_warning,
                           s.topo.regions[s.topo.checks[k].region].name,
                           {},
                           w.paged_since,
                           std::string(to_string(page_kind::check_warning))});
  }
  c.resolved.assign(s.resolved.begin(), s.resolved.end());
  c.rec = s.rec;
  c.last_failover = s.last_failover;
  c.cooldown_acknowledged = s.cooldown_acknowledged;
  c.cooldown_acknowledged_by = s.cooldown_acknowledged_by;
  c.active = s.act;
  return c;
}

bool core::mark_unpaged(const std::string& incident_id) {
  state& s = *s_;
  const auto repage = [&] {
    s.audit("page", "incident " + incident_id + " was never paged (no claim in the shared outbox): paging it again",
            {{"incident_id", incident_id}});
    return true;
  };
  for (auto& rr : s.regions) {
    if (!rr.incident_open || rr.incident_id != incident_id) continue;
    rr.page_sent = false;
    rr.restored = false;
    rr.service_page_held = false;
    return repage();
  }
  for (auto& vr : s.vantages) {
    if (!vr.paged || vr.incident_id != incident_id) continue;
    vr.paged = false;
    vr.restored = false;
    return repage();
  }
  for (auto& w : s.warnings) {
    if (!w.paged || w.incident_id != incident_id) continue;
    w.paged = false;  // paged again (a new id) while the warning holds
    return repage();
  }
  return false;
}

void core::adopt(const continuity& c) {
  state& s = *s_;
  const auto find = [&](bool vantage, const std::string& name) -> const open_incident* {
    for (const auto& i : c.incidents) {
      if (i.kind == page_kind::check_warning) continue;
      if (vantage_kind(i.kind) == vantage && (vantage ? i.vantage : i.region) == name) return &i;
    }
    return nullptr;
  };
  for (const auto& id : c.resolved)
    s.note_resolved(id);

  for (std::size_t r = 0; r < s.regions.size(); ++r) {
    auto& rr = s.regions[r];
    const std::string& name = s.topo.regions[r].name;
    if (const auto* inc = find(false, name)) {
      if (!rr.incident_open || rr.incident_id != inc->incident_id) {
        if (rr.incident_open) {
          s.audit("page",
                  "incident " + rr.incident_id + " of " + name + " continues as the leader's " + inc->incident_id,
                  {{"incident_id", inc->incident_id}, {"was", rr.incident_id}});
        }
        rr.incident_open = true;
        rr.incident_id = inc->incident_id;
        rr.incident_start = inc->started;
        rr.recommended = c.rec && c.rec->incident_id == inc->incident_id;
        rr.restored = true;  // what the leader said stands until this core classifies the region
      }
      rr.page_sent = true;
      rr.sent_kind = inc->kind;
      rr.sent_key = inc->content_key.empty() ? std::string(to_string(inc->kind)) : inc->content_key;
      rr.service_page_held = false;
    } else if (rr.incident_open && listed(c.resolved, rr.incident_id)) {
      // Resolved by the leader: closed here without a page of its own.
      rr.incident_open = false;
      rr.page_sent = false;
      rr.service_page_held = false;
      rr.restored = false;
    }
  }
  for (std::size_t v = 0; v < s.n_vantages; ++v) {
    auto& vr = s.vantages[v];
    if (const auto* inc = find(true, s.topo.vantages[v])) {
      if (!vr.paged || vr.incident_id != inc->incident_id) {
        vr.paged = true;
        vr.incident_id = inc->incident_id;
        vr.paged_since = inc->started;
        vr.restored = true;
      }
      vr.paged_kind = inc->kind;
    } else if (vr.paged && listed(c.resolved, vr.incident_id)) {
      vr.paged = false;
      vr.restored = false;
    }
  }

  for (std::size_t k = 0; k < s.n_checks; ++k) {
    auto& w = s.warnings[k];
    const open_incident* inc = nullptr;
    for (const auto& i : c.incidents) {
      if (i.kind == page_kind::check_warning && s.warning_check(i.incident_id) == k) inc = &i;
    }
    if (inc) {
      w.paged = true;
      w.incident_id = inc->incident_id;
      w.paged_since = inc->started;
    } else if (w.paged && listed(c.resolved, w.incident_id)) {
      w.paged = false;
    }
  }

  if (c.rec) {
    const bool same = s.rec && s.rec->id == c.rec->id && s.rec->hash == c.rec->hash;
    if (same) {  // the leader's progress: state, approvals, expiry
      s.rec->state = c.rec->state;
      s.rec->reason = c.rec->reason;
      s.rec->approvers = c.rec->approvers;
      s.rec->used_jti = c.rec->used_jti;
      s.rec->expires_at = c.rec->expires_at;
    } else {
      if (s.rec && s.rec->id != c.rec->id) s.retire_recommendation(approval_reason::superseded);
      s.rec = *c.rec;
      s.audit("recommendation",
              "recommendation " + s.rec->id + " (" + std::string(to_string(s.rec->state)) + ", hash " + s.rec->hash +
                  ") adopted from the leader's decision state",
              {{"recommendation_id", s.rec->id}, {"hash", s.rec->hash}});
    }
    s.refresh_details();
    s.rec_adopted = true;
    // Executing or further: its plan is (or was) run. Approved: the leader
    // that accepted the approval may die before its plan begins; a core that
    // leads then runs it (update_recommendation).
    s.execute_emitted = !is_open(s.rec->state) && s.rec->state != recommendation_state::approved;
    for (auto& rr : s.regions) {
      if (rr.incident_open && rr.incident_id == s.rec->incident_id) rr.recommended = true;
    }
  } else if (s.rec && s.rec_adopted) {
    s.retire_recommendation(approval_reason::withdrawn);
    s.rec.reset();
    s.rec_adopted = false;
  }

  s.last_failover = c.last_failover;
  s.cooldown_acknowledged = c.cooldown_acknowledged;
  s.cooldown_acknowledged_by = c.cooldown_acknowledged_by;
  // The active region: the newer copy wins (a restarted engine may hold a
  // newer one in its state_dir than the shared state it reads at start).
  if (c.active && c.active->changed >= s.act.changed &&
      (c.active->region != s.act.region || c.active->state != s.act.state || c.active->detail != s.act.detail ||
       c.active->since != s.act.since)) {
    restore_active(*c.active);
  }
}

}  // namespace vigil::decision
