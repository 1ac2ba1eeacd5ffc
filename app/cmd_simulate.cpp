// `vigil simulate --config FILE --scenario FILE [--json]` (docs/design.md,
// "Scenario files"): the decision core on virtual time. Exit 0 when every expect
// holds, 1 when one fails (each failure says why), 2 on bad input.
#include <ostream>
#include <stdexcept>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/validated_config.hpp"
#include "common/config_load.hpp"
#include "common/scenario_yaml.hpp"
#include "common/topology.hpp"
#include "decision/simulator.hpp"

namespace vigil::app {

namespace {

decision::sim_settings settings_from(const common::config& cfg) {
  decision::sim_settings s;
  s.timeout = cfg.probe_defaults.timeout;
  s.degraded_after = cfg.probe_defaults.degraded_after;
  if (cfg.replication_lag.interval.count() > 0) s.lag_interval = cfg.replication_lag.interval;
  s.token_ttl = cfg.approvals.max_ttl;
  for (const auto& step : cfg.failover.steps)
    s.plan_steps.push_back(step.name);
  for (const auto& step : cfg.failback.steps)
    s.failback_steps.push_back(step.name);
  return s;
}

}  // namespace

int cmd_simulate(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{
      {"config", "FILE", "configuration (regions, vantages, checks, decision parameters)", true},
      {"scenario", "FILE", "scenario YAML: duration, seed, events, expect", true},
      {"json", "", "print the timeline and the expectation results as JSON"},
      {"audit", "", "also print every audit record (text mode)"}};
  auto parsed = parse_args(args, specs);
  if (!parsed.args) {
    io.err << "vigil simulate: " << parsed.error << "\n";
    return exit_usage;
  }
  if (parsed.args->help) {
    io.out << "Usage: vigil simulate --config FILE --scenario FILE [--json]\n\n"
              "Runs the decision core on virtual time. Exit 0: every expect holds; 1: one fails; 2: bad input.\n\n"
           << format_options(specs);
    return exit_ok;
  }
  const auto loaded = load_validated_config(*parsed.args->get("config"));
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics)
      io.err << d.format() << "\n";
    return exit_usage;
  }
  const auto sc = common::parse_scenario_file(*parsed.args->get("scenario"));
  if (!sc.value) {
    io.err << sc.error << "\n";
    return exit_usage;
  }
  decision::sim_result result;
  try {
    const auto topo = common::make_topology(*loaded.value);
    result = decision::simulate(topo, settings_from(*loaded.value), *sc.value);
  } catch (const std::invalid_argument& e) {
    io.err << e.what() << "\n";
    return exit_usage;
  }
  if (parsed.args->has("json")) {
    nlohmann::json tl = nlohmann::json::array();
    for (const auto& e : result.entries)
      tl.push_back(decision::to_json(e));
    nlohmann::json ex = nlohmann::json::array();
    for (const auto& x : result.expects) {
      ex.push_back({{"ok", x.ok}, {"expect", x.text}, {"why", x.why}, {"line", x.line}});
    }
    io.out << nlohmann::json{{"scenario", sc.value->file}, {"ok", result.ok()}, {"timeline", tl}, {"expects", ex}}.dump(
                  2)
           << "\n";
  } else {
    io.out << "timeline (" << sc.value->file << ", seed " << sc.value->seed << "):\n";
    for (const auto& e : result.entries)
      io.out << decision::to_text(e) << "\n";
    if (parsed.args->has("audit")) {
      io.out << "\naudit:\n";
      for (const auto& a : result.audit)
        io.out << "  " << a.value("at", "") << " " << a.value("message", "") << "\n";
    }
    io.out << "\nexpectations:\n";
    for (const auto& x : result.expects) {
      io.out << (x.ok ? "  PASS " : "  FAIL ") << sc.value->file << ":" << x.line << ": " << x.text << " — " << x.why
             << "\n";
    }
  }
  std::size_t failed = 0;
  for (const auto& x : result.expects)
    failed += x.ok ? 0 : 1;
  if (failed > 0) {
    io.err << "vigil simulate: " << failed << " of " << result.expects.size() << " expectations failed\n";
    return exit_failed;
  }
  return exit_ok;
}

}  // namespace vigil::app
