#pragma once
// The accuracy corpus of bench/accuracy.cpp (figures in
// bench/RESULTS.md): the generated runs, the virtual world that answers probes, and
// the baseline detectors. Everything here is a pure function of a run's seed.
//
// Topology: primary us-east-1 and dr us-west-2 with `services_per_region`
// HTTP checks each (interval 2s unless --interval; suspicion mode off unless
// --fast-interval), vantages us-east-1, us-west-2, eu-west-1,
// decision parameters at their defaults (tick 1s, fall = rise = 3, quorum 2 of
// 3, stale_after 6s, confirm_for 2s, clear_for 30s, regional_fraction 0.5).
//
// Baselines (pure functions over the very same probe streams): every detector
// gets the same per-(vantage, check) fall/rise hysteresis, the same freshness
// rule (a vantage without a batch for stale_after abstains), the same region
// rule (classify_region) and the same confirm_for/clear_for hysteresis and
// incident logic as the core, without the core's hold on thin evidence (a
// regional outage with no service to spare waits clear_for; the tools these
// baselines model classify by the fraction alone); only that and the vote
// that turns per-vantage verdicts into a check state differ:
//   single_vantage: the neutral vantage (eu-west-1) alone;
//   route53:        healthy when > 18% of the reporting checkers say healthy
//                   (a checker reports when it is fresh and past its first
//                   threshold); failure threshold 3 both ways = fall = rise = 3;
//   k_of_n:         down if >= 2 of 3 present vantages say down, up if >= 2
//                   say up, else unknown; no impairment detection.
// vigil itself is the real decision::core, fed the same observations.

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "decision/classifier.hpp"
#include "decision/hysteresis.hpp"
#include "decision/types.hpp"

namespace vigil::bench {

using decision::duration;
using decision::time_point;

inline constexpr std::size_t vantage_count = 3;  // primary's own, dr's own, neutral
inline constexpr std::size_t services_per_region = 4;
inline constexpr std::size_t check_count = 2 * services_per_region;  // checks [0, 4) primary, [4, 8) dr
inline constexpr std::size_t primary_vantage = 0;
inline constexpr std::size_t dr_vantage = 1;
inline constexpr std::size_t neutral_vantage = 2;
inline constexpr double noise_probability = 0.05;
inline constexpr duration probe_interval{2000};

/// How the virtual agents probe: every `interval` on their grid, and, when
/// fast_interval > 0, in suspicion mode (decision/suspicion.hpp).
struct cadence {
  duration interval = probe_interval;
  duration fast_interval{0};
};

/// The corpus topology; stale_after and impaired_after as load_config() fills
/// them for this interval (3 x interval; interval + tick), which are the
/// decision defaults at 2s.
[[nodiscard]] decision::topology corpus_topology(const cadence& k = {});

/// splitmix64: tiny, seeded, portable.
class splitmix64 {
 public:
  explicit splitmix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31U);
  }
  double uniform() { return static_cast<double>(next() >> 11U) * 0x1.0p-53; }
  /// Uniform in [0, n).
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

/// The corpus classes. Every run has 5% independent probe noise on every probe.
enum class run_class : std::uint8_t {
  noise,                  ///< nothing else
  flapping,               ///< one primary service fails the first half of each period (10-60s)
  isolated,               ///< one vantage sees every check fail
  isolated_plus_service,  ///< one vantage isolated while one primary service is really down
  blackholed,             ///< one vantage cannot reach the primary region (sees its checks fail)
  vantage_absent,         ///< one vantage stops reporting
  minority_reporting,     ///< two vantages stop reporting
  slow,                   ///< the primary answers in 1.1-1.9s (degraded, under the 2s timeout)
  service_outage,         ///< one primary service down from everywhere
  regional,               ///< every primary check fails from every vantage
  regional_vantage_gone,  ///< ... and the primary's own vantage stops reporting
  regional_partitioned,   ///< ... the primary's own vantage still sees its region up, and the dr down
  lone_blackholed,        ///< two vantages stop reporting and the one left cannot reach the primary
};
inline constexpr std::size_t run_class_count = 13;
inline constexpr std::array<std::string_view, run_class_count> run_class_names{"noise",
                                                                               "flapping",
                                                                               "isolated",
                                                                               "isolated_plus_service",
                                                                               "blackholed",
                                                                               "vantage_absent",
                                                                               "minority_reporting",
                                                                               "slow",
                                                                               "service_outage",
                                                                               "regional",
                                                                               "regional_vantage_gone",
                                                                               "regional_partitioned",
                                                                               "lone_blackholed"};
