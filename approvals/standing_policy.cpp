// Standing approval policies: claims schema, signing, verification, refusals.
#include "approvals/standing_policy.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <array>
#include <set>
#include <stdexcept>

#include "approvals/approval.hpp"
#include "approvals/paseto.hpp"
#include "common/crypto.hpp"
#include "decision/canonical_json.hpp"

namespace vigil::approvals {

namespace {

using nlohmann::json;

constexpr std::array<std::string_view, standing_reason_count> reason_names{
    "ok",      "bad_format",    "bad_signature",     "subject_mismatch", "bad_claims",        "wrong_audience",
    "expired", "not_yet_valid", "lifetime_too_long", "wrong_plan_hash",  "different_content", "duplicate_signer",
    "revoked", "too_many",      "under_signed"};

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-';
}

bool valid_id(std::string_view s, std::size_t max, bool allow_at = false) {
  if (s.empty() || s.size() > max) return false;
  for (const char c : s)
    if (!id_char(c) && !(allow_at && c == '@')) return false;
  return true;
}

bool printable(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (const char c : s)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

bool hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (const char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

/// An integer in [lo, hi] at j[key]; nullopt (and `err` set) otherwise.
std::optional<std::int64_t> integer(const json& j, const char* key, std::int64_t lo, std::int64_t hi,
                                    std::string& err) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer() || it->get<std::int64_t>() < lo || it->get<std::int64_t>() > hi) {
    err = std::string(key) + ": expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
    return std::nullopt;
  }
  return it->get<std::int64_t>();
}

std::optional<std::string> text(const json& j, const char* key, std::string& err) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) {
    err = std::string(key) + ": expected a string";
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::optional<common::wall_time> when(const json& j, const char* key, std::string& err) {
  const auto s = text(j, key, err);
  if (!s) return std::nullopt;
  auto t = parse_rfc3339(*s);
  if (!t) err = std::string(key) + ": expected an RFC 3339 date-time with a zone";
  return t;
}

standing_verified refuse(standing_reason r, std::string message) {
  return {r, std::move(message), std::nullopt, {}};
}

}  // namespace

std::string_view to_string(standing_reason r) {
  return reason_names.at(static_cast<std::size_t>(r));
}

int http_status(standing_reason r) {
  switch (r) {
    case standing_reason::ok:
      return 202;
    case standing_reason::bad_signature:
    case standing_reason::subject_mismatch:
    case standing_reason::wrong_audience:
      return 403;
    case standing_reason::different_content:
    case standing_reason::duplicate_signer:
    case standing_reason::revoked:
    case standing_reason::wrong_plan_hash:
    case standing_reason::too_many:
      return 409;
    default:
      return 400;
  }
}

json policy_json(const standing_policy& p) {
  json cond{{"min_duration_s", p.conditions.min_duration.count() / 1000},
            {"min_vantages", p.conditions.min_vantages},
            {"max_lag_ms", p.conditions.max_lag.count()}};
  if (p.conditions.hours) cond["hours"] = decision::format_standing_hours(*p.conditions.hours);
  return json{{"purpose", standing_purpose},
              {"aud", p.audience},
              {"id", p.id},
              {"action", p.action},
              {"from", p.conditions.from},
              {"to", p.conditions.to},
              {"conditions", cond},
              {"plan_hash", p.plan_hash},
              {"iat", common::format_rfc3339(p.issued_at)},
              {"exp", common::format_rfc3339(p.expires_at)},
              {"uses", p.uses}};
}

std::string policy_hash(const standing_policy& p) {
  return decision::canonical_hash(policy_json(p));
}

