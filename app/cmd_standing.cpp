// vigil approve --standing | --revoke-standing, vigil standing: standing
// approvals on a running engine (docs/approvals.md, "Standing approvals").
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <ostream>

#include "app/cli.hpp"
#include "app/cli_signing.hpp"
#include "app/commands.hpp"
#include "approvals/command_token.hpp"
#include "approvals/standing_policy.hpp"
#include "common/clock.hpp"
#include "common/duration.hpp"
#include "common/http_client.hpp"

namespace vigil::app {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct link {
  std::string engine;
  std::string token;
  std::chrono::milliseconds timeout{10s};
  common::http_reply call(const std::string& method, const std::string& path, const std::string& body = {}) const {
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"},
                                                             {"Accept", "application/json"}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return common::http_perform(
        {method, engine + path, std::move(headers), body, timeout, std::min<std::chrono::milliseconds>(timeout, 5s)});
  }
};

const std::vector<option_spec>& specs() {
  static const std::vector<option_spec> s{
      {"engine", "URL", "the engine's base URL", true},
      {"engine-token", "TOKEN", "bearer token for the engine's read routes (engine.read_tokens_file)"},
      {"key", "FILE", "your private key (an approver's)"},
      {"approver", "ID", "your approver id (default: the key file's name without .key)"},
      {"standing", "", "sign a standing approval (a new policy, or --sign ID an existing one)"},
      {"sign", "ID", "co-sign the pending policy ID exactly as the engine shows it"},
      {"revoke-standing", "ID", "revoke (disarm) the standing approval ID at once"},
      {"reason", "TEXT", "why (revocation; journaled and audited)"},
      {"action", "ACTION", "failover (the only action a standing approval allows)"},
      {"from", "REGION", "the region failed over from"},
      {"to", "REGION", "the region failed over to"},
      {"min-duration", "DURATION", "regional_outage confirmed at least this long (default 2m)"},
      {"min-vantages", "N", "seen by at least N vantages (default 2)"},
      {"max-lag", "DURATION", "replication lag known and at most this (default 5s; never above the RPO)"},
      {"hours", "HH:MM-HH:MM", "only within these UTC hours"},
      {"ttl", "DURATION", "how long the policy stays armed (default 7d; at most approvals.max_standing_ttl)"},
      {"uses", "N", "automatic failovers it allows (default 1)"},
      {"yes", "", "do not ask for confirmation"},
      {"timeout", "DURATION", "HTTP timeout (default 10s)"}};
  return s;
}

std::optional<json> get_standing(const link& l, const std::string& cmd, command_io& io) {
  const auto r = l.call("GET", "/v1/standing");
  if (!r.transport_ok() || r.status != 200) {
    io.err << "vigil " << cmd << ": GET " << l.engine << "/v1/standing: " << (r.transport_ok() ? r.body : r.error)
           << "\n";
    return std::nullopt;
  }
  json doc = json::parse(r.body, nullptr, false);
  if (!doc.is_object()) {
    io.err << "vigil " << cmd << ": the engine's answer is not JSON\n";
    return std::nullopt;
  }
  return doc;
}

int answer(const common::http_reply& r, const std::string& cmd, const std::string& path, command_io& io) {
  if (!r.transport_ok()) {
    io.err << "vigil " << cmd << ": POST " << path << ": " << r.error << "\n";
    return exit_failed;
  }
  const json doc = json::parse(r.body, nullptr, false);
  if (r.status == 200 || r.status == 202) {
    io.out << "accepted: " << (doc.is_object() ? doc.value("banner", doc.dump()) : r.body) << "\n";
    if (doc.is_object() && doc.contains("state"))
      io.out << "state: " << doc.value("state", std::string{}) << " (" << doc.value("signatures", 0) << " of "
             << doc.value("required", 1) << " signatures)\n";
    return exit_ok;
  }
  io.err << "vigil " << cmd << ": refused (" << r.status << ")";
  if (doc.is_object() && doc.contains("error"))
    io.err << ": " << doc.value("error", std::string{}) << ": " << doc.value("message", std::string{});
  else
    io.err << ": " << r.body;
  io.err << "\n";
  return exit_failed;
}

std::optional<int> int_arg(const parsed_args& a, const char* name, int fallback, int lo, int hi, command_io& io) {
  if (!a.has(name)) return fallback;
  const std::string v = a.get_or(name, "");
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < lo || n > hi) {
    io.err << "vigil approve: --" << name << " " << v << ": expected an integer in " << lo << ".." << hi << "\n";
    return std::nullopt;
  }
  return static_cast<int>(n);
}

