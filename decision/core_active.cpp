// The active region (core.hpp, set_active): which region is treated as the
// primary now. The topology's roles name the home layout; gates, pages and
// recommendations follow the effective roles (state::ap(), state::ad()).
#include "decision/core_state.hpp"
#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {

nlohmann::json active_json(const active_region& a) {
  return {{"region", a.region},
          {"since", format_time(a.since)},
          {"state", to_string(a.state)},
          {"detail", a.detail},
          {"recommendation_id", a.recommendation_id},
          {"approved_by", a.approved_by}};
}

}  // namespace

void core::set_active(region_index r, time_point since, std::string recommendation_id,
                      std::vector<std::string> approved_by) {
  state& s = *s_;
  if (r >= s.topo.regions.size()) return;
  s.now = std::max(since, s.now);
  active_region a;
  a.region = s.topo.regions[r].name;
  a.since = since;
  a.recommendation_id = std::move(recommendation_id);
  a.approved_by = std::move(approved_by);
  a.changed = since;
  restore_active(a);
}

void core::set_active_state(active_mode m, std::string detail, time_point at) {
  state& s = *s_;
  s.now = std::max(at, s.now);
  active_region a = s.act;
  a.state = m;
  a.detail = std::move(detail);
  a.changed = at;
  restore_active(a);
}

bool core::restore_active(const active_region& a) {
  state& s = *s_;
  const auto r = s.topo.find_region(a.region);
  if (!r) return false;
  const bool moved = *r != s.active;
  s.active = *r;
  s.act = a;
  if (moved) {
    // The samples measured replication towards the region that is now active.
    s.lag_latest.reset();
    s.lag_last_value.reset();
  }
  s.audit("active",
          "active region " + a.region + " (" + std::string(to_string(a.state)) + ")" +
              (a.detail.empty() ? "" : ": " + a.detail),
          active_json(a));
  return true;
}

active_region core::active() const {
  return s_->act;
}

}  // namespace vigil::decision
