#include "app/commands.hpp"

#include <array>
#include <ostream>

namespace vigil::app {

namespace {

// Keep in the order `vigil --help` shows them.
constexpr std::array command_table{
    command{"demo", "self-contained showcase on 127.0.0.1: outage, recommendation, approval, dry-run plan", cmd_demo},
    command{"engine", "ingest agent batches, decide, page, verify approvals, run approved plans", cmd_engine},
    command{"agent", "probe every check from one vantage and send signed batches to the engines", cmd_agent},
    command{"run", "engine plus a local agent in one process (single node, sidecar)", cmd_run},
    command{"status", "print a running engine's /v1/status (JSON)", cmd_status},
    command{"approve", "review the current recommendation and submit a signed approval", cmd_approve},
    command{"standing", "list the engine's standing approvals (signed automatic-failover policies)", cmd_standing},
    command{"propose", "ask the engine for a failback (or failover) recommendation, to approve as usual", cmd_propose},
    command{"silence", "create, list or expire signed silences (planned work) on a running engine", cmd_silence},
    command{"brake", "turn the actuation brake on or off (signed): no plan step runs while it is on", cmd_brake},
    command{"plan", "abort, pause or resume the running plan (signed)", cmd_plan},
    command{"drill", "rehearse the failover plan in dry run: every call and pre-check, nothing changed", cmd_drill},
    command{"readiness", "show whether the failover and failback plans would work now (continuous readiness)",
            cmd_readiness},
    command{"objectives", "the engine's RTO estimate and RPO exposure against the objectives, and drill trend",
            cmd_objectives},
    command{"iam", "print least-privilege IAM policies for the agents and the plan steps of a config", cmd_iam},
    command{"check-config", "validate a configuration file and summarise it", cmd_check_config},
    command{"keygen", "create an Ed25519 key pair for signing approvals", cmd_keygen},
    command{"replay", "feed a recorded observation log (JSONL) through the decision core", cmd_replay},
    command{"simulate", "run the decision core on virtual time against a scenario file", cmd_simulate},
    command{"version", "print version, git revision and library versions", cmd_version},
};

void print_usage(std::ostream& os) {
  os << "vigil — failure detector and failover gate for active-passive multi-region AWS\n\n"
        "Usage: vigil <command> [options]\n       vigil <command> --help\n\nCommands:\n";
  for (const auto& c : command_table) {
    std::string name(c.name);
    name.resize(16, ' ');
    os << "  " << name << c.summary << "\n";
  }
  os << "\nExit codes: 0 ok, 1 the thing checked failed, 2 bad input or usage.\n";
}

}  // namespace

std::span<const command> commands() {
  return command_table;
}

int run_command(const std::vector<std::string>& argv, command_io& io) {
  if (argv.empty()) {
    print_usage(io.err);
    return exit_usage;
  }
  const std::string& name = argv.front();
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(io.out);
    return exit_ok;
  }
  if (name == "--version") return cmd_version({}, io);
  for (const auto& c : command_table) {
    if (c.name == name) return c.run(std::vector<std::string>(argv.begin() + 1, argv.end()), io);
  }
  io.err << "vigil: unknown command '" << name << "'\n\n";
  print_usage(io.err);
  return exit_usage;
}

}  // namespace vigil::app
