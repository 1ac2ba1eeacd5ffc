// The approval verifier, the engine-side binding checks and their metric.
#include "approvals/approval.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "approvals/paseto.hpp"

namespace vigil::approvals {

namespace {

struct reason_info {
  verifier_reason reason;
  std::string_view name;
  int status;
  std::string_view remedy;
};

// One row per reason: its stable name, the HTTP status the engine answers
// with, and what the operator should do. docs/approvals.md repeats this table.
constexpr std::array<reason_info, verifier_reason_count> reasons{{
    {verifier_reason::ok, "ok", 202, "nothing: the approval was accepted"},
    {verifier_reason::bad_format, "bad_format", 400,
     "send the token exactly as `vigil approve --print` printed it (one line, nothing added)"},
    {verifier_reason::unsupported_version, "unsupported_version", 400,
     "sign with `vigil approve` (PASETO v4.public); v1-v3 and v4.local tokens are never accepted"},
    {verifier_reason::too_large, "too_large", 400, "tokens are at most 8 KiB; sign a fresh one with `vigil approve`"},
    {verifier_reason::bad_signature, "bad_signature", 403,
     "sign with your own key (the one whose .pub is configured for you) and do not edit the token"},
    {verifier_reason::unknown_approver, "unknown_approver", 403,
     "ask an administrator to add your public key under approvals.approvers, or use a configured approver's key"},
    {verifier_reason::subject_mismatch, "subject_mismatch", 403,
     "pass your own approver id with `vigil approve --approver ID`"},
    {verifier_reason::wrong_audience, "wrong_audience", 403,
     "approve against the engine of the deployment you mean; the token names another deployment"},
    {verifier_reason::expired, "expired", 400, "the token expired: run `vigil approve` again for a fresh one"},
    {verifier_reason::not_yet_valid, "not_yet_valid", 400,
     "the token is from the future: check the clock of the machine that signed it (NTP) and sign again"},
    {verifier_reason::lifetime_too_long, "lifetime_too_long", 400,
     "sign with a shorter --ttl (at most approvals.max_ttl)"},
    {verifier_reason::bad_claims, "bad_claims", 400, "sign with `vigil approve`; the claims do not fit the schema"},
    {verifier_reason::replay, "replay", 409, "each token is accepted once: run `vigil approve` again to approve again"},
    {verifier_reason::ledger_unavailable, "ledger_unavailable", 503,
     "the engine could not record the token id; retry in a moment and check the engine's state directory"},
    {verifier_reason::wrong_hash, "wrong_hash", 409,
     "the recommendation changed since you looked: review the current one and run `vigil approve` again"},
    {verifier_reason::not_approvable, "not_approvable", 409,
     "the recommendation cannot be approved now (blocked, expired, withdrawn or done): check `GET /v1/status`"},
    {verifier_reason::data_loss_not_allowed, "data_loss_not_allowed", 409,
     "this failover may lose data: if you accept that, approve with --allow-data-loss"},
    {verifier_reason::duplicate_approver, "duplicate_approver", 409,
     "you already approved this recommendation: a second, different approver must approve"},
}};

constexpr bool reasons_in_enum_order() {
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    if (static_cast<std::size_t>(reasons[i].reason) != i) return false;
  }
  return true;
}
static_assert(reasons_in_enum_order(), "one row per verifier_reason, in enum order");

const reason_info& info(verifier_reason r) {
  return reasons.at(static_cast<std::size_t>(r));
}

approval_rejection rejection(verifier_reason r, const std::string& detail) {
  return {r, detail + "; " + std::string(info(r).remedy)};
}

}  // namespace

std::string_view to_string(verifier_reason r) {
  return info(r).name;
}
std::string_view remedy(verifier_reason r) {
  return info(r).remedy;
}
int http_status(verifier_reason r) {
  return info(r).status;
}

