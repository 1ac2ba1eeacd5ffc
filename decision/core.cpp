// decision::core: inputs, tick orchestration, operator actions, status.
#include "decision/core.hpp"

#include <algorithm>
#include <stdexcept>

#include "decision/core_state.hpp"
#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {
topology checked(topology t) {
  const auto problems = t.validate();
  if (!problems.empty()) {
    std::string all = "decision::core: invalid topology:";
    for (const auto& p : problems)
      all += " " + p + ";";
    throw std::invalid_argument(all);
  }
  return t;
}
}  // namespace

core::state::state(topology t) : topo(checked(std::move(t))) {
  quorum = topo.p.effective_quorum(topo.vantages.size());
  n_checks = topo.checks.size();
  n_vantages = topo.vantages.size();
  check_stale.resize(n_checks);
  check_region.resize(n_checks);
  for (std::size_t c = 0; c < n_checks; ++c) {
    check_stale[c] = std::max(topo.p.stale_after, 3 * topo.checks[c].interval);
    check_region[c] = topo.checks[c].region;
  }
  cells.resize(n_vantages * n_checks);
  vantages.resize(n_vantages);
  regions.resize(topo.regions.size());
  warnings.resize(n_checks);
  cell_verdict.resize(n_vantages * n_checks, verdict::unknown);
  present.resize(n_vantages);
  impaired.resize(n_vantages);
  scratch_up.resize(n_checks);
  scratch_down.resize(n_checks);
  agree.resize(n_vantages * topo.regions.size());
  votes.resize(n_checks);
  check_state.resize(n_checks, verdict::unknown);
  service_state.resize(topo.regions.size() * topo.services.size(), verdict::unknown);
  active = topo.primary();
  act.region = topo.regions[active].name;
}

void core::state::audit(std::string kind, std::string message, nlohmann::json details) {
  out.emplace_back(audit_record{now, std::move(kind), std::move(message), std::move(details)});
}

core::core(topology topo) : s_(std::make_unique<state>(std::move(topo))) {}
core::~core() = default;
core::core(core&&) noexcept = default;
core& core::operator=(core&&) noexcept = default;

const topology& core::topo() const {
  return s_->topo;
}

void core::ingest(const observation& obs) {
  state& s = *s_;
  if (obs.vantage >= s.n_vantages || obs.check >= s.n_checks) {
    ++s.dropped;
    return;
  }
  if (s.from_future(obs.at)) return;
  cell& x = s.cells[std::size_t{obs.vantage} * s.n_checks + obs.check];
  x.h.observe(is_success(obs.result), s.topo.p.fall, s.topo.p.rise);
  if (is_success(obs.result)) {
    x.failing_since.reset();
  } else if (!x.failing_since || obs.at < *x.failing_since) {
    x.failing_since = obs.at;
  }
  if (obs.at >= x.last_obs) x.warning = is_success(obs.result) ? obs.warning : outcome::ok;
  if (obs.at > x.last_obs) x.last_obs = obs.at;
  auto& v = s.vantages[obs.vantage];
  if (!v.ever || obs.at > v.last_report) v.last_report = obs.at;
  v.ever = true;
}

void core::vantage_report(vantage_index v, time_point at) {
  state& s = *s_;
  if (v >= s.n_vantages) {
    ++s.dropped;
    return;
  }
  if (s.from_future(at)) return;
  auto& vr = s.vantages[v];
  if (!vr.ever || at > vr.last_report) vr.last_report = at;
  vr.ever = true;
}

void core::ingest_lag(const lag_sample& sample) {
  state& s = *s_;
  if (s.from_future(sample.at)) return;
  // Only the lag of replication into the region a move would go to counts.
  if (sample.region.value_or(s.topo.dr()) != s.ad()) {
    ++s.lag_other_direction;
    return;
  }
  if (s.lag_latest && sample.at < s.lag_latest->at) return;
  s.lag_latest = sample;
  if (sample.lag) s.lag_last_value = sample;
}

