#pragma once
// core::status(): everything GET /v1/status shows (docs/design.md, "GET /v1/status"),
// as of the last tick.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decision/recommendation.hpp"
#include "decision/types.hpp"

namespace vigil::decision {

struct region_status {
  std::string name;
  region_role role = region_role::primary;
  classification declared = classification::unknown;
  time_point since{};
  classification raw = classification::unknown;  ///< this tick's, before hysteresis
  transition pending = transition::unchanged;    ///< pending: raw differs and is being confirmed
  std::vector<std::string> down_services;
  std::string incident_id;  ///< empty when none is open
};

struct vantage_status {
  std::string name;
  vantage_state state = vantage_state::absent;
  std::optional<time_point> last_report;
  std::vector<std::string> partitioned_from;  ///< regions whose checks this vantage's votes abstain on
};

struct check_status {
  std::string id;
  std::string region;
  std::string service;
  bool region_scope = false;
  check_role role = check_role::classify;
  verdict state = verdict::unknown;
  int up = 0;
  int down = 0;
  int unknown = 0;
  /// [vantage, in snapshot::vantages order]: that vantage's verdict on this
  /// check when it is present, else its state (`absent`, `impaired`).
  std::vector<std::string_view> by_vantage;
};

struct lag_status {
  std::optional<std::int64_t> ms;     ///< newest known lag
  std::optional<time_point> at;       ///< when it was sampled
  bool reachable = false;             ///< the newest sample had a value
  std::string region;                 ///< the region whose lag counts (the non-active one)
  std::uint64_t other_direction = 0;  ///< samples ignored: they measured the active region
};

struct incident_status {
  std::string id;
  std::string region;
  classification kind = classification::unknown;
  time_point started_at{};
  std::optional<time_point> first_evidence;  ///< its first failing observation, when known
  std::optional<time_point> paged_at;        ///< its first page (trigger), when sent by this core
};

struct cooldown_status {
  std::optional<time_point> last_failover_at;
  bool acknowledged = false;
  std::string acknowledged_by;
};

struct snapshot {
  time_point at{};  ///< the last tick
  bool leader = false;
  std::vector<region_status> regions;
  std::vector<vantage_status> vantages;
  std::vector<check_status> checks;
  lag_status lag;
  std::optional<incident_status> incident;  ///< the primary's open incident, else the dr's
  std::optional<recommendation> rec;        ///< the current (or last, until the incident closes)
  int approvals_required = 1;
  cooldown_status cooldown;
  std::vector<silence_spec> silences;
  int quorum = 0;
  active_region active;  ///< which region is treated as the primary now
};

/// Which checks core::status() lists in snapshot::checks: all by default;
/// one region's, those whose id contains a text (GET /v1/status?region=&check=),
/// or none (the engine's per-tick metrics, ?summary=1). Everything else in the
/// snapshot is the same whatever the selection.
struct check_selection {
  bool none = false;
  std::optional<region_index> region;
  std::string id_contains;  ///< empty: any id

  [[nodiscard]] bool includes(const check_info& c) const;
};

/// The /v1/status JSON (keys in docs/design.md, "GET /v1/status"; ages relative to `at`).
[[nodiscard]] nlohmann::json to_json(const snapshot& s);

}  // namespace vigil::decision
