#pragma once
// Helpers shared by the coordination tests that run against real etcd.
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/crypto.hpp"
#include "coordination/coordination_etcd.hpp"

namespace vigil::coordination::testing {

/// A coordinator with its own registry (metrics children are per registry).
struct replica {
  std::unique_ptr<prometheus::Registry> registry = std::make_unique<prometheus::Registry>();
  std::unique_ptr<etcd_coordinator> c;

  replica(const std::vector<std::string>& endpoints, const std::string& prefix, const std::string& id,
          const common::clock& clock, std::chrono::milliseconds ttl = std::chrono::seconds(2),
          etcd_security security = {}) {
    etcd_coordinator_options o;
    o.security = std::move(security);
    o.endpoints = endpoints;
    o.prefix = prefix;
    o.replica_id = id;
    o.lease_ttl = ttl;
    c = std::make_unique<etcd_coordinator>(std::move(o), clock, *registry);
  }
  etcd_coordinator* operator->() { return c.get(); }
  etcd_coordinator& operator*() { return *c; }

  /// The value of a gauge or counter with no labels; -1 when absent.
  [[nodiscard]] double metric(const std::string& name) const {
    for (const auto& f : registry->Collect()) {
      if (f.name != name || f.metric.empty()) continue;
      const auto& m = f.metric.front();
      return f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
    return -1;
  }
};

inline std::string fresh_prefix(std::string_view what) {
  return "/vigil-test/" + std::string(what) + "-" + common::random_hex(4);
}

/// Steps every replica with the real clock every `every` until `done()` or
/// `limit` passes (real etcd moves on its own time: leases expire for real).
/// Returns the time waited.
inline std::chrono::milliseconds drive_until(const common::clock& clock, const std::vector<etcd_coordinator*>& cs,
                                             const std::function<bool()>& done, std::chrono::milliseconds limit,
                                             std::chrono::milliseconds every = std::chrono::milliseconds(100)) {
  const auto start = clock.monotonic();
  for (;;) {
    for (auto* c : cs)
      c->step(clock.monotonic());
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(clock.monotonic() - start);
    if (done() || waited >= limit) return waited;
    std::this_thread::sleep_for(every);
  }
}

}  // namespace vigil::coordination::testing
