#pragma once
// Prometheus metrics of the HTTP prober and the scheduler, registered
// once (docs/design.md, "Metrics registered once"): the constructor registers the families, add_check() builds
// every child a check will ever need, and the hot path (record, record_lag)
// only looks children up and updates them: it never calls Family::Add.
//
//   vigil_probe_success{check,region,vantage}                 gauge: 1 ok/degraded, 0 otherwise
//   vigil_probe_duration_seconds{check,region,vantage}        histogram of total probe time
//   vigil_probe_outcomes_total{check,region,vantage,outcome}  counter per HTTP outcome the
//                                                             check can produce (see add_check)
//   vigil_probe_phase_seconds{check,region,vantage,phase}     gauge: last probe's dns, connect,
//                                                             tls, first_byte, total
//   vigil_probe_cert_expiry_seconds{check,region,vantage}     gauge: seconds until the earliest
//                                                             notAfter of the chain (https only)
//   vigil_scheduler_lag_seconds{vantage}                      histogram: probe start - due time
//
// Labels stay low-cardinality: check id, region, vantage, and closed sets.
// Thread safety: add_check() before probes start; record*() from one thread
// at a time (prometheus-cpp metrics themselves are thread-safe).

#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>

#include "decision/outcome.hpp"

namespace prometheus {
class Registry;
class Gauge;
class Counter;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace vigil::detector {

struct compiled_check;
struct probe_result;

class probe_metrics {
 public:
  probe_metrics(prometheus::Registry& registry, const std::string& vantage);

  /// Pre-builds the check's children: one outcome counter per outcome its
  /// settings allow (no tls_error series for a plain http:// check, ...; an
  /// outcome ruled out that happens anyway gets its series then). Idempotent.
  void add_check(const compiled_check& check);

  /// Records one finished probe; a check that was never added is ignored.
  void record(std::string_view check_id, const probe_result& r);

  /// Records how late a probe started against its due time.
  void record_lag(std::chrono::duration<double> lag);

  static constexpr std::array<std::string_view, 5> phase_names{"dns", "connect", "tls", "first_byte", "total"};

 private:
  struct children {
    std::string region;
    prometheus::Gauge* success = nullptr;
    prometheus::Histogram* duration = nullptr;
    std::array<prometheus::Counter*, decision::outcome_count> outcomes{};  ///< null: not an HTTP outcome
    std::array<prometheus::Gauge*, phase_names.size()> phases{};
    prometheus::Gauge* cert_expiry = nullptr;  ///< https checks only
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  prometheus::Family<prometheus::Gauge>& success_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& outcomes_;
  prometheus::Family<prometheus::Gauge>& phases_;
  prometheus::Family<prometheus::Gauge>& cert_expiry_;
  prometheus::Histogram* lag_ = nullptr;
  std::unordered_map<std::string, children, string_hash, std::equal_to<>> checks_;
};

}  // namespace vigil::detector
