// vigil drill --config FILE [--action failover|failback] [--planned] [--prechecks] [--json]:
// a rehearsal of the plan that changes nothing (app/drill_run.hpp). Every step is described call
// by call (pre-checks and mutating calls) and run through the executor in
// dry run, with an in-memory journal; with --prechecks the read-only
// pre-checks are made against the configured AWS endpoints and their answers
// shown (e.g. "the global cluster's writer is a third cluster"). An Aurora
// step shows its mode and the call it makes for an unplanned (default) or,
// with --planned, a planned plan.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>

#include "actuators/plan_describe.hpp"
#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/drill_run.hpp"
#include "app/objectives_store.hpp"
#include "app/validated_config.hpp"
#include "common/config_load.hpp"

namespace vigil::app {

int cmd_drill(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{
      {"config", "FILE", "the configuration whose plan to rehearse", true},
      {"action", "ACTION", "failover (default) or failback"},
      {"prechecks", "", "also make the read-only pre-checks (Describe*/Get* calls) and show their answers"},
      {"planned", "", "rehearse a planned plan (an operator's propose, source healthy): switchover, no data loss"},
      {"allow-data-loss", "", "rehearse an approval that accepts a loss beyond the RPO budget (or an unknown one)"},
      {"json", "", "print the described plan and the outcome as JSON"},
      {"no-record", "", "do not append the drill's timeline to engine.state_dir/timelines.jsonl"},
  };
  const auto parsed = parse_args(args, specs);
  if (!parsed.args) {
    io.err << "vigil drill: " << parsed.error << "\n";
    return exit_usage;
  }
  const parsed_args& a = *parsed.args;
  if (a.help) {
    io.out << "Usage: vigil drill --config FILE [--action failover|failback] [--planned] [--prechecks] "
              "[--allow-data-loss] [--json] [--no-record]\n\n"
              "Runs the plan in dry run against the current configuration: prints what each step would call\n"
              "and its pre-checks, journals nothing to disk, changes nothing. Exit 0 when every step could be\n"
              "described (and, with --prechecks, no pre-check found an unexpected state), 1 otherwise.\n"
              "The measured timeline is appended to engine.state_dir/timelines.jsonl when that directory\n"
              "exists (vigil objectives shows the history).\n\n"
           << format_options(specs);
    return exit_ok;
  }
  const std::string action = a.get_or("action", "failover");
  if (action != "failover" && action != "failback") {
    io.err << "vigil drill: --action must be failover or failback, got '" << action << "'\n";
    return exit_usage;
  }
  const auto loaded = load_validated_config(*a.get("config"));
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics)
      io.err << d.format() << "\n";
    return exit_usage;
  }
  const common::config& cfg = *loaded.value;
  const common::plan_config& plan = action == "failover" ? cfg.failover : cfg.failback;
  if (plan.steps.empty()) {
    io.err << "vigil drill: " << cfg.file << ": plan." << action << " has no steps\n";
    return exit_usage;
  }
  drill_options d;
  d.action = action;
  d.planned = a.has("planned");
  d.allow_data_loss = a.has("allow-data-loss");
  d.prechecks = a.has("prechecks");
  const actuators::plan_request req = drill_request(cfg, d);
  common::real_clock clock;
  const bool as_json = a.has("json");
  if (!as_json) {
    io.out << "vigil drill: plan." << action << " of " << cfg.deployment << " (" << req.ctx.from << " -> " << req.ctx.to
           << "), dry run" << (d.prechecks ? " with read-only pre-checks" : "") << ": nothing is changed\n"
           << "  as "
           << (req.ctx.planned ? "a planned plan (operator's propose, source healthy)"
                               : "an unplanned plan (outage-triggered; --planned for a switchover)")
           << ":\n";
    for (const auto& s : plan.steps) {
      if (s.kind != "aurora_global_failover" && s.kind != "aurora_switchover") continue;
      const auto how = actuators::choose_promotion(s, req.ctx);
      io.out << "  " << s.name << ": mode " << how.mode << ": " << (how.refusal.empty() ? how.statement : how.refusal)
             << "\n";
    }
  }
  const auto drilled = run_drill(cfg, d, clock, [&](const std::string& line) {
    if (!as_json) io.out << line << "\n";
  });
  const auto& out = drilled.outcome;
  std::string recorded;
  if (!a.has("no-record") && std::filesystem::is_directory(cfg.engine.state_dir)) {
    const std::string path = timelines_path(cfg.engine.state_dir);
    const std::string why = append_timeline(path, drilled.timeline);
    recorded = why.empty() ? path : "";
    if (!why.empty()) io.err << "vigil drill: timeline not recorded: " << why << "\n";
  }
  if (!as_json && !recorded.empty()) io.out << "timeline recorded in " << recorded << " (vigil objectives shows it)\n";
  if (as_json) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : actuators::describe_plan(plan, req.ctx))
      steps.push_back(actuators::to_json(s));
    io.out << nlohmann::json{{"action", action},
                             {"planned", req.ctx.planned},
                             {"from", req.ctx.from},
                             {"to", req.ctx.to},
                             {"prechecks_made", d.prechecks},
                             {"steps", steps},
                             {"result", actuators::to_string(out.result)},
                             {"detail", out.detail},
                             {"unexpected_state", drilled.unexpected},
                             {"timeline", decision::to_json(drilled.timeline)},
                             {"recorded_in", recorded.empty() ? nlohmann::json(nullptr) : nlohmann::json(recorded)}}
                  .dump(2)
           << "\n";
  }
  return drilled.ok() ? exit_ok : exit_failed;
}

}  // namespace vigil::app
