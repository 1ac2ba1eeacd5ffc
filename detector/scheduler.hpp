#pragma once
// Runs every check once per interval, spread over the interval, with jitter,
// through a prober (independent of the transport: anything behind the
// `prober` seam), with bounded concurrency, and measures scheduling lag.
//
// Timing of check i of n (its interval T, jitter fraction j):
//   nominal grid  g_k = start + T*i/n + k*T        (phases spread evenly)
//   due time      d_k = g_k + u_k,  u_k uniform in [0, j*T)
// Jitter is drawn around the fixed grid, so it never accumulates: over an
// hour a 1 s check runs 3600 times whatever the draws were. With 2000 checks
// at 1 s, a new probe is due every 0.5 ms instead of 2000 at once.
//
// Bounded concurrency: at most max_in_flight probes run; due checks beyond
// that wait in a FIFO (at most one entry per check) and start as others
// finish. A check still running or waiting when its next due time comes
// skips that round (counted): probes of one check never overlap.
//
// Lag = start time - due time, measured with the injected clock (asio's
// steady_timer only wakes the loop). Wake-ups are coalesced: the timer fires
// at most once per `min_wake_gap` and starts every check due by then, never
// one before its due time. Every lag goes to the callback and to
// vigil_scheduler_lag_seconds.
//
// Suspicion mode (a check with fast_interval > 0; decision/suspicion.hpp): the
// scheduler keeps the engine's fall/rise hysteresis per check; after a result
// that puts the verdict in doubt (a failure while not down, a success while
// down) the check is re-probed at max(start + fast_interval, end of the probe)
// until the verdict settles, unless its grid round comes first (that round is
// the re-probe). Re-probes leave the grid alone, so a steady check costs no
// extra probe; they are reported with probe_timing::fast.
//
// Thread affinity: everything on the io_context's thread. Results of probes
// still running after stop() are still delivered; after destruction nothing is.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "common/clock.hpp"
#include "decision/suspicion.hpp"
#include "detector/http_prober.hpp"

namespace vigil::detector {

class probe_metrics;

/// The pure timing rules above, with a seeded RNG (std::mt19937_64).
class schedule_plan {
 public:
  explicit schedule_plan(std::uint64_t seed) : rng_(seed) {}

  /// Grid point k = 0 of check `index` of `count`.
  [[nodiscard]] static common::mono_time first_grid(common::mono_time start, std::size_t index, std::size_t count,
                                                    std::chrono::milliseconds interval);
  /// A due time: `grid` plus a fresh jitter draw in [0, jitter * interval).
  [[nodiscard]] common::mono_time due(common::mono_time grid, std::chrono::milliseconds interval, double jitter);

 private:
  std::mt19937_64 rng_;
};

struct scheduler_options {
  std::size_t max_in_flight = 512;
  std::uint64_t seed = 1;
  /// The timer wakes the loop at most once per this gap and starts everything
  /// due by then. Without it, 5,000 checks at 1 s meant 5,000 timer wake-ups a
  /// second (each a timer re-arm, often a timerfd_settime and an epoll_wait),
  /// one per probe; with 1 ms, at most 1,000 whatever the number of checks, for
  /// at most 1 ms more lag (bench/RESULTS.md, HTTP probing). Zero: wake for
  /// every due time.
  std::chrono::microseconds min_wake_gap{1000};
  /// The engine's fall and rise (config decision.fall / decision.rise): when a
  /// doubt is settled in suspicion mode.
  int fall = 3;
  int rise = 3;
};

struct probe_timing {
  common::mono_time due{};
  common::mono_time started{};
  std::chrono::microseconds lag{0};  ///< started - due (>= 0)
  bool fast = false;                 ///< a suspicion-mode re-probe, not a grid round
};

struct scheduler_stats {
  std::uint64_t started = 0;
  std::uint64_t completed = 0;
  std::uint64_t skipped = 0;  ///< rounds lost because the check was still running or queued
  std::uint64_t queued = 0;   ///< probes that waited for a concurrency slot
  std::size_t in_flight = 0;
  std::chrono::microseconds max_lag{0};
  std::uint64_t wakeups = 0;  ///< timer wake-ups (see min_wake_gap)
  std::uint64_t fast = 0;     ///< suspicion-mode re-probes started (also in `started`)
};

class scheduler {
 public:
  using result_fn = std::function<void(const compiled_check&, const probe_result&, const probe_timing&)>;

  /// `probe` and `clock` must outlive the scheduler; `metrics` may be null.
  scheduler(boost::asio::io_context& io, const common::clock& clock, prober& probe, std::vector<compiled_check> checks,
            scheduler_options options, result_fn on_result, probe_metrics* metrics = nullptr);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  /// Plans the first round from clock.monotonic() and starts the timer.
  void start();
  /// Starts nothing new; probes in flight still report.
  void stop();

  [[nodiscard]] const std::vector<compiled_check>& checks() const;
  [[nodiscard]] scheduler_stats stats() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace vigil::detector