bool core::restore_incident(const open_incident& inc) {
  state& s = *s_;
  const auto restored = [&](const std::string& what) {
    s.out.emplace_back(audit_record{inc.started,
                                    "page",
                                    "incident " + inc.incident_id + " (" + std::string(to_string(inc.kind)) + ", " +
                                        what + ") continued from the previous run under the same dedup key",
                                    {{"incident_id", inc.incident_id}, {"started_at", format_time(inc.started)}}});
    return true;
  };
  const bool vantage_kind = inc.kind == page_kind::vantage_impaired || inc.kind == page_kind::vantage_absent;
  if (inc.kind == page_kind::check_warning) {
    if (const auto c = s.warning_check(inc.incident_id)) {
      auto& w = s.warnings[*c];
      if (w.paged && w.incident_id != inc.incident_id) {
        s.orphans.push_back({w.incident_id, page_kind::check_warning, inc.region, {}, w.paged_since, {}});
      }
      w.paged = true;
      w.incident_id = inc.incident_id;
      w.paged_since = inc.started;
      return restored("check " + s.topo.checks[*c].id);
    }
  } else if (vantage_kind) {
    for (std::size_t v = 0; v < s.n_vantages; ++v) {
      auto& vr = s.vantages[v];
      if (s.topo.vantages[v] != inc.vantage) continue;
      if (vr.paged && vr.incident_id == inc.incident_id) return true;
      if (vr.paged && vr.paged_since >= inc.started) continue;
      if (vr.paged) {
        s.orphans.push_back({vr.incident_id, vr.paged_kind, {}, inc.vantage, vr.paged_since, {}});
      }
      vr.paged = true;
      vr.paged_kind = inc.kind;
      vr.incident_id = inc.incident_id;
      vr.paged_since = inc.started;
      vr.restored = true;
      return restored("vantage " + inc.vantage);
    }
  } else {
    for (std::size_t r = 0; r < s.regions.size(); ++r) {
      auto& rr = s.regions[r];
      if (s.topo.regions[r].name != inc.region) continue;
      if (rr.incident_open && rr.incident_id == inc.incident_id) {  // adopted already: the outbox has its last page
        rr.page_sent = true;
        rr.sent_kind = inc.kind;
        if (!inc.content_key.empty()) rr.sent_key = inc.content_key;
        return true;
      }
      if (rr.incident_open && rr.incident_start >= inc.started) continue;
      if (rr.incident_open) {
        s.orphans.push_back({rr.incident_id, rr.sent_kind, inc.region, {}, rr.incident_start, {}});
      }
      rr.incident_open = true;
      rr.incident_id = inc.incident_id;
      rr.incident_start = inc.started;
      rr.recommended = false;
      rr.page_sent = true;
      rr.sent_kind = inc.kind;
      rr.sent_key = inc.content_key.empty() ? std::string(to_string(inc.kind)) : inc.content_key;
      rr.service_page_held = false;
      rr.restored = true;
      return restored("region " + inc.region);
    }
  }
  s.orphans.push_back(inc);
  return false;
}

void core::tick(time_point now) {
  state& s = *s_;
  if (!s.ticked) {
    s.first_tick = now;
    s.ticked = true;
  }
  s.now = std::max(now, s.now);
  std::erase_if(s.silences, [&](const silence_spec& x) { return x.until <= s.now; });
  s.evaluate_vantages();
  s.evaluate_checks();
  s.evaluate_regions();
  s.close_adopted_incidents();
  s.update_recommendation();
  s.resolve_orphans();
  s.evaluate_warnings();
  s.update_region_pages();
  s.update_vantage_pages();
  s.update_warning_pages();
}

std::vector<event> core::take_output() {
  std::vector<event> out;
  out.swap(s_->out);
  return out;
}

void core::acknowledge_cooldown(std::string by, time_point now) {
  state& s = *s_;
  s.now = std::max(now, s.now);
  if (!s.last_failover) {
    s.audit("cooldown", "cooldown acknowledgement by " + by + " ignored: no failover executed", {{"by", by}});
    return;
  }
  s.cooldown_acknowledged = true;
  s.cooldown_acknowledged_by = by;
  s.audit("cooldown", "cooldown after the failover of " + format_time(*s.last_failover) + " acknowledged by " + by,
          {{"by", by}, {"last_failover_at", format_time(*s.last_failover)}});
}

