// vigil iam --config FILE [--role agent|actuator|all] [--account ID] [--json]:
// the least-privilege IAM policy documents of a configuration.
//   agent     what the agents call: CloudWatch GetMetricData for the cloudwatch
//             checks and the cloudwatch replication-lag source (nothing when
//             neither is configured).
//   actuator  every call every step of plan.failover and plan.failback can
//             send (pre-checks, the changes, waits; `vigil drill --prechecks`
//             sends the same pre-checks), from actuators/step_iam.cpp, with
//             the resources the steps name; with a readiness section, also
//             the reads of readiness runs (hosted zones and records, the
//             policy simulation of readiness.actuator_role_arn).
// The account id of the ARNs is --account, or the one the plans' ARNs name.
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <regex>
#include <set>

#include "actuators/readiness.hpp"
#include "actuators/step_iam.hpp"
#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/validated_config.hpp"
#include "common/config_load.hpp"

namespace vigil::app {

namespace {

using nlohmann::json;

/// A grant and the steps (or checks) that need it, for the text output.
struct need {
  actuators::iam_grant grant;
  std::string who;
};

/// Statements from grants: one per (resources, condition) with every action
/// that needs exactly those, named after the first grant's hint; sorted so
/// that the output is stable.
json policy_document(const std::vector<need>& needs) {
  struct per_action {
    std::set<std::string> resources;
    json condition;
    std::string sid;
  };
  std::map<std::pair<std::string, std::string>, per_action> by_action;  // (action, condition) ->
  for (const auto& n : needs) {
    auto& a = by_action[{n.grant.action, n.grant.condition.dump()}];
    a.resources.insert(n.grant.resources.begin(), n.grant.resources.end());
    a.condition = n.grant.condition;
    if (a.sid.empty()) a.sid = n.grant.sid;
  }
  struct statement {
    std::string sid;
    std::set<std::string> actions;
    std::set<std::string> resources;
    json condition;
  };
  std::map<std::pair<std::string, std::string>, statement> grouped;  // (resources + condition, sid) ->
  for (const auto& [key, a] : by_action) {
    std::string res_key;
    for (const auto& r : a.resources)
      res_key += r + "\n";
    auto& st = grouped[{a.sid, res_key + key.second}];
    st.sid = a.sid;
    st.actions.insert(key.first);
    st.resources = a.resources;
    st.condition = a.condition;
  }
  json statements = json::array();
  std::map<std::string, int> seen;
  for (const auto& [key, st] : grouped) {
    const int n = ++seen[st.sid];
    json s{{"Sid", n == 1 ? st.sid : st.sid + std::to_string(n)},
           {"Effect", "Allow"},
           {"Action", json(std::vector<std::string>(st.actions.begin(), st.actions.end()))}};
    if (st.resources == std::set<std::string>{"*"}) {
      s["Resource"] = "*";
    } else {
      s["Resource"] = std::vector<std::string>(st.resources.begin(), st.resources.end());
    }
    if (!st.condition.is_null()) s["Condition"] = st.condition;
    statements.push_back(std::move(s));
  }
  return {{"Version", "2012-10-17"}, {"Statement", statements}};
}

std::vector<need> agent_needs(const common::config& cfg) {
  std::vector<need> out;
  // GetMetricData has no resource-level permission: "*" is the only resource.
  const auto metric = [&](const std::string& who) {
    out.push_back({{"cloudwatch:GetMetricData", {"*"}, nullptr, true, "CloudWatchRead"}, who});
  };
  for (const auto& c : cfg.checks) {
    if (c.cloudwatch) metric("check " + c.id);
  }
  if (cfg.replication_lag.source == common::lag_source::cloudwatch) metric("replication_lag");
  return out;
}

std::vector<need> actuator_needs(const common::config& cfg, const std::string& account) {
  std::vector<need> out;
  const auto add = [&](const common::plan_config& plan, const std::string& name, const std::string& target_region) {
    for (const auto& s : plan.steps) {
      for (auto& g : actuators::step_iam_grants(s, {account, target_region}))
        out.push_back({std::move(g), name + "/" + s.name});
    }
  };
  add(cfg.failover, "failover", cfg.dr().name);
  add(cfg.failback, "failback", cfg.primary().name);
  // The engine runs the plans and the readiness loop with the same
  // credentials: its extra reads belong to this role too.
  for (auto& g : actuators::readiness_iam_grants(cfg))
    out.push_back({std::move(g), "readiness"});
  return out;
}

void print_text(const std::string& role, const std::vector<need>& needs, std::ostream& os) {
  os << "# vigil " << role << " policy" << (needs.empty() ? ": no AWS call configured" : ", action <- what needs it:")
     << "\n";
  std::map<std::string, std::set<std::string>> why;
  for (const auto& n : needs)
    why[n.grant.action].insert(n.who);
  for (const auto& [action, who] : why) {
    std::string list;
    for (const auto& w : who)
      list += (list.empty() ? "" : ", ") + w;
    os << "#   " << action << "  <- " << list << "\n";
  }
  os << policy_document(needs).dump(2) << "\n";
}

/// The configuration with every secret and key file it cannot read (it
/// usually runs where the policies are written, not beside the secrets)
/// replaced by a stand-in: policies depend on no secret.
common::config_load_result load_without_secrets(const std::string& path) {
  std::string err;
  const auto text = common::read_regular_file(path, common::max_config_file_bytes, err);
  if (!text) {
    common::config_load_result r;
    r.diagnostics.push_back({common::config_diagnostic::level::error, {path, 0, 0, ""}, "cannot read: " + err});
    return r;
  }
  const auto real = common::real_files();
  const common::file_reader files = [&](const std::string& p, std::string& e) -> std::optional<std::string> {
    if (auto content = real(p, e)) return content;
    e.clear();
    const auto ends = [&](std::string_view tail) { return p.size() >= tail.size() && p.ends_with(tail); };
    // An approver's key file: a valid Ed25519 public key; any other secret: a
    // value every secret key accepts (a webhook URL is the strictest).
    if (ends(".pub") || ends(".pem")) {
      return std::string(
          "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA7DZWP8xfGAkxwVsrYJjOLJLT5dsczYMmTtLB/VTFhR0=\n"
          "-----END PUBLIC KEY-----\n");
    }
    // etcd's TLS files: a PEM block of the kind their keys look for.
    if (ends(".crt")) return std::string("-----BEGIN CERTIFICATE-----\nstand-in\n-----END CERTIFICATE-----\n");
    if (ends(".key")) return std::string("-----BEGIN PRIVATE KEY-----\nstand-in\n-----END PRIVATE KEY-----\n");
    return std::string("https://stand-in.invalid/secret-not-read");
  };
  return common::load_config_text(*text, path, common::process_env(), files);
}

}  // namespace

int cmd_iam(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{
      {"config", "FILE", "the configuration whose checks and plans to cover", true},
      {"role", "ROLE", "agent, actuator or all (default)"},
      {"account", "ID", "the 12-digit AWS account of the ARNs (default: the one the plans' ARNs name)"},
      {"json", "", "print only the policy document(s) as JSON (one role: the document; all: {agent, actuator})"},
  };
  const auto parsed = parse_args(args, specs);
  if (!parsed.args) {
    io.err << "vigil iam: " << parsed.error << "\n";
    return exit_usage;
  }
  const parsed_args& a = *parsed.args;
  if (a.help) {
    io.out << "Usage: vigil iam --config FILE [--role agent|actuator|all] [--account ID] [--json]\n\n"
              "Prints the least-privilege IAM policy documents for the agents (CloudWatch reads of the\n"
              "configured checks and lag source) and for the engine that runs the plans (every call the\n"
              "configured failover and failback steps can make, pre-checks included), with resources\n"
              "from the configuration. Without --json each document follows comment lines naming the\n"
              "steps and checks that need each action.\n\n"
           << format_options(specs);
    return exit_ok;
  }
  const std::string role = a.get_or("role", "all");
  if (role != "agent" && role != "actuator" && role != "all") {
    io.err << "vigil iam: --role must be agent, actuator or all, got '" << role << "'\n";
    return exit_usage;
  }
  const auto loaded = load_without_secrets(*a.get("config"));
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics)
      io.err << d.format() << "\n";
    return exit_usage;
  }
  const common::config& cfg = *loaded.value;
  std::string account;
  if (const auto given = a.get("account")) {
    if (!std::regex_match(*given, std::regex("[0-9]{12}"))) {
      io.err << "vigil iam: --account must be 12 digits, got '" << *given << "'\n";
      return exit_usage;
    }
    account = *given;
  } else {
    const auto guess = actuators::account_in_plans(cfg);
    if (!guess.error.empty()) {
      io.err << "vigil iam: " << cfg.file << ": " << guess.error << "\n";
      return exit_usage;
    }
    if (guess.account) account = *guess.account;
  }
  const bool want_agent = role != "actuator";
  const bool want_actuator = role != "agent";
  std::vector<need> actuator;
  if (want_actuator) {
    actuator = actuator_needs(cfg, account.empty() ? "ACCOUNT" : account);
    bool unknown = false;
    for (const auto& n : actuator) {
      for (const auto& r : n.grant.resources)
        unknown = unknown || r.find(":ACCOUNT:") != std::string::npos;
    }
    if (unknown) {
      io.err << "vigil iam: " << cfg.file << ": no ARN in the plans names the account: pass --account ID\n";
      return exit_usage;
    }
  }
  const auto agent = want_agent ? agent_needs(cfg) : std::vector<need>{};
  if (a.has("json")) {
    json out;
    if (role == "agent") {
      out = policy_document(agent);
    } else if (role == "actuator") {
      out = policy_document(actuator);
    } else {
      out = {{"agent", policy_document(agent)}, {"actuator", policy_document(actuator)}};
    }
    io.out << out.dump(2) << "\n";
    return exit_ok;
  }
  if (want_agent) print_text("agent", agent, io.out);
  if (want_actuator) print_text("actuator", actuator, io.out);
  return exit_ok;
}

}  // namespace vigil::app
