// vigil check-config FILE [--json] [--quiet]: validate a configuration file,
// print every diagnostic, and summarise what it configures.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/validated_config.hpp"
#include "aws/sts.hpp"
#include "common/config_load.hpp"
#include "common/duration.hpp"

namespace vigil::app {

namespace {

using common::format_duration;

std::string plan_line(const common::plan_config& plan) {
  if (plan.steps.empty()) return "(none)";
  std::string out;
  for (const auto& s : plan.steps)
    out += (out.empty() ? "" : " -> ") + s.name + " (" + s.kind + ")";
  return out + (plan.dry_run ? "  [dry run]" : "");
}

std::string lag_line(const common::replication_lag_config& lag) {
  switch (lag.source) {
    case common::lag_source::none:
      return "none (the replication_lag gate always asks for allow_data_loss)";
    case common::lag_source::cloudwatch:
      return "cloudwatch " + lag.metric + " of " + lag.cluster + " in " + lag.region + " every " +
             format_duration(lag.interval);
    case common::lag_source::aurora_sql:
    case common::lag_source::postgres_standby:
      return std::string(common::to_string(lag.source)) + " in " + lag.region + " every " +
             format_duration(lag.interval);
  }
  return "unknown";
}

nlohmann::json summary_json(const common::config& cfg, const std::vector<common::config_diagnostic>& diags) {
  nlohmann::json regions = nlohmann::json::array();
  for (const auto& r : cfg.regions)
    regions.push_back({{"name", r.name}, {"role", decision::to_string(r.role)}});
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : cfg.checks) {
    checks.push_back({{"id", c.id},
                      {"region", c.region},
                      {"service", c.service},
                      {"scope", c.region_scope ? "region" : "service"},
                      {"role", decision::to_string(c.role)},
                      {"type", std::string(c.kind())},
                      {"interval_ms", c.interval.count()}});
  }
  nlohmann::json paging = nlohmann::json::array();
  for (const auto& p : cfg.paging)
    paging.push_back({{"name", p.name}, {"kind", common::to_string(p.kind)}});
  const auto steps = [](const common::plan_config& plan) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : plan.steps)
      out.push_back({{"name", s.name}, {"kind", s.kind}});
    return nlohmann::json{{"dry_run", plan.dry_run}, {"steps", out}};
  };
  nlohmann::json warnings = nlohmann::json::array();
  for (const auto& d : diags)
    warnings.push_back(d.format());
  return {{"ok", true},
          {"file", cfg.file},
          {"deployment", cfg.deployment},
          {"regions", regions},
          {"vantages", cfg.vantages},
          {"quorum", cfg.decision.quorum},
          {"checks", checks},
          {"replication_lag",
           {{"source", common::to_string(cfg.replication_lag.source)},
            {"region", cfg.replication_lag.region},
            {"cluster", cfg.replication_lag.cluster}}},
          {"paging", paging},
          {"plan", {{"failover", steps(cfg.failover)}, {"failback", steps(cfg.failback)}}},
          {"warnings", warnings}};
}

void print_summary(const common::config& cfg, std::size_t warnings, std::ostream& os) {
  os << cfg.file << ": OK\n";
  os << "deployment:      " << cfg.deployment << "\n";
  os << "regions:         " << cfg.primary().name << " (primary), " << cfg.dr().name << " (dr)\n";
  std::string vantages;
  for (const auto& v : cfg.vantages)
    vantages += (vantages.empty() ? "" : ", ") + v;
  os << "vantages:        " << vantages << "\n";
  os << "quorum:          " << cfg.decision.quorum << " of " << cfg.vantages.size() << " vantages\n";
  os << "checks:          " << cfg.checks.size() << "\n";
  for (const auto& r : cfg.regions) {
    std::string line;
    std::size_t n = 0;
    for (const auto& c : cfg.checks) {
      if (c.region != r.name) continue;
      ++n;
      line += (line.empty() ? "" : ", ") + c.service + (c.region_scope ? " (region)" : "") +
              (c.role == common::check_role::gate ? " (gate)" : "");
    }
    os << "  " << r.name << ": " << n << " — " << line << "\n";
  }
  os << "services:        ";
  for (std::size_t i = 0; i < cfg.services.size(); ++i) {
    const auto& s = cfg.services[i];
    os << (i == 0 ? "" : ", ") << s.name << " (" << s.check_ids.size() << ")";
  }
  os << "\n";
  os << "replication lag: " << lag_line(cfg.replication_lag) << "; max_lag " << format_duration(cfg.decision.max_lag)
     << "\n";
  std::string sinks;
  for (const auto& p : cfg.paging) {
    sinks += (sinks.empty() ? "" : ", ") + p.name +
             (p.name == common::to_string(p.kind) ? "" : " (" + std::string(common::to_string(p.kind)) + ")");
  }
  os << "paging:          " << (sinks.empty() ? "(none)" : sinks) << "\n";
  os << "approvals:       " << cfg.approvals.required << " of " << cfg.approvals.approvers.size() << " approvers\n";
  os << "failover plan:   " << plan_line(cfg.failover) << "\n";
  os << "failback plan:   " << plan_line(cfg.failback) << "\n";
  os << "warnings:        " << warnings << "\n";
}

