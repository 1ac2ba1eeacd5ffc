#pragma once
// The closed vocabularies of the decision core (docs/design.md, "Closed vocabulary"). Every enum has
// stable string names, used identically in JSON, metrics labels, logs and
// docs/failure-detection.md. Adding a value means adding its name here; the
// names never change once released.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace vigil::decision {

/// Per region, after quorum and classification hysteresis (docs/design.md, "Region classification").
enum class classification : std::uint8_t { healthy, service_degraded, regional_outage, global_outage, unknown };
/// One vantage's opinion of one check after hysteresis; also a check's quorum state.
enum class verdict : std::uint8_t { up, down, unknown };
/// A vantage's standing: absent (stale) and impaired vantages abstain.
enum class vantage_state : std::uint8_t { present, absent, impaired };
/// Promotion gates, in the fixed order they are evaluated and reported.
/// failover: primary_regional, dr_healthy, [dr_ready], replication_lag, cooldown, not_silenced, leader.
/// failback: primary_healthy, [dr_ready], replication_lag (blocking), cooldown, not_silenced, leader.
/// dr_ready (the target plan's last readiness run) only when readiness is configured; it is last in
/// the enumeration so the older names keep their numbers.
enum class gate_name : std::uint8_t {
  primary_regional,
  dr_healthy,
  primary_healthy,
  replication_lag,
  cooldown,
  not_silenced,
  leader,
  dr_ready
};
enum class recommendation_state : std::uint8_t {
  blocked,
  pending_approval,
  approved,
  executing,
  done,
  failed,
  expired,
  withdrawn,
  dry_run_complete  ///< a dry-run plan finished: every step described, nothing changed
};
/// Outcome of feeding one more input to a hysteresis (docs/design.md, "Hysteresis as a type").
enum class transition : std::uint8_t { unchanged, pending, changed };
enum class action_kind : std::uint8_t { failover, failback };
enum class region_role : std::uint8_t { primary, dr };
enum class check_role : std::uint8_t { classify, gate };
/// The active region's state (core::active()): settled, a plan moving it is running, or a plan failed midway.
enum class active_mode : std::uint8_t { active, split, failing_over };
/// The dr_ready gate: not shown (off: no readiness loop configured), shown and not blocking
/// (advisory, the default of a `readiness:` section), or blocking.
enum class readiness_gate : std::uint8_t { off, advisory, blocking };
enum class page_kind : std::uint8_t {
  service_degraded,
  regional_outage,
  global_outage,
  vantage_impaired,
  vantage_absent,
  check_warning,  ///< a `warn` condition fails on a check (it still counts as up)
  /// an operational notice raised outside the core (a readiness item, the RTO objective,
  /// a standing approval): the engine pages it, the core never emits it
  notice
};
enum class page_action : std::uint8_t { trigger, update, resolve };
enum class severity : std::uint8_t { critical, error, warning, info };

/// Why the core counted or refused an approval that already passed token verification
/// (core::approve(); events and scenario expectations). Not approvals::verifier_reason, the
/// engine's HTTP/metrics answer to a token, which also covers signature, identity and time
/// checks the core never sees.
enum class approval_reason : std::uint8_t {
  accepted,                 ///< counted; maybe more approvers are still needed
  no_recommendation,        ///< nothing to approve right now
  unknown_recommendation,   ///< the id names no recommendation this core knows
  wrong_hash,               ///< token bound to other content than the recommendation shows
  token_expired,            ///< the token's expires_at has passed
  recommendation_expired,   ///< the recommendation outlived recommendation_ttl
  withdrawn,                ///< the condition cleared before approval
  superseded,               ///< evidence changed materially: a newer revision exists
  blocked,                  ///< a blocking gate fails now (re-evaluated at approval time)
  missing_allow_data_loss,  ///< allow_data_loss_required but the token does not carry it
  duplicate_approver,       ///< this approver already approved this recommendation
  replayed_token,           ///< this token id (jti) was already used
  not_pending,              ///< already approved, executing or finished
};

// --- names -------------------------------------------------------------

inline constexpr std::array<std::string_view, 5> classification_names{"healthy", "service_degraded", "regional_outage",
                                                                      "global_outage", "unknown"};
inline constexpr std::array<std::string_view, 3> verdict_names{"up", "down", "unknown"};
inline constexpr std::array<std::string_view, 3> vantage_state_names{"present", "absent", "impaired"};
inline constexpr std::array<std::string_view, 8> gate_names{"primary_regional", "dr_healthy", "primary_healthy",
                                                            "replication_lag",  "cooldown",   "not_silenced",
                                                            "leader",           "dr_ready"};