[[nodiscard]] constexpr bool is_regional(run_class c) {
  return c == run_class::regional || c == run_class::regional_vantage_gone || c == run_class::regional_partitioned;
}

struct run_spec {
  run_class cls = run_class::noise;
  std::uint64_t seed = 1;
  duration length{3600000};
  duration fault_start{0};  ///< 0 for noise
  duration fault_end{0};    ///< heal (regional runs); the run's end otherwise
};

/// The world of one run: decides every probe's outcome from the fault model
/// and the noise RNG (one draw per probe, so the noise sequence does not
/// depend on faults).
class world {
 public:
  explicit world(const run_spec& spec, duration interval = probe_interval);

  /// Vantage v's agent reports (sends batches) at virtual time t.
  [[nodiscard]] bool reporting(std::size_t v, duration t) const;
  /// The outcome of vantage v probing check c at t (draws the noise RNG).
  [[nodiscard]] decision::outcome probe(std::size_t v, std::size_t c, duration t, float& latency_ms);
  /// Phase of vantage v's probe rounds within the interval (a twentieth of
  /// it times 0..19: multiples of 100ms at 2s, the draws of every interval alike).
  [[nodiscard]] duration phase(std::size_t v) const { return phase_[v]; }
  [[nodiscard]] bool fault_active(duration t) const { return t >= spec_.fault_start && t < spec_.fault_end; }

 private:
  run_spec spec_;
  splitmix64 rng_;
  std::array<duration, vantage_count> phase_{};
  std::size_t victim_vantage_ = 0;  ///< isolated / blackholed / absent
  std::size_t second_absent_ = 0;   ///< minority_reporting / lone_blackholed
  std::size_t victim_check_ = 0;    ///< flapping / service outage
  duration flap_period_{20000};
  duration slow_latency_{1500};
};

/// The vote stage that differs between detectors.
enum class vote_rule : std::uint8_t { single_vantage, route53, k_of_n };
inline constexpr std::size_t baseline_count = 3;
inline constexpr std::array<std::string_view, baseline_count> baseline_names{
    "single vantage (eu-west-1)", "Route 53 rule (>18% healthy, threshold 3)", "k-of-n (2 of 3, no impairment)"};

[[nodiscard]] decision::verdict vote(vote_rule rule, const std::array<decision::verdict, vantage_count>& cells,
                                     const std::array<bool, vantage_count>& present);

/// What a detector concluded at one tick, for scoring.
struct detector_view {
  decision::classification primary = decision::classification::unknown;
  decision::classification dr = decision::classification::unknown;
  bool new_failover = false;  ///< a failover recommendation was created this tick
};

/// A baseline detector: shares everything with the core but the vote.
class baseline {
 public:
  baseline(vote_rule rule, const decision::params& p, duration interval = probe_interval)
      : rule_(rule), p_(p), interval_(interval) {}
  void observe(std::size_t v, std::size_t c, time_point at, bool success);
  void report(std::size_t v, time_point at);
  detector_view tick(time_point now);

 private:
  struct cell_state {
    decision::probe_hysteresis h;
    time_point last_obs{};
    bool ever = false;
  };
  vote_rule rule_;
  decision::params p_;
  duration interval_;
  std::array<std::array<cell_state, check_count>, vantage_count> cells_{};
  std::array<time_point, vantage_count> last_report_{};
  std::array<bool, vantage_count> reported_{};
  std::array<decision::classification_hysteresis, 2> region_h_{};
  std::array<bool, 2> incident_open_{};
  bool recommended_ = false;
};

}  // namespace vigil::bench
