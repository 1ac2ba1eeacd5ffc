// Check warnings: a `warn` condition (cert_expiry by default, `latency < X
// warn`) that fails makes the observation `degraded` (up) and names the
// outcome it maps to. It never counts towards service or regional failure; a
// quorum of vantages reporting it on a check that is up pages a warning about
// that check, held and cleared like a region (confirm_for / clear_for).
#include "decision/core_state.hpp"
#include "decision/time_format.hpp"

namespace vigil::decision {

void core::state::evaluate_warnings() {
  for (std::size_t c = 0; c < n_checks; ++c) {
    auto& w = warnings[c];
    int voters = 0;
    outcome reason = outcome::ok;
    if (check_state[c] == verdict::up) {
      for (std::size_t v = 0; v < n_vantages; ++v) {
        const std::size_t i = v * n_checks + c;
        if (!votes_on(v, c) || cell_verdict[i] != verdict::up || cells[i].warning == outcome::ok) continue;
        ++voters;
        reason = cells[i].warning;
      }
    }
    if (voters >= quorum) {
      if (!w.since) w.since = now;
      w.clear_since.reset();
      w.reason = reason;
      w.voters = voters;
    } else {
      w.since.reset();
      if (!w.clear_since) w.clear_since = now;
    }
  }
}

std::optional<check_index> core::state::warning_check(const std::string& incident_id) const {
  const std::string prefix = topo.deployment + "/check/";
  const auto last = incident_id.rfind('/');
  if (!incident_id.starts_with(prefix) || last == std::string::npos || last < prefix.size()) return std::nullopt;
  return topo.find_check(std::string_view(incident_id).substr(prefix.size(), last - prefix.size()));
}

void core::state::update_warning_pages() {
  for (std::size_t c = 0; c < n_checks; ++c) {
    auto& w = warnings[c];
    const auto& ci = topo.checks[c];
    const std::string& region_name = topo.regions[ci.region].name;
    if (!w.paged) {
      if (!w.since || now - *w.since < topo.p.confirm_for) continue;
      w.paged = true;
      w.paged_since = now;
      w.incident_id = topo.deployment + "/check/" + ci.id + "/" + format_compact(now);
      out.emplace_back(
          page{now,
               page_kind::check_warning,
               page_action::trigger,
               w.incident_id,
               severity::warning,
               region_name,
               {},
               ci.id + " warning: " + std::string(to_string(w.reason)) + " seen by " + std::to_string(w.voters) + "/" +
                   std::to_string(n_vantages) + " vantages (a warn condition: the check still counts as up)",
               nlohmann::json{
                   {"check", ci.id}, {"region", region_name}, {"warning", to_string(w.reason)}, {"vantages", w.voters}},
               now,
               std::string(to_string(page_kind::check_warning))});
      continue;
    }
    if (w.since || !w.clear_since || now - *w.clear_since < topo.p.clear_for) continue;
    w.paged = false;
    note_resolved(w.incident_id);
    out.emplace_back(page{now,
                          page_kind::check_warning,
                          page_action::resolve,
                          w.incident_id,
                          severity::warning,
                          region_name,
                          {},
                          ci.id + " no longer warns: clear for " + format_seconds(topo.p.clear_for),
                          {},
                          w.paged_since,
                          {}});
  }
}

}  // namespace vigil::decision