std::optional<approval_rejection> check_binding(const verified_approval& a, const approval_binding& b) {
  if (a.action == acknowledge_cooldown_action) {
    if (a.recommendation_id != b.recommendation_id || a.recommendation_hash != b.recommendation_hash) {
      return rejection(verifier_reason::wrong_hash, "the token acknowledges the cooldown for " + a.recommendation_id +
                                                        " (hash " + a.recommendation_hash +
                                                        ") but the current recommendation is " + b.recommendation_id +
                                                        " (hash " + b.recommendation_hash + ")");
    }
    if (!b.cooldown_blocks) {
      return rejection(verifier_reason::not_approvable, "the cooldown gate does not block recommendation " +
                                                            b.recommendation_id +
                                                            ": there is no cooldown to acknowledge");
    }
    return std::nullopt;
  }
  if (a.recommendation_id != b.recommendation_id || a.recommendation_hash != b.recommendation_hash ||
      a.action != b.action) {
    return rejection(verifier_reason::wrong_hash,
                     "the token approves " + a.action + " " + a.recommendation_id + " (hash " + a.recommendation_hash +
                         ") but the current "
                         "recommendation is " +
                         b.action + " " + b.recommendation_id + " (hash " + b.recommendation_hash + ")");
  }
  if (!b.approvable) {
    return rejection(verifier_reason::not_approvable,
                     "recommendation " + b.recommendation_id + " is not approvable" +
                         (b.not_approvable_detail.empty() ? std::string{} : ": " + b.not_approvable_detail));
  }
  if (b.allow_data_loss_required && !a.allow_data_loss) {
    return rejection(verifier_reason::data_loss_not_allowed,
                     "recommendation " + b.recommendation_id +
                         " requires allow_data_loss (replication lag is unknown or above the bound)");
  }
  if (std::find(b.approved_by.begin(), b.approved_by.end(), a.approver) != b.approved_by.end()) {
    return rejection(verifier_reason::duplicate_approver,
                     "approver '" + a.approver + "' already approved recommendation " + b.recommendation_id);
  }
  return std::nullopt;
}

approval_tally::approval_tally(std::string recommendation_hash, int required)
    : hash_(std::move(recommendation_hash)), required_(std::max(required, 1)) {}

std::optional<approval_rejection> approval_tally::add(const verified_approval& a) {
  if (a.recommendation_hash != hash_) {
    return rejection(verifier_reason::wrong_hash,
                     "the approval is for hash " + a.recommendation_hash + ", this tally counts " + hash_);
  }
  if (std::find(approvers_.begin(), approvers_.end(), a.approver) != approvers_.end()) {
    return rejection(verifier_reason::duplicate_approver, "approver '" + a.approver + "' is already counted (" +
                                                              std::to_string(approvers_.size()) + " of " +
                                                              std::to_string(required_) + " distinct approvers)");
  }
  approvers_.push_back(a.approver);
  allow_data_loss_ = allow_data_loss_ || a.allow_data_loss;
  return std::nullopt;
}

prometheus::Family<prometheus::Counter>& approval_metrics::build_family(prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("vigil_approvals_total")
      .Help("Approval tokens submitted, by result (accepted|rejected) and reason")
      .Register(registry);
}

approval_metrics::approval_metrics(prometheus::Family<prometheus::Counter>& family) {
  for (const auto& r : reasons) {
    counters_.push_back(&family.Add(
        {{"result", r.reason == verifier_reason::ok ? "accepted" : "rejected"}, {"reason", std::string(r.name)}}));
  }
}

void approval_metrics::count(verifier_reason r) {
  counters_.at(static_cast<std::size_t>(r))->Increment();
}

approval_verifier::approval_verifier(std::string deployment, const common::approvals_config& cfg, jti_ledger& ledger,
                                     approval_metrics* metrics)
    : deployment_(std::move(deployment)),
      max_ttl_(cfg.max_ttl),
      max_skew_(cfg.max_skew),
      ledger_(ledger),
      metrics_(metrics) {
  for (const auto& a : cfg.approvers) {
    auto k = ed25519_key::from_public_pem(a.public_key_pem);
    if (!k.key) {
      throw std::invalid_argument("approvals.approvers '" + a.id + "' (" + a.public_key_file + "): " + k.error);
    }
    approvers_.push_back({a.id, std::move(k.key)});
  }
}

approval_verifier::~approval_verifier() = default;

approval_result approval_verifier::reject(verifier_reason r, const std::string& detail) {
  if (metrics_) metrics_->count(r);
  return {std::nullopt, rejection(r, detail)};
}

