#pragma once
// Suspicion mode: the agent's fast re-probe rule (docs/failure-detection.md,
// "Suspicion mode"), shared by the agent's scheduler (detector/scheduler.cpp)
// and the simulator so that both probe exactly alike.
//
// An agent keeps, per check, the same fall/rise hysteresis the engine keeps
// per (vantage, check) (probe_hysteresis). A result that goes against the
// settled verdict (a failure while not down, a success while down) opens a
// doubt; while it lasts, the next probe is due `fast_interval` after the last
// one started instead of on the interval grid. The doubt ends when the verdict
// settles: `fall` consecutive failures (down), `rise` consecutive successes
// back up, or the first result that agrees with the verdict again (a blip
// that recovers on its first re-probe: one failure, exactly as without
// suspicion). So a doubt costs at most max(fall, rise) - 1 extra probes, and a
// steady check (up and answering, or down and failing) costs none.
//
// A success from `unknown` (after start) opens no doubt: only failures hurry.

#include "decision/hysteresis.hpp"
#include "decision/types.hpp"

namespace vigil::decision {

class suspicion {
 public:
  /// Feeds one probe result. True: re-probe `fast_interval` after this probe
  /// started (the verdict is in doubt); false: back to the interval grid.
  bool observe(bool success, int fall, int rise);
  [[nodiscard]] bool in_doubt() const { return doubt_; }
  [[nodiscard]] verdict state() const { return h_.state(); }

 private:
  probe_hysteresis h_;
  bool doubt_ = false;
};

}  // namespace vigil::decision
