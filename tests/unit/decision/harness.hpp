#pragma once
// Test helpers for the decision core: a small hand-built topology and a
// driver that probes every (vantage, check) on virtual time.

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "decision/core.hpp"

namespace vigil::decision::testing {

inline const time_point t0{std::chrono::milliseconds{1'795'000'000'000}};

/// us-east-1 (primary) and us-west-2 (dr), services api-web, checkout, search,
/// auth in both, vantages use1, usw2, euw1; the decision defaults (docs/design.md).
inline topology make_test_topology(int services = 4, bool region_check = false) {
  topology t;
  t.deployment = "shop-test";
  t.regions = {{"us-east-1", region_role::primary, {}, {}}, {"us-west-2", region_role::dr, {}, {}}};
  t.vantages = {"use1", "usw2", "euw1"};
  const std::vector<std::string> names{"api-web", "checkout", "search", "auth", "cart", "pay"};
  for (region_index r = 0; r < 2; ++r) {
    for (int s = 0; s < services; ++s) {
      const auto& n = names[static_cast<std::size_t>(s)];
      t.checks.push_back(check_info{n + "@" + t.regions[r].name, r, n, 0, false, check_role::classify, duration{2000}});
    }
    if (region_check) {
      t.checks.push_back(
          check_info{"alb-5xx@" + t.regions[r].name, r, "alb-5xx", 0, true, check_role::classify, duration{2000}});
    }
  }
  t.p.quorum = 0;
  t.p.failback_lag_source_configured = true;
  t.p.stale_after = duration{6000};
  t.index();
  return t;
}

/// probe(vantage, check, now) -> outcome; nullopt = the vantage sends nothing.
using probe_fn = std::function<std::optional<outcome>(vantage_index, check_index, time_point)>;

struct harness {
  explicit harness(topology t, bool leader = true) : c(std::move(t)) {
    c.set_leader(leader);
    probe = [](vantage_index, check_index, time_point) { return std::optional<outcome>(outcome::ok); };
  }

  core c;
  time_point now = t0;
  probe_fn probe;
  /// The warning a `degraded` probe carries (a failed warn condition); none when unset.
  std::function<outcome(vantage_index, check_index)> warning;
  std::optional<duration> lag = duration{300};
  std::vector<event> events;
  duration interval{2000};

  /// Advances virtual time by `d` in ticks of 1s; probes every `interval`.
  void run(duration d) {
    const time_point end = now + d;
    while (now < end) {
      if ((now - t0) % interval == duration{0}) {
        for (std::size_t vi = 0; vi < c.topo().vantages.size(); ++vi) {
          const auto v = static_cast<vantage_index>(vi);
          bool reported = false;
          for (check_index k = 0; k < c.topo().checks.size(); ++k) {
            if (auto o = probe(v, k, now)) {
              observation obs{v, k, now, *o, 20.0F};
              if (warning && *o == outcome::degraded) obs.warning = warning(v, k);
              c.ingest(obs);
              reported = true;
            }
          }
          if (reported) c.vantage_report(v, now);
        }
        // Like an agent with replication_lag.failback: the sample measures the
        // region that is not active.
        const auto a = c.topo().find_region(c.active().region);
        c.ingest_lag(lag_sample{now, lag, static_cast<region_index>(1 - a.value_or(0))});
      }
      c.tick(now);
      for (auto& e : c.take_output())
        events.push_back(std::move(e));
      now += duration{1000};
    }
  }

  template <typename T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& e : events) {
      if (const auto* x = std::get_if<T>(&e)) out.push_back(*x);
    }
    return out;
  }

  classification declared(const std::string& region) const {
    for (const auto& r : c.status().regions) {
      if (r.name == region) return r.declared;
    }
    return classification::unknown;
  }

  verified_approval approval_for(const std::string& who, bool allow_loss = false) const {
    const auto rec = c.current_recommendation();
    verified_approval a;
    if (rec) {
      a.recommendation_id = rec->id;
      a.recommendation_hash = rec->hash;
    }
    a.approver = who;
    a.jti = who + "-" + std::to_string(now.time_since_epoch().count());
    a.allow_data_loss = allow_loss;
    a.issued_at = now;
    a.expires_at = now + duration{900000};
    return a;
  }
};

/// A probe that fails every check of `region` (index) from the vantages in `from` (empty = all).
inline probe_fn region_down(const topology& t, region_index region, const std::set<vantage_index>& from = {}) {
  return [&t, region, from](vantage_index v, check_index k, time_point) -> std::optional<outcome> {
    const bool hit = t.checks[k].region == region && (from.empty() || from.contains(v));
    return hit ? outcome::timeout : outcome::ok;
  };
}

}  // namespace vigil::decision::testing
