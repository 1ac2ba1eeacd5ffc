// Signed operator commands: the command schema, its hash, signing and verification.
#include "approvals/command_token.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <set>

#include "decision/canonical_json.hpp"

namespace vigil::approvals {

namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 13> reason_names{"ok",
                                                        "bad_request",
                                                        "bad_command",
                                                        "wrong_command",
                                                        "not_configured",
                                                        "unknown_silence",
                                                        "duplicate_silence",
                                                        "too_many_silences",
                                                        "no_plan",
                                                        "not_leader",
                                                        "token",
                                                        "unsigned",
                                                        "not_proposed"};

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-';
}

bool valid_id(const std::string& s, std::size_t max) {
  return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), id_char);
}

/// Printable text: no control characters (a reason ends up in logs and pages).
bool valid_reason(const std::string& s) {
  if (s.empty() || s.size() > max_reason_bytes) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

bool valid_scope(const std::string& s) {
  if (s == "all") return true;
  for (const std::string_view prefix : {"region:", "service:", "check:"}) {
    if (s.starts_with(prefix)) return valid_id(s.substr(prefix.size()), 128);
  }
  return false;
}

std::optional<std::string> keys_are(const json& body, std::initializer_list<const char*> keys) {
  std::set<std::string, std::less<>> want(keys.begin(), keys.end());
  for (const auto& [k, v] : body.items()) {
    if (!want.contains(k)) return "unknown key '" + k.substr(0, 64) + "' in the command";
  }
  for (const auto& k : want) {
    if (!body.contains(k)) return "missing key '" + k + "' in the command";
  }
  return std::nullopt;
}

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

}  // namespace

bool is_operator_action(std::string_view action) {
  return std::find(operator_actions.begin(), operator_actions.end(), action) != operator_actions.end();
}

std::string_view to_string(command_reason r) {
  return reason_names.at(static_cast<std::size_t>(r));
}

std::string command_hash(const json& body) {
  return decision::canonical_hash(body);
}

std::string command_target(const json& body) {
  const std::string action = str(body, "action");
  if (action == "brake_on" || action == "brake_off") return std::string(brake_target);
  if (action.starts_with("plan_")) return str(body, "recommendation_id");
  if (action == "propose") return str(body, "kind");
  return str(body, "id");
}

std::optional<std::string> check_command(const json& body, const command_limits& limits) {
  if (!body.is_object()) return "the command must be a JSON object";
  const std::string action = str(body, "action");
  if (!is_operator_action(action)) {
    return "the command's action must be one of silence, unsilence, brake_on, brake_off, plan_abort, plan_pause, "
           "plan_resume, propose, standing_revoke";
  }
  std::optional<std::string> keys;
  if (action == "silence") {
    keys = keys_are(body, {"action", "id", "scope", "duration_s", "reason"});
  } else if (action == "unsilence" || action == "standing_revoke") {
    keys = keys_are(body, {"action", "id", "reason"});
  } else if (action == "brake_on" || action == "brake_off") {
    keys = keys_are(body, {"action", "reason"});
  } else if (action == "propose") {
    keys = keys_are(body, {"action", "kind", "reason"});
  } else {
    keys = keys_are(body, {"action", "recommendation_id", "reason"});
  }
  if (keys) return keys;
  for (const auto& [k, v] : body.items()) {
    if (k != "duration_s" && !v.is_string()) return "'" + k + "' must be a string";
  }
  if (!valid_reason(str(body, "reason"))) {
    return "'reason' must be 1.." + std::to_string(max_reason_bytes) + " bytes without control characters";
  }
  if (body.contains("id") && !valid_id(str(body, "id"), 64)) return "'id' must be 1..64 of [A-Za-z0-9._:-]";
  if (body.contains("recommendation_id") && !valid_id(str(body, "recommendation_id"), 128)) {
    return "'recommendation_id' must be 1..128 of [A-Za-z0-9._:-]";
  }
  if (action == "propose" && str(body, "kind") != "failback" && str(body, "kind") != "failover") {
    return "'kind' must be failback or failover";
  }
  if (action == "silence") {
    if (!valid_scope(str(body, "scope"))) {
      return "'scope' must be region:NAME, service:NAME, check:ID or all (NAME, ID: 1..128 of [A-Za-z0-9._:-])";
    }
    const json& d = body["duration_s"];
    const auto max_s = std::chrono::duration_cast<std::chrono::seconds>(limits.max_silence).count();
    if (!d.is_number_integer() || d.get<std::int64_t>() < 1 || d.get<std::int64_t>() > max_s) {
      return "'duration_s' must be an integer 1.." + std::to_string(max_s) + " (silences.max_duration)";
    }
  }
  return std::nullopt;
}

approval_claims command_claims(const json& body, const std::string& deployment, const std::string& signer,
                               common::wall_time now, std::chrono::milliseconds ttl) {
  approval_claims c;
  c.recommendation_id = command_target(body);
  c.recommendation_hash = command_hash(body);
  c.action = str(body, "action");
  c.allow_data_loss = false;
  c.audience = deployment;
  c.subject = signer;
  c.issued_at = now;
  c.expires_at = now + ttl;
  c.jti = new_jti();
  return c;
}

