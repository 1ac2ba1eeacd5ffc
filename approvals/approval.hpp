#pragma once
// Signed approvals: PASETO v4.public tokens whose claims bind one operator's
// consent to exactly one recommendation (docs/approvals.md; docs/aws-notes.md,
// "PASETO v4.public and Ed25519").
//
// Claims (JSON object, every key required unless marked):
//   rid              recommendation id                  1..128 of [A-Za-z0-9._:-]
//   rhash            recommendation content hash        1..128 of [A-Za-z0-9._:-]
//   action           "failover" | "failback" | "acknowledge_cooldown" (the
//                    operator acknowledges the cooldown that blocks the bound
//                    recommendation; docs/approvals.md)
//                    | an operator command (approvals/command_token.hpp)
//   allow_data_loss  bool
//   aud              the deployment name                1..256 printable ASCII
//   sub              approver id                        1..64 of [A-Za-z0-9._@-]
//   iat, exp         RFC 3339 date-times (PASETO spec); nbf optional
//   jti              unique token id                    1..128 of [A-Za-z0-9._:-]
//   iss              optional, 1..256 printable ASCII, informational
// Anything else (unknown or duplicate keys, other types, nesting, more than
// max_claims_bytes) is bad_claims.
//
// The verifier never takes a key or an identity from the token: it tries the
// configured approvers' keys, and the token's `sub` must then name the
// approver whose key verified it.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "approvals/jti_ledger.hpp"
#include "approvals/keys.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"

namespace prometheus {
class Counter;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace vigil::approvals {

inline constexpr std::size_t max_claims_bytes = 4096;
/// The `action` of a token that acknowledges the cooldown blocking the
/// recommendation it names (it approves nothing).
inline constexpr std::string_view acknowledge_cooldown_action = "acknowledge_cooldown";

/// The engine's answer to one approval token: the verifier's own checks (format, signature,
/// identity, time, claims, jti) and, for a verified token, the recommendation checks the
/// engine reports over HTTP. Stable names (metrics label `reason`, API `error`, audit log,
/// docs/approvals.md). Not decision::approval_reason: that is the decision core's own account
/// of why it counted or refused an already verified approval (events, scenarios), a different
/// vocabulary with its own names.
enum class verifier_reason : std::uint8_t {
  ok,                     ///< accepted
  bad_format,             ///< not a well-formed PASETO v4.public token
  unsupported_version,    ///< another PASETO version or purpose
  too_large,              ///< token above 8 KiB
  bad_signature,          ///< no configured key verifies it (tampered, or signed with another key)
  unknown_approver,       ///< signed by a key no configured approver has
  subject_mismatch,       ///< verified with X's key but `sub` names someone else
  wrong_audience,         ///< `aud` is not this deployment
  expired,                ///< now >= exp + max_skew
  not_yet_valid,          ///< now + max_skew < nbf (or iat)
  lifetime_too_long,      ///< exp - iat > max_ttl
  bad_claims,             ///< claims fail the schema
  replay,                 ///< jti used before
  ledger_unavailable,     ///< the jti ledger could not record (retry later)
  wrong_hash,             ///< not the current recommendation (id, hash or action differ)
  not_approvable,         ///< the recommendation is blocked, expired, withdrawn or done
  data_loss_not_allowed,  ///< recommendation requires allow_data_loss, the token does not grant it
  duplicate_approver,     ///< this approver already approved this recommendation
};
inline constexpr std::size_t verifier_reason_count = 18;

[[nodiscard]] std::string_view to_string(verifier_reason r);
/// What the operator should do about it (one sentence).
[[nodiscard]] std::string_view remedy(verifier_reason r);
/// HTTP status the engine answers with: 202 ok, 409 replay/duplicate/wrong_hash/not_approvable,
/// 503 ledger_unavailable, 403 for identity problems, 400 otherwise.
[[nodiscard]] int http_status(verifier_reason r);

struct approval_claims {
  std::string recommendation_id;
  std::string recommendation_hash;
  std::string action;
  bool allow_data_loss = false;
  std::string audience;
  std::string subject;
  common::wall_time issued_at{};
  std::optional<common::wall_time> not_before;
  common::wall_time expires_at{};
  std::string jti;
  std::string issuer;  ///< empty = absent
};

[[nodiscard]] std::string claims_to_json(const approval_claims& c);

struct claims_result {
  std::optional<approval_claims> claims;
  std::string error;  ///< names the claim and what was expected
};
[[nodiscard]] claims_result parse_claims(std::string_view json);

/// RFC 3339 date-time with a zone ("Z" or "+hh:mm"); fractions kept to ms.
[[nodiscard]] std::optional<common::wall_time> parse_rfc3339(std::string_view text);

/// 128 random bits, hex (32 characters).
[[nodiscard]] std::string new_jti();

/// Signs the claims as a v4.public token (no footer).
[[nodiscard]] std::string sign_approval(const ed25519_key& key, const approval_claims& c);

/// What the engine and the core consume (mirrors decision's verified_approval).
struct verified_approval {
  std::string recommendation_id;
  std::string recommendation_hash;
  std::string action;
  std::string approver;
  std::string jti;
  bool allow_data_loss = false;
  common::wall_time issued_at{};
  common::wall_time expires_at{};
};

struct approval_rejection {
  verifier_reason reason = verifier_reason::ok;
  std::string message;  ///< what is wrong and what to do, for the operator
};

struct approval_result {
  std::optional<verified_approval> approval;
  approval_rejection rejection;  ///< reason ok when approval is set
  [[nodiscard]] bool ok() const { return approval.has_value(); }
};

/// The current recommendation as the engine sees it, to bind a token to it
/// before its jti is consumed (so a token for the wrong recommendation is not
/// burnt). Every field is checked.
struct approval_binding {
  std::string recommendation_id;
  std::string recommendation_hash;
  std::string action;
  bool approvable = true;             ///< gates pass and the state accepts approvals
  std::string not_approvable_detail;  ///< e.g. "expired at 03:30:00Z; wait for a new recommendation"
  bool allow_data_loss_required = false;
  std::vector<std::string> approved_by;  ///< approvers already counted for this hash
  /// The cooldown gate fails for it (an acknowledge_cooldown token may clear it).
  bool cooldown_blocks = false;
};

/// The engine-side checks, usable on their own: nullopt when `a` fits `b`.
[[nodiscard]] std::optional<approval_rejection> check_binding(const verified_approval& a, const approval_binding& b);

/// Counts distinct approvers towards approvals.required for one recommendation hash.
class approval_tally {
 public:
  approval_tally(std::string recommendation_hash, int required);
  /// Adds `a`; rejects another hash (wrong_hash) or an approver already counted (duplicate_approver).
  [[nodiscard]] std::optional<approval_rejection> add(const verified_approval& a);
  [[nodiscard]] bool complete() const { return static_cast<int>(approvers_.size()) >= required_; }
  [[nodiscard]] const std::vector<std::string>& approvers() const { return approvers_; }
  [[nodiscard]] int required() const { return required_; }
  /// True when any counted approval granted allow_data_loss.
  [[nodiscard]] bool allow_data_loss() const { return allow_data_loss_; }

