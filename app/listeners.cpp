#include "app/listeners.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <utility>

#include "common/log.hpp"

namespace vigil::app {

common::http_server_options api_listener_options(const common::engine_config& engine, std::size_t fd_limit) {
  const std::size_t api_listener_connections = engine.max_connections;
  common::http_server_options o;
  o.max_body_bytes = engine.max_batch_bytes + 1024;
  o.read_timeout = std::chrono::milliseconds(10000);
  o.idle_timeout = std::chrono::milliseconds(10000);
  o.header_timeout = std::chrono::milliseconds(engine.header_timeout.count());
  o.max_connections = api_listener_connections;
  const std::size_t need = api_listener_connections + metrics_listener_connections + reserved_descriptors;
  if (fd_limit > 0 && need > fd_limit) {
    const std::size_t fit = fd_limit > metrics_listener_connections + reserved_descriptors + 16
                                ? fd_limit - metrics_listener_connections - reserved_descriptors
                                : 16;
    common::logger("engine")->warn(
        "{} connections do not fit the descriptor limit {} (RLIMIT_NOFILE; {} kept for the rest): "
        "the API listener takes {}; raise the limit (LimitNOFILE=, ulimit -n) for more",
        api_listener_connections, fd_limit, metrics_listener_connections + reserved_descriptors, fit);
    o.max_connections = fit;
  }
  o.max_connections_per_address = std::min(engine.max_connections_per_address, o.max_connections);
  return o;
}

common::http_server_options metrics_listener_options(const common::engine_config& engine) {
  common::http_server_options o;
  o.max_body_bytes = 1024;  // GETs only
  o.header_timeout = std::chrono::milliseconds(engine.header_timeout.count());
  o.max_connections = metrics_listener_connections;
  o.max_connections_per_address = metrics_listener_connections_per_address;
  return o;
}

std::size_t prepare_fd_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  const std::size_t limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1U << 20)
                                ? std::size_t{1} << 20
                                : static_cast<std::size_t>(rl.rlim_cur);
  common::logger("engine")->debug("descriptor limit (RLIMIT_NOFILE soft, raised to the hard limit): {}", limit);
  return limit;
}

listener_metrics::listener_metrics(prometheus::Registry& registry)
    : open_(prometheus::BuildGauge()
                .Name("vigil_http_connections")
                .Help("Connections open on the engine's HTTP listener (api: engine.listen, metrics: "
                      "engine.metrics_listen)")
                .Register(registry)),
      closed_(prometheus::BuildCounter()
                  .Name("vigil_http_connections_closed_total")
                  .Help("Connections the listener closed to protect itself: evicted (idle, for a newcomer at a "
                        "cap), refused (nothing could be evicted), header_timeout (the request head was too slow), "
                        "bad_request (answered 400 or 431)")
                  .Register(registry)) {}

void listener_metrics::update(const std::string& listener, const common::http_server& server) {
  open_.Add({{"listener", listener}}).Set(static_cast<double>(server.connections()));
  const auto& s = server.stats();
  const std::pair<const char*, std::uint64_t> counts[] = {{"evicted", s.evicted.load()},
                                                          {"refused", s.refused.load()},
                                                          {"header_timeout", s.header_timeouts.load()},
                                                          {"bad_request", s.bad_requests.load()}};
  for (const auto& [reason, n] : counts) {
    auto& c = closed_.Add({{"listener", listener}, {"reason", reason}});
    const double now = static_cast<double>(n);
    if (now > c.Value()) c.Increment(now - c.Value());
  }
}

}  // namespace vigil::app