inline constexpr std::array<std::string_view, 9> recommendation_state_names{
    "blocked", "pending_approval", "approved",  "executing",       "done",
    "failed",  "expired",          "withdrawn", "dry_run_complete"};
inline constexpr std::array<std::string_view, 3> transition_names{"unchanged", "pending", "changed"};
inline constexpr std::array<std::string_view, 2> action_names{"failover", "failback"};
inline constexpr std::array<std::string_view, 2> region_role_names{"primary", "dr"};
inline constexpr std::array<std::string_view, 2> check_role_names{"classify", "gate"};
inline constexpr std::array<std::string_view, 3> active_mode_names{"active", "split", "failing_over"};
inline constexpr std::array<std::string_view, 3> readiness_gate_names{"off", "advisory", "blocking"};
inline constexpr std::array<std::string_view, 7> page_kind_names{
    "service_degraded", "regional_outage", "global_outage", "vantage_impaired",
    "vantage_absent",   "check_warning",   "notice"};
inline constexpr std::array<std::string_view, 3> page_action_names{"trigger", "update", "resolve"};
inline constexpr std::array<std::string_view, 4> severity_names{"critical", "error", "warning", "info"};
inline constexpr std::array<std::string_view, 13> approval_reason_names{"accepted",
                                                                        "no_recommendation",
                                                                        "unknown_recommendation",
                                                                        "wrong_hash",
                                                                        "token_expired",
                                                                        "recommendation_expired",
                                                                        "withdrawn",
                                                                        "superseded",
                                                                        "blocked",
                                                                        "missing_allow_data_loss",
                                                                        "duplicate_approver",
                                                                        "replayed_token",
                                                                        "not_pending"};

namespace detail {
template <typename E, std::size_t N>
[[nodiscard]] constexpr std::optional<E> lookup(const std::array<std::string_view, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}
}  // namespace detail

#define VIGIL_DECISION_NAMES(E, ARRAY)                                       \
  [[nodiscard]] constexpr std::string_view to_string(E v) {                  \
    return (ARRAY)[static_cast<std::size_t>(v)];                             \
  }                                                                          \
  template <typename T>                                                      \
  requires std::is_same_v<T, E>                                              \
  [[nodiscard]] constexpr std::optional<E> from_string(std::string_view s) { \
    return detail::lookup<E>(ARRAY, s);                                      \
  }

VIGIL_DECISION_NAMES(classification, classification_names)
VIGIL_DECISION_NAMES(verdict, verdict_names)
VIGIL_DECISION_NAMES(vantage_state, vantage_state_names)
VIGIL_DECISION_NAMES(gate_name, gate_names)
VIGIL_DECISION_NAMES(recommendation_state, recommendation_state_names)
VIGIL_DECISION_NAMES(transition, transition_names)
VIGIL_DECISION_NAMES(action_kind, action_names)
VIGIL_DECISION_NAMES(region_role, region_role_names)
VIGIL_DECISION_NAMES(check_role, check_role_names)
VIGIL_DECISION_NAMES(active_mode, active_mode_names)
VIGIL_DECISION_NAMES(readiness_gate, readiness_gate_names)
VIGIL_DECISION_NAMES(page_kind, page_kind_names)
VIGIL_DECISION_NAMES(page_action, page_action_names)
VIGIL_DECISION_NAMES(severity, severity_names)
VIGIL_DECISION_NAMES(approval_reason, approval_reason_names)
#undef VIGIL_DECISION_NAMES

/// What every surface (pages, /v1/status, the status page, the demo) says when a
/// dry-run plan finished: nothing says "done" for a plan that changed nothing.
inline constexpr std::string_view dry_run_complete_text = "dry run complete: nothing changed";

/// Operator-facing hint for a refused approval: what to do next.
[[nodiscard]] std::string_view approval_hint(approval_reason r);

/// Is a recommendation in this state still open (can be approved or is waiting)?
[[nodiscard]] constexpr bool is_open(recommendation_state s) {
  return s == recommendation_state::blocked || s == recommendation_state::pending_approval;
}
/// Has it reached a state from which it never moves again?
[[nodiscard]] constexpr bool is_final(recommendation_state s) {
  return s == recommendation_state::done || s == recommendation_state::failed || s == recommendation_state::expired ||
         s == recommendation_state::withdrawn || s == recommendation_state::dry_run_complete;
}

}  // namespace vigil::decision
