// vigil drill --config FILE [--action failover|failback] [--planned] [--prechecks] [--json]:
// a rehearsal of the plan that changes nothing. Every step is described call
// by call (pre-checks and mutating calls) and run through the executor in
// dry run, with an in-memory journal; with --prechecks the read-only
// pre-checks are made against the configured AWS endpoints and their answers
// shown (e.g. "the global cluster's writer is a third cluster"). An Aurora
// step shows its mode and the call it makes for an unplanned (default) or,
// with --planned, a planned plan.
#include <nlohmann/json.hpp>
#include <ostream>

#include "actuators/plan_executor.hpp"
#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/validated_config.hpp"
#include "aws/sts.hpp"
#include "common/config_load.hpp"

namespace vigil::app {

int cmd_drill(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> drill_options{
      {"config", "FILE", "the configuration whose plan to rehearse", true},
      {"action", "ACTION", "failover (default) or failback"},
      {"prechecks", "", "also make the read-only pre-checks (Describe*/Get* calls) and show their answers"},
      {"planned", "", "rehearse a planned plan (an operator's propose, source healthy): switchover, no data loss"},
      {"allow-data-loss", "", "rehearse an approval that accepts a loss beyond the RPO budget (or an unknown one)"},
      {"json", "", "print the described plan and the outcome as JSON"},
  };
  const auto parsed = parse_args(args, drill_options);
  if (!parsed.args) {
    io.err << "vigil drill: " << parsed.error << "\n";
    return exit_usage;
  }
  const parsed_args& a = *parsed.args;
  if (a.help) {
    io.out << "Usage: vigil drill --config FILE [--action failover|failback] [--planned] [--prechecks] "
              "[--allow-data-loss] [--json]\n\n"
              "Runs the plan in dry run against the current configuration: prints what each step would call\n"
              "and its pre-checks, journals nothing to disk, changes nothing. Exit 0 when every step could be\n"
              "described (and, with --prechecks, no pre-check found an unexpected state), 1 otherwise.\n\n"
           << format_options(drill_options);
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
  common::plan_config plan = action == "failover" ? cfg.failover : cfg.failback;
  if (plan.steps.empty()) {
    io.err << "vigil drill: " << cfg.file << ": plan." << action << " has no steps\n";
    return exit_usage;
  }
  plan.dry_run = true;  // a drill never mutates, whatever the file says
  const bool primary_first = action == "failover";
  actuators::plan_request req;
  req.ctx.recommendation_id = "drill-" + action;
  req.ctx.recommendation_hash = "drill";
  req.ctx.action = action;
  req.ctx.from = primary_first ? cfg.primary().name : cfg.dr().name;
  req.ctx.to = primary_first ? cfg.dr().name : cfg.primary().name;
  req.ctx.approvers = {"drill"};
  req.ctx.allow_data_loss = a.has("allow-data-loss");
  req.ctx.planned = a.has("planned");

  common::real_clock clock;
  common::cv_waiter wait;
  actuators::plan_journal journal{std::filesystem::path{}};  // in memory: a drill leaves no record to resume
  std::unique_ptr<aws::aws_stack> stack;
  actuators::step_factory factory = [&](const common::plan_step_config& s) {
    if (!stack) stack = std::make_unique<aws::aws_stack>(aws::make_aws_stack(cfg.aws, clock));
    actuators::step_deps deps;
    deps.aws = stack->client.get();
    return actuators::make_step_factory(deps)(s);
  };
  actuators::executor_options opts;
  opts.dry_run_prechecks = a.has("prechecks");
  actuators::plan_executor exec(journal, factory, clock, wait, nullptr, opts);
  const bool as_json = a.has("json");
  actuators::executor_events ev;
  ev.print = [&](const std::string& line) {
    if (!as_json) io.out << line << "\n";
  };
  bool unexpected = false;
  ev.on_step = [&](std::size_t, const std::string&, const std::string&, const std::string& detail) {
    if (detail.find("pre-check: unexpected_state") != std::string::npos) unexpected = true;
  };
  if (!as_json) {
    io.out << "vigil drill: plan." << action << " of " << cfg.deployment << " (" << req.ctx.from << " -> " << req.ctx.to
           << "), dry run" << (opts.dry_run_prechecks ? " with read-only pre-checks" : "") << ": nothing is changed\n"
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
  const auto out = exec.execute(plan, req, actuators::approval_ref{"drill", {"drill"}}, ev);
  if (as_json) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : actuators::describe_plan(plan, req.ctx))
      steps.push_back(actuators::to_json(s));
    io.out << nlohmann::json{{"action", action},
                             {"planned", req.ctx.planned},
                             {"from", req.ctx.from},
                             {"to", req.ctx.to},
                             {"prechecks_made", opts.dry_run_prechecks},
                             {"steps", steps},
                             {"result", actuators::to_string(out.result)},
                             {"detail", out.detail},
                             {"unexpected_state", unexpected}}
                  .dump(2)
           << "\n";
  }
  return out.ok() && !unexpected ? exit_ok : exit_failed;
}

}  // namespace vigil::app
