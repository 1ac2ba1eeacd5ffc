#pragma once
// The engine's HTTP listeners (docs/design.md, "HTTP API"): the API listener
// on engine.listen, and, when engine.metrics_listen is set, a small second one
// for /healthz, /readyz and /metrics that stays reachable however many clients
// hold the API listener. Their options and their Prometheus counters.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/config.hpp"
#include "common/http_server.hpp"

namespace vigil::app {

/// The API listener's caps and request-head deadline come from the config
/// (engine.max_connections, engine.max_connections_per_address,
/// engine.header_timeout; docs/configuration.md).
/// The metrics listener's caps: a few scrapers and kubelet probes.
inline constexpr std::size_t metrics_listener_connections = 64;
inline constexpr std::size_t metrics_listener_connections_per_address = 32;
/// Descriptors kept for everything else (files, curl, etcd, plan steps).
inline constexpr std::size_t reserved_descriptors = 256;

/// The API listener's options: max_connections is lowered to fit the
/// descriptor limit `fd_limit` (0: unknown, not lowered).
[[nodiscard]] common::http_server_options api_listener_options(const common::engine_config& engine,
                                                               std::size_t fd_limit);
[[nodiscard]] common::http_server_options metrics_listener_options(const common::engine_config& engine);

/// Raises the soft RLIMIT_NOFILE to the hard limit (a listener holds one
/// descriptor per connection) and logs it; returns the soft limit afterwards,
/// 0 when it could not be read.
std::size_t prepare_fd_limit();

/// vigil_http_connections{listener} and
/// vigil_http_connections_closed_total{listener, reason}, copied from the
/// servers' counters at each scrape.
class listener_metrics {
 public:
  explicit listener_metrics(prometheus::Registry& registry);
  void update(const std::string& listener, const common::http_server& server);

 private:
  prometheus::Family<prometheus::Gauge>& open_;
  prometheus::Family<prometheus::Counter>& closed_;
};

}  // namespace vigil::app
