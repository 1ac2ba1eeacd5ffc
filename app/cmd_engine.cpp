// `vigil engine`: ingests agent batches, decides, pages and runs approved plans.
#include <curl/curl.h>
#include <malloc.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <ostream>

#include "app/commands.hpp"
#include "app/serve_common.hpp"

namespace vigil::app {

namespace asio = boost::asio;

namespace {

/// Memory of a large deployment (bench/RESULTS.md, "Scale of one engine"):
/// blocks of 1 MiB and more (batch bodies, /v1/status answers) are mapped and
/// unmapped each time rather than left in the heap after glibc's adaptive
/// threshold grows; and what loading the config took (the YAML tree) goes
/// back to the system once the engine is built.
void bound_malloc() {
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
}

}  // namespace

int cmd_engine(const std::vector<std::string>& args, command_io& io) {
  bound_malloc();
  auto specs = common_specs();
  specs.push_back({"listen", "ADDR", "override engine.listen (host:port)"});
  specs.push_back(replica_spec());
  parsed_args parsed;
  auto s = load_serve_config(
      "engine", args, specs,
      "Usage: vigil engine --config FILE\n\nIngests agent batches, decides, pages, verifies approvals and "
      "runs approved plans.",
      io, parsed);
  if (!s.cfg) return s.exit_code < 0 ? exit_ok : s.exit_code;
  common::config& cfg = *s.cfg;
  const auto replica = replica_identity(cfg, parsed, io, "engine");
  if (!replica) return exit_usage;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  asio::io_context ctx;
  common::real_clock clock;
  prometheus::Registry registry;
  const std::string listen = parsed.get_or("listen", cfg.engine.listen);
  try {
    served_engine served(ctx, cfg, clock, registry, *replica, listen);
    engine& e = served.get();
    malloc_trim(0);
    print_banner(io, "vigil engine '" + cfg.deployment + "' replica " + *replica + " listening on " + e.base_url());
    run_until_signal(
        ctx, [&] { served.stop(); }, [&] { served.reload(*parsed.get("config")); });
  } catch (const std::exception& ex) {
    io.err << "vigil engine: " << ex.what() << "\n";
    return exit_failed;
  }
  return exit_ok;
}

}  // namespace vigil::app
