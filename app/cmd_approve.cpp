// vigil approve: review the engine's current recommendation, sign an approval
// bound to its hash, and submit it (docs/approvals.md).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "app/cli.hpp"
#include "app/cli_signing.hpp"
#include "app/commands.hpp"
#include "approvals/approval.hpp"
#include "approvals/keys.hpp"
#include "common/clock.hpp"
#include "common/duration.hpp"
#include "common/http_client.hpp"
#include "decision/recommendation.hpp"

namespace vigil::app {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto default_ttl = 10min;
constexpr auto default_max_ttl = 15min;

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

/// The engine's advertised max TTL: "max_ttl": "15m" or "max_ttl_s": 900
/// (top level or under "approvals"); nullopt when it advertises none.
std::optional<std::chrono::milliseconds> advertised_max_ttl(const json& rec) {
  for (const json* scope :
       {&rec, rec.contains("approvals") && rec["approvals"].is_object() ? &rec["approvals"] : &rec}) {
    if (const auto it = scope->find("max_ttl"); it != scope->end() && it->is_string()) {
      if (auto d = common::parse_duration(it->get<std::string>())) return d;
    }
    if (const auto it = scope->find("max_ttl_s"); it != scope->end() && it->is_number()) {
      return std::chrono::milliseconds{static_cast<std::int64_t>(it->get<double>() * 1000)};
    }
  }
  return std::nullopt;
}

void show(const json& rec, const std::string& deployment, std::ostream& os) {
  os << "Recommendation " << str(rec, "id") << " (hash " << str(rec, "hash") << ")\n"
     << "  deployment: " << deployment << "\n"
     << "  action:     " << str(rec, "action") << " " << str(rec, "from") << " -> " << str(rec, "to") << "\n";
  if (rec.contains("state")) os << "  state:      " << str(rec, "state") << "\n";
  if (rec.contains("expires_at")) os << "  expires at: " << str(rec, "expires_at") << "\n";
  if (const auto g = rec.find("gates"); g != rec.end() && g->is_array()) {
    os << "  gates:\n";
    for (const auto& gate : *g) {
      const bool ok = gate.value("ok", false);
      os << "    [" << (ok ? "ok  " : "FAIL") << "] " << str(gate, "name");
      if (const auto d = str(gate, "detail"); !d.empty()) os << ": " << d;
      os << "\n";
    }
  }
  {
    std::optional<std::int64_t> loss_ms;
    if (const auto it = rec.find("expected_data_loss_ms"); it != rec.end() && it->is_number()) {
      loss_ms = static_cast<std::int64_t>(it->get<double>());
    }
    os << "  database:   " << decision::promotion_statement(rec.value("planned", false), loss_ms) << "\n";
  }
  if (rec.value("allow_data_loss_required", false)) {
    os << "  DATA LOSS:  beyond the RPO budget or unknown; approving requires --allow-data-loss";
    if (const auto it = rec.find("expected_data_loss_ms"); it != rec.end() && it->is_number()) {
      os << " (expected up to " << it->get<double>() / 1000.0 << " s of writes)";
    }
    os << "\n";
  } else if (const auto it = rec.find("expected_data_loss_ms"); it != rec.end() && it->is_number()) {
    os << "  expected data loss: up to " << it->get<double>() / 1000.0 << " s of writes\n";
  }
  const json* steps = nullptr;
  if (const auto p = rec.find("plan"); p != rec.end()) {
    steps = p->is_array() ? &*p : (p->is_object() && p->contains("steps") ? &(*p)["steps"] : nullptr);
  }
  if (steps && steps->is_array()) {
    os << "  plan:\n";
    int n = 0;
    for (const auto& s : *steps) {
      os << "    " << ++n << ". ";
      if (s.is_string())
        os << s.get<std::string>();
      else
        os << str(s, "name") << (s.contains("kind") ? " (" + str(s, "kind") + ")" : "");
      os << "\n";
    }
  }
  if (const auto a = rec.find("approvals"); a != rec.end() && a->is_object() && a->contains("count")) {
    os << "  approvals so far: " << a->value("count", 0);
    if (a->contains("required")) os << " of " << a->value("required", 1);
    os << "\n";
  }
}

/// The recommendation's cooldown gate fails (the /v1/recommendation shape:
/// gates [{name, ok, blocking, detail}]).
bool cooldown_blocks(const json& rec) {
  if (!rec.contains("gates") || !rec["gates"].is_array()) return false;
  return std::any_of(rec["gates"].begin(), rec["gates"].end(), [](const json& g) {
    return g.is_object() && g.value("name", std::string{}) == "cooldown" && !g.value("ok", true);
  });
}

/// The recommendation's JSON text, from --recommendation-file or GET
/// URL/v1/recommendation; exit_ok or the exit code after printing why not.
int read_recommendation(const parsed_args& a, const std::string& engine, std::chrono::milliseconds timeout,
                        command_io& io, std::string& body) {
  if (const auto f = a.get("recommendation-file")) {
    std::ifstream in(*f);
    if (!in) {
      io.err << "vigil approve: cannot read " << *f << "\n";
      return exit_usage;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    body = ss.str();
  } else {
    std::vector<std::pair<std::string, std::string>> headers{{"Accept", "application/json"}};
    add_bearer(headers, engine_token(a));
    const auto r = common::http_perform({"GET",
                                         engine + "/v1/recommendation",
                                         std::move(headers),
                                         {},
                                         timeout,
                                         std::min<std::chrono::milliseconds>(timeout, 5s)});
    if (!r.transport_ok()) {
      io.err << "vigil approve: GET " << engine << "/v1/recommendation: " << r.error << "\n";
      return exit_failed;
    }
    if (r.status == 404) {
      io.err << "vigil approve: the engine has no current recommendation; nothing to approve\n";
      return exit_failed;
    }
    if (r.status != 200) {
      io.err << "vigil approve: GET " << engine << "/v1/recommendation answered " << r.status << ": " << r.body << "\n";
      return exit_failed;
    }
    body = r.body;
  }
  return exit_ok;
}

/// Asks on `view` and reads the answer from stdin: true for y or yes.
bool confirmed(const json& rec, const std::string& approver, bool ack, bool allow_data_loss, std::ostream& view,
               command_io& io) {
  if (ack) {
    view << "\nAcknowledge the cooldown blocking " << str(rec, "action") << " " << str(rec, "from") << " -> "
         << str(rec, "to") << " as '" << approver << "'? [y/N] " << std::flush;
  } else {
    view << "\nApprove " << str(rec, "action") << " " << str(rec, "from") << " -> " << str(rec, "to") << " as '"
         << approver << "'" << (allow_data_loss ? ", ALLOWING DATA LOSS" : "") << "? [y/N] " << std::flush;
  }
  std::string answer;
  std::getline(io.in, answer);
  std::transform(answer.begin(), answer.end(), answer.begin(), [](unsigned char c) { return std::tolower(c); });
  return answer == "y" || answer == "yes";
}

/// POSTs the token to ENGINE/v1/approvals and reports the engine's answer.
int submit(const std::string& engine, const std::string& token, std::chrono::milliseconds timeout, bool ack,
           command_io& io) {
  const auto r = common::http_perform({"POST",
                                       engine + "/v1/approvals",
                                       {{"Content-Type", "text/plain"}},
                                       token,
                                       timeout,
                                       std::min<std::chrono::milliseconds>(timeout, 5s)});
  if (!r.transport_ok()) {
    io.err << "vigil approve: POST " << engine << "/v1/approvals: " << r.error
           << " (the token was not accepted; run again)\n";
    return exit_failed;
  }
  const json answer = json::parse(r.body, nullptr, false);
  if (r.status == 202 || r.status == 200) {
    io.out << "accepted";
    if (answer.is_object()) {
      if (ack)
        io.out << ": cooldown acknowledged; approve the new recommendation (vigil approve) once it is shown";
      else if (answer.contains("approvals"))
        io.out << ": " << answer["approvals"].dump();
      else if (answer.contains("message"))
        io.out << ": " << str(answer, "message");
    }
    io.out << "\n";
    return exit_ok;
  }
  io.err << "vigil approve: refused (" << r.status << ")";
  if (answer.is_object() && answer.contains("error")) {
    io.err << ": " << str(answer, "error");
    if (const auto m = str(answer, "message"); !m.empty()) io.err << ": " << m;
  } else {
    io.err << ": " << r.body;
  }
  io.err << "\n";
  return exit_failed;
}

}  // namespace

int cmd_approve(const std::vector<std::string>& args, command_io& io) {
  if (is_standing_approve(args)) return cmd_approve_standing(args, io);
  const std::vector<option_spec> specs{
      {"key", "FILE", "your private key (from `vigil keygen`)", true},
      {"engine", "URL", "the engine's base URL, e.g. https://vigil.internal:9470"},
      {"approver", "ID", "your approver id (default: the key file's name without .key)"},
      {"yes", "", "do not ask for confirmation"},
      {"print", "", "print the token instead of submitting it"},
      {"allow-data-loss", "", "approve although the failover may lose data"},
      {"acknowledge-cooldown", "",
       "acknowledge the cooldown that blocks the recommendation (approves nothing; approve the new one after)"},
      {"ttl", "DURATION", "token lifetime (default 10m; at most the engine's approvals.max_ttl)"},
      {"recommendation-file", "FILE", "read the recommendation JSON from FILE instead of the engine"},
      {"deployment", "NAME", "the deployment, when the recommendation does not name it"},
      engine_token_spec(),
      {"timeout", "DURATION", "HTTP timeout (default 10s)"}};
  auto parsed = parse_args(args, specs);
  if (!parsed.args) {
    io.err << "vigil approve: " << parsed.error << "\n";
    return exit_usage;
  }
  const auto& a = *parsed.args;
  if (a.help) {
    io.out << "Usage: vigil approve --key FILE --engine URL [--yes] [--print] [--allow-data-loss] [--ttl 10m]\n"
              "       vigil approve --key FILE --engine URL --acknowledge-cooldown [--yes]\n\n"
              "Shows the engine's current recommendation, asks for confirmation, signs an approval\n"
              "bound to exactly that recommendation and submits it to URL/v1/approvals.\n"
              "--acknowledge-cooldown signs instead an acknowledgement of the cooldown that blocks it\n"
              "(a failover was executed less than decision.cooldown ago); the engine then issues a\n"
              "new recommendation without that block, to approve as usual.\n"
              "Exit codes: 0 accepted (or printed), 1 refused, 2 usage or bad input.\n\n"
           << format_options(specs);
    return exit_ok;
  }
  const bool print_only = a.has("print");
  const std::string engine = trim_url(a.get_or("engine", ""));
  if (engine.empty() && !(print_only && a.has("recommendation-file"))) {
    io.err << "vigil approve: --engine URL is needed (or --print with --recommendation-file)\n";
    return exit_usage;
  }
  const auto ttl_arg = duration_arg(a, "ttl", default_ttl, "approve", io);
  const auto timeout_arg = duration_arg(a, "timeout", 10s, "approve", io);
  if (!ttl_arg || !timeout_arg) return exit_usage;
  const auto ttl = *ttl_arg;
  const auto timeout = *timeout_arg;
  auto key = load_signer(a, "approve", io);
  if (!key) return exit_usage;
  const std::string& approver = key->id;

  // 1. The recommendation, exactly as the engine states it.
  std::string body;
  if (const int rc = read_recommendation(a, engine, timeout, io, body); rc != exit_ok) return rc;
  json rec = json::parse(body, nullptr, false);
  if (rec.is_object() && rec.contains("recommendation") && rec["recommendation"].is_object())
    rec = rec["recommendation"];
  if (!rec.is_object() || str(rec, "id").empty() || str(rec, "hash").empty() || str(rec, "action").empty()) {
    io.err << "vigil approve: the recommendation is not a JSON object with id, hash and action\n";
    return exit_usage;
  }
  const std::string deployment = a.get_or("deployment", str(rec, "deployment"));
  if (deployment.empty()) {
    io.err << "vigil approve: the recommendation does not name its deployment; pass --deployment NAME\n";
    return exit_usage;
  }
  std::ostream& view = print_only ? io.err : io.out;
  show(rec, deployment, view);

  // 2. Refuse locally what the engine would refuse anyway, with the reason.
  const std::string state = str(rec, "state");
  const bool ack = a.has("acknowledge-cooldown");
  if (ack && !cooldown_blocks(rec)) {
    io.err << "vigil approve: refused: the cooldown gate does not block this recommendation; nothing to acknowledge\n";
    return exit_failed;
  }
  if (!ack && !state.empty() && state != "pending_approval") {
    io.err << "vigil approve: refused: the recommendation is " << state
           << (state == "blocked" ? " (a blocking gate fails; it cannot be approved until the gates pass)" : "")
           << "\n";
    return exit_failed;
  }
  if (!ack && rec.value("allow_data_loss_required", false) && !a.has("allow-data-loss")) {
    io.err << "vigil approve: refused: this failover may lose data (replication lag unknown or above the bound); "
              "if you accept that, run again with --allow-data-loss\n";
    return exit_failed;
  }
  const auto max_ttl = advertised_max_ttl(rec).value_or(std::chrono::milliseconds(default_max_ttl));
  if (ttl > max_ttl) {
    io.err << "vigil approve: --ttl " << common::format_duration(ttl) << " is longer than the engine accepts ("
           << common::format_duration(max_ttl) << ")\n";
    return exit_usage;
  }
  const common::real_clock clock;
  const auto now = clock.wall();
  auto expires = now + ttl;
  if (const auto rexp = approvals::parse_rfc3339(str(rec, "expires_at"))) {
    if (*rexp <= now) {
      io.err << "vigil approve: refused: the recommendation expired at " << str(rec, "expires_at")
             << "; wait for the engine to issue a new one\n";
      return exit_failed;
    }
    expires = std::min(expires, *rexp);  // a token never outlives what it approves
  }

  // 3. Confirmation.
  if (!a.has("yes") && !confirmed(rec, approver, ack, a.has("allow-data-loss"), view, io)) {
    io.err << "vigil approve: not approved\n";
    return exit_failed;
  }

  // 4. Sign and submit.
  approvals::approval_claims c;
  c.recommendation_id = str(rec, "id");
  c.recommendation_hash = str(rec, "hash");
  c.action = ack ? std::string(approvals::acknowledge_cooldown_action) : str(rec, "action");
  c.allow_data_loss = !ack && a.has("allow-data-loss");
  c.audience = deployment;
  c.subject = approver;
  c.issued_at = now;
  c.expires_at = expires;
  c.jti = approvals::new_jti();
  std::string token;
  try {
    token = approvals::sign_approval(*key->key, c);
  } catch (const std::exception& e) {
    io.err << "vigil approve: cannot sign: " << e.what() << "\n";
    return exit_usage;
  }
  if (print_only) {
    io.out << token << "\n";
    return exit_ok;
  }
  return submit(engine, token, timeout, ack, io);
}

}  // namespace vigil::app