json sign_command(const ed25519_key& key, const json& body, const std::string& deployment, const std::string& signer,
                  common::wall_time now, std::chrono::milliseconds ttl) {
  return {{"token", sign_approval(key, command_claims(body, deployment, signer, now, ttl))}, {"command", body}};
}

std::string command_result::label() const {
  return reason == command_reason::token ? token_reason : std::string(to_string(reason));
}

int command_result::http_status() const {
  switch (reason) {
    case command_reason::ok:
      return 202;
    case command_reason::bad_request:
    case command_reason::bad_command:
      return 400;
    case command_reason::not_configured:
      return 503;
    case command_reason::unknown_silence:
    case command_reason::no_plan:
      return 404;
    case command_reason::unsigned_command:
      return 401;
    case command_reason::wrong_command:
    case command_reason::not_proposed:
    case command_reason::duplicate_silence:
    case command_reason::too_many_silences:
      return 409;
    case command_reason::not_leader:
      return 503;
    case command_reason::token:
      for (std::size_t i = 0; i < verifier_reason_count; ++i) {
        const auto r = static_cast<verifier_reason>(i);
        if (to_string(r) == token_reason) return approvals::http_status(r);
      }
      return 401;
  }
  return 400;
}

command_verifier::command_verifier(approval_verifier* verifier, command_limits limits)
    : verifier_(verifier), limits_(limits) {}

command_result command_verifier::verify(std::string_view request_body, std::string_view expected_action,
                                        common::wall_time now, const extra_check& extra) {
  const auto refuse = [](command_reason r, std::string msg) {
    command_result out;
    out.reason = r;
    out.message = std::move(msg);
    return out;
  };
  if (request_body.size() > max_command_bytes + 8192) {
    return refuse(command_reason::bad_request,
                  "the request is larger than " + std::to_string(max_command_bytes + 8192) + " bytes");
  }
  const json doc = json::parse(request_body, nullptr, false);
  if (doc.is_object() && !doc.contains("token")) {
    return refuse(command_reason::unsigned_command,
                  "the request carries no token: " + std::string(expected_action) +
                      " commands must be signed with an approver's key; use the vigil CLI with --key");
  }
  if (!doc.is_object() || !doc.contains("token") || !doc["token"].is_string() || !doc.contains("command") ||
      !doc["command"].is_object()) {
    return refuse(command_reason::bad_request,
                  R"(expected {"token": "<v4.public token>", "command": {...}}; sign it with the vigil CLI)");
  }
  const json& body = doc["command"];
  if (body.dump().size() > max_command_bytes) {
    return refuse(command_reason::bad_command,
                  "the command is larger than " + std::to_string(max_command_bytes) + " bytes");
  }
  if (str(body, "action") != expected_action) {
    return refuse(command_reason::bad_request, "this route takes " + std::string(expected_action) + " commands, not '" +
                                                   str(body, "action").substr(0, 32) + "'");
  }
  if (auto why = check_command(body, limits_)) return refuse(command_reason::bad_command, *why);
  if (extra) {
    if (auto r = extra(body)) return std::move(*r);
  }
  if (verifier_ == nullptr) {
    return refuse(command_reason::not_configured,
                  "this engine has no approvers configured (approvals.approvers): no operator command can be verified");
  }
  const approval_binding binding{command_target(body), command_hash(body), str(body, "action"), true, "", false, {}};
  auto v = verifier_->verify(doc["token"].get<std::string>(), now, &binding);
  if (!v.ok()) {
    if (v.rejection.reason == verifier_reason::wrong_hash) {
      return refuse(command_reason::wrong_command,
                    "the token was signed for another command (action, target or body differ: expected " +
                        binding.action + " " + binding.recommendation_id + " hash " + binding.recommendation_hash +
                        "); sign this exact command again with the vigil CLI");
    }
    command_result out = refuse(command_reason::token, v.rejection.message);
    out.token_reason = std::string(to_string(v.rejection.reason));
    return out;
  }
  command_result out;
  out.signer = v.approval->approver;
  out.command = body;
  return out;
}

command_metrics::command_metrics(prometheus::Registry& registry)
    : family_(
          prometheus::BuildCounter()
              .Name("vigil_operator_commands_total")
              .Help("Signed operator commands (silence, brake, plan abort/pause/resume, propose) by command, result "
                    "(accepted|rejected) and reason")
              .Register(registry)) {
  for (const auto command : operator_actions) {
    family_.Add({{"command", std::string(command)}, {"result", "accepted"}, {"reason", "ok"}});
    for (std::size_t i = 1; i < reason_names.size(); ++i) {
      if (reason_names[i] == "token") continue;
      family_.Add(
          {{"command", std::string(command)}, {"result", "rejected"}, {"reason", std::string(reason_names[i])}});
    }
    for (std::size_t i = 1; i < verifier_reason_count; ++i) {
      family_.Add({{"command", std::string(command)},
                   {"result", "rejected"},
                   {"reason", std::string(to_string(static_cast<verifier_reason>(i)))}});
    }
  }
}

void command_metrics::count(std::string_view command, const command_result& r) {
  // Only known commands get a child: the label set stays bounded.
  const std::string name = is_operator_action(command) ? std::string(command) : "unknown";
  family_.Add({{"command", name}, {"result", r.ok() ? "accepted" : "rejected"}, {"reason", r.label()}}).Increment();
}

}  // namespace vigil::approvals
