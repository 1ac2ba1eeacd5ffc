#include "app/engine_metrics.hpp"

#include <cmath>
#include <limits>

namespace vigil::app {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

namespace {

constexpr std::size_t rejection_count = 11;

template <typename E, std::size_t N>
std::vector<prometheus::Gauge*> one_hot(prometheus::Family<prometheus::Gauge>& fam,
                                        const std::map<std::string, std::string>& labels, const char* state_label,
                                        const std::array<std::string_view, N>& names) {
  std::vector<prometheus::Gauge*> out;
  for (const auto name : names) {
    auto l = labels;
    l[state_label] = std::string(name);
    out.push_back(&fam.Add(l));
  }
  return out;
}

void set_one(std::vector<prometheus::Gauge*>& gauges, std::size_t current) {
  for (std::size_t i = 0; i < gauges.size(); ++i)
    gauges[i]->Set(i == current ? 1.0 : 0.0);
}

}  // namespace

engine_metrics::engine_metrics(prometheus::Registry& r, const decision::topology& topo)
    : approvals_(BuildCounter()
                     .Name("vigil_approval_decisions_total")
                     .Help("Verified approvals the decision core accepted or refused (gates re-evaluated), by "
                           "reason; token-level checks are vigil_approvals_total")
                     .Register(r)),
      classifications_(BuildCounter()
                           .Name("vigil_classifications_total")
                           .Help("Declared classification changes (detected, not acted on), by region and new class")
                           .Register(r)),
      errors_(BuildCounter()
                  .Name("vigil_internal_errors_total")
                  .Help("Unexpected errors inside the engine's loops, by place; the loop went on")
                  .Register(r)) {
  auto& batches =
      BuildCounter().Name("vigil_batches_received_total").Help("Agent batches accepted, by vantage").Register(r);
  auto& observations =
      BuildCounter().Name("vigil_observations_total").Help("Observations ingested, by vantage").Register(r);
  for (const auto& v : topo.vantages) {
    batches_by_vantage_.push_back(&batches.Add({{"vantage", v}}));
    observations_by_vantage_.push_back(&observations.Add({{"vantage", v}}));
  }
  auto& rejected =
      BuildCounter()
          .Name("vigil_batches_rejected_total")
          .Help("Agent batches refused, by reason (bad_signature, stale_timestamp, non_increasing_seq, ...)")
          .Register(r);
  for (std::size_t i = 0; i < rejection_count; ++i) {
    rejected_by_reason_.push_back(
        &rejected.Add({{"reason", std::string(common::to_string(static_cast<common::batch_rejection>(i)))}}));
  }
  unknown_checks_ = &BuildCounter()
                         .Name("vigil_observations_unknown_check_total")
                         .Help("Observations skipped because they named a check this engine does not know")
                         .Register(r)
                         .Add({});
  tick_duration_ =
      &BuildHistogram()
           .Name("vigil_tick_duration_seconds")
           .Help("Time one decision tick took, including output handling")
           .Register(r)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                            0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  // Up to 10 s: a tick slower than the alert threshold (0.5 s) must land in a
  // bucket below +Inf, or histogram_quantile cannot report it.
  last_tick_ = &BuildGauge()
                    .Name("vigil_last_tick_timestamp_seconds")
                    .Help("Unix time the last decision tick finished (a stalled tick loop stops moving it)")
                    .Register(r)
                    .Add({});
  auto& region_fam = BuildGauge()
                         .Name("vigil_region_classification")
                         .Help("1 for each region's current declared classification, 0 for the others")
                         .Register(r);
  for (const auto& reg : topo.regions) {
    region_class_.push_back(one_hot<decision::classification>(region_fam, {{"region", reg.name}}, "classification",
                                                              decision::classification_names));
  }
  auto& check_fam = BuildGauge()
                        .Name("vigil_check_state")
                        .Help("1 for each check's current quorum state (up, down, unknown)")
                        .Register(r);
  for (const auto& c : topo.checks) {
    check_state_.push_back(one_hot<decision::verdict>(
        check_fam, {{"check", c.id}, {"region", topo.regions[c.region].name}}, "state", decision::verdict_names));
  }
  auto& vantage_fam = BuildGauge()
                          .Name("vigil_vantage_state")
                          .Help("1 for each vantage's current state (present, absent, impaired)")
                          .Register(r);
  for (const auto& v : topo.vantages) {
    vantage_state_.push_back(
        one_hot<decision::vantage_state>(vantage_fam, {{"vantage", v}}, "state", decision::vantage_state_names));
  }
  auto& gate_fam =
      BuildGauge()
          .Name("vigil_gate_ok")
          .Help("Promotion gates of the current recommendation: 1 passes, 0 fails (absent: no recommendation)")
          .Register(r);
  for (const auto g : decision::gate_names)
    gate_ok_.push_back(&gate_fam.Add({{"gate", std::string(g)}}));
  auto& rec_fam = BuildGauge()
                      .Name("vigil_recommendation_state")
                      .Help("1 for the current recommendation's action and state, 0 otherwise")
                      .Register(r);
  for (const auto a : decision::action_names) {
    rec_state_.push_back(one_hot<decision::recommendation_state>(rec_fam, {{"action", std::string(a)}}, "state",
                                                                 decision::recommendation_state_names));
  }
  rec_age_ = &BuildGauge()
                  .Name("vigil_recommendation_age_seconds")
                  .Help("Age of the current recommendation (0 when there is none)")
                  .Register(r)
                  .Add({});
  leader_ =
      &BuildGauge().Name("vigil_leader").Help("1 when this replica holds the leadership lease").Register(r).Add({});
  lag_ = &BuildGauge()
              .Name("vigil_replication_lag_seconds")
              .Help("Newest replication lag sample the engine holds (NaN when unknown)")
              .Register(r)
              .Add({});
  lag_age_ = &BuildGauge()
                  .Name("vigil_replication_lag_sample_age_seconds")
                  .Help("Age of the newest replication lag sample (NaN when none)")
                  .Register(r)
                  .Add({});
  quorum_ = &BuildGauge().Name("vigil_quorum").Help("Vantages that must agree on a check state").Register(r).Add({});
  auto& active_fam = BuildGauge()
                         .Name("vigil_active_region")
                         .Help("1 for the region treated as the primary now (the active region), 0 for the other")
                         .Register(r);
  for (const auto& reg : topo.regions)
    active_region_.push_back(&active_fam.Add({{"region", reg.name}}));
  active_since_ = &BuildGauge()
                       .Name("vigil_active_since_timestamp_seconds")
                       .Help("Since when the active region is active (0: the configured primary, never moved)")
                       .Register(r)
                       .Add({});
}

void engine_metrics::batch_accepted(decision::vantage_index v, std::size_t observations) {
  batches_by_vantage_.at(v)->Increment();
  observations_by_vantage_.at(v)->Increment(static_cast<double>(observations));
}

void engine_metrics::batch_rejected(common::batch_rejection reason) {
  rejected_by_reason_.at(static_cast<std::size_t>(reason))->Increment();
}

void engine_metrics::observations_unknown(std::size_t n) {
  unknown_checks_->Increment(static_cast<double>(n));
}

void engine_metrics::approval(const std::string& result, std::string_view reason) {
  // Reasons form a closed vocabulary (verifier and core), so Add here is bounded.
  approvals_.Add({{"result", result}, {"reason", std::string(reason)}}).Increment();
}

void engine_metrics::classification_detected(const std::string& region, decision::classification c) {
  classifications_.Add({{"region", region}, {"classification", std::string(decision::to_string(c))}}).Increment();
}

void engine_metrics::internal_error(const std::string& where) {
  errors_.Add({{"where", where}}).Increment();
}

void engine_metrics::tick_took(std::chrono::steady_clock::duration d, common::wall_time finished) {
  tick_duration_->Observe(std::chrono::duration<double>(d).count());
  last_tick_->Set(std::chrono::duration<double>(finished.time_since_epoch()).count());
}

void engine_metrics::update(const decision::snapshot& s, const std::vector<decision::verdict>& checks) {
  for (std::size_t i = 0; i < s.regions.size() && i < region_class_.size(); ++i) {
    set_one(region_class_[i], static_cast<std::size_t>(s.regions[i].declared));
  }
  check_state_set_.resize(check_state_.size(), 0xff);
  for (std::size_t i = 0; i < checks.size() && i < check_state_.size(); ++i) {
    const auto state = static_cast<std::uint8_t>(checks[i]);
    if (check_state_set_[i] == state) continue;
    set_one(check_state_[i], state);
    check_state_set_[i] = state;
  }
  for (std::size_t i = 0; i < s.vantages.size() && i < vantage_state_.size(); ++i) {
    set_one(vantage_state_[i], static_cast<std::size_t>(s.vantages[i].state));
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (auto* g : gate_ok_)
    g->Set(nan);
  for (auto& per_action : rec_state_) {
    for (auto* g : per_action)
      g->Set(0);
  }
  if (s.rec) {
    for (const auto& g : s.rec->gates)
      gate_ok_.at(static_cast<std::size_t>(g.name))->Set(g.ok ? 1 : 0);
    rec_state_.at(static_cast<std::size_t>(s.rec->action)).at(static_cast<std::size_t>(s.rec->state))->Set(1);
    rec_age_->Set(std::chrono::duration<double>(s.at - s.rec->created_at).count());
  } else {
    rec_age_->Set(0);
  }
  leader_->Set(s.leader ? 1 : 0);
  lag_->Set(s.lag.ms ? static_cast<double>(*s.lag.ms) / 1000.0 : nan);
  lag_age_->Set(s.lag.at ? std::chrono::duration<double>(s.at - *s.lag.at).count() : nan);
  quorum_->Set(s.quorum);
  for (std::size_t i = 0; i < s.regions.size() && i < active_region_.size(); ++i)
    active_region_[i]->Set(s.regions[i].name == s.active.region ? 1 : 0);
  active_since_->Set(std::chrono::duration<double>(s.active.since.time_since_epoch()).count());
}

}  // namespace vigil::app
