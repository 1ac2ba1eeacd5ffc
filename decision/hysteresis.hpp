#pragma once
// Hysteresis as types (docs/design.md, "Hysteresis as a type"; Envoy's health checker).
//
// probe_hysteresis: one (vantage, check) verdict. `down` after `fall`
// consecutive failures, `up` after `rise` consecutive successes; the two
// counters reset each other; `unknown` until the first threshold is reached.
// 8 bytes, no allocation: the core keeps vantages x checks of them.
//
// classification_hysteresis: one region's declared classification. A raw
// classification must hold for a required time before it is declared:
// confirm_for to get worse, clear_for to get better (healthy, or stepping down
// from an outage), confirm_for for the very first declaration after start.

#include <cstdint>

#include "decision/types.hpp"

namespace vigil::decision {

class probe_hysteresis {
 public:
  /// Feeds one probe outcome (success: it answered correctly, slow included).
  transition observe(bool success, int fall, int rise);
  [[nodiscard]] verdict state() const { return state_; }
  /// Consecutive results against the current state (the pending count).
  [[nodiscard]] int pending() const;

 private:
  std::uint16_t fails_ = 0;
  std::uint16_t successes_ = 0;
  verdict state_ = verdict::unknown;
};

/// Rank used to tell "worse" from "better": healthy 0; service_degraded and
/// unknown 1; regional_outage and global_outage 2.
[[nodiscard]] int severity_rank(classification c);

class classification_hysteresis {
 public:
  /// Feeds this tick's raw classification; returns changed when `declared()`
  /// moved (then `since()` is now).
  transition update(classification raw, time_point now, duration confirm_for, duration clear_for);

  [[nodiscard]] classification declared() const { return declared_; }
  [[nodiscard]] time_point since() const { return since_; }
  [[nodiscard]] classification candidate() const { return candidate_; }
  [[nodiscard]] bool pending() const { return pending_; }

  /// The hold time needed to move from `from` to `to`.
  [[nodiscard]] static duration required_hold(classification from, classification to, bool first, duration confirm_for,
                                              duration clear_for);

 private:
  classification declared_ = classification::unknown;
  time_point since_{};
  classification candidate_ = classification::unknown;
  time_point candidate_since_{};
  bool pending_ = false;
  bool ever_declared_ = false;
};

}  // namespace vigil::decision