 private:
  std::string hash_;
  int required_;
  std::vector<std::string> approvers_;
  bool allow_data_loss_ = false;
};

/// vigil_approvals_total{result="accepted|rejected", reason}: children for
/// every reason are made at construction, none later.
class approval_metrics {
 public:
  [[nodiscard]] static prometheus::Family<prometheus::Counter>& build_family(prometheus::Registry& registry);
  explicit approval_metrics(prometheus::Family<prometheus::Counter>& family);
  void count(verifier_reason r);

 private:
  std::vector<prometheus::Counter*> counters_;  ///< indexed by verifier_reason
};

class approval_verifier {
 public:
  /// Loads every approver's public key (approver_config::public_key_pem);
  /// throws std::invalid_argument naming the approver and file when one does
  /// not load. Approvers may be listed twice with the same id and different
  /// keys (key rotation). `ledger` and `metrics` must outlive the verifier.
  approval_verifier(std::string deployment, const common::approvals_config& cfg, jti_ledger& ledger,
                    approval_metrics* metrics = nullptr);
  ~approval_verifier();
  approval_verifier(const approval_verifier&) = delete;
  approval_verifier& operator=(const approval_verifier&) = delete;

  /// Every check in order, consuming the jti last (and only when all else,
  /// including `binding` when given, passed). Counts the result. Thread-safe
  /// if the ledger is.
  [[nodiscard]] approval_result verify(std::string_view token, common::wall_time now,
                                       const approval_binding* binding = nullptr);
  /// Un-spends the jti of a token verify() accepted and the decision core
  /// then refused (jti_ledger::release). False when the ledger could not: the
  /// jti then stays spent.
  bool release(std::string_view jti, common::wall_time expires_at) noexcept;
  /// The clock difference tolerated on exp, nbf and iat: a token verifies
  /// until exp + max_skew (exclusive), and that is the expiry the core gets.
  [[nodiscard]] common::duration max_skew() const { return max_skew_; }

 private:
  approval_result reject(verifier_reason r, const std::string& detail);
  struct approver_key {
    std::string id;
    std::unique_ptr<ed25519_key> key;
  };
  std::string deployment_;
  common::duration max_ttl_;
  common::duration max_skew_;
  std::vector<approver_key> approvers_;
  jti_ledger& ledger_;
  approval_metrics* metrics_;
};

}  // namespace vigil::approvals
