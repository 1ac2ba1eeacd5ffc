// Approval claims: the JSON schema, RFC 3339 times, jti generation, signing.
#include <array>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "approvals/approval.hpp"
#include "approvals/command_token.hpp"
#include "approvals/paseto.hpp"
#include "common/crypto.hpp"
#include "decision/time_format.hpp"

namespace vigil::approvals {

namespace {

using nlohmann::json;

// The claims schema is flat: an object of scalars. Nesting beyond that is
// refused before parsing so a hostile token cannot make the parser recurse.
constexpr int max_depth = 1;

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-';
}

bool valid_id(std::string_view s, std::size_t max, bool allow_at = false) {
  if (s.empty() || s.size() > max) return false;
  for (const char c : s) {
    if (!id_char(c) && !(allow_at && c == '@')) return false;
  }
  return true;
}

bool printable(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (const char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/// Deepest nesting of objects/arrays outside strings; stops counting past limit.
int nesting_depth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      deepest = std::max(deepest, ++depth);
    else if (c == '}' || c == ']')
      --depth;
    if (deepest > limit) break;
  }
  return deepest;
}

int two(std::string_view s, std::size_t at) {
  if (at + 2 > s.size() || s[at] < '0' || s[at] > '9' || s[at + 1] < '0' || s[at + 1] > '9') return -1;
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

}  // namespace

std::optional<common::wall_time> parse_rfc3339(std::string_view s) {
  // decision::parse_time, made strict where a signed claim needs it: 'T' only
  // (no space), at most 9 fraction digits, offsets within 23:59.
  if (s.size() < 20 || s[10] == ' ') return std::nullopt;
  std::size_t pos = 19;
  if (s[pos] == '.') {
    const auto digits = s.find_first_not_of("0123456789", pos + 1);
    const auto end = digits == std::string_view::npos ? s.size() : digits;
    if (end - pos - 1 > 9) return std::nullopt;
    pos = end;
  }
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-') && (two(s, pos + 1) > 23 || two(s, pos + 4) > 59)) {
    return std::nullopt;
  }
  // A leap second (:60) is read as the next second's start.
  return decision::parse_time(s);
}

std::string new_jti() {
  return common::random_hex(16);
}

std::string claims_to_json(const approval_claims& c) {
  nlohmann::ordered_json j;
  j["rid"] = c.recommendation_id;
  j["rhash"] = c.recommendation_hash;
  j["action"] = c.action;
  j["allow_data_loss"] = c.allow_data_loss;
  j["aud"] = c.audience;
  j["sub"] = c.subject;
  if (!c.issuer.empty()) j["iss"] = c.issuer;
  j["iat"] = common::format_rfc3339(c.issued_at);
  if (c.not_before) j["nbf"] = common::format_rfc3339(*c.not_before);
  j["exp"] = common::format_rfc3339(c.expires_at);
  j["jti"] = c.jti;
  return j.dump();
}

std::string sign_approval(const ed25519_key& key, const approval_claims& c) {
  return paseto_v4_sign(key, claims_to_json(c));
}

claims_result parse_claims(std::string_view text) {
  const auto bad = [](std::string msg) { return claims_result{std::nullopt, std::move(msg)}; };
  if (text.size() > max_claims_bytes) {
    return bad("the claims are " + std::to_string(text.size()) + " bytes; at most " + std::to_string(max_claims_bytes) +
               " are accepted");
  }
  if (const int depth = nesting_depth(text, max_depth + 1); depth > max_depth) {
    return bad("the claims are nested deeper than one object; every claim must be a string or a boolean");
  }
  // Duplicate keys are ambiguous (which one did the signer mean?): refuse them.
  std::set<std::string> keys;
  std::string duplicate;
  const json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::key && depth == 1) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!keys.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  const json j = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("the claims are not valid JSON");
  if (!j.is_object()) return bad("the claims must be a JSON object");
  if (!duplicate.empty()) return bad("claim '" + duplicate + "' appears twice");

  static const std::set<std::string, std::less<>> known{
      "rid", "rhash", "action", "allow_data_loss", "aud", "sub", "iat", "nbf", "exp", "jti", "iss"};
  for (const auto& [k, v] : j.items()) {
    if (!known.contains(k)) return bad("unknown claim '" + k.substr(0, 64) + "'");
  }
  const auto str = [&](const char* name, bool required, std::string& out) -> std::string {
    const auto it = j.find(name);
    if (it == j.end()) return required ? std::string("missing claim '") + name + "'" : std::string{};
    if (!it->is_string()) return std::string("claim '") + name + "' must be a string";
    out = it->get<std::string>();
    return {};
  };
  approval_claims c;
  std::string iat, nbf, exp, err;
  for (const auto& [name, required, slot] :
       std::initializer_list<std::tuple<const char*, bool, std::string*>>{{"rid", true, &c.recommendation_id},
                                                                          {"rhash", true, &c.recommendation_hash},
                                                                          {"action", true, &c.action},
                                                                          {"aud", true, &c.audience},
                                                                          {"sub", true, &c.subject},
                                                                          {"iat", true, &iat},
                                                                          {"nbf", false, &nbf},
                                                                          {"exp", true, &exp},
                                                                          {"jti", true, &c.jti},
                                                                          {"iss", false, &c.issuer}}) {
    if (err = str(name, required, *slot); !err.empty()) return bad(err);
  }
  const auto dl = j.find("allow_data_loss");
  if (dl == j.end()) return bad("missing claim 'allow_data_loss'");
  if (!dl->is_boolean()) return bad("claim 'allow_data_loss' must be true or false");
  c.allow_data_loss = dl->get<bool>();

  if (!valid_id(c.recommendation_id, 128)) return bad("claim 'rid' must be 1..128 of [A-Za-z0-9._:-]");
  if (!valid_id(c.recommendation_hash, 128)) return bad("claim 'rhash' must be 1..128 of [A-Za-z0-9._:-]");
  if (c.action != "failover" && c.action != "failback" && c.action != acknowledge_cooldown_action &&
      !is_operator_action(c.action)) {
    return bad("claim 'action' must be failover, failback, acknowledge_cooldown or an operator command");
  }
  if (!printable(c.audience, 256)) return bad("claim 'aud' must be 1..256 printable ASCII characters");
  if (!valid_id(c.subject, 64, true)) return bad("claim 'sub' must be 1..64 of [A-Za-z0-9._@-]");
  if (!valid_jti(c.jti)) return bad("claim 'jti' must be 1..128 of [A-Za-z0-9._:-]");
  if (j.contains("iss") && !printable(c.issuer, 256)) return bad("claim 'iss' must be 1..256 printable characters");
  const auto t_iat = parse_rfc3339(iat);
  const auto t_exp = parse_rfc3339(exp);
  if (!t_iat) return bad("claim 'iat' is not an RFC 3339 date-time with a zone");
  if (!t_exp) return bad("claim 'exp' is not an RFC 3339 date-time with a zone");
  c.issued_at = *t_iat;
  c.expires_at = *t_exp;
  if (j.contains("nbf")) {
    c.not_before = parse_rfc3339(nbf);
    if (!c.not_before) return bad("claim 'nbf' is not an RFC 3339 date-time with a zone");
  }
  if (c.expires_at <= c.issued_at) return bad("claim 'exp' is not after 'iat'");
  return {std::move(c), {}};
}

}  // namespace vigil::approvals
