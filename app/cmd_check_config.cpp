// vigil check-config FILE [--json] [--quiet]: validate a configuration file,
// print every diagnostic, and summarise what it configures.
#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <variant>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "common/config_load.hpp"
#include "common/duration.hpp"
#include "detector/expect.hpp"

namespace vigil::app {

namespace {

using common::format_duration;

/// Expect expressions are compiled by detector/, which common/ cannot see:
/// parse them here so that check-config catches a typo before an agent does.
void check_expects(const common::config& cfg, std::vector<common::config_diagnostic>& diags) {
  for (const auto& c : cfg.checks) {
    if (!c.http) continue;
    for (std::size_t i = 0; i < c.http->expect.size(); ++i) {
      const auto parsed = detector::parse_expect(c.http->expect[i]);
      if (const auto* err = std::get_if<detector::expect_error>(&parsed)) {
        common::source_pos pos = i < c.http->expect_pos.size() ? c.http->expect_pos[i] : c.pos;
        diags.push_back({common::config_diagnostic::level::error, pos,
                         "bad expect expression at column " + std::to_string(err->column) + ": " + err->message});
      }
    }
  }
}

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
    regions.push_back({{"name", r.name}, {"role", common::to_string(r.role)}});
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : cfg.checks) {
    checks.push_back({{"id", c.id},
                      {"region", c.region},
                      {"service", c.service},
                      {"scope", c.region_scope ? "region" : "service"},
                      {"role", common::to_string(c.role)},
                      {"type", c.http ? "http" : "cloudwatch"},
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

}  // namespace

int cmd_check_config(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{
      {"json", "", "print the summary (or the diagnostics) as JSON on stdout"},
      {"quiet", "", "print nothing on success but warnings"},
      // --aws (AWS identity lookup) is added here by the AWS work: see the marked spot below.
  };
  auto parsed = parse_args(args, specs, 1);
  if (!parsed.args) {
    io.err << "vigil check-config: " << parsed.error << "\nUsage: vigil check-config FILE [--json] [--quiet]\n";
    return exit_usage;
  }
  if (parsed.args->help) {
    io.out << "Usage: vigil check-config FILE [--json] [--quiet]\n\n"
              "Validates a configuration file and prints a summary. Every problem is reported\n"
              "(file:line:column: key.path: what was expected), not only the first.\n"
              "Exit codes: 0 valid (warnings allowed), 2 invalid or unreadable.\n\n"
           << format_options(specs);
    return exit_ok;
  }
  if (parsed.args->positional.empty()) {
    io.err << "vigil check-config: missing FILE\nUsage: vigil check-config FILE [--json] [--quiet]\n";
    return exit_usage;
  }
  const std::string& path = parsed.args->positional.front();
  auto result = common::load_config(path);
  if (result.value) check_expects(*result.value, result.diagnostics);
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

  // ---- --aws: AWS identity lookup goes here (another change) -----------------
  // When --aws is given: resolve credentials, call STS GetCallerIdentity per
  // region and report the account/role next to the summary; exit 1 on failure.
  // -----------------------------------------------------------------------------

  if (json) {
    io.out << summary_json(*result.value, result.diagnostics).dump(2) << "\n";
  } else if (!parsed.args->has("quiet")) {
    print_summary(*result.value, warnings, io.out);
  }
  return exit_ok;
}

}  // namespace vigil::app
