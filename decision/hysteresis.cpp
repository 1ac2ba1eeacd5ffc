#include "decision/hysteresis.hpp"

#include <algorithm>
#include <limits>

namespace vigil::decision {

namespace {
constexpr std::uint16_t counter_max = std::numeric_limits<std::uint16_t>::max();
}

transition probe_hysteresis::observe(bool success, int fall, int rise) {
  if (success) {
    fails_ = 0;
    if (successes_ < counter_max) ++successes_;
    if (state_ == verdict::up) return transition::unchanged;
    if (successes_ >= rise) {
      state_ = verdict::up;
      return transition::changed;
    }
    return transition::pending;
  }
  successes_ = 0;
  if (fails_ < counter_max) ++fails_;
  if (state_ == verdict::down) return transition::unchanged;
  if (fails_ >= fall) {
    state_ = verdict::down;
    return transition::changed;
  }
  return transition::pending;
}

int probe_hysteresis::pending() const {
  switch (state_) {
    case verdict::up:
      return fails_;
    case verdict::down:
      return successes_;
    case verdict::unknown:
      return std::max(fails_, successes_);
  }
  return 0;
}

int severity_rank(classification c) {
  switch (c) {
    case classification::healthy:
      return 0;
    case classification::service_degraded:
    case classification::unknown:
      return 1;
    case classification::regional_outage:
    case classification::global_outage:
      return 2;
  }
  return 1;
}

duration classification_hysteresis::required_hold(classification from, classification to, bool first,
                                                  duration confirm_for, duration clear_for) {
  // The first declaration after start leaves the initial `unknown`: it only
  // needs to be stable, not to "clear" anything.
  if (first) return confirm_for;
  if (to == classification::healthy) return clear_for;
  // Stepping down from an outage (to degraded or unknown) withdraws a
  // recommendation: it must be as stable as a recovery. Worked numbers with
  // the defaults: vantages of the failed region vanish during an outage and
  // may make it `unknown` for a few seconds; clear_for 30s rides through that.
  if (severity_rank(from) == 2 && severity_rank(to) < 2) return clear_for;
  return confirm_for;
}

transition classification_hysteresis::update(classification raw, time_point now, duration confirm_for,
                                             duration clear_for) {
  if (ever_declared_ && raw == declared_) {
    pending_ = false;
    return transition::unchanged;
  }
  if (!ever_declared_ && raw == classification::unknown) {
    pending_ = false;  // still unknown since start: nothing to confirm
    return transition::unchanged;
  }
  if (!pending_ || candidate_ != raw) {
    pending_ = true;
    candidate_ = raw;
    candidate_since_ = now;
  }
  const duration hold = required_hold(declared_, raw, !ever_declared_, confirm_for, clear_for);
  if (now - candidate_since_ >= hold) {
    declared_ = raw;
    since_ = now;
    ever_declared_ = true;
    pending_ = false;
    return transition::changed;
  }
  return transition::pending;
}

}  // namespace vigil::decision