nlohmann::json identities_json(const std::vector<aws::region_identity>& ids) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& id : ids) {
    nlohmann::json j{{"region", id.region}, {"endpoint", id.endpoint}, {"credentials", id.credentials_source},
                     {"account", nullptr},  {"arn", nullptr},          {"error", nullptr}};
    if (id.identity) {
      j["account"] = id.identity->account;
      j["arn"] = id.identity->arn;
    }
    if (id.error) {
      j["error"] = {{"code", id.error->code},
                    {"message", id.error->message},
                    {"request_id", id.error->request_id},
                    {"http_status", id.error->http_status}};
    }
    out.push_back(std::move(j));
  }
  return out;
}

/// One line per region; failures go to stderr too, with AWS's code and message.
void print_identities(const std::vector<aws::region_identity>& ids, std::ostream& out, std::ostream& err) {
  out << "aws identities:\n";
  for (const auto& id : ids) {
    out << "  " << id.region << ": sts " << (id.endpoint.empty() ? "(no endpoint)" : id.endpoint)
        << ", credentials from " << id.credentials_source << ": ";
    if (id.identity) {
      out << "account " << id.identity->account << ", " << id.identity->arn << "\n";
    } else {
      out << "FAILED\n";
      err << "vigil check-config: " << id.region
          << ": STS GetCallerIdentity: " << (id.error ? id.error->to_string() : std::string("unknown error")) << "\n";
    }
  }
}

}  // namespace

int cmd_check_config(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{
      {"json", "", "print the summary (or the diagnostics) as JSON on stdout"},
      {"quiet", "", "print nothing on success but warnings"},
      {"aws", "", "also resolve each region's AWS identity (STS GetCallerIdentity); exit 1 when one fails"},
  };
  auto parsed = parse_args(args, specs, 1);
  if (!parsed.args) {
    io.err << "vigil check-config: " << parsed.error << "\nUsage: vigil check-config FILE [--json] [--quiet]\n";
    return exit_usage;
  }
  if (parsed.args->help) {
    io.out << "Usage: vigil check-config FILE [--json] [--quiet] [--aws]\n\n"
              "Validates a configuration file and prints a summary. Every problem is reported\n"
              "(file:line:column: key.path: what was expected), not only the first.\n"
              "--aws also calls STS GetCallerIdentity for each region through the configured\n"
              "credentials and endpoints and prints the account and ARN each resolves to.\n"
              "Exit codes: 0 valid (warnings allowed), 1 an AWS identity lookup failed,\n"
              "2 invalid or unreadable.\n\n"
           << format_options(specs);
    return exit_ok;
  }
  if (parsed.args->positional.empty()) {
    io.err << "vigil check-config: missing FILE\nUsage: vigil check-config FILE [--json] [--quiet]\n";
    return exit_usage;
  }
  const std::string& path = parsed.args->positional.front();
  auto result = load_validated_config(path);  // the same checks as the engine and agent
  const std::size_t errors = result.error_count();
  const std::size_t warnings = result.diagnostics.size() - errors;
  const bool json = parsed.args->has("json");

  for (const auto& d : result.diagnostics)
    io.err << d.format() << "\n";
  if (errors > 0) {
    io.err << path << ": " << errors << (errors == 1 ? " error" : " errors") << ", " << warnings
           << (warnings == 1 ? " warning" : " warnings") << "\n";
    if (json) {
      nlohmann::json diags = nlohmann::json::array();
      for (const auto& d : result.diagnostics) {
        diags.push_back({{"severity", d.severity == common::config_diagnostic::level::error ? "error" : "warning"},
                         {"file", d.pos.file},
                         {"line", d.pos.line},
                         {"column", d.pos.column},
                         {"key_path", d.pos.key_path},
                         {"message", d.message}});
      }
      io.out << nlohmann::json{{"ok", false}, {"file", path}, {"errors", errors}, {"diagnostics", diags}}.dump(2)
             << "\n";
    }
    return exit_usage;
  }

  // --aws: which identity and account each region resolves to, through the
  // configured credentials and endpoints (aws.*, AWS_* variables, profiles).
  std::optional<std::vector<aws::region_identity>> identities;
  bool aws_failed = false;
  if (parsed.args->has("aws")) {
    identities = aws::describe_identities(*result.value);
    for (const auto& id : *identities)
      aws_failed = aws_failed || !id.identity;
  }

  if (json) {
    auto j = summary_json(*result.value, result.diagnostics);
    if (identities) {
      j["aws"] = identities_json(*identities);
      j["ok"] = !aws_failed;
    }
    io.out << j.dump(2) << "\n";
  } else {
    if (!parsed.args->has("quiet")) print_summary(*result.value, warnings, io.out);
    if (identities) print_identities(*identities, io.out, io.err);
  }
  if (aws_failed) {
    io.err << "vigil check-config: AWS identity lookup failed for at least one region\n";
    return exit_failed;
  }
  return exit_ok;
}

}  // namespace vigil::app
