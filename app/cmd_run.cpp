// `vigil run`: the engine plus a local agent in one process.
#include <curl/curl.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <ostream>

#include "app/commands.hpp"
#include "app/serve_common.hpp"
#include "detector/agent.hpp"

namespace vigil::app {

namespace asio = boost::asio;

int cmd_run(const std::vector<std::string>& args, command_io& io) {
  auto specs = common_specs();
  specs.push_back({"vantage", "NAME", "the vantage of the local agent", true});
  specs.push_back({"listen", "ADDR", "override engine.listen (host:port)"});
  specs.push_back(replica_spec());
  parsed_args parsed;
  auto s = load_serve_config(
      "run", args, specs,
      "Usage: vigil run --config FILE --vantage NAME\n\nThe engine plus a local agent in one process, with "
      "file-backed state: the single-node default and the sidecar mode.",
      io, parsed);
  if (!s.cfg) return s.exit_code < 0 ? exit_ok : s.exit_code;
  common::config& cfg = *s.cfg;
  const std::string vantage = *parsed.get("vantage");
  if (!known_vantage(cfg, vantage, io, "run")) return exit_usage;
  const auto replica = replica_identity(cfg, parsed, io, "run");
  if (!replica) return exit_usage;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  asio::io_context ctx;
  common::real_clock clock;
  prometheus::Registry registry;
  const std::string listen = parsed.get_or("listen", cfg.engine.listen);
  try {
    served_engine served(ctx, cfg, clock, registry, *replica, listen);
    engine& e = served.get();
    detector::agent_options ao;
    ao.vantage = vantage;
    ao.endpoints = {e.base_url()};
    detector::agent a(ctx, cfg, ao, clock, registry);
    a.start();
    print_banner(io, "vigil run: engine on " + e.base_url() + ", local agent " + vantage + " probing " +
                         std::to_string(a.check_count()) + " checks");
    run_until_signal(
        ctx,
        [&] {
          a.stop();
          served.stop();
        },
        [&] { served.reload(*parsed.get("config")); });
  } catch (const std::exception& ex) {
    io.err << "vigil run: " << ex.what() << "\n";
    return exit_failed;
  }
  return exit_ok;
}

}  // namespace vigil::app
