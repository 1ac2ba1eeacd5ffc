#pragma once
// Prometheus exposition of a prometheus-cpp registry, served by vigil's own
// HTTP server (so /metrics needs no second web server). main() owns the
// registry; components receive it at construction and build their metric
// children once (docs/design.md, "Metrics registered once").

#include <prometheus/registry.h>

#include <string>

namespace vigil::common {

inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// The text exposition format of every family in the registry, followed by
/// what every vigil process exports: vigil_build_info{version,revision,
/// build_type} and the process_* families (CPU, memory, file descriptors,
/// start time; read at each call).
[[nodiscard]] std::string serialize_metrics(prometheus::Registry& registry);

}  // namespace vigil::common
