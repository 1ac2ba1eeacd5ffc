#pragma once
// The subcommands of the `vigil` binary (docs/design.md, "Processes and exit codes").
// Each lives in app/cmd_<name>.cpp and is listed once in commands.cpp.
// Exit codes everywhere: 0 ok, 1 the thing checked failed, 2 bad input or usage.

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::app {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_usage = 2;

/// Streams a command talks through (tests pass string streams).
struct command_io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

using command_fn = int (*)(const std::vector<std::string>& args, command_io& io);

struct command {
  std::string_view name;
  std::string_view summary;
  command_fn run;
};

[[nodiscard]] std::span<const command> commands();

/// argv without the program name: {"check-config", "file.yaml"}.
int run_command(const std::vector<std::string>& argv, command_io& io);

// One function per subcommand; args exclude the subcommand name.
int cmd_version(const std::vector<std::string>& args, command_io& io);
int cmd_check_config(const std::vector<std::string>& args, command_io& io);
int cmd_simulate(const std::vector<std::string>& args, command_io& io);
int cmd_replay(const std::vector<std::string>& args, command_io& io);
int cmd_keygen(const std::vector<std::string>& args, command_io& io);
int cmd_approve(const std::vector<std::string>& args, command_io& io);
int cmd_engine(const std::vector<std::string>& args, command_io& io);
int cmd_agent(const std::vector<std::string>& args, command_io& io);
int cmd_run(const std::vector<std::string>& args, command_io& io);
int cmd_propose(const std::vector<std::string>& args, command_io& io);
int cmd_drill(const std::vector<std::string>& args, command_io& io);
int cmd_objectives(const std::vector<std::string>& args, command_io& io);
int cmd_demo(const std::vector<std::string>& args, command_io& io);
int cmd_silence(const std::vector<std::string>& args, command_io& io);
int cmd_brake(const std::vector<std::string>& args, command_io& io);
int cmd_plan(const std::vector<std::string>& args, command_io& io);
int cmd_iam(const std::vector<std::string>& args, command_io& io);
int cmd_readiness(const std::vector<std::string>& args, command_io& io);
int cmd_standing(const std::vector<std::string>& args, command_io& io);
/// `vigil approve --standing ...` / `--revoke-standing ID` (app/cmd_standing.cpp).
[[nodiscard]] bool is_standing_approve(const std::vector<std::string>& args);
int cmd_approve_standing(const std::vector<std::string>& args, command_io& io);
int cmd_status(const std::vector<std::string>& args, command_io& io);

}  // namespace vigil::app