policy_parse parse_policy(const json& j, bool with_subject) {
  policy_parse out;
  auto fail = [&](std::string e) {
    out.error = std::move(e);
    return out;
  };
  if (!j.is_object()) return fail("the claims are not a JSON object");
  static const std::set<std::string> keys{"purpose",    "aud",       "id",  "action", "from", "to",
                                          "conditions", "plan_hash", "iat", "exp",    "uses"};
  for (const auto& [k, v] : j.items()) {
    if (!keys.contains(k) && !(with_subject && k == "sub")) return fail("unknown claim '" + k + "'");
  }
  std::string err;
  standing_policy p;
  const auto purpose = text(j, "purpose", err);
  if (!purpose) return fail(err);
  if (*purpose != standing_purpose) return fail("purpose: expected \"standing\"");
  const auto aud = text(j, "aud", err);
  if (!aud || !printable(*aud, 256)) return fail("aud: expected 1..256 printable ASCII");
  p.audience = *aud;
  const auto id = text(j, "id", err);
  if (!id || !valid_id(*id, 64)) return fail("id: expected 1..64 of [A-Za-z0-9._:-]");
  p.id = *id;
  const auto action = text(j, "action", err);
  if (!action || *action != "failover") return fail("action: expected \"failover\"");
  const auto from = text(j, "from", err);
  const auto to = text(j, "to", err);
  if (!from || !to || !valid_id(*from, 64) || !valid_id(*to, 64) || *from == *to) {
    return fail("from, to: expected two different region names");
  }
  p.conditions.from = *from;
  p.conditions.to = *to;
  const auto c = j.find("conditions");
  if (c == j.end() || !c->is_object()) return fail("conditions: expected an object");
  for (const auto& [k, v] : c->items()) {
    if (k != "min_duration_s" && k != "min_vantages" && k != "max_lag_ms" && k != "hours") {
      return fail("unknown condition '" + k + "'");
    }
  }
  const auto dur = integer(*c, "min_duration_s", 1, 86400, err);
  const auto vant = integer(*c, "min_vantages", 1, 64, err);
  const auto lag = integer(*c, "max_lag_ms", 0, 3'600'000, err);
  if (!dur || !vant || !lag) return fail("conditions." + err);
  p.conditions.min_duration = std::chrono::seconds{*dur};
  p.conditions.min_vantages = static_cast<int>(*vant);
  p.conditions.max_lag = std::chrono::milliseconds{*lag};
  if (c->contains("hours")) {
    const auto h = text(*c, "hours", err);
    auto parsed = h ? decision::parse_standing_hours(*h) : std::nullopt;
    if (!parsed) return fail("conditions.hours: expected \"HH:MM-HH:MM\" (UTC), two different times");
    p.conditions.hours = parsed;
  }
  const auto ph = text(j, "plan_hash", err);
  if (!ph || !hex64(*ph)) return fail("plan_hash: expected 64 lowercase hex digits");
  p.plan_hash = *ph;
  const auto iat = when(j, "iat", err);
  if (!iat) return fail(err);
  const auto exp = when(j, "exp", err);
  if (!exp) return fail(err);
  if (*exp <= *iat) return fail("exp: expected after iat");
  p.issued_at = *iat;
  p.expires_at = *exp;
  const auto uses = integer(j, "uses", 1, max_standing_uses, err);
  if (!uses) return fail(err);
  p.uses = static_cast<int>(*uses);
  if (with_subject) {
    const auto sub = text(j, "sub", err);
    if (!sub || !valid_id(*sub, 64, true)) return fail("sub: expected 1..64 of [A-Za-z0-9._@-]");
    out.subject = *sub;
  }
  out.policy = std::move(p);
  return out;
}

std::string sign_standing(const ed25519_key& key, const standing_policy& p, const std::string& signer) {
  json claims = policy_json(p);
  claims["sub"] = signer;
  return paseto_v4_sign(key, claims.dump());
}

std::string new_policy_id() {
  return "sp-" + common::random_hex(8);
}

standing_verifier::standing_verifier(std::string deployment, const common::approvals_config& cfg,
                                     common::duration max_standing_ttl)
    : deployment_(std::move(deployment)), max_skew_(cfg.max_skew), max_ttl_(max_standing_ttl) {
  for (const auto& a : cfg.approvers) {
    auto k = ed25519_key::from_public_pem(a.public_key_pem);
    if (!k.key)
      throw std::invalid_argument("approvals.approvers '" + a.id + "' (" + a.public_key_file + "): " + k.error);
    approvers_.push_back({a.id, std::move(k.key)});
  }
}

