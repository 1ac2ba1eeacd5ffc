#pragma once
// The inputs of the decision core: the topology it decides about (interned:
// observations name vantages and checks by index so ingest allocates nothing),
// its parameters (defaults in docs/design.md, "Decision defaults"), and
// the input records. Built from config by common::make_topology()
// (common/topology.hpp); tests build them by hand.
//
// Times are UTC wall-clock milliseconds supplied by the caller: the core never
// reads a clock.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "decision/outcome.hpp"
#include "decision/vocabulary.hpp"

namespace vigil::decision {

using duration = std::chrono::milliseconds;
using time_point = std::chrono::sys_time<std::chrono::milliseconds>;

using vantage_index = std::uint16_t;
using check_index = std::uint32_t;
using region_index = std::uint8_t;
using service_index = std::uint32_t;

inline constexpr check_index no_check = std::numeric_limits<check_index>::max();
inline constexpr vantage_index no_vantage = std::numeric_limits<vantage_index>::max();

/// Every decision parameter (config `decision:` plus the approvals count).
/// degraded_after is applied by the detector (outcome::degraded), not here.
struct params {
  duration tick{1000};
  int quorum = 2;                  ///< vantages that must agree; 0 = strict majority of configured vantages
  int fall = 3;                    ///< consecutive failures before a (vantage, check) verdict is down
  int rise = 3;                    ///< consecutive successes before it is up
  duration stale_after{6000};      ///< a vantage without a batch for longer is absent
  double impaired_fraction = 0.5;  ///< disagreement share (in every region) that marks a vantage impaired
  /// The disagreement must last this long before the vantage is impaired:
  /// vantages out of phase reach `fall` (or `rise`) at different moments, so
  /// at the onset and the end of a global outage the first one briefly
  /// disagrees with everyone while it is the one that is right. Config
  /// default: probe_defaults.interval + tick.
  duration impaired_after{3000};
  /// A vantage that alone sees a region's checks down (on >= impaired_fraction
  /// of the comparable ones) while the others agree they are up, for this
  /// long, is partitioned from that region: its votes there abstain until it
  /// agrees again. 0 disables the rule.
  duration partition_after{60000};
  double regional_fraction = 0.5;      ///< share of a region's services down that makes a regional outage
  duration confirm_for{2000};          ///< a worse classification must hold this long
  duration clear_for{30000};           ///< healthy (or a step down from an outage) must hold this long
  duration service_page_grace{10000};  ///< a service_degraded page waits this long for a regional one
  duration max_lag{5000};              ///< replication lag budget (RPO)
  duration lag_max_age{30000};         ///< a lag sample older than this is stale
  duration cooldown{3600000};          ///< after an executed failover, block another unless acknowledged
  duration recommendation_ttl{1800000};
  int approvals_required = 1;         ///< distinct approvers needed before execution
  bool lag_source_configured = true;  ///< false: lag is always unknown (stated in the gate detail)
  /// A source measures the configured primary as a secondary (replication_lag.failback):
  /// false: while the dr is active the lag is unknown (stated in the gate detail).
  bool failback_lag_source_configured = false;
  /// The dr_ready gate (gates.hpp): off unless the config has a `readiness:` section.
  readiness_gate readiness = readiness_gate::off;

  /// quorum, resolving 0 to the strict majority of `vantages`.
  [[nodiscard]] int effective_quorum(std::size_t vantages) const;
};

struct region_info {
  std::string name;
  region_role role = region_role::primary;
  std::vector<check_index> checks;      ///< every check about this region (both roles)
  std::vector<service_index> services;  ///< services with a classify check here (not region-scope)
};

struct check_info {
  std::string id;  ///< "<service>@<region>" or "<name>@<region>"
  region_index region = 0;
  std::string service;            ///< service name, or the region check's name when region_scope
  service_index service_idx = 0;  ///< into topology::services (region-scope checks too)
  bool region_scope = false;
  check_role role = check_role::classify;
  duration interval{2000};  ///< probe interval: a vantage's verdict older than max(stale_after, 3 x interval) abstains
  /// Suspicion mode (decision/suspicion.hpp): re-probe at this cadence while
  /// a verdict is in doubt; 0 = off. Only the simulator's agents use it: the
  /// core counts fall and rise per observation whatever the cadence.
  duration fast_interval{0};
};

struct topology {
  std::string deployment;
  std::vector<region_info> regions;  ///< exactly one primary and one dr
  std::vector<std::string> vantages;
  std::vector<check_info> checks;
  std::vector<std::string> services;  ///< distinct service names (region checks included)
  params p;

