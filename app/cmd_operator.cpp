// vigil silence | brake | plan | propose: signed operator commands on a
// running engine (docs/approvals.md, "Operator commands"; docs/runbook.md).
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <ostream>

#include "app/cli.hpp"
#include "app/cli_signing.hpp"
#include "app/commands.hpp"
#include "approvals/command_token.hpp"
#include "common/clock.hpp"
#include "common/duration.hpp"
#include "common/http_client.hpp"

namespace vigil::app {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto command_ttl = 5min;

struct session {
  std::string cmd;  ///< "silence create", for messages
  std::string engine;
  std::chrono::milliseconds timeout{10s};
  std::string read_token;  ///< --engine-token or $VIGIL_ENGINE_TOKEN: sent as a bearer token
};

common::http_reply call(const session& s, const std::string& method, const std::string& path,
                        const std::string& body = {}) {
  std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"},
                                                           {"Accept", "application/json"}};
  add_bearer(headers, s.read_token);
  return common::http_perform({method, s.engine + path, std::move(headers), body, s.timeout,
                               std::min<std::chrono::milliseconds>(s.timeout, 5s)});
}

/// GET /v1/status, or nullopt after printing why.
std::optional<json> engine_status(const session& s, command_io& io) {
  const auto r = call(s, "GET", "/v1/status");
  if (!r.transport_ok() || r.status != 200) {
    io.err << "vigil " << s.cmd << ": GET " << s.engine << "/v1/status: " << (r.transport_ok() ? r.body : r.error)
           << "\n";
    return std::nullopt;
  }
  json doc = json::parse(r.body, nullptr, false);
  if (!doc.is_object()) {
    io.err << "vigil " << s.cmd << ": the engine's status is not JSON\n";
    return std::nullopt;
  }
  return doc;
}

/// Signs `body` with --key and POSTs it to `path`; the engine's answer printed
/// (or, with `accepted`, stored there for the caller to print).
int submit(const session& s, const parsed_args& a, const std::string& path, const json& body, command_io& io,
           json* accepted = nullptr) {
  if (const auto why = approvals::check_command(body, approvals::command_limits{std::chrono::hours(24 * 31)})) {
    io.err << "vigil " << s.cmd << ": " << *why << "\n";
    return exit_usage;
  }
  auto key = load_signer(a, s.cmd, io);
  if (!key) return exit_usage;
  const auto st = engine_status(s, io);
  if (!st) return exit_failed;
  const std::string deployment = st->value("deployment", std::string{});
  const common::real_clock clock;
  const json request = approvals::sign_command(*key->key, body, deployment, key->id, clock.wall(), command_ttl);
  const auto r = call(s, "POST", path, request.dump());
  if (!r.transport_ok()) {
    io.err << "vigil " << s.cmd << ": POST " << s.engine << path << ": " << r.error << "\n";
    return exit_failed;
  }
  const json answer = json::parse(r.body, nullptr, false);
  if (r.status == 202 || r.status == 200 || r.status == 201) {
    if (accepted != nullptr) {
      *accepted = answer.is_object() ? answer : json::object();
      return exit_ok;
    }
    io.out << "accepted: " << (answer.is_object() ? answer.dump() : r.body) << "\n";
    return exit_ok;
  }
  io.err << "vigil " << s.cmd << ": refused (" << r.status << ")";
  if (answer.is_object() && answer.contains("error")) {
    io.err << ": " << answer.value("error", std::string{}) << ": " << answer.value("message", std::string{});
  } else {
    io.err << ": " << r.body;
  }
  io.err << "\n";
  return exit_failed;
}

const std::vector<option_spec>& common_specs() {
  static const std::vector<option_spec> specs{
      {"engine", "URL", "the engine's base URL", true},
      {"key", "FILE", "your private key (from `vigil keygen`); an approver's key"},
      {"approver", "ID", "your approver id (default: the key file's name without .key)"},
      {"by", "ID", "same as --approver"},
      {"reason", "TEXT", "why (at most 512 bytes; journaled and audited)"},
      {"scope", "SCOPE", "silence create: region:NAME | service:NAME | check:ID | all"},
      {"duration", "DURATION", "silence create: how long (e.g. 2h; at most silences.max_duration)"},
      {"id", "ID", "silence create: the silence id (default: generated)"},
      {"recommendation", "ID", "plan: the plan's recommendation id (default: the running plan's)"},
      engine_token_spec(),
      {"timeout", "DURATION", "HTTP timeout (default 10s)"}};
  return specs;
}

