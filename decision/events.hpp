#pragma once
// What the core asks the world to do, returned by core::take_output() in the
// order decided. Plain intent structs (docs/design.md, "Pure decision core"): the engine pages, records
// and executes; the simulator builds its timeline from them.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "decision/recommendation.hpp"
#include "decision/types.hpp"

namespace vigil::decision {

/// A region's declared classification changed (after hysteresis).
struct classification_changed {
  time_point at{};
  std::string region;
  classification from = classification::unknown;
  classification to = classification::unknown;
  std::vector<std::string> down_services;
  nlohmann::json evidence;  ///< per check: state, votes, per-vantage verdicts
};

/// A page to send, update or resolve. incident_id is the dedup key.
struct page {
  time_point at{};
  page_kind kind = page_kind::service_degraded;
  page_action action = page_action::trigger;
  std::string incident_id;
  severity sev = severity::error;
  std::string region;           ///< the region concerned; empty for vantage pages
  std::string vantage;          ///< the vantage concerned, for vantage pages
  std::string summary;          ///< one line, <= 1024 chars
  nlohmann::json details;       ///< votes per vantage and check, gates, lag, recommendation
  time_point incident_start{};  ///< when the incident opened
  /// What the page said (kind, recommendation id and state): handed back with
  /// core::restore_incident after a restart, so that nothing unchanged is re-sent.
  std::string content_key;
};

/// A recommendation was created, changed state or was superseded (a new revision).
struct recommendation_changed {
  time_point at{};
  recommendation rec;  ///< full snapshot after the change
  int approvals_required = 1;
  std::string reason;
};

struct approval_decided {
  time_point at{};
  bool accepted = false;
  approval_reason reason = approval_reason::accepted;
  std::string hint;
  std::string recommendation_id;
  std::string approver;
  int approvals = 0;  ///< distinct approvers counted so far
  int required = 1;
};

/// Approvals reached `required` and every blocking gate (leader included)
/// passed at that moment: carry out the plan. Emitted once per recommendation.
struct execute_plan {
  time_point at{};
  std::string recommendation_id;
  std::string recommendation_hash;
  action_kind action = action_kind::failover;
  std::string from;
  std::string to;
  bool allow_data_loss = false;
  std::vector<std::string> approvers;
  bool planned = false;  ///< the recommendation's `planned`: switchover allowed
};

/// Every decision explains itself: which vantages voted what on which checks,
/// which gate blocked, why a page was held back.
struct audit_record {
  time_point at{};
  std::string kind;     ///< classification|vantage|gates|recommendation|approval|page|plan|cooldown|silence|lag
  std::string message;  ///< one line
  nlohmann::json details;
};

using event =
    std::variant<classification_changed, page, recommendation_changed, approval_decided, execute_plan, audit_record>;

/// "classification", "page", "recommendation", "approval", "execute_plan", "audit".
[[nodiscard]] std::string_view event_type(const event& e);
[[nodiscard]] time_point event_time(const event& e);
/// {"type": event_type, "at": RFC3339, ...fields}.
[[nodiscard]] nlohmann::json to_json(const event& e);

}  // namespace vigil::decision
