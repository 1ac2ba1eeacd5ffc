#pragma once
// Standing approval policies (docs/approvals.md, "Standing approvals"): a
// PASETO v4.public token per approver (same keys and trust as approvals),
// each signing the same policy: the engine may start the failover plan from
// -> to by itself while every condition holds (decision/standing.hpp).
//
// Claims (JSON object, every key required unless marked, nothing else):
//   purpose     "standing"
//   aud         the deployment name                       1..256 printable ASCII
//   sub         the signing approver                      1..64 of [A-Za-z0-9._@-]
//   id          the policy id (random)                    1..64 of [A-Za-z0-9._:-]
//   action      "failover"
//   from, to    region names                              1..64 of [A-Za-z0-9._:-]
//   conditions  {"min_duration_s": 1..86400, "min_vantages": 1..64,
//                "max_lag_ms": 0..3600000, "hours": "HH:MM-HH:MM" (optional, UTC)}
//   plan_hash   decision::standing_plan_hash of the configured plan (64 hex)
//   iat, exp    RFC 3339; exp - iat <= approvals.max_standing_ttl
//   uses        1..100 automatic failovers it allows
// Every approver's token carries the same claims except `sub`: the policy's
// content hash (policy_hash) leaves `sub` out, and the engine arms the policy
// once approvals.required distinct approvers signed that same content.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "approvals/keys.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"
#include "decision/standing.hpp"

namespace prometheus {
class Counter;
class Registry;
}  // namespace prometheus

namespace vigil::approvals {

inline constexpr std::string_view standing_purpose = "standing";
inline constexpr int max_standing_uses = 100;

struct standing_policy {
  std::string id;
  std::string audience;
  std::string action = "failover";
  decision::standing_conditions conditions;
  std::string plan_hash;
  common::wall_time issued_at{};
  common::wall_time expires_at{};
  int uses = 1;
  bool operator==(const standing_policy&) const = default;
};

/// The claims without `sub` (the content every signer signs).
[[nodiscard]] nlohmann::json policy_json(const standing_policy& p);
/// Hex SHA-256 of the canonical policy_json.
[[nodiscard]] std::string policy_hash(const standing_policy& p);
/// Parses policy_json's shape (also the claims, with `sub` allowed when
/// `with_subject`); the error names the key and what was expected.
struct policy_parse {
  std::optional<standing_policy> policy;
  std::string subject;
  std::string error;
};
[[nodiscard]] policy_parse parse_policy(const nlohmann::json& j, bool with_subject);

/// Signs `p` as `signer` (v4.public, no footer).
[[nodiscard]] std::string sign_standing(const ed25519_key& key, const standing_policy& p, const std::string& signer);

/// A new policy id: "sp-" + 16 hex digits.
[[nodiscard]] std::string new_policy_id();

/// Why a standing token was refused. Stable names (metric
/// vigil_standing_refused_total{reason}, API `error`, audit, docs).
enum class standing_reason : std::uint8_t {
  ok,
  bad_format,         ///< not a well-formed v4.public token (or another version, too large)
  bad_signature,      ///< no configured approver's key verifies it (tampered or foreign key)
  subject_mismatch,   ///< verified with X's key but `sub` names someone else
  bad_claims,         ///< claims fail the schema
  wrong_audience,     ///< `aud` is not this deployment
  expired,            ///< now >= exp + max_skew
  not_yet_valid,      ///< iat after now + max_skew
  lifetime_too_long,  ///< exp - iat > approvals.max_standing_ttl
  wrong_plan_hash,    ///< bound to another plan than the configured one
  different_content,  ///< same id, other content than what the first signer signed
  duplicate_signer,   ///< this approver already signed this policy
  revoked,            ///< the policy was revoked (or expired, or used up)
  too_many,           ///< max pending policies reached
  under_signed,       ///< a stored policy with fewer signatures than approvals.required (at load)
};
inline constexpr std::size_t standing_reason_count = 15;
[[nodiscard]] std::string_view to_string(standing_reason r);
[[nodiscard]] int http_status(standing_reason r);

struct standing_signature {
  std::string signer;
  std::string token;
};

struct standing_verified {
  standing_reason reason = standing_reason::ok;
  std::string message;
  std::optional<standing_policy> policy;
  std::string signer;
  [[nodiscard]] bool ok() const { return reason == standing_reason::ok; }
};

/// Verifies standing tokens against the configured approvers' keys (never a
/// key or identity from the token). Thread-safe (immutable after construction).
class standing_verifier {
 public:
  /// Throws std::invalid_argument naming the approver whose key does not load.
  standing_verifier(std::string deployment, const common::approvals_config& cfg, common::duration max_standing_ttl);
  ~standing_verifier();
  standing_verifier(const standing_verifier&) = delete;
  standing_verifier& operator=(const standing_verifier&) = delete;

  /// Signature, identity, schema, audience, time and plan hash, in that order.
  [[nodiscard]] standing_verified verify(std::string_view token, common::wall_time now,
                                         const std::string& plan_hash) const;

 private:
  struct approver_key {
    std::string id;
    std::unique_ptr<ed25519_key> key;
  };
  std::string deployment_;
  common::duration max_skew_;
  common::duration max_ttl_;
  std::vector<approver_key> approvers_;
};

/// The signatures collected for one policy: armed once `required` distinct
/// approvers signed exactly the same content (mirrors approval_tally).
class standing_collection {
 public:
  standing_collection(standing_policy p, int required);
  /// Adds a verified signature; a refusal (different_content,
  /// duplicate_signer) leaves the collection unchanged.
  [[nodiscard]] std::optional<standing_verified> add(const standing_verified& v, std::string token);
  [[nodiscard]] bool armed() const { return static_cast<int>(signatures_.size()) >= required_; }
  [[nodiscard]] const standing_policy& policy() const { return policy_; }
  [[nodiscard]] const std::vector<standing_signature>& signatures() const { return signatures_; }
  [[nodiscard]] std::vector<std::string> signers() const;
  [[nodiscard]] int required() const { return required_; }

 private:
  standing_policy policy_;
  std::string hash_;
  int required_;
  std::vector<standing_signature> signatures_;
};

/// vigil_standing_refused_total{reason}: every reason's child made at construction.
class standing_refusals {
 public:
  explicit standing_refusals(prometheus::Registry& registry);
  void count(standing_reason r);

 private:
  std::vector<prometheus::Counter*> counters_;
};

}  // namespace vigil::approvals
