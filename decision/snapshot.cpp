#include "decision/snapshot.hpp"

#include <algorithm>

#include "decision/time_format.hpp"

namespace vigil::decision {

namespace {
/// An age in seconds: never negative (an item may be dated up to a tick ahead).
double seconds(duration d) {
  return static_cast<double>(std::max(d, duration{0}).count()) / 1000.0;
}
}  // namespace

bool check_selection::includes(const check_info& c) const {
  if (none) return false;
  if (region && c.region != *region) return false;
  return id_contains.empty() || c.id.find(id_contains) != std::string::npos;
}

nlohmann::json to_json(const snapshot& s) {
  nlohmann::json regions = nlohmann::json::object();
  for (const auto& r : s.regions) {
    nlohmann::json j{
        {"role", to_string(r.role)}, {"classification", to_string(r.declared)},     {"since", format_time(r.since)},
        {"raw", to_string(r.raw)},   {"pending", r.pending == transition::pending}, {"down_services", r.down_services},
        {"incident_id", nullptr}};
    if (!r.incident_id.empty()) j["incident_id"] = r.incident_id;
    regions[r.name] = std::move(j);
  }
  nlohmann::json vantages = nlohmann::json::object();
  for (const auto& v : s.vantages) {
    nlohmann::json j{{"state", to_string(v.state)}, {"last_report_age_s", nullptr}};
    if (v.last_report) j["last_report_age_s"] = seconds(s.at - *v.last_report);
    j["partitioned_from"] = v.partitioned_from;
    vantages[v.name] = std::move(j);
  }
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : s.checks) {
    nlohmann::json by = nlohmann::json::object();
    for (std::size_t v = 0; v < c.by_vantage.size() && v < s.vantages.size(); ++v) {
      by[s.vantages[v].name] = std::string(c.by_vantage[v]);
    }
    checks.push_back({{"id", c.id},
                      {"region", c.region},
                      {"service", c.service},
                      {"scope", c.region_scope ? "region" : "service"},
                      {"role", to_string(c.role)},
                      {"state", to_string(c.state)},
                      {"votes", {{"up", c.up}, {"down", c.down}, {"unknown", c.unknown}}},
                      {"by_vantage", std::move(by)}});
  }
  nlohmann::json lag{{"ms", nullptr},
                     {"age_s", nullptr},
                     {"reachable", s.lag.reachable},
                     {"region", s.lag.region},
                     {"lag_other_direction", s.lag.other_direction}};
  if (s.lag.ms) lag["ms"] = *s.lag.ms;
  if (s.lag.at) lag["age_s"] = seconds(s.at - *s.lag.at);
  nlohmann::json incident = nullptr;
  if (s.incident) {
    incident = {{"id", s.incident->id},
                {"region", s.incident->region},
                {"classification", to_string(s.incident->kind)},
                {"started_at", format_time(s.incident->started_at)},
                {"first_evidence", nullptr},
                {"paged_at", nullptr}};
    if (s.incident->first_evidence) incident["first_evidence"] = format_time(*s.incident->first_evidence);
    if (s.incident->paged_at) incident["paged_at"] = format_time(*s.incident->paged_at);
  }
  nlohmann::json cooldown{{"last_failover_at", nullptr},
                          {"acknowledged", s.cooldown.acknowledged},
                          {"acknowledged_by", s.cooldown.acknowledged_by}};
  if (s.cooldown.last_failover_at) cooldown["last_failover_at"] = format_time(*s.cooldown.last_failover_at);
  nlohmann::json silences = nlohmann::json::array();
  for (const auto& x : s.silences) {
    silences.push_back(
        {{"id", x.id}, {"scope", x.scope}, {"by", x.by}, {"reason", x.reason}, {"until", format_time(x.until)}});
  }
  // since: null while the configured primary has never been changed.
  nlohmann::json active{
      {"region", s.active.region},
      {"since", s.active.since == time_point{} ? nlohmann::json(nullptr) : nlohmann::json(format_time(s.active.since))},
      {"state", to_string(s.active.state)},
      {"detail", s.active.detail},
      {"recommendation_id", s.active.recommendation_id},
      {"approved_by", s.active.approved_by}};
  return {{"at", format_time(s.at)},
          {"active", std::move(active)},
          {"leader", s.leader},
          {"quorum", s.quorum},
          {"regions", std::move(regions)},
          {"vantages", std::move(vantages)},
          {"checks", std::move(checks)},
          {"replication_lag", std::move(lag)},
          {"incident", std::move(incident)},
          {"recommendation", s.rec ? to_json(*s.rec, s.approvals_required) : nlohmann::json(nullptr)},
          {"cooldown", std::move(cooldown)},
          {"silences", std::move(silences)}};
}

}  // namespace vigil::decision
