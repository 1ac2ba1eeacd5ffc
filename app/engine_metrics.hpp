#pragma once
// The engine's Prometheus metrics (docs/metrics.md lists them all). Families
// are registered once at construction; every child is pre-built from the
// topology, so nothing calls Family::Add on the hot path (docs/design.md, "Metrics registered once").
// "Detected" (vigil_classifications_total) is counted apart from "acted on"
// (vigil_plan_runs_total), as orchestrator does.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/batch.hpp"
#include "common/clock.hpp"
#include "decision/snapshot.hpp"
#include "decision/types.hpp"

namespace vigil::app {

class engine_metrics {
 public:
  engine_metrics(prometheus::Registry& registry, const decision::topology& topo);

  void batch_accepted(decision::vantage_index v, std::size_t observations);
  void batch_rejected(common::batch_rejection reason);
  void observations_unknown(std::size_t n);
  void approval(const std::string& result, std::string_view reason);
  void classification_detected(const std::string& region, decision::classification c);
  void internal_error(const std::string& where);
  /// One decision tick took `d` and finished at `finished` (wall clock): the
  /// duration histogram, and the timestamp that shows a stalled loop.
  void tick_took(std::chrono::steady_clock::duration d, common::wall_time finished);
  /// Sets every state gauge from the snapshot of the last tick (its check
  /// list is not read: it may be empty) and the checks' states
  /// (core::check_states()); a check's gauges are written only when its state
  /// changed, so a tick over 10,000 checks stays cheap.
  void update(const decision::snapshot& s, const std::vector<decision::verdict>& checks);

 private:
  prometheus::Family<prometheus::Counter>& approvals_;
  prometheus::Family<prometheus::Counter>& classifications_;
  prometheus::Family<prometheus::Counter>& errors_;
  std::vector<prometheus::Counter*> batches_by_vantage_;
  std::vector<prometheus::Counter*> observations_by_vantage_;
  std::vector<prometheus::Counter*> rejected_by_reason_;
  prometheus::Counter* unknown_checks_;
  prometheus::Histogram* tick_duration_;
  prometheus::Gauge* last_tick_;
  // [index][state] = gauge set to 1 for the current state, 0 otherwise
  std::vector<std::vector<prometheus::Gauge*>> region_class_;
  std::vector<std::vector<prometheus::Gauge*>> check_state_;
  std::vector<std::uint8_t> check_state_set_;  ///< [check]: the state its gauges show (0xff: none yet)
  std::vector<std::vector<prometheus::Gauge*>> vantage_state_;
  std::vector<prometheus::Gauge*> gate_ok_;
  std::vector<std::vector<prometheus::Gauge*>> rec_state_;  ///< [action][state]
  prometheus::Gauge* rec_age_;
  prometheus::Gauge* leader_;
  prometheus::Gauge* lag_;
  prometheus::Gauge* lag_age_;
  prometheus::Gauge* quorum_;
  std::vector<prometheus::Gauge*> active_region_;  ///< [region index]: 1 for the active one
  prometheus::Gauge* active_since_;
};

}  // namespace vigil::app
