#include "common/topology.hpp"

#include <stdexcept>

namespace vigil::common {

decision::topology make_topology(const config& cfg) {
  decision::topology t;
  t.deployment = cfg.deployment;
  for (const auto& r : cfg.regions) {
    t.regions.push_back(decision::region_info{
        r.name, r.role == region_role::primary ? decision::region_role::primary : decision::region_role::dr, {}, {}});
  }
  t.vantages = cfg.vantages;
  for (const auto& c : cfg.checks) {
    decision::check_info ci;
    ci.id = c.id;
    const auto region = t.find_region(c.region);
    if (!region) throw std::invalid_argument("check " + c.id + ": unknown region " + c.region);
    ci.region = *region;
    ci.service = c.service;
    ci.region_scope = c.region_scope;
    ci.role = c.role == check_role::gate ? decision::check_role::gate : decision::check_role::classify;
    ci.interval = c.interval.count() > 0 ? c.interval : cfg.probe_defaults.interval;
    ci.fast_interval = c.cloudwatch ? decision::duration{0} : c.fast_interval;  // no re-probe of a metric
    t.checks.push_back(std::move(ci));
  }
  const auto& d = cfg.decision;
  decision::params& p = t.p;
  p.tick = d.tick;
  p.quorum = d.quorum;
  p.fall = d.fall;
  p.rise = d.rise;
  p.stale_after = d.stale_after.count() > 0 ? d.stale_after : 3 * cfg.probe_defaults.interval;
  p.impaired_fraction = d.impaired_fraction;
  p.impaired_after = d.impaired_after.value_or(cfg.probe_defaults.interval + d.tick);
  p.partition_after = d.partition_after;
  p.regional_fraction = d.regional_fraction;
  p.confirm_for = d.confirm_for;
  p.clear_for = d.clear_for;
  p.service_page_grace = d.service_page_grace;
  p.max_lag = d.max_lag;
  p.lag_max_age = d.lag_max_age;
  p.cooldown = d.cooldown;
  p.recommendation_ttl = d.recommendation_ttl;
  p.approvals_required = cfg.approvals.required;
  p.lag_source_configured = cfg.replication_lag.source != lag_source::none;
  p.failback_lag_source_configured = p.lag_source_configured && cfg.replication_lag.failback.has_value();
  p.readiness = !cfg.readiness.enabled        ? decision::readiness_gate::off
                : cfg.readiness.gate_blocking ? decision::readiness_gate::blocking
                                              : decision::readiness_gate::advisory;
  t.index();
  const auto problems = t.validate();
  if (!problems.empty()) {
    std::string all = "configuration does not make a valid decision topology:";
    for (const auto& x : problems)
      all += " " + x + ";";
    throw std::invalid_argument(all);
  }
  return t;
}

}  // namespace vigil::common
