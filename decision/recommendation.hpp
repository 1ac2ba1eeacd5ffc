#pragma once
// A recommendation (docs/design.md, "Recommendations"): a proposed failover (primary -> dr)
// or failback (dr -> primary) with its gate results, evidence digest and a
// content hash. The hash is SHA-256 (hex) over the canonical JSON (sorted
// keys, no whitespace) of exactly:
//   {"action","allow_data_loss_required","created_at","evidence_digest","from","gates":[{"blocking","name","ok"}],
//    "planned" (only when true),"to"}
// Gate *details* (ages, lag numbers) are not hashed: they change every tick.
// An approval token binds this hash, so an operator approves exactly what was shown,
// including `planned`: whether the database promotion is a planned switchover
// (no data loss, needs the old primary) or an unplanned failover.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "decision/types.hpp"

namespace vigil::decision {

struct gate_result {
  gate_name name = gate_name::leader;
  bool ok = false;
  bool blocking = true;  ///< replication_lag for failover does not block: it sets allow_data_loss_required
  std::string detail;    ///< operator-facing: why it passes or fails, with numbers
};

struct recommendation {
  std::string id;  ///< "<action>-<from>-<incident start yyyymmddThhmmssZ>-r<revision>"
  int revision = 1;
  std::string hash;  ///< hex SHA-256 of canonical_content()
  std::string incident_id;
  action_kind action = action_kind::failover;
  std::string from;  ///< region names
  std::string to;
  recommendation_state state = recommendation_state::blocked;
  std::vector<gate_result> gates;
  bool allow_data_loss_required = false;
  /// An operator's request (`propose`) while the source region is healthy: the
  /// plan may switch over without data loss. False for an outage-triggered failover.
  bool planned = false;
  std::optional<std::int64_t> expected_data_loss_ms;  ///< nullopt: unknown
  std::string data_loss_bound;  ///< operator-facing statement of the bound ("<= 800ms", "unknown: ...")
  std::string evidence_digest;  ///< hex SHA-256 of the canonical evidence summary
  nlohmann::json evidence;      ///< the summary the digest covers
  time_point created_at{};
  time_point expires_at{};
  std::vector<std::string> approvers;
  std::vector<std::string> used_jti;
  std::string supersedes;  ///< id of the revision this one replaced, if any
  std::string reason;      ///< why it is in its state (last change)
  bool dry_run = false;    ///< its plan runs (ran) as a dry run: nothing is changed (not hashed)

  /// Every blocking gate passes.
  [[nodiscard]] bool gates_pass() const;
  /// First failing blocking gate, or nullptr.
  [[nodiscard]] const gate_result* first_blocking_failure() const;
  /// The object the hash covers.
  [[nodiscard]] nlohmann::json canonical_content() const;
  /// Recomputes `hash` from the content.
  void rehash();
};

/// Material difference (a new revision is due): a gate's ok flipped, the gate
/// set changed, or allow_data_loss_required flipped.
[[nodiscard]] bool materially_different(const std::vector<gate_result>& a, bool a_loss,
                                        const std::vector<gate_result>& b, bool b_loss);

/// What the database promotion means, in one line for the approval screen, the
/// page and the drill: "planned switchover: no data loss, needs the old primary",
/// or "unplanned global failover: writes not yet replicated, up to 0.8 s, are lost"
/// (the bound from the expected data loss; "an unknown amount" without one).
[[nodiscard]] std::string promotion_statement(bool planned, std::optional<std::int64_t> expected_data_loss_ms);

[[nodiscard]] nlohmann::json to_json(const gate_result& g);
/// The /v1/status shape: id, hash, action, from, to, state, gates, allow_data_loss_required,
/// planned, expected_data_loss_ms, data_loss_bound, expires_at, created_at, approvals{count, required, approvers}, ...
[[nodiscard]] nlohmann::json to_json(const recommendation& r, int approvals_required);

}  // namespace vigil::decision
