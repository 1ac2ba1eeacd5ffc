#pragma once
// Decision state continuity (docs/ha.md, "Decision state"): what one core
// hands to another so that the other continues the same decisions — the open
// incidents with the key of their last page, the ids of the incidents lately
// resolved, the current recommendation with everything its hash covers, and
// the cooldown with its acknowledgement.
//
// The leader's engine writes it (through the coordinator: a file in the
// state dir for the single node, a fenced etcd key for replicas) and every
// other core adopts it (core::adopt): a restarted engine before its first
// tick, a follower whenever the leader's copy changes, a new leader before it
// acts. The adopting core then continues the same incident ids (no second
// trigger, no trigger of an incident already resolved) and keeps the same
// recommendation id and hash, so a token signed before still verifies.
//
// Pure: JSON in, JSON out. Times are integer milliseconds since the epoch, so
// a round trip keeps the recommendation hash exact.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "decision/core.hpp"
#include "decision/recommendation.hpp"

namespace vigil::decision {

struct continuity {
  /// Open incidents of regions and vantages; content_key is their last page's.
  std::vector<open_incident> incidents;
  /// Ids of the incidents lately resolved, oldest first (at most resolved_kept).
  std::vector<std::string> resolved;
  /// The current recommendation. Display-only fields (gate details, the data
  /// loss numbers) are not carried: the adopting core recomputes them.
  std::optional<recommendation> rec;
  std::optional<time_point> last_failover;
  bool cooldown_acknowledged = false;
  std::string cooldown_acknowledged_by;
  /// The active region (absent in a document written before it existed).
  std::optional<active_region> active;

  static constexpr std::size_t resolved_kept = 64;
};

/// {"incidents": [...], "resolved": [...], "recommendation": {...}|null, "cooldown": {...}, "active": {...}}.
[[nodiscard]] nlohmann::json to_json(const continuity& c);
/// Throws std::invalid_argument naming the field when `j` is not what
/// to_json(continuity) writes.
[[nodiscard]] continuity continuity_from_json(const nlohmann::json& j);

/// {"region", "since_ms", "state", "detail", "recommendation_id", "approved_by", "changed_ms"}: the
/// active region as kept in state_dir/active.json and in the decision state.
[[nodiscard]] nlohmann::json to_json(const active_region& a);
/// Throws std::invalid_argument naming the field.
[[nodiscard]] active_region active_region_from_json(const nlohmann::json& j);

/// A recommendation's identity and hashed content, state and approvals, as
/// carried in a continuity; parsed back exactly (the hash is kept and checked).
[[nodiscard]] nlohmann::json continuity_json(const recommendation& r);
/// Throws std::invalid_argument naming the field, or when the content does not
/// hash to the recorded hash.
[[nodiscard]] recommendation recommendation_from_continuity(const nlohmann::json& j);

}  // namespace vigil::decision
