// Paging decisions: one page per incident (dedup key = incident id) whose kind
// follows the classification; source-side inhibition of service pages
// (docs/design.md, "Service page grace"); vantage pages.
#include <algorithm>

#include "decision/core_state.hpp"
#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {

std::optional<page_kind> kind_for(classification c) {
  switch (c) {
    case classification::service_degraded:
      return page_kind::service_degraded;
    case classification::regional_outage:
      return page_kind::regional_outage;
    case classification::global_outage:
      return page_kind::global_outage;
    case classification::healthy:
    case classification::unknown:
      return std::nullopt;
  }
  return std::nullopt;
}

severity severity_for(page_kind k) {
  switch (k) {
    case page_kind::regional_outage:
    case page_kind::global_outage:
      return severity::critical;
    case page_kind::service_degraded:
      return severity::error;
    case page_kind::vantage_impaired:
    case page_kind::vantage_absent:
    case page_kind::check_warning:
    case page_kind::notice:
      return severity::warning;
  }
  return severity::error;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v)
    s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

down_view core::state::shown(region_index r) const {
  const auto& rr = regions[r];
  if (rr.incident_open && rr.incident_view.any_down()) return rr.incident_view;
  return down_view{rr.counts, rr.down_services, rr.down_voters};
}

std::string core::state::region_summary(region_index r) const {
  const auto& rr = regions[r];
  // With the dr active the roles are swapped: the summary names the role the region has now.
  const std::string name =
      (active == topo.primary() ? "" : std::string(r == ap() ? "primary " : "dr ")) + topo.regions[r].name;
  const down_view d = shown(r);
  const std::string services =
      std::to_string(d.counts.services_down) + "/" + std::to_string(d.counts.services) + " services down";
  const std::string from = " from " + std::to_string(d.down_voters) + "/" + std::to_string(n_vantages) + " vantages";
  switch (rr.h.declared()) {
    case classification::service_degraded:
      return name + " service degraded: " + join(d.down_services) + " down (" + services + ")" + from;
    case classification::global_outage: {
      const down_view o = shown(static_cast<region_index>(1 - r));
      return "global outage: " + name + " " + services + ", " + topo.regions[1 - r].name + " " +
             std::to_string(o.counts.services_down) + "/" + std::to_string(o.counts.services) +
             " services down; no failover possible";
    }
    case classification::unknown:
      return name + " state unknown: quorum of " + std::to_string(quorum) + " vantages not reached (" +
             std::to_string(rr.counts.services_unknown) + "/" + std::to_string(rr.counts.services) +
             " services unknown)";
    case classification::healthy:
      return name + " healthy";
    case classification::regional_outage:
      break;
  }
  std::string s = name + " regional outage: " + services + from;
  if (!d.down_services.empty() && d.counts.region_checks_down > 0 && d.counts.services_down == 0) {
    s = name + " regional outage: region check " + join(d.down_services) + " down" + from;
  }
  if (r == ap() && act.state == active_mode::split && (!rec || rec->incident_id != rr.incident_id)) {
    return s + "; active region split (" + act.detail + "): no recommendation until an operator proposes one";
  }
  if (!rec || rec->incident_id != rr.incident_id || source_of(rec->action) != r) {
    return s + (ap() == r ? "" : " (dr region: no failover applies)");
  }
  const std::string to = std::string(to_string(rec->action)) + " to " + rec->to;
  const std::string loss = rec->allow_data_loss_required ? "allow_data_loss required, data loss " + rec->data_loss_bound
                                                         : "expected data loss " + rec->data_loss_bound;
  switch (rec->state) {
    case recommendation_state::pending_approval:
      return s + "; " + to + " recommended; " + loss + "; " +
             promotion_statement(rec->planned, rec->expected_data_loss_ms);
    case recommendation_state::blocked: {
      const auto* g = rec->first_blocking_failure();
      return s + "; " + to + " blocked by " + (g ? std::string(to_string(g->name)) + " (" + g->detail + ")" : "?");
    }
    case recommendation_state::approved:
      return s + "; " + to + " approved by " + join(rec->approvers);
    case recommendation_state::executing:
      return s + "; " + to + (rec->dry_run ? " dry run in progress: nothing is changed" : " executing");
    case recommendation_state::done:
      return s + "; " + to + " done";
    case recommendation_state::dry_run_complete:
      return s + "; " + to + " " + std::string(dry_run_complete_text);
    case recommendation_state::failed:
      return s + "; " + to + (rec->dry_run ? " dry run FAILED (nothing changed): " : " FAILED: ") + rec->reason;
    case recommendation_state::expired:
      return s + "; " + to + " recommendation expired unapproved";
    case recommendation_state::withdrawn:
      return s + "; " + to + " withdrawn";
  }
  return s;
}

