#pragma once
// Glue between the engine's POST /v1/approvals and the token verifier
// (approvals/approval): binds the token to the recommendation shown at that
// moment before its jti is consumed, and converts the result into the decision
// core's verified_approval.

#include <functional>
#include <optional>
#include <string>

#include "approvals/approval.hpp"
#include "common/clock.hpp"
#include "decision/recommendation.hpp"

namespace vigil::approvals {

/// The outcome of checking an approval token outside the core (signature,
/// approver key, audience, expiry, lifetime, single-use jti).
struct token_check {
  std::optional<decision::verified_approval> approval;
  std::string reason;   ///< stable name when refused (bad_signature, expired, replay, ...)
  std::string message;  ///< what the operator should do
  int status = 0;       ///< HTTP status of the refusal (docs/approvals.md); 0: 401
  /// The token acknowledges the cooldown blocking the recommendation (action
  /// acknowledge_cooldown) instead of approving it.
  bool acknowledge_cooldown = false;
  /// Un-spends the token's jti: called when the decision core refuses the
  /// approval (a refused token is not spent). Empty when nothing was spent.
  std::function<void()> release;
};

/// Checks a token against the configured approvers and the recommendation
/// shown right now (so a token bound to something else is refused before its
/// single-use jti is spent). `approved_by`: approvers already counted.
using token_verifier =
    std::function<token_check(const std::string& token, common::wall_time now,
                              const std::optional<decision::recommendation>& current, int approvals_required)>;

/// What the verifier must check the token against, from the core's current recommendation.
[[nodiscard]] approval_binding binding_for(const decision::recommendation& rec);

/// A token_verifier over `verifier` (which must outlive the engine).
[[nodiscard]] token_verifier make_token_verifier(approval_verifier& verifier);

}  // namespace vigil::approvals
