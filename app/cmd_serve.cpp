// `vigil engine`, `vigil agent` and `vigil run`: the long-running processes.
#include <curl/curl.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <filesystem>
#include <ostream>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/engine.hpp"
#include "app/services.hpp"
#include "common/config_load.hpp"
#include "common/http_server.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "detector/agent.hpp"

namespace vigil::app {

namespace asio = boost::asio;

namespace {

struct serve_setup {
  std::optional<common::config> cfg;
  int exit_code = exit_ok;
};

/// Parses the common options and loads the config; prints every problem.
serve_setup load(const std::string& name, const std::vector<std::string>& args, const std::vector<option_spec>& specs,
                 const std::string& usage, command_io& io, parsed_args& parsed) {
  serve_setup s;
  auto r = parse_args(args, specs);
  if (!r.args) {
    io.err << "vigil " << name << ": " << r.error << "\n";
    s.exit_code = exit_usage;
    return s;
  }
  parsed = std::move(*r.args);
  if (parsed.help) {
    io.out << usage << "\n\n" << format_options(specs);
    s.exit_code = -1;
    return s;
  }
  const std::string file = *parsed.get("config");
  auto loaded = common::load_config(file);
  for (const auto& d : loaded.diagnostics)
    io.err << d.format() << "\n";
  if (!loaded.ok()) {
    io.err << "vigil " << name << ": " << loaded.error_count() << " error(s) in " << file << "\n";
    s.exit_code = exit_usage;
    return s;
  }
  if (const auto err = common::setup_logging(loaded.value->logging, parsed.get("log-level"))) {
    io.err << "vigil " << name << ": --log-level: " << *err << "\n";
    s.exit_code = exit_usage;
    return s;
  }
  s.cfg = std::move(loaded.value);
  return s;
}

bool known_vantage(const common::config& cfg, const std::string& v, command_io& io, const std::string& name) {
  for (const auto& x : cfg.vantages) {
    if (x == v) return true;
  }
  io.err << "vigil " << name << ": --vantage " << v << " is not in the config's vantages (";
  for (std::size_t i = 0; i < cfg.vantages.size(); ++i)
    io.err << (i ? ", " : "") << cfg.vantages[i];
  io.err << ")\n";
  return false;
}

/// Runs the io_context until SIGINT/SIGTERM, then calls `shutdown` on the loop.
void run_until_signal(asio::io_context& io, const std::function<void()>& shutdown) {
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    common::logger("vigil")->info("signal {}: shutting down", sig);
    shutdown();
    io.stop();
  });
  io.run();
}

std::vector<option_spec> common_specs() {
  return {
      {"config", "FILE", "configuration file (YAML)", true},
      {"log-level", "LEVEL", "trace|debug|info|warn|error (overrides logging.level)"},
  };
}

option_spec replica_spec() {
  return {"replica", "NAME",
          "this engine's replica id among those sharing coordination (default: the host "
          "name); its state goes to engine.state_dir/NAME"};
}

/// The replica id (--replica, else the host name) and, with --replica, the
/// replica's own state directory: several engines on one host stay apart.
std::optional<std::string> replica_identity(common::config& cfg, const parsed_args& parsed, command_io& io,
                                            const std::string& name) {
  std::string id;
  if (const auto r = parsed.get("replica")) {
    id = *r;
    const bool ok =
        !id.empty() && id.size() <= 64 && id != "." && id != ".." &&
        id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == std::string::npos;
    if (!ok) {
      io.err << "vigil " << name << ": --replica '" << id << "': use 1..64 of [A-Za-z0-9._-]\n";
      return std::nullopt;
    }
    cfg.engine.state_dir = (std::filesystem::path(cfg.engine.state_dir) / id).string();
    return id;
  }
  if (cfg.coordination.backend == common::coordination_backend::file) return std::string("local");
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return std::string("local");
  return std::string(host);
}

std::string engine_url(const common::config& cfg, const std::string& listen) {
  return cfg.engine.public_url.empty() ? "http://" + listen : cfg.engine.public_url;
}

/// The URL other replicas reach this one on (followers forward approvals to
/// it): the bound address, unless it is a wildcard, then engine.public_url.
std::string replica_url(const common::config& cfg, const engine& e, const std::string& listen) {
  std::string bound = e.base_url();
  if (bound.find("0.0.0.0") != std::string::npos || bound.find("[::]") != std::string::npos) {
    return engine_url(cfg, listen);
  }
  return bound;
}

}  // namespace

int cmd_engine(const std::vector<std::string>& args, command_io& io) {
  auto specs = common_specs();
  specs.push_back({"listen", "ADDR", "override engine.listen (host:port)"});
  specs.push_back(replica_spec());
  parsed_args parsed;
  auto s = load("engine", args, specs,
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
    engine_services services(ctx, cfg, clock, registry, nullptr, *replica);
    engine_options opts;
    opts.listen_override = listen;
    opts.leader = services.starts_as_leader();
    engine e(ctx, cfg, clock, registry, services.hooks(engine_url(cfg, listen)), opts);
    e.start();
    services.start(e, replica_url(cfg, e, listen));
    io.out << "vigil engine '" << cfg.deployment << "' replica " << *replica << " listening on " << e.base_url()
           << std::endl;
    run_until_signal(ctx, [&] {
      e.stop();
      services.stop();
    });
  } catch (const std::exception& ex) {
    io.err << "vigil engine: " << ex.what() << "\n";
    return exit_failed;
  }
  return exit_ok;
}

int cmd_agent(const std::vector<std::string>& args, command_io& io) {
  auto specs = common_specs();
  specs.push_back({"vantage", "NAME", "the vantage this agent probes from", true});
  specs.push_back({"metrics-listen", "ADDR", "serve /metrics, /healthz and /readyz on host:port"});
  specs.push_back({"engine", "URL", "send batches here instead of engine.endpoints (repeatable)", false, true});
  parsed_args parsed;
  auto s = load("agent", args, specs,
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
    io.out << "vigil agent " << vantage << " probing " << a.check_count() << " checks" << std::endl;
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

int cmd_run(const std::vector<std::string>& args, command_io& io) {
  auto specs = common_specs();
  specs.push_back({"vantage", "NAME", "the vantage of the local agent", true});
  specs.push_back({"listen", "ADDR", "override engine.listen (host:port)"});
  specs.push_back(replica_spec());
  parsed_args parsed;
  auto s = load("run", args, specs,
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
    engine_services services(ctx, cfg, clock, registry, nullptr, *replica);
    engine_options opts;
    opts.listen_override = listen;
    opts.leader = services.starts_as_leader();
    engine e(ctx, cfg, clock, registry, services.hooks(engine_url(cfg, listen)), opts);
    e.start();
    services.start(e, replica_url(cfg, e, listen));
    detector::agent_options ao;
    ao.vantage = vantage;
    ao.endpoints = {e.base_url()};
    detector::agent a(ctx, cfg, ao, clock, registry);
    a.start();
    io.out << "vigil run: engine on " << e.base_url() << ", local agent " << vantage << " probing " << a.check_count()
           << " checks" << std::endl;
    run_until_signal(ctx, [&] {
      a.stop();
      e.stop();
      services.stop();
    });
  } catch (const std::exception& ex) {
    io.err << "vigil run: " << ex.what() << "\n";
    return exit_failed;
  }
  return exit_ok;
}

}  // namespace vigil::app