/// The new policy from the command line; nullopt after printing why.
std::optional<approvals::standing_policy> policy_from_args(const parsed_args& a, const json& st, command_io& io) {
  approvals::standing_policy p;
  if (a.get_or("action", "failover") != "failover") {
    io.err << "vigil approve: --action: a standing approval allows failover only\n";
    return std::nullopt;
  }
  if (!a.has("from") || !a.has("to")) {
    io.err << "vigil approve: --standing needs --from REGION and --to REGION\n";
    return std::nullopt;
  }
  p.id = approvals::new_policy_id();
  p.audience = st.value("deployment", std::string{});
  p.plan_hash = st.value("plan_hash", std::string{});
  p.conditions.from = a.get_or("from", "");
  p.conditions.to = a.get_or("to", "");
  const auto dur = duration_arg(a, "min-duration", 2min, "approve", io);
  const auto lag = duration_arg(a, "max-lag", 5s, "approve", io);
  const auto ttl = duration_arg(a, "ttl", std::chrono::hours(24 * 7), "approve", io);
  const auto vantages = int_arg(a, "min-vantages", 2, 1, 64, io);
  const auto uses = int_arg(a, "uses", 1, 1, approvals::max_standing_uses, io);
  if (!dur || !lag || !ttl || !vantages || !uses) return std::nullopt;
  p.conditions.min_duration = std::chrono::duration_cast<std::chrono::seconds>(*dur);
  p.conditions.max_lag = *lag;
  p.conditions.min_vantages = *vantages;
  p.uses = *uses;
  if (a.has("hours")) {
    p.conditions.hours = decision::parse_standing_hours(a.get_or("hours", ""));
    if (!p.conditions.hours) {
      io.err << "vigil approve: --hours: expected HH:MM-HH:MM (UTC), two different times\n";
      return std::nullopt;
    }
  }
  const common::real_clock clock;
  p.issued_at = std::chrono::floor<std::chrono::seconds>(clock.wall());
  p.expires_at = p.issued_at + std::chrono::duration_cast<std::chrono::seconds>(*ttl);
  const auto max_ttl = std::chrono::seconds{st.value("max_ttl_s", std::int64_t{0})};
  if (max_ttl.count() > 0 && p.expires_at - p.issued_at > max_ttl) {
    io.err << "vigil approve: --ttl " << common::format_duration(*ttl) << " is longer than the engine accepts ("
           << common::format_duration(max_ttl) << ")\n";
    return std::nullopt;
  }
  if (const auto check = approvals::parse_policy(approvals::policy_json(p), false); !check.policy) {
    io.err << "vigil approve: " << check.error << "\n";
    return std::nullopt;
  }
  return p;
}

bool confirm(const approvals::standing_policy& p, const std::string& who, command_io& io) {
  io.out << "Standing approval " << p.id << " for deployment " << p.audience << ":\n"
         << "  automatic failover " << p.conditions.from << " -> " << p.conditions.to << "\n"
         << "  when " << p.conditions.from
         << " is in regional_outage for >= " << p.conditions.min_duration.count() / 1000
         << " s from >= " << p.conditions.min_vantages << " vantages, lag <= " << p.conditions.max_lag.count()
         << " ms (and within the RPO), dr ready,\n"
         << "  no cooldown, silence or brake"
         << (p.conditions.hours ? ", " + decision::format_standing_hours(*p.conditions.hours) + " UTC" : "")
         << "\n  uses: " << p.uses << ", until " << common::format_rfc3339(p.expires_at) << "\n"
         << "  plan: " << p.plan_hash << "\n\nSign it as '" << who << "'? [y/N] " << std::flush;
  std::string yes;
  std::getline(io.in, yes);
  return yes == "y" || yes == "Y" || yes == "yes";
}

int sign_standing(const parsed_args& a, const link& l, command_io& io) {
  auto key = load_signer(a, "approve", io);
  if (!key) return exit_usage;
  const auto st = get_standing(l, "approve", io);
  if (!st) return exit_failed;
  std::optional<approvals::standing_policy> p;
  if (a.has("sign")) {
    const std::string id = a.get_or("sign", "");
    for (const auto& e : st->value("policies", json::array())) {
      if (e.value("id", std::string{}) != id) continue;
      auto parsed = approvals::parse_policy(e.value("policy", json::object()), false);
      if (!parsed.policy) {
        io.err << "vigil approve: the engine's policy " << id << " does not parse: " << parsed.error << "\n";
        return exit_failed;
      }
      p = std::move(parsed.policy);
    }
    if (!p) {
      io.err << "vigil approve: the engine has no pending policy " << id << " (vigil standing lists them)\n";
      return exit_failed;
    }
  } else {
    p = policy_from_args(a, *st, io);
    if (!p) return exit_usage;
  }
  if (!a.has("yes") && !confirm(*p, key->id, io)) {
    io.err << "vigil approve: not signed\n";
    return exit_failed;
  }
  const std::string token = approvals::sign_standing(*key->key, *p, key->id);
  return answer(l.call("POST", "/v1/standing", json{{"token", token}}.dump()), "approve", l.engine + "/v1/standing",
                io);
}