/// Parses; nullopt with `rc` set when the command should stop there.
std::optional<parsed_args> parse(const std::vector<std::string>& args, const std::string& cmd, const char* usage,
                                 command_io& io, int& rc, session& s) {
  auto parsed = parse_args(args, common_specs(), 2);
  if (!parsed.args) {
    io.err << "vigil " << cmd << ": " << parsed.error << "\n";
    rc = exit_usage;
    return std::nullopt;
  }
  if (parsed.args->help) {
    io.out << usage << "\n" << format_options(common_specs());
    rc = exit_ok;
    return std::nullopt;
  }
  auto& a = *parsed.args;
  if (a.has("by") && !a.has("approver")) a.values["approver"] = a.all("by");
  const auto timeout = duration_arg(a, "timeout", 10s, cmd, io);
  if (!timeout) {
    rc = exit_usage;
    return std::nullopt;
  }
  s = session{cmd, trim_url(a.get_or("engine", "")), *timeout, engine_token(a)};
  return std::move(parsed.args);
}

bool needs(const parsed_args& a, std::initializer_list<const char*> keys, const std::string& cmd, command_io& io) {
  for (const char* k : keys) {
    if (!a.has(k)) {
      io.err << "vigil " << cmd << ": --" << k << " is required\n";
      return false;
    }
  }
  return true;
}

}  // namespace

int cmd_silence(const std::vector<std::string>& args, command_io& io) {
  const char* usage =
      "Usage: vigil silence create --engine URL --key KEY --scope SCOPE --duration D --reason TEXT [--by ID]\n"
      "       vigil silence list --engine URL\n"
      "       vigil silence expire --engine URL --key KEY --reason TEXT ID\n\n"
      "A silence blocks the not_silenced gate for what it covers and holds or downgrades its pages\n"
      "(silences.pages). Create and expire are signed with an approver's key.";
  int rc = exit_usage;
  session s;
  const auto a = parse(args, "silence", usage, io, rc, s);
  if (!a) return rc;
  const std::string verb = a->positional.empty() ? "" : a->positional[0];
  s.cmd = "silence " + verb;
  if (verb == "list") {
    const auto r = call(s, "GET", "/v1/silences");
    if (!r.transport_ok() || r.status != 200) {
      io.err << "vigil silence list: " << (r.transport_ok() ? r.body : r.error) << "\n";
      return exit_failed;
    }
    const json doc = json::parse(r.body, nullptr, false);
    for (const auto& x : doc.value("silences", json::array())) {
      io.out << x.value("id", std::string{}) << "  " << x.value("scope", std::string{}) << "  until "
             << x.value("until", std::string{}) << "  by " << x.value("by", std::string{}) << "  "
             << x.value("reason", std::string{}) << "\n";
    }
    if (doc.value("silences", json::array()).empty()) io.out << "no active silences\n";
    return exit_ok;
  }
  if (verb == "create") {
    if (!needs(*a, {"key", "scope", "duration", "reason"}, s.cmd, io)) return exit_usage;
    const auto d = common::parse_duration(*a->get("duration"));
    if (!d || d->count() < 1000) {
      io.err << "vigil silence create: --duration must be a duration of at least 1s, like 2h\n";
      return exit_usage;
    }
    const json body{{"action", "silence"},
                    {"id", a->get_or("id", "s-" + approvals::new_jti().substr(0, 12))},
                    {"scope", *a->get("scope")},
                    {"duration_s", std::chrono::duration_cast<std::chrono::seconds>(*d).count()},
                    {"reason", *a->get("reason")}};
    return submit(s, *a, "/v1/silences", body, io);
  }
  if (verb == "expire") {
    if (a->positional.size() != 2) {
      io.err << "vigil silence expire: name the silence: vigil silence expire --engine URL --key KEY ID\n";
      return exit_usage;
    }
    if (!needs(*a, {"key"}, s.cmd, io)) return exit_usage;
    const json body{
        {"action", "unsilence"}, {"id", a->positional[1]}, {"reason", a->get_or("reason", "expired by hand")}};
    return submit(s, *a, "/v1/silences/expire", body, io);
  }
  io.err << "vigil silence: expected create, list or expire\n" << usage << "\n";
  return exit_usage;
}