standing_verifier::~standing_verifier() = default;

standing_verified standing_verifier::verify(std::string_view token, common::wall_time now,
                                            const std::string& plan_hash) const {
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r'))
    token.remove_suffix(1);
  const auto parsed = paseto_v4_parse(token);
  if (!parsed.parts) return refuse(standing_reason::bad_format, parsed.detail);
  const approver_key* signer = nullptr;
  for (const auto& a : approvers_) {
    if (paseto_v4_verify(*a.key, *parsed.parts)) {
      signer = &a;
      break;
    }
  }
  if (!signer) return refuse(standing_reason::bad_signature, "no configured approver's key verifies this token");
  const json claims = json::parse(parsed.parts->message, nullptr, false);
  auto pp = parse_policy(claims, true);
  if (!pp.policy) return refuse(standing_reason::bad_claims, pp.error);
  if (pp.subject != signer->id) {
    return refuse(standing_reason::subject_mismatch,
                  "signed with approver '" + signer->id + "''s key but names '" + pp.subject + "'");
  }
  const auto& p = *pp.policy;
  if (p.audience != deployment_) {
    return refuse(standing_reason::wrong_audience,
                  "the policy is for deployment '" + p.audience + "', this is '" + deployment_ + "'");
  }
  if (now >= p.expires_at + max_skew_) {
    return refuse(standing_reason::expired, "the policy expired at " + common::format_rfc3339(p.expires_at));
  }
  if (now + max_skew_ < p.issued_at) {
    return refuse(standing_reason::not_yet_valid,
                  "the policy was issued at " + common::format_rfc3339(p.issued_at) + ", after now");
  }
  if (p.expires_at - p.issued_at > max_ttl_) {
    return refuse(standing_reason::lifetime_too_long,
                  "the policy lives " + std::to_string((p.expires_at - p.issued_at).count() / 1000) + " s; at most " +
                      std::to_string(max_ttl_.count() / 1000) + " s (approvals.max_standing_ttl)");
  }
  if (p.plan_hash != plan_hash) {
    return refuse(standing_reason::wrong_plan_hash, "the policy is bound to plan " + p.plan_hash.substr(0, 12) +
                                                        "..., the configured plan is " + plan_hash.substr(0, 12) +
                                                        "... (GET /v1/standing shows it)");
  }
  return {standing_reason::ok, {}, std::move(pp.policy), signer->id};
}

standing_collection::standing_collection(standing_policy p, int required)
    : policy_(std::move(p)), hash_(policy_hash(policy_)), required_(std::max(1, required)) {}

std::optional<standing_verified> standing_collection::add(const standing_verified& v, std::string token) {
  if (!v.policy || policy_hash(*v.policy) != hash_) {
    return refuse(
        standing_reason::different_content,
        "policy " + policy_.id + " was first signed with other content; sign the policy GET /v1/standing shows");
  }
  for (const auto& s : signatures_) {
    if (s.signer == v.signer) {
      return refuse(standing_reason::duplicate_signer, v.signer + " already signed policy " + policy_.id);
    }
  }
  signatures_.push_back({v.signer, std::move(token)});
  return std::nullopt;
}

std::vector<std::string> standing_collection::signers() const {
  std::vector<std::string> out;
  for (const auto& s : signatures_)
    out.push_back(s.signer);
  return out;
}

standing_refusals::standing_refusals(prometheus::Registry& registry) {
  auto& family = prometheus::BuildCounter()
                     .Name("vigil_standing_refused_total")
                     .Help("Standing approval tokens refused, by reason")
                     .Register(registry);
  for (std::size_t i = 1; i < reason_names.size(); ++i)
    counters_.push_back(&family.Add({{"reason", std::string(reason_names[i])}}));
}

void standing_refusals::count(standing_reason r) {
  if (r == standing_reason::ok) return;
  counters_.at(static_cast<std::size_t>(r) - 1)->Increment();
}

}  // namespace vigil::approvals
