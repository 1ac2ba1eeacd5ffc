#include "app/serve_common.hpp"

#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <filesystem>
#include <ostream>

#include "app/engine.hpp"
#include "app/validated_config.hpp"
#include "common/config_load.hpp"
#include "common/log.hpp"

namespace vigil::app {

namespace asio = boost::asio;

namespace {

/// engine.public_url, else http://listen.
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

serve_setup load_serve_config(const std::string& name, const std::vector<std::string>& args,
                              const std::vector<option_spec>& specs, const std::string& usage, command_io& io,
                              parsed_args& parsed) {
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
  auto loaded = load_validated_config(file);  // exactly what check-config accepts
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

void run_until_signal(asio::io_context& io, const std::function<void()>& shutdown,
                      const std::function<void()>& reload) {
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                             int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      // systemctl reload, or a terminal closing: never a reason to stop.
      common::logger("vigil")->info("signal SIGHUP: reloading");
      if (reload) {
        reload();
      } else {
        common::logger("vigil")->info(
            "SIGHUP: nothing is reloaded in this process; configuration changes take "
            "effect at the next restart");
      }
      signals.async_wait(on_signal);
      return;
    }
    common::logger("vigil")->info("signal {}: shutting down", sig);
    shutdown();
    io.stop();
  };
  signals.async_wait(on_signal);
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

served_engine::served_engine(asio::io_context& ctx, const common::config& cfg, const common::clock& clock,
                             prometheus::Registry& registry, const std::string& replica, const std::string& listen)
    : services_(ctx, cfg, clock, registry, nullptr, replica) {
  engine_options opts;
  opts.listen_override = listen;
  opts.leader = services_.starts_as_leader();
  engine_.emplace(ctx, cfg, clock, registry, services_.hooks(engine_url(cfg, listen)), opts);
  engine_->start();
  services_.start(*engine_, replica_url(cfg, *engine_, listen));
}

void print_banner(command_io& io, const std::string& line) {
  if (common::logging_json()) {
    common::logger("vigil")->info("{}", line);
    common::logger("vigil")->flush();
  } else {
    io.out << line << std::endl;
  }
}

void served_engine::reload(const std::string& config_file) {
  const auto log = common::logger("vigil");
  auto loaded = load_validated_config(config_file);
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics)
      log->error("SIGHUP: {}", d.format());
    log->error("SIGHUP: {} has {} error(s): nothing reloaded, the running configuration stays", config_file,
               loaded.error_count());
    return;
  }
  log->info("SIGHUP: {}", services_.reload_approvers(loaded.value->approvals));
  const auto& tokens = loaded.value->engine.read_tokens;
  engine_->set_read_tokens(tokens);
  log->info("SIGHUP: read tokens: {}",
            tokens.empty() ? std::string("none, GET /v1/* is open")
                           : std::to_string(tokens.size()) + " from " + loaded.value->engine.read_tokens_file);
  log->info(
      "SIGHUP: every other setting of {} (listen, services, decision, paging and its secret files, plan, "
      "agent key, coordination) takes effect at the next restart",
      config_file);
}

void served_engine::stop() {
  engine_->stop();
  services_.stop();
}

}  // namespace vigil::app
