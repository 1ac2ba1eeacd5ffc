// `vigil agent`: probes from one vantage and sends signed batches to the engines.
#include <curl/curl.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <ostream>

#include "app/commands.hpp"
#include "app/serve_common.hpp"
#include "common/http_server.hpp"
#include "common/metrics.hpp"
#include "detector/agent.hpp"

namespace vigil::app {

namespace asio = boost::asio;

int cmd_agent(const std::vector<std::string>& args, command_io& io) {
  auto specs = common_specs();
  specs.push_back({"vantage", "NAME", "the vantage this agent probes from", true});
  specs.push_back({"metrics-listen", "ADDR", "serve /metrics, /healthz and /readyz on host:port"});
  specs.push_back({"engine", "URL", "send batches here instead of engine.endpoints (repeatable)", false, true});
  parsed_args parsed;
  auto s = load_serve_config(
      "agent", args, specs,
      "Usage: vigil agent --config FILE --vantage NAME\n\nProbes every check of both regions and sends "
      "signed batches to every engine.",
      io, parsed);
  if (!s.cfg) return s.exit_code < 0 ? exit_ok : s.exit_code;
  const common::config& cfg = *s.cfg;
  const std::string vantage = *parsed.get("vantage");
  if (!known_vantage(cfg, vantage, io, "agent")) return exit_usage;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  asio::io_context ctx;
  common::real_clock clock;
  prometheus::Registry registry;
  try {
    detector::agent_options opts;
    opts.vantage = vantage;
    opts.endpoints = parsed.all("engine");
    detector::agent a(ctx, cfg, opts, clock, registry);
    std::unique_ptr<common::http_server> metrics;
    if (const auto addr = parsed.get("metrics-listen")) {
      metrics = std::make_unique<common::http_server>(ctx, *addr, [&registry](const common::http_request& r) {
        if (r.path == "/metrics") {
          return common::http_response{200, common::metrics_content_type, common::serialize_metrics(registry), {}};
        }
        if (r.path == "/healthz" || r.path == "/readyz") return common::http_response::json(200, R"({"status":"ok"})");
        return common::http_response::error(404, "not_found", "only /metrics, /healthz and /readyz here");
      });
      metrics->start();
    }
    a.start();
    print_banner(io, "vigil agent " + vantage + " probing " + std::to_string(a.check_count()) + " checks");
    run_until_signal(ctx, [&] {
      a.stop();
      if (metrics) metrics->stop();
    });
  } catch (const std::exception& ex) {
    io.err << "vigil agent: " << ex.what() << "\n";
    return exit_failed;
  }
  return exit_ok;
}

}  // namespace vigil::app