approval_result approval_verifier::verify(std::string_view token, common::wall_time now,
                                          const approval_binding* binding) {
  // Tokens pasted from terminals often carry a trailing newline; nothing else is trimmed.
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r'))
    token.remove_suffix(1);
  auto parsed = paseto_v4_parse(token);
  if (!parsed.parts) {
    switch (parsed.error) {
      case paseto_error::unsupported_version:
        return reject(verifier_reason::unsupported_version, parsed.detail);
      case paseto_error::too_large:
        return reject(verifier_reason::too_large, parsed.detail);
      default:
        return reject(verifier_reason::bad_format, parsed.detail);
    }
  }
  const approver_key* signer = nullptr;
  for (const auto& a : approvers_) {
    if (paseto_v4_verify(*a.key, *parsed.parts)) {
      signer = &a;
      break;
    }
  }
  if (!signer) {
    // Only to word the message: the unverified `sub` is never trusted.
    const auto unverified = parse_claims(parsed.parts->message);
    const bool names_known =
        unverified.claims && std::any_of(approvers_.begin(), approvers_.end(),
                                         [&](const approver_key& a) { return a.id == unverified.claims->subject; });
    if (names_known) {
      return reject(verifier_reason::bad_signature, "the token claims to be from '" + unverified.claims->subject +
                                                        "' but that approver's configured key does not verify it");
    }
    return reject(verifier_reason::unknown_approver, "no configured approver's key verifies this token");
  }
  auto parsed_claims = parse_claims(parsed.parts->message);
  if (!parsed_claims.claims) return reject(verifier_reason::bad_claims, parsed_claims.error);
  const auto& c = *parsed_claims.claims;
  if (c.subject != signer->id) {
    return reject(verifier_reason::subject_mismatch,
                  "the token is signed with approver '" + signer->id + "''s key but names '" + c.subject + "'");
  }
  if (c.audience != deployment_) {
    return reject(verifier_reason::wrong_audience,
                  "the token is for deployment '" + c.audience + "', this is '" + deployment_ + "'");
  }
  if (now >= c.expires_at + max_skew_) {
    return reject(verifier_reason::expired, "the token expired at " + common::format_rfc3339(c.expires_at) + " (now " +
                                                common::format_rfc3339(now) + ")");
  }
  if (c.not_before && now + max_skew_ < *c.not_before) {
    return reject(verifier_reason::not_yet_valid,
                  "the token is not valid before " + common::format_rfc3339(*c.not_before));
  }
  if (now + max_skew_ < c.issued_at) {
    return reject(verifier_reason::not_yet_valid, "the token was issued at " + common::format_rfc3339(c.issued_at) +
                                                      ", after now (" + common::format_rfc3339(now) + ")");
  }
  if (c.expires_at - c.issued_at > max_ttl_) {
    return reject(verifier_reason::lifetime_too_long,
                  "the token lives " + std::to_string((c.expires_at - c.issued_at).count() / 1000) + " s; at most " +
                      std::to_string(max_ttl_.count() / 1000) + " s (approvals.max_ttl) are accepted");
  }
  verified_approval v{c.recommendation_id, c.recommendation_hash, c.action,    c.subject, c.jti,
                      c.allow_data_loss,   c.issued_at,           c.expires_at};
  if (binding) {
    if (auto r = check_binding(v, *binding)) {
      if (metrics_) metrics_->count(r->reason);
      return {std::nullopt, std::move(*r)};
    }
  }
  try {
    if (!ledger_.try_consume(c.jti, c.expires_at)) {
      return reject(verifier_reason::replay, "token " + c.jti + " was already used");
    }
  } catch (const std::exception& e) {
    return reject(verifier_reason::ledger_unavailable, e.what());
  }
  if (metrics_) metrics_->count(verifier_reason::ok);
  return {std::move(v), {}};
}

bool approval_verifier::release(std::string_view jti, common::wall_time expires_at) noexcept {
  try {
    ledger_.release(jti, expires_at);
    return true;
  } catch (const std::exception&) {
    return false;  // stays spent: the operator signs a new token
  }
}

}  // namespace vigil::approvals