int revoke_standing(const parsed_args& a, const link& l, command_io& io) {
  auto key = load_signer(a, "approve", io);
  if (!key) return exit_usage;
  const auto st = get_standing(l, "approve", io);
  if (!st) return exit_failed;
  const json body{{"action", "standing_revoke"},
                  {"id", a.get_or("revoke-standing", "")},
                  {"reason", a.get_or("reason", "revoked by " + key->id)}};
  if (const auto why = approvals::check_command(body, {})) {
    io.err << "vigil approve: " << *why << "\n";
    return exit_usage;
  }
  const common::real_clock clock;
  const json request =
      approvals::sign_command(*key->key, body, st->value("deployment", std::string{}), key->id, clock.wall(), 5min);
  return answer(l.call("POST", "/v1/standing/revoke", request.dump()), "approve", l.engine + "/v1/standing/revoke", io);
}

std::optional<link> open_link(const parsed_args& a, const std::string& cmd, command_io& io) {
  const auto timeout = duration_arg(a, "timeout", 10s, cmd, io);
  if (!timeout) return std::nullopt;
  const char* env_token = std::getenv("VIGIL_ENGINE_TOKEN");
  return link{trim_url(a.get_or("engine", "")), a.get_or("engine-token", env_token != nullptr ? env_token : ""),
              *timeout};
}

}  // namespace

bool is_standing_approve(const std::vector<std::string>& args) {
  for (const auto& s : args)
    if (s == "--standing" || s == "--revoke-standing" || s.starts_with("--revoke-standing=")) return true;
  return false;
}

int cmd_approve_standing(const std::vector<std::string>& args, command_io& io) {
  auto parsed = parse_args(args, specs());
  if (!parsed.args) {
    io.err << "vigil approve: " << parsed.error << "\n";
    return exit_usage;
  }
  const auto& a = *parsed.args;
  if (a.help) {
    io.out << "Usage: vigil approve --standing --from R --to R [--min-duration 2m] [--min-vantages 2] [--max-lag 5s]\n"
              "                     [--hours 08:00-20:00] [--ttl 7d] [--uses 1] --key FILE --engine URL\n"
              "       vigil approve --standing --sign ID --key FILE --engine URL\n"
              "       vigil approve --revoke-standing ID [--reason TEXT] --key FILE --engine URL\n\n"
              "Signs a standing approval: the engine starts the failover plan itself, at most --uses times,\n"
              "while every condition holds, once approvals.required approvers signed the same policy.\n\n"
           << format_options(specs());
    return exit_ok;
  }
  const auto l = open_link(a, "approve", io);
  if (!l) return exit_usage;
  if (a.has("revoke-standing")) return revoke_standing(a, *l, io);
  return sign_standing(a, *l, io);
}

int cmd_standing(const std::vector<std::string>& args, command_io& io) {
  auto parsed = parse_args(args, specs());
  if (!parsed.args) {
    io.err << "vigil standing: " << parsed.error << "\n";
    return exit_usage;
  }
  if (parsed.args->help) {
    io.out << "Usage: vigil standing --engine URL\n\nLists the engine's standing approvals (pending, armed, used) "
              "and the plan hash a new one must bind.\n\n"
           << format_options(specs());
    return exit_ok;
  }
  const auto l = open_link(*parsed.args, "standing", io);
  if (!l) return exit_usage;
  const auto st = get_standing(*l, "standing", io);
  if (!st) return exit_failed;
  io.out << "deployment " << st->value("deployment", std::string{}) << ", plan "
         << st->value("plan_hash", std::string{}) << ", " << st->value("required", 1) << " signature(s) required\n";
  const auto& list = (*st)["policies"];
  if (!list.is_array() || list.empty()) io.out << "no standing approvals\n";
  for (const auto& e : list) {
    io.out << e.value("id", std::string{}) << "  " << e.value("state", std::string{}) << "  signed by "
           << e.value("signed_by", json::array()).dump() << "  uses left " << e.value("uses_left", 0) << "  until "
           << e.value("expires_at", std::string{}) << "\n  " << e.value("banner", std::string{}) << "\n";
    if (e.contains("last_evaluation"))
      io.out << "  last evaluation: " << e["last_evaluation"].value("hold", std::string{}) << ": "
             << e["last_evaluation"].value("detail", std::string{}) << "\n";
  }
  return exit_ok;
}

}  // namespace vigil::app
