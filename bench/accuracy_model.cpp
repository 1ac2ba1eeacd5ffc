// The accuracy corpus: topology, the virtual world and the baseline detectors
// (see accuracy_model.hpp for what each one is).
#include "bench/accuracy_model.hpp"

#include <algorithm>
#include <string>

#include "decision/quorum.hpp"

namespace vigil::bench {

using decision::classification;
using decision::outcome;
using decision::verdict;

decision::topology corpus_topology(const cadence& k) {
  decision::topology t;
  t.deployment = "accuracy";
  t.regions = {{"us-east-1", decision::region_role::primary, {}, {}}, {"us-west-2", decision::region_role::dr, {}, {}}};
  t.vantages = {"us-east-1", "us-west-2", "eu-west-1"};
  for (decision::region_index r = 0; r < 2; ++r) {
    for (std::size_t s = 0; s < services_per_region; ++s) {
      std::string name = "svc";
      name += std::to_string(s);
      std::string id = name;
      id += '@';
      id += t.regions[r].name;
      t.checks.push_back(
          decision::check_info{id, r, name, 0, false, decision::check_role::classify, k.interval, k.fast_interval});
    }
  }
  t.p = decision::params{};  // docs/design.md, "Decision defaults"
  t.p.stale_after = 3 * k.interval;
  t.p.impaired_after = k.interval + t.p.tick;
  t.index();
  return t;
}

world::world(const run_spec& spec, duration interval) : spec_(spec), rng_(spec.seed) {
  // Agents are not synchronised: each vantage probes at its own phase.
  for (auto& p : phase_)
    p = duration{static_cast<std::int64_t>(rng_.below(20)) * interval.count() / 20};
  victim_vantage_ = static_cast<std::size_t>(rng_.below(vantage_count));
  second_absent_ = (victim_vantage_ + 1 + static_cast<std::size_t>(rng_.below(vantage_count - 1))) % vantage_count;
  victim_check_ = static_cast<std::size_t>(rng_.below(services_per_region));  // a primary service
  constexpr std::array<std::int64_t, 4> periods{10000, 20000, 40000, 60000};
  flap_period_ = duration{periods[static_cast<std::size_t>(rng_.below(periods.size()))]};
  slow_latency_ = duration{1100 + static_cast<std::int64_t>(rng_.below(9)) * 100};
}

bool world::reporting(std::size_t v, duration t) const {
  if (!fault_active(t)) return true;
  switch (spec_.cls) {
    case run_class::vantage_absent:
      return v != victim_vantage_;
    case run_class::minority_reporting:
      return v != victim_vantage_ && v != second_absent_;
    case run_class::lone_blackholed:
      return v == victim_vantage_;
    case run_class::regional_vantage_gone:
      return v != primary_vantage;
    default:
      return true;
  }
}

outcome world::probe(std::size_t v, std::size_t c, duration t, float& latency_ms) {
  const bool noisy = rng_.uniform() < noise_probability;  // drawn for every probe
  const bool primary_check = c < services_per_region;
  latency_ms = 20.0F;
  bool slow = false;
  if (fault_active(t)) {
    switch (spec_.cls) {
      case run_class::noise:
      case run_class::vantage_absent:
      case run_class::minority_reporting:
        break;
      case run_class::isolated_plus_service:
        if (v == victim_vantage_) return outcome::timeout;
        if (c == victim_check_) return outcome::connect_error;
        break;
      case run_class::isolated:
        if (v == victim_vantage_) return outcome::timeout;
        break;
      case run_class::blackholed:
      case run_class::lone_blackholed:
        if (v == victim_vantage_ && primary_check) return outcome::timeout;
        break;
      case run_class::flapping:
        if (c == victim_check_ && (t - spec_.fault_start) % flap_period_ < flap_period_ / 2) {
          return outcome::connect_error;
        }
        break;
      case run_class::slow:
        slow = primary_check;
        break;
      case run_class::service_outage:
        if (c == victim_check_) return outcome::connect_error;
        break;
      case run_class::regional:
      case run_class::regional_vantage_gone:
        if (primary_check) return outcome::connect_error;
        break;
      case run_class::regional_partitioned:
        if (v == primary_vantage) {
          if (!primary_check) return outcome::timeout;  // cross-region links cut
        } else if (primary_check) {
          return outcome::connect_error;
        }
        break;
    }
  }
  if (noisy) {
    latency_ms = 2000.0F;
    return outcome::timeout;
  }
  if (slow) {
    latency_ms = static_cast<float>(slow_latency_.count());
    return outcome::degraded;  // above degraded_after (1s), below the 2s timeout
  }
  return outcome::ok;
}

verdict vote(vote_rule rule, const std::array<verdict, vantage_count>& cells,
             const std::array<bool, vantage_count>& present) {
  switch (rule) {
    case vote_rule::single_vantage:
      return present[neutral_vantage] ? cells[neutral_vantage] : verdict::unknown;
    case vote_rule::route53: {
      int reporting = 0;
      int healthy = 0;
      for (std::size_t v = 0; v < vantage_count; ++v) {
        if (!present[v] || cells[v] == verdict::unknown) continue;
        ++reporting;
        if (cells[v] == verdict::up) ++healthy;
      }
      if (reporting == 0) return verdict::unknown;
      return healthy * 100 > 18 * reporting ? verdict::up : verdict::down;  // "more than 18%"
    }
    case vote_rule::k_of_n: {
      decision::vote_tally t;
      for (std::size_t v = 0; v < vantage_count; ++v) {
        const verdict x = present[v] ? cells[v] : verdict::unknown;
        if (x == verdict::up)
          ++t.up;
        else if (x == verdict::down)
          ++t.down;
        else
          ++t.unknown;
      }
      return decision::quorum_verdict(t, 2);
    }
  }
  return verdict::unknown;
}

void baseline::observe(std::size_t v, std::size_t c, time_point at, bool success) {
  auto& x = cells_[v][c];
  (void)x.h.observe(success, p_.fall, p_.rise);
  if (!x.ever || at > x.last_obs) x.last_obs = at;
  x.ever = true;
  report(v, at);
}

void baseline::report(std::size_t v, time_point at) {
  if (!reported_[v] || at > last_report_[v]) last_report_[v] = at;
  reported_[v] = true;
}

detector_view baseline::tick(time_point now) {
  // The same freshness rules as the core (decision/core_evaluate.cpp).
  const duration check_stale = std::max(p_.stale_after, 3 * interval_);
  std::array<bool, vantage_count> present{};
  for (std::size_t v = 0; v < vantage_count; ++v)
    present[v] = reported_[v] && now - last_report_[v] <= p_.stale_after;
  std::array<decision::region_counts, 2> counts{};
  for (std::size_t c = 0; c < check_count; ++c) {
    std::array<verdict, vantage_count> cells{};
    for (std::size_t v = 0; v < vantage_count; ++v) {
      const auto& x = cells_[v][c];
      cells[v] = (present[v] && x.ever && now - x.last_obs <= check_stale) ? x.h.state() : verdict::unknown;
    }
    const verdict st = vote(rule_, cells, present);
    auto& rc = counts[c / services_per_region];
    ++rc.services;
    if (st == verdict::down) ++rc.services_down;
    if (st == verdict::unknown) ++rc.services_unknown;
  }
  detector_view out;
  for (std::size_t r = 0; r < 2; ++r) {
    const classification raw = decision::classify_region(counts[r], counts[1 - r], p_.regional_fraction);
    auto& h = region_h_[r];
    if (h.update(raw, now, p_.confirm_for, p_.clear_for) != decision::transition::changed) continue;
    const classification after = h.declared();
    const bool bad = after == classification::service_degraded || after == classification::regional_outage ||
                     after == classification::global_outage;
    if (bad && !incident_open_[r]) {
      incident_open_[r] = true;
      if (r == 0) recommended_ = false;
    } else if (after == classification::healthy) {
      incident_open_[r] = false;
    }
  }
  out.primary = region_h_[0].declared();
  out.dr = region_h_[1].declared();
  if (incident_open_[0] && !recommended_ && out.primary == classification::regional_outage) {
    recommended_ = true;
    out.new_failover = true;
  }
  return out;
}

}  // namespace vigil::bench