void core::silence(silence_spec x, time_point now) {
  state& s = *s_;
  s.now = std::max(now, s.now);
  std::erase_if(s.silences, [&](const silence_spec& y) { return y.id == x.id; });
  s.audit(
      "silence",
      "silence " + x.id + " by " + x.by + " until " + format_time(x.until) + (x.scope.empty() ? "" : " for " + x.scope),
      {{"id", x.id}, {"scope", x.scope}, {"by", x.by}, {"reason", x.reason}, {"until", format_time(x.until)}});
  s.silences.push_back(std::move(x));
}

bool core::unsilence(const std::string& id, time_point now) {
  state& s = *s_;
  s.now = std::max(now, s.now);
  const auto n = std::erase_if(s.silences, [&](const silence_spec& y) { return y.id == id; });
  if (n > 0) s.audit("silence", "silence " + id + " removed", {{"id", id}});
  return n > 0;
}

void core::set_leader(bool leader) {
  state& s = *s_;
  if (s.leader == leader) return;
  s.leader = leader;
  s.audit("leader", leader ? "this replica became the leader" : "this replica is no longer the leader",
          {{"leader", leader}});
}

void core::set_readiness(action_kind plan, std::optional<plan_readiness> r) {
  state& s = *s_;
  auto& slot = s.readiness[static_cast<std::size_t>(plan)];
  const bool was = slot && slot->ok;
  const bool is = r && r->ok;
  const bool known_changed = slot.has_value() != r.has_value();
  slot = std::move(r);
  if (was == is && !known_changed) return;
  const std::string name{to_string(plan)};
  s.audit("readiness",
          slot ? "the " + name + " plan is " + (is ? "ready" : "not ready: " + slot->detail)
               : "the " + name + " plan's readiness is unknown",
          {{"plan", name}, {"ready", is}, {"known", slot.has_value()}});
}

void core::plan_started(const std::string& id, time_point at, bool dry_run) {
  state& s = *s_;
  s.now = std::max(at, s.now);
  if (!s.rec || s.rec->id != id) {
    s.audit("plan", "plan start for unknown recommendation " + id + " ignored", {{"recommendation_id", id}});
    return;
  }
  s.rec->dry_run = dry_run;
  if (dry_run) {
    s.set_rec_state(recommendation_state::executing, "dry run started: every step is described, nothing is changed");
    return;
  }
  if (!s.planned(*s.rec)) {
    s.last_failover = at;  // cooldown runs from the start of an executed failover (away from an outage)
    s.cooldown_acknowledged = false;
    s.cooldown_acknowledged_by.clear();
  }
  s.set_rec_state(recommendation_state::executing, "plan started");
}

void core::plan_step(const std::string& id, const std::string& step, const std::string& status, time_point at) {
  state& s = *s_;
  s.now = std::max(at, s.now);
  s.audit("plan", "plan " + id + ": step " + step + " " + status,
          {{"recommendation_id", id}, {"step", step}, {"status", status}});
}

void core::plan_finished(const std::string& id, bool ok, const std::string& detail, time_point at, bool dry_run) {
  state& s = *s_;
  s.now = std::max(at, s.now);
  if (!s.rec || s.rec->id != id) {
    s.audit("plan", "plan end for unknown recommendation " + id + " ignored", {{"recommendation_id", id}});
    return;
  }
  s.rec->dry_run = s.rec->dry_run || dry_run;
  if (s.rec->dry_run) {
    s.set_rec_state(ok ? recommendation_state::dry_run_complete : recommendation_state::failed,
                    ok ? std::string(dry_run_complete_text) : "dry run failed" + (detail.empty() ? "" : ": " + detail));
    return;
  }
  s.set_rec_state(ok ? recommendation_state::done : recommendation_state::failed,
                  std::string(ok ? "plan finished" : "plan failed") + (detail.empty() ? "" : ": " + detail));
}

