#pragma once
// Signed operator commands (docs/approvals.md, "Operator commands"): silences,
// the actuation brake, plan abort/pause/resume and proposals (`vigil
// propose`), each authorised by a token
// of the approval format (PASETO v4.public, the claims schema of
// approvals/approval.hpp, the same approver keys, the same single-use jti
// ledger) whose claims bind exactly one command:
//   action  the command: silence | unsilence | brake_on | brake_off |
//           plan_abort | plan_pause | plan_resume | propose | standing_revoke
//   rid     its target: the silence id, the standing policy id, the plan's recommendation id, "brake",
//           or the proposed action (failback | failover)
//   rhash   hex SHA-256 of the canonical JSON (decision/canonical_json.hpp) of
//           the command body, the JSON object the request carries next to the
//           token: {"token": "v4.public...", "command": {...}}
// allow_data_loss is always false. A token for one command never verifies for
// another (other action, target or body): it is refused before its jti is spent.
//
// Command bodies (every key required unless marked; nothing else allowed):
//   silence     {action, id, scope, duration_s, reason}
//   unsilence   {action, id, reason}
//   standing_revoke  {action, id, reason}  (id: the standing policy; app/standing.hpp)
//   brake_on, brake_off            {action, reason}
//   plan_abort, plan_pause, plan_resume  {action, recommendation_id, reason}
//   propose     {action, kind, reason}  (kind: failback | failover)
// Bounds: reason 1..max_reason_bytes printable UTF-8 without control
// characters; id 1..64 of [A-Za-z0-9._:-]; scope "region:NAME",
// "service:NAME" or "check:ID" (NAME/ID 1..128 of [A-Za-z0-9._:-]) or "all";
// duration_s 1..limits.max_silence (an integer).

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "approvals/approval.hpp"

namespace prometheus {
class Counter;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace vigil::approvals {

inline constexpr std::array<std::string_view, 9> operator_actions{"silence",     "unsilence",  "brake_on",
                                                                  "brake_off",   "plan_abort", "plan_pause",
                                                                  "plan_resume", "propose",    "standing_revoke"};
inline constexpr std::size_t max_reason_bytes = 512;
inline constexpr std::size_t max_command_bytes = 4096;
/// rid of brake_on / brake_off tokens.
inline constexpr std::string_view brake_target = "brake";

[[nodiscard]] bool is_operator_action(std::string_view action);

struct command_limits {
  std::chrono::milliseconds max_silence{std::chrono::hours(24 * 7)};
};

/// Why an operator command was refused (or ok). Stable names: metric label
/// `reason` of vigil_operator_commands_total, API `error`, audit log,
/// docs/approvals.md. The token's own refusals keep the verifier's names
/// (bad_signature, expired, replay, ...; see verifier_reason).
enum class command_reason : std::uint8_t {
  ok,
  bad_request,        ///< not {"token": "...", "command": {...}}, or the command's action is not the route's
  bad_command,        ///< the command body fails its schema or a bound
  wrong_command,      ///< the token is for another command (action, target or body hash differ)
  not_configured,     ///< the engine has no approvers: no token can verify
  unknown_silence,    ///< unsilence of a silence that is not active
  duplicate_silence,  ///< silence with the id of an active silence
  too_many_silences,  ///< silences.max_active are active already
  no_plan,            ///< plan_* names no running plan
  not_leader,         ///< a follower replica cannot act on the plan; send it to the leader
  token,              ///< refused by the token verifier: the detail carries its reason
  unsigned_command,   ///< "unsigned": a JSON object without a token (HTTP 401)
  not_proposed,       ///< propose refused by the engine (a recommendation is open, no outage to fail over)
};

[[nodiscard]] std::string_view to_string(command_reason r);

/// The canonical form of a command body and its hash (the token's rhash).
[[nodiscard]] std::string command_hash(const nlohmann::json& body);
/// The token's rid for a command body (id, recommendation_id, "brake" or kind).
[[nodiscard]] std::string command_target(const nlohmann::json& body);
/// nullopt when `body` is a valid command; otherwise what is wrong.
[[nodiscard]] std::optional<std::string> check_command(const nlohmann::json& body, const command_limits& limits);

/// The claims binding `body` (which must pass check_command).
[[nodiscard]] approval_claims command_claims(const nlohmann::json& body, const std::string& deployment,
                                             const std::string& signer, common::wall_time now,
                                             std::chrono::milliseconds ttl);
/// The request document for the engine: {"token": ..., "command": body}.
[[nodiscard]] nlohmann::json sign_command(const ed25519_key& key, const nlohmann::json& body,
                                          const std::string& deployment, const std::string& signer,
                                          common::wall_time now, std::chrono::milliseconds ttl);

struct command_result {
  command_reason reason = command_reason::ok;
  std::string token_reason;  ///< the verifier's reason when reason == token
  std::string message;       ///< what is wrong and what to do
  std::string signer;        ///< the approver whose key verified the token (ok)
  nlohmann::json command;    ///< the verified command body (ok)
  [[nodiscard]] bool ok() const { return reason == command_reason::ok; }
  /// The metric / API reason: the verifier's name for token refusals.
  [[nodiscard]] std::string label() const;
  [[nodiscard]] int http_status() const;
};

/// Parses the request {"token", "command"} and checks the command (schema,
/// bounds, that its action is `expected_action`), then `extra` (the engine's
/// state: a silence id already active, no running plan), then the token
/// (every approval check, bound to this exact command, its jti spent last):
/// a refused command never burns its token.
class command_verifier {
 public:
  /// `verifier` must outlive this; it should count nothing itself (the
  /// command metric does).
  command_verifier(approval_verifier* verifier, command_limits limits);
  using extra_check = std::function<std::optional<command_result>(const nlohmann::json& body)>;
  [[nodiscard]] command_result verify(std::string_view request_body, std::string_view expected_action,
                                      common::wall_time now, const extra_check& extra = nullptr);
  [[nodiscard]] const command_limits& limits() const { return limits_; }

 private:
  approval_verifier* verifier_;
  command_limits limits_;
};

/// vigil_operator_commands_total{command, result, reason}: children for every
/// command x reason made at construction.
class command_metrics {
 public:
  explicit command_metrics(prometheus::Registry& registry);
  void count(std::string_view command, const command_result& r);

 private:
  prometheus::Family<prometheus::Counter>& family_;
};

}  // namespace vigil::approvals
