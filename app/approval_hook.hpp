#pragma once
// Glue between the engine's POST /v1/approvals and the token verifier
// (actuators/approval): binds the token to the recommendation shown at that
// moment before its jti is consumed, and converts the result into the decision
// core's verified_approval.

#include "actuators/approval.hpp"
#include "app/engine.hpp"

namespace vigil::app {

/// What the verifier must check the token against, from the core's current recommendation.
[[nodiscard]] actuators::approval_binding binding_for(const decision::recommendation& rec);

/// A token_verifier over `verifier` (which must outlive the engine).
[[nodiscard]] token_verifier make_token_verifier(actuators::approval_verifier& verifier);

}  // namespace vigil::app