int cmd_brake(const std::vector<std::string>& args, command_io& io) {
  const char* usage =
      "Usage: vigil brake on|off --engine URL --key KEY --reason TEXT\n\n"
      "Under the actuation brake the engine detects, pages, recommends and counts approvals,\n"
      "but no plan step ever runs: an approved plan waits before its next step.";
  int rc = exit_usage;
  session s;
  const auto a = parse(args, "brake", usage, io, rc, s);
  if (!a) return rc;
  const std::string verb = a->positional.empty() ? "" : a->positional[0];
  if ((verb != "on" && verb != "off") || a->positional.size() != 1) {
    io.err << "vigil brake: expected on or off\n" << usage << "\n";
    return exit_usage;
  }
  s.cmd = "brake " + verb;
  if (!needs(*a, {"key", "reason"}, s.cmd, io)) return exit_usage;
  return submit(s, *a, "/v1/brake", json{{"action", "brake_" + verb}, {"reason", *a->get("reason")}}, io);
}

int cmd_plan(const std::vector<std::string>& args, command_io& io) {
  const char* usage =
      "Usage: vigil plan abort|pause|resume --engine URL --key KEY --reason TEXT [--recommendation ID]\n\n"
      "abort: the plan stops before its next step (a running step is cancelled when it can be);\n"
      "the journal says what was done and what was not. pause: the plan waits before its next\n"
      "step until resume.";
  int rc = exit_usage;
  session s;
  const auto a = parse(args, "plan", usage, io, rc, s);
  if (!a) return rc;
  const std::string verb = a->positional.empty() ? "" : a->positional[0];
  if ((verb != "abort" && verb != "pause" && verb != "resume") || a->positional.size() != 1) {
    io.err << "vigil plan: expected abort, pause or resume\n" << usage << "\n";
    return exit_usage;
  }
  s.cmd = "plan " + verb;
  if (!needs(*a, {"key", "reason"}, s.cmd, io)) return exit_usage;
  std::string rid = a->get_or("recommendation", "");
  if (rid.empty()) {
    const auto st = engine_status(s, io);
    if (!st) return exit_failed;
    const json plan = st->value("plan", json(nullptr));
    if (!plan.is_object() || plan.value("state", std::string{}) != "executing") {
      io.err << "vigil " << s.cmd << ": no plan is running on " << s.engine << "\n";
      return exit_failed;
    }
    rid = plan.value("recommendation_id", std::string{});
  }
  const json body{{"action", "plan_" + verb}, {"recommendation_id", rid}, {"reason", *a->get("reason")}};
  return submit(s, *a, "/v1/plan/" + verb, body, io);
}

int cmd_propose(const std::vector<std::string>& args, command_io& io) {
  const char* usage =
      "Usage: vigil propose failback|failover --engine URL --key KEY [--approver ID] [--reason TEXT]\n\n"
      "Asks the engine to create a recommendation, signed with an approver's key (the engine\n"
      "records the key's approver as the proposer). failback: back to the primary region, gated on\n"
      "it being healthy, replication towards it within budget and the cooldown; then approve it with\n"
      "`vigil approve`. Exit 0 when the engine created it, 1 when it refused (the reason is printed).";
  int rc = exit_usage;
  session s;
  const auto a = parse(args, "propose", usage, io, rc, s);
  if (!a) return rc;
  if (a->positional.size() != 1 || (a->positional[0] != "failback" && a->positional[0] != "failover")) {
    io.err << "vigil propose: expected the action: failback or failover\n";
    return exit_usage;
  }
  const std::string kind = a->positional[0];
  s.cmd = "propose " + kind;
  if (!needs(*a, {"key"}, s.cmd, io)) return exit_usage;
  const json body{{"action", "propose"}, {"kind", kind}, {"reason", a->get_or("reason", "operator proposes " + kind)}};
  json answer;
  const int out = submit(s, *a, "/v1/propose", body, io, &answer);
  if (out != exit_ok) return out;
  io.out << "proposed " << kind << ": recommendation " << answer.value("recommendation_id", std::string{}) << " (by "
         << answer.value("by", std::string{}) << ")\n"
         << "review and approve it: vigil approve --engine " << s.engine << " --key YOU.key\n";
  return exit_ok;
}

}  // namespace vigil::app