nlohmann::json core::state::page_details(region_index r) const {
  const auto& rr = regions[r];
  nlohmann::json j{{"region", topo.regions[r].name},
                   {"role", to_string(r == ap() ? region_role::primary : region_role::dr)},
                   {"classification", to_string(rr.h.declared())},
                   {"since", format_time(rr.h.since())},
                   {"down_services", shown(r).down_services},
                   {"evidence", region_evidence(r, true)}};
  if (rec && rec->incident_id == rr.incident_id) {
    j["recommendation"] = to_json(*rec, topo.p.approvals_required);
  }
  nlohmann::json lag{{"ms", nullptr}, {"reachable", lag_latest && lag_latest->lag.has_value()}};
  if (lag_last_value) {
    lag["ms"] = lag_last_value->lag->count();
    lag["age_s"] = static_cast<double>(std::max(duration{0}, now - lag_last_value->at).count()) / 1000.0;
  }
  j["replication_lag"] = std::move(lag);
  return j;
}

void core::state::update_region_pages() {
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const auto r = static_cast<region_index>(i);
    auto& rr = regions[i];
    if (!rr.incident_open) {
      if (rr.page_sent) {
        note_resolved(rr.incident_id);
        out.emplace_back(page{now,
                              rr.sent_kind,
                              page_action::resolve,
                              rr.incident_id,
                              severity_for(rr.sent_kind),
                              topo.regions[i].name,
                              {},
                              topo.regions[i].name + " recovered: healthy for " + format_seconds(topo.p.clear_for),
                              page_details(r),
                              rr.incident_start,
                              {}});
      } else if (rr.service_page_held) {
        audit("page", "service_degraded page for " + rr.incident_id + " never sent: cleared inside the grace window",
              {{"incident_id", rr.incident_id}, {"grace", format_seconds(topo.p.service_page_grace)}});
      }
      rr.page_sent = false;
      rr.service_page_held = false;
      rr.restored = false;
      continue;
    }
    if (rr.restored) {
      // Continued from a previous run: what the page said stands until the
      // region is classified again (no update saying "unknown" at start).
      if (rr.h.declared() == classification::unknown) continue;
      rr.restored = false;
    }
    std::optional<page_kind> want = kind_for(rr.h.declared());
    // Unknown during an incident: keep what was said. Healthy with the incident
    // still open (taken over from another core): say nothing until it is resolved.
    if (!want && rr.page_sent && rr.h.declared() == classification::unknown) want = rr.sent_kind;
    if (!want) continue;
    if (*want == page_kind::service_degraded && !rr.page_sent) {
      // Source-side inhibition: give a regional classification of the same
      // region the chance to replace this page (default grace 10s).
      if (now - rr.h.since() < topo.p.service_page_grace) {
        if (!rr.service_page_held) {
          rr.service_page_held = true;
          audit("page",
                "service_degraded page for " + topo.regions[i].name + " held for " +
                    format_seconds(topo.p.service_page_grace) + " in case the region is failing",
                {{"incident_id", rr.incident_id}});
        }
        continue;
      }
    }
    std::string key{to_string(*want)};
    if (rec && rec->incident_id == rr.incident_id) key += "|" + rec->id + "|" + std::string(to_string(rec->state));
    if (rr.page_sent && key == rr.sent_key) continue;
    if (!rr.page_sent && rr.service_page_held && *want != page_kind::service_degraded) {
      audit("page",
            "service_degraded page for " + rr.incident_id + " replaced by " + std::string(to_string(*want)) +
                " inside the grace window",
            {{"incident_id", rr.incident_id}});
    }
    out.emplace_back(page{now,
                          *want,
                          rr.page_sent ? page_action::update : page_action::trigger,
                          rr.incident_id,
                          severity_for(*want),
                          topo.regions[i].name,
                          {},
                          region_summary(r),
                          page_details(r),
                          rr.incident_start,
                          key});
    if (!rr.page_sent && !rr.incident_paged_at) rr.incident_paged_at = now;
    rr.page_sent = true;
    rr.service_page_held = false;
    rr.sent_kind = *want;
    rr.sent_key = std::move(key);
  }
}

