// The per-tick evaluation: vantage presence and impairment, check quorum,
// service state, region classification with hysteresis, incidents.
#include <algorithm>
#include <bit>

#include "decision/core_state.hpp"
#include "decision/time_format.hpp"

namespace vigil::decision {

void core::state::evaluate_vantages() {
  for (std::size_t v = 0; v < n_vantages; ++v) {
    const auto& vr = vantages[v];
    present[v] = (vr.ever && now - vr.last_report <= topo.p.stale_after) ? 1 : 0;
  }
  for (std::size_t v = 0; v < n_vantages; ++v) {
    const std::size_t row = v * n_checks;
    for (std::size_t c = 0; c < n_checks; ++c) {
      const cell& x = cells[row + c];
      const bool fresh = present[v] != 0 && now - x.last_obs <= check_stale[c];
      cell_verdict[row + c] = fresh ? x.h.state() : verdict::unknown;
    }
  }
  const impairment_input in{
      cell_verdict, present, check_region, n_vantages, n_checks, topo.regions.size(), topo.p.impaired_fraction};
  find_impaired(in, scratch_up, scratch_down, agree, impaired);

  for (std::size_t v = 0; v < n_vantages; ++v) {
    auto& vr = vantages[v];
    // Only a lasting disagreement impairs: the vantage whose probes run first
    // disagrees with everyone for up to a probe interval at the onset and the
    // end of a global outage, while it is the one that is right.
    if (present[v] != 0 && impaired[v] != 0) {
      if (!vr.disagree_since) vr.disagree_since = now;
    } else {
      vr.disagree_since.reset();
    }
    const bool lasting = vr.disagree_since && now - *vr.disagree_since >= topo.p.impaired_after;
    const vantage_state next = present[v] == 0 ? vantage_state::absent
                               : lasting       ? vantage_state::impaired
                                               : vantage_state::present;
    if (next == vr.state) continue;
    nlohmann::json regions_j = nlohmann::json::object();
    for (std::size_t r = 0; r < topo.regions.size(); ++r) {
      const agreement& a = agree[v * topo.regions.size() + r];
      regions_j[topo.regions[r].name] = {{"compared", a.compared}, {"disagreed", a.disagreed}};
    }
    nlohmann::json details{{"vantage", topo.vantages[v]},
                           {"from", to_string(vr.state)},
                           {"to", to_string(next)},
                           {"last_report", vr.ever ? nlohmann::json(format_time(vr.last_report)) : nlohmann::json()},
                           {"agreement", std::move(regions_j)}};
    std::string why = next == vantage_state::absent ? "no batch for more than " + format_seconds(topo.p.stale_after)
                      : next == vantage_state::impaired
                          ? "disagrees with the other vantages on >= " +
                                std::to_string(static_cast<int>(topo.p.impaired_fraction * 100.0)) +
                                "% of comparable checks in every region, for " + format_seconds(topo.p.impaired_after)
                          : "reporting and agreeing";
    audit("vantage",
          "vantage " + topo.vantages[v] + " " + std::string(to_string(vr.state)) + " -> " +
              std::string(to_string(next)) + ": " + why,
          std::move(details));
    vr.state = next;
    vr.state_since = now;
  }
  evaluate_partitions();
}

// A vantage that alone keeps seeing one region down while the others agree it
// is up has a broken path to that region (a blackholed route, a bad transit
// link), not a view of the region: after partition_after its votes there
// abstain, so that noise at one more vantage cannot make a quorum with it. It
// votes again as soon as it agrees with a majority there (the path healed, or
// the others now see the region down too). Only the "down against up"
// direction is judged: a vantage that sees a region up while the others see
// it down cannot cause a false failover. With fewer than two other vantages
// to compare against, the last judgement stands.
void core::state::evaluate_partitions() {
  const std::size_t n_regions = topo.regions.size();
  for (std::size_t v = 0; v < n_vantages; ++v) {
    auto& vr = vantages[v];
    for (std::size_t r = 0; r < n_regions && r < vr.partitioned.size(); ++r) {
      bool judged = false;
      bool alarm = false;
      if (vr.state == vantage_state::present && topo.p.partition_after.count() > 0) {
        std::uint32_t compared = 0;
        std::uint32_t alone_down = 0;
        const std::size_t row = v * n_checks;
        for (std::size_t c = 0; c < n_checks; ++c) {
          if (check_region[c] != r) continue;
          const verdict mine = cell_verdict[row + c];
          if (mine == verdict::unknown) continue;
          const int others_up = scratch_up[c] - (mine == verdict::up ? 1 : 0);
          const int others_down = scratch_down[c] - (mine == verdict::down ? 1 : 0);
          if (others_up == others_down || std::max(others_up, others_down) < 2) continue;
          ++compared;
          if (mine == verdict::down && others_up > others_down) ++alone_down;
        }
        judged = compared > 0;
        alarm = judged && static_cast<double>(alone_down) >= topo.p.impaired_fraction * static_cast<double>(compared);
      } else {
        judged = true;  // absent, impaired or the rule is off: nothing to hold
      }
      if (!judged) continue;
      bool next = vr.partitioned[r];
      if (alarm) {
        if (!vr.alarm_since[r]) vr.alarm_since[r] = now;
        if (now - *vr.alarm_since[r] >= topo.p.partition_after) next = true;
      } else {
        vr.alarm_since[r].reset();
        next = false;
      }
      if (next == vr.partitioned[r]) continue;
      vr.partitioned[r] = next;
      const std::string& region = topo.regions[r].name;
      audit("vantage",
            "vantage " + topo.vantages[v] + (next ? " partitioned from " : " no longer partitioned from ") + region +
                (next ? ": alone sees it down while the others see it up, for " +
                            format_seconds(topo.p.partition_after) + "; its votes there abstain"
                      : ": agrees with the other vantages there again"),
            nlohmann::json{{"vantage", topo.vantages[v]}, {"region", region}, {"partitioned", next}});
    }
  }
}

void core::state::evaluate_checks() {
  for (std::size_t c = 0; c < n_checks; ++c)
    votes[c] = vote_tally{};
  for (std::size_t v = 0; v < n_vantages; ++v) {
    const std::size_t row = v * n_checks;
    for (std::size_t c = 0; c < n_checks; ++c) {
      const verdict x = votes_on(v, c) ? cell_verdict[row + c] : verdict::unknown;
      if (x == verdict::up) {
        ++votes[c].up;
      } else if (x == verdict::down) {
        ++votes[c].down;
      } else {
        ++votes[c].unknown;
      }
    }
  }
  for (std::size_t c = 0; c < n_checks; ++c)
    check_state[c] = quorum_verdict(votes[c], quorum);
}

void core::state::evaluate_regions() {
  const std::size_t n_services = topo.services.size();
  for (std::size_t r = 0; r < topo.regions.size(); ++r) {
    auto& rr = regions[r];
    const auto& ri = topo.regions[r];
    verdict* svc = service_state.data() + r * n_services;
    for (const service_index s : ri.services)
      svc[s] = verdict::up;
    rr.counts = region_counts{};
    rr.gate_checks_not_up = 0;
    for (const check_index c : ri.checks) {
      const auto& ci = topo.checks[c];
      const verdict st = check_state[c];
      if (ci.role == check_role::gate) {
        if (st != verdict::up) ++rr.gate_checks_not_up;
      } else if (ci.region_scope) {
        if (st == verdict::down) ++rr.counts.region_checks_down;
        if (st == verdict::unknown) ++rr.counts.region_checks_unknown;
      } else {
        svc[ci.service_idx] = combine_service(svc[ci.service_idx], st);
      }
    }
    rr.counts.services = static_cast<int>(ri.services.size());
    std::vector<std::string> down;
    for (const service_index s : ri.services) {
      if (svc[s] == verdict::down) {
        ++rr.counts.services_down;
        down.push_back(topo.services[s]);
      } else if (svc[s] == verdict::unknown) {
        ++rr.counts.services_unknown;
      }
    }
    std::uint64_t voters = 0;  // bit per vantage (first 64)
    for (const check_index c : ri.checks) {
      const auto& ci = topo.checks[c];
      if (ci.role != check_role::classify || check_state[c] != verdict::down) continue;
      if (ci.region_scope) down.push_back(ci.service);
      for (std::size_t v = 0; v < n_vantages && v < 64; ++v) {
        if (votes_on(v, c) && cell_verdict[v * n_checks + c] == verdict::down) {
          voters |= std::uint64_t{1} << v;
        }
      }
    }
    rr.down_voters = std::popcount(voters);
    rr.down_services = std::move(down);
  }
  for (std::size_t r = 0; r < topo.regions.size(); ++r) {
    const std::size_t other = 1 - r;
    auto& rr = regions[r];
    rr.raw = classify_region(rr.counts, regions[other].counts, topo.p.regional_fraction);
    // Thin evidence (thin_outage: the outage condition met with no service to
    // spare and no `scope: region` check down) counts as service_degraded
    // until it has held clear_for; then it is an outage candidate that needs
    // confirm_for like any other. One real service outage plus a second
    // service whose checks noise fails `fall` times from a quorum would
    // otherwise make a regional outage in confirm_for. A region already
    // declared an outage is not held back, and neither is one whose outage
    // incident a previous run (or the previous leader) declared and this core
    // continues: a restart must not withdraw the recommendation it adopted.
    const bool outage_incident =
        rr.incident_open && (rr.sent_kind == page_kind::regional_outage || rr.sent_kind == page_kind::global_outage);
    if (severity_rank(rr.raw) == 2 && severity_rank(rr.h.declared()) < 2 && !outage_incident &&
        thin_outage(rr.counts, topo.p.regional_fraction)) {
      if (!rr.thin_since) rr.thin_since = now;
      if (now - *rr.thin_since < topo.p.clear_for) rr.raw = classification::service_degraded;
    } else {
      rr.thin_since.reset();
    }
  }
  for (std::size_t r = 0; r < topo.regions.size(); ++r) {
    auto& rr = regions[r];
    const classification before = rr.h.declared();
    if (rr.h.update(rr.raw, now, topo.p.confirm_for, topo.p.clear_for) != transition::changed) continue;
    const classification after = rr.h.declared();
    nlohmann::json evidence = region_evidence(static_cast<region_index>(r), false);
    audit("classification",
          topo.regions[r].name + " " + std::string(to_string(before)) + " -> " + std::string(to_string(after)) + " (" +
              std::to_string(rr.counts.services_down) + "/" + std::to_string(rr.counts.services) + " services down, " +
              std::to_string(rr.counts.region_checks_down) + " region checks down, quorum " + std::to_string(quorum) +
              (rr.thin_since ? ", thin evidence since " + format_time(*rr.thin_since) : std::string()) + ")",
          evidence);
    out.emplace_back(
        classification_changed{now, topo.regions[r].name, before, after, rr.down_services, std::move(evidence)});
    const bool bad = after == classification::service_degraded || after == classification::regional_outage ||
                     after == classification::global_outage;
    if (bad && !rr.incident_open) {
      rr.incident_open = true;
      rr.incident_start = now;
      rr.incident_first_evidence = first_evidence(static_cast<region_index>(r));
      rr.incident_paged_at.reset();
      rr.incident_id = topo.deployment + "/" + topo.regions[r].name + "/" + format_compact(now);
      rr.recommended = false;
    } else if (after == classification::healthy && rr.incident_open) {
      rr.incident_open = false;  // pages resolve it, recommendations withdraw
    }
  }
  for (auto& rr : regions) {
    if (!rr.incident_open) {
      rr.incident_view = down_view{};
    } else if (rr.counts.services_down > 0 || rr.counts.region_checks_down > 0) {
      rr.incident_view = down_view{rr.counts, rr.down_services, rr.down_voters};
    }
  }
}

std::optional<time_point> core::state::first_evidence(region_index r) const {
  std::optional<time_point> first;
  for (const check_index c : topo.regions[r].checks) {
    if (check_state[c] != verdict::down) continue;
    for (std::size_t v = 0; v < n_vantages; ++v) {
      const std::size_t i = v * n_checks + c;
      if (!votes_on(v, c) || cell_verdict[i] != verdict::down || !cells[i].failing_since) continue;
      if (!first || *cells[i].failing_since < *first) first = cells[i].failing_since;
    }
  }
  return first;
}

nlohmann::json core::state::region_evidence(region_index r, bool only_not_up) const {
  const auto& ri = topo.regions[r];
  const auto& rr = regions[r];
  nlohmann::json services = nlohmann::json::object();
  const verdict* svc = service_state.data() + r * topo.services.size();
  for (const service_index s : ri.services)
    services[topo.services[s]] = to_string(svc[s]);
  nlohmann::json checks = nlohmann::json::array();
  for (const check_index c : ri.checks) {
    if (only_not_up && check_state[c] == verdict::up) continue;
    nlohmann::json by = nlohmann::json::object();
    for (std::size_t v = 0; v < n_vantages; ++v) {
      by[topo.vantages[v]] = vantages[v].state != vantage_state::present ? to_string(vantages[v].state)
                             : votes_on(v, c)                            ? to_string(cell_verdict[v * n_checks + c])
                                                                         : std::string_view("partitioned");
    }
    checks.push_back({{"id", topo.checks[c].id},
                      {"role", to_string(topo.checks[c].role)},
                      {"state", to_string(check_state[c])},
                      {"votes", {{"up", votes[c].up}, {"down", votes[c].down}, {"unknown", votes[c].unknown}}},
                      {"by_vantage", std::move(by)}});
  }
  return {{"region", ri.name},
          {"raw", to_string(rr.raw)},
          {"quorum", quorum},
          {"services", std::move(services)},
          {"services_total", rr.counts.services},
          {"services_down", rr.counts.services_down},
          {"services_unknown", rr.counts.services_unknown},
          {"region_checks_down", rr.counts.region_checks_down},
          {"down_voters", rr.down_voters},
          {"thin_since", rr.thin_since ? nlohmann::json(format_time(*rr.thin_since)) : nlohmann::json()},
          {"checks", std::move(checks)}};
}

}  // namespace vigil::decision