const std::vector<verdict>& core::check_states() const {
  return s_->check_state;
}

const std::vector<vote_tally>& core::check_votes() const {
  return s_->votes;
}

snapshot core::status(const check_selection& sel) const {
  const state& s = *s_;
  snapshot out;
  out.at = s.now;
  out.leader = s.leader;
  out.quorum = s.quorum;
  out.approvals_required = s.topo.p.approvals_required;
  for (std::size_t r = 0; r < s.topo.regions.size(); ++r) {
    const auto& rr = s.regions[r];
    const region_role role = r == s.ap() ? region_role::primary : region_role::dr;  // effective role
    out.regions.push_back(region_status{s.topo.regions[r].name, role, rr.h.declared(), rr.h.since(), rr.raw,
                                        rr.h.pending() ? transition::pending : transition::unchanged, rr.down_services,
                                        rr.incident_open ? rr.incident_id : std::string{}});
  }
  for (std::size_t v = 0; v < s.n_vantages; ++v) {
    const auto& vr = s.vantages[v];
    vantage_status vs{
        s.topo.vantages[v], vr.state, vr.ever ? std::optional<time_point>(vr.last_report) : std::nullopt, {}};
    for (std::size_t r = 0; r < s.topo.regions.size() && r < vr.partitioned.size(); ++r) {
      if (vr.partitioned[r]) vs.partitioned_from.push_back(s.topo.regions[r].name);
    }
    out.vantages.push_back(std::move(vs));
  }
  if (!sel.none) out.checks.reserve(sel.region || !sel.id_contains.empty() ? 0 : s.n_checks);
  for (std::size_t c = 0; c < s.n_checks && !sel.none; ++c) {
    const auto& ci = s.topo.checks[c];
    if (!sel.includes(ci)) continue;
    check_status cs{ci.id,
                    s.topo.regions[ci.region].name,
                    ci.service,
                    ci.region_scope,
                    ci.role,
                    s.check_state[c],
                    s.votes[c].up,
                    s.votes[c].down,
                    s.votes[c].unknown,
                    {}};
    cs.by_vantage.reserve(s.n_vantages);
    for (std::size_t v = 0; v < s.n_vantages; ++v) {
      cs.by_vantage.push_back(s.vantages[v].state != vantage_state::present ? to_string(s.vantages[v].state)
                              : s.votes_on(v, c) ? to_string(s.cell_verdict[v * s.n_checks + c])
                                                 : std::string_view("partitioned"));
    }
    out.checks.push_back(std::move(cs));
  }
  if (s.lag_last_value) {
    out.lag.ms = s.lag_last_value->lag->count();
    out.lag.at = s.lag_last_value->at;
  }
  out.lag.reachable = s.lag_latest && s.lag_latest->lag.has_value();
  out.lag.region = s.topo.regions[s.ad()].name;
  out.lag.other_direction = s.lag_other_direction;
  for (const region_index r : {s.ap(), s.ad()}) {
    const auto& rr = s.regions[r];
    if (rr.incident_open && !out.incident) {
      out.incident = incident_status{rr.incident_id,    s.topo.regions[r].name,     rr.h.declared(),
                                     rr.incident_start, rr.incident_first_evidence, rr.incident_paged_at};
    }
  }
  out.rec = s.rec;
  out.cooldown = cooldown_status{s.last_failover, s.cooldown_acknowledged, s.cooldown_acknowledged_by};
  out.silences = s.silences;
  out.active = s.act;
  return out;
}

std::optional<recommendation> core::current_recommendation() const {
  return s_->rec;
}

std::uint64_t core::dropped() const {
  return s_->dropped;
}

std::uint64_t core::ignored_future() const {
  return s_->ignored_future;
}

bool core::state::from_future(time_point at) {
  // Batches arrive between ticks: an item may be up to a tick ahead of the
  // core's time, plus a little clock skew. Before the first tick there is no
  // time to judge by (the engine's batch gate bounds every item anyway).
  if (!ticked || at <= now + topo.p.tick + future_skew) return false;
  ++ignored_future;
  return true;
}

}  // namespace vigil::decision