  [[nodiscard]] std::optional<vantage_index> find_vantage(std::string_view name) const;
  /// O(1) after index() (the engine looks up every observation of a batch);
  /// a linear scan when checks were added or removed since. An id changed in
  /// place needs index() again.
  [[nodiscard]] std::optional<check_index> find_check(std::string_view id) const;
  [[nodiscard]] std::optional<region_index> find_region(std::string_view name) const;
  [[nodiscard]] region_index primary() const;
  [[nodiscard]] region_index dr() const;

  /// Fills regions[].checks/services, the service table and the check id
  /// index from checks[] (whose `service` and `region` are set); sorts
  /// nothing, keeps order. Linear in the number of checks.
  void index();
  /// Empty when consistent; else what is wrong (one primary and one dr,
  /// indices in range, at least one vantage, quorum <= vantages, ...).
  [[nodiscard]] std::vector<std::string> validate() const;

  struct id_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  /// check id -> index into checks[], built by index().
  std::unordered_map<std::string, check_index, id_hash, std::equal_to<>> check_by_id;
};

/// One probe result from one vantage. `value` is NaN when the check has none.
struct observation {
  vantage_index vantage = 0;
  check_index check = 0;
  time_point at{};
  outcome result = outcome::ok;
  float latency_ms = 0.0F;
  double value = std::numeric_limits<double>::quiet_NaN();
  /// `degraded` because a `warn` condition failed: the outcome that condition
  /// maps to (cert_expiring, timeout); ok otherwise.
  outcome warning = outcome::ok;
  /// A suspicion-mode re-probe (decision/suspicion.hpp), not an interval
  /// round. Counted like any other observation; kept for the record.
  bool fast = false;
};

/// The last readiness run of one plan (the engine's readiness loop; docs/runbook.md,
/// "Readiness"): every item ok or not, and which failed.
struct plan_readiness {
  bool ok = false;
  std::string detail;  ///< operator-facing: the failed items, or how many passed
  time_point checked_at{};
};

/// One replication-lag reading. lag == nullopt: the source was unreachable.
struct lag_sample {
  time_point at{};
  std::optional<duration> lag;
  /// The region whose (secondary) cluster was measured: the lag of replication
  /// into it. nullopt: the configured dr (agents without a failback source).
  std::optional<region_index> region;
};

/// An approval whose signature, audience and issuer were verified outside the
/// core; the core decides whether the recommendation is still approvable.
struct verified_approval {
  std::string recommendation_id;
  std::string recommendation_hash;
  std::string approver;
  std::string jti;
  bool allow_data_loss = false;
  time_point issued_at{};
  time_point expires_at{};
};

/// A silence: while active, the not_silenced gate fails for actions touching
/// `scope` (a region name; empty = everything). Pages still go out.
struct silence_spec {
  std::string id;
  std::string scope;
  std::string by;
  std::string reason;
  time_point until{};
};

/// Which region is treated as the primary now (core::set_active;
/// docs/failure-detection.md, "The active region"). The topology's roles name
/// the home layout; the effective roles follow this. Kept by the engine in
/// state_dir/active.json and carried in the decision state continuity.
struct active_region {
  std::string region;  ///< its name
  time_point since{};  ///< active since (the end of the plan that made it so)
  active_mode state = active_mode::active;
  std::string detail;             ///< failing_over / split: which plan, which steps ran, what to do
  std::string recommendation_id;  ///< the plan that made it active; empty: the configured primary
  std::vector<std::string> approved_by;
  time_point changed{};  ///< when this was last set: the newer of two copies wins (adopt)
};

}  // namespace vigil::decision