void core::state::update_vantage_pages() {
  // At start every vantage is absent until its first batch: give them
  // stale_after before paging about it.
  const bool settled = now - first_tick > topo.p.stale_after;
  for (std::size_t v = 0; v < n_vantages; ++v) {
    auto& vr = vantages[v];
    const auto& name = topo.vantages[v];
    if (vr.restored) {
      if (!settled) continue;  // a page from the previous run stands until the vantages could report
      vr.restored = false;
    }
    std::optional<page_kind> want;
    if (vr.state == vantage_state::impaired) want = page_kind::vantage_impaired;
    if (vr.state == vantage_state::absent && settled) want = page_kind::vantage_absent;
    if (vr.paged && want && *want != vr.paged_kind) {
      // Still a problem, another kind: the same incident, updated.
      vr.paged_kind = *want;
      out.emplace_back(page{now,
                            *want,
                            page_action::update,
                            vr.incident_id,
                            severity::warning,
                            {},
                            name,
                            vantage_summary(v),
                            vantage_details(v),
                            vr.paged_since,
                            std::string(to_string(*want))});
      continue;
    }
    // Damped like a region: a vantage whose link flaps keeps one incident; it
    // is resolved once the vantage has been present for clear_for.
    if (vr.paged && !want && (vr.state != vantage_state::present || now - vr.state_since >= topo.p.clear_for)) {
      note_resolved(vr.incident_id);
      out.emplace_back(
          page{now,
               vr.paged_kind,
               page_action::resolve,
               vr.incident_id,
               severity::warning,
               {},
               name,
               "vantage " + name + " is " + std::string(to_string(vr.state)) + " again" +
                   (vr.state == vantage_state::present ? " (steady for " + format_seconds(topo.p.clear_for) + ")" : ""),
               {},
               vr.paged_since,
               {}});
      vr.paged = false;
    }
    if (!want || vr.paged) continue;
    vr.paged = true;
    vr.paged_kind = *want;
    vr.incident_id = topo.deployment + "/vantage/" + name + "/" + format_compact(now);
    vr.paged_since = now;
    out.emplace_back(page{now,
                          *want,
                          page_action::trigger,
                          vr.incident_id,
                          severity::warning,
                          {},
                          name,
                          vantage_summary(v),
                          vantage_details(v),
                          now,
                          std::string(to_string(*want))});
  }
}

std::string core::state::vantage_summary(std::size_t v) const {
  const auto& vr = vantages[v];
  const auto& name = topo.vantages[v];
  return vr.paged_kind == page_kind::vantage_impaired
             ? "vantage " + name +
                   " impaired: it disagrees with the other vantages in every region; its votes are ignored"
             : "vantage " + name + " absent: no batch for more than " + format_seconds(topo.p.stale_after) +
                   "; it abstains";
}

nlohmann::json core::state::vantage_details(std::size_t v) const {
  const auto& vr = vantages[v];
  return {{"vantage", topo.vantages[v]},
          {"state", to_string(vr.state)},
          {"last_report", vr.ever ? nlohmann::json(format_time(vr.last_report)) : nlohmann::json()}};
}

void core::state::resolve_orphans() {
  for (auto& o : orphans) {
    note_resolved(o.incident_id);
    const std::string& name = o.region.empty() ? o.vantage : o.region;
    out.emplace_back(page{now,
                          o.kind,
                          page_action::resolve,
                          o.incident_id,
                          severity_for(o.kind),
                          o.region,
                          o.vantage,
                          "incident " + o.incident_id + " closed by vigil: " + name +
                              " is no longer monitored under this id (configuration changed or superseded)",
                          {},
                          o.started,
                          {}});
  }
  orphans.clear();
}

}  // namespace vigil::decision
