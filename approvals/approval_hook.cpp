#include "approvals/approval_hook.hpp"

#include <algorithm>

namespace vigil::approvals {

approval_binding binding_for(const decision::recommendation& rec) {
  approval_binding b;
  b.recommendation_id = rec.id;
  b.recommendation_hash = rec.hash;
  b.action = std::string(decision::to_string(rec.action));
  b.allow_data_loss_required = rec.allow_data_loss_required;
  b.approved_by = rec.approvers;
  b.cooldown_blocks = rec.state == decision::recommendation_state::blocked &&
                      std::any_of(rec.gates.begin(), rec.gates.end(), [](const decision::gate_result& g) {
                        return g.name == decision::gate_name::cooldown && !g.ok;
                      });
  if (rec.state == decision::recommendation_state::pending_approval) {
    b.approvable = true;
  } else if (rec.state == decision::recommendation_state::blocked) {
    b.approvable = false;
    const auto* g = rec.first_blocking_failure();
    b.not_approvable_detail =
        "blocked by gate " +
        (g ? std::string(decision::to_string(g->name)) + ": " + g->detail : std::string("(unknown)")) +
        "; it becomes approvable when the gate passes";
  } else {
    b.approvable = false;
    b.not_approvable_detail = "recommendation is " + std::string(decision::to_string(rec.state)) +
                              (rec.reason.empty() ? "" : " (" + rec.reason + ")") +
                              "; fetch the current one with GET /v1/recommendation";
  }
  return b;
}

token_verifier make_token_verifier(approval_verifier& verifier) {
  return [&verifier](const std::string& token, common::wall_time now,
                     const std::optional<decision::recommendation>& current, int /*required*/) {
    token_check out;
    std::optional<approval_binding> binding;
    if (current) binding = binding_for(*current);
    const auto r = verifier.verify(token, now, binding ? &*binding : nullptr);
    if (!r.ok()) {
      out.reason = std::string(to_string(r.rejection.reason));
      out.message = r.rejection.message;
      out.status = http_status(r.rejection.reason);
      return out;
    }
    const auto& a = *r.approval;
    decision::verified_approval v;
    v.recommendation_id = a.recommendation_id;
    v.recommendation_hash = a.recommendation_hash;
    v.approver = a.approver;
    v.jti = a.jti;
    v.allow_data_loss = a.allow_data_loss;
    v.issued_at = decision::time_point{a.issued_at.time_since_epoch()};
    // The skew is applied once, by the verifier: the core refuses the token
    // (token_expired) from the same instant the verifier would (expired).
    v.expires_at = decision::time_point{(a.expires_at + verifier.max_skew()).time_since_epoch()};
    out.acknowledge_cooldown = a.action == acknowledge_cooldown_action;
    out.approval = std::move(v);
    out.release = [&verifier, jti = a.jti, exp = a.expires_at] { (void)verifier.release(jti, exp); };
    return out;
  };
}

}  // namespace vigil::approvals
