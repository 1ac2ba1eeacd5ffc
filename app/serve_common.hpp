#pragma once
// What `vigil engine`, `vigil agent` and `vigil run` share: option parsing
// and config loading, the replica identity, the engine with its services
// and the signal loop.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/engine.hpp"
#include "app/services.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"

namespace vigil::app {

struct serve_setup {
  std::optional<common::config> cfg;
  int exit_code = exit_ok;
};

/// Parses the common options and loads the config; prints every problem.
/// exit_code is -1 after --help (the caller returns exit_ok).
serve_setup load_serve_config(const std::string& name, const std::vector<std::string>& args,
                              const std::vector<option_spec>& specs, const std::string& usage, command_io& io,
                              parsed_args& parsed);

/// True when `v` is one of the config's vantages; otherwise says which are.
bool known_vantage(const common::config& cfg, const std::string& v, command_io& io, const std::string& name);

/// The start-up banner: a plain line on stdout with logging.format text; with
/// json a log line on the "vigil" logger instead, so that every line the
/// process writes is JSON.
void print_banner(command_io& io, const std::string& line);

/// Runs the io_context until SIGINT/SIGTERM, then calls `shutdown` on the loop.
/// SIGHUP never ends the process: it calls `reload` on the loop (when
/// given; else it logs that configuration changes need a restart).
void run_until_signal(boost::asio::io_context& io, const std::function<void()>& shutdown,
                      const std::function<void()>& reload = {});

/// --config and --log-level.
std::vector<option_spec> common_specs();

/// --replica.
option_spec replica_spec();

/// The replica id (--replica, else the host name) and, with --replica, the
/// replica's own state directory: several engines on one host stay apart.
std::optional<std::string> replica_identity(common::config& cfg, const parsed_args& parsed, command_io& io,
                                            const std::string& name);

/// The engine and its services (state, coordination, paging, plans) for
/// `vigil engine` and `vigil run`: constructed, started, stopped together.
class served_engine {
 public:
  /// Throws what engine_services and engine throw.
  served_engine(boost::asio::io_context& ctx, const common::config& cfg, const common::clock& clock,
                prometheus::Registry& registry, const std::string& replica, const std::string& listen);
  [[nodiscard]] engine& get() { return *engine_; }
  void stop();
  /// SIGHUP: loads `config_file` again; what can change while running (the
  /// approvers' public keys, the read tokens) is applied, the rest is logged as needing a
  /// restart. A config with errors is logged and changes nothing.
  void reload(const std::string& config_file);

 private:
  engine_services services_;
  std::optional<engine> engine_;
};

}  // namespace vigil::app
