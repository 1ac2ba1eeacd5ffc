#pragma once
// The status page's uptime history (GET /v1/history): per check (each check
// belongs to one region), what the engine concluded at each decision tick,
// aggregated into fixed wall-clock buckets (engine.history_bucket wide,
// engine.history_buckets of them, 5 min x 72 = the last 6 h by default).
//
// Time is passed in (the tick's grid point, the request's "now"): this class
// reads no clock. Bounded: one ring of `buckets` slots shared by every check,
// 8 bytes per (check, slot), so checks x buckets x 8 bytes in all (10 000
// checks x 72 buckets = 5.8 MB), allocated once at construction. A slot is
// reused (its counts cleared) when a tick falls into a bucket `buckets` or
// more after the one it held: older buckets are evicted, nothing grows.
// In memory only: a restarted engine starts with an empty history.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/clock.hpp"

namespace vigil::app {

/// What one tick concluded about one check.
enum class history_sample : std::uint8_t {
  unknown,   ///< no verdict (no quorum of fresh observations)
  up,        ///< up, every counted vantage agrees, no degraded observation
  degraded,  ///< up by quorum, but a vantage sees it down or its newest observation is degraded (warn)
  down,      ///< down by quorum
};

/// A bucket's state: its worst sample (down > degraded > up); no_data when it
/// holds no up, degraded or down sample.
enum class bucket_state : std::uint8_t { no_data, up, degraded, down };

/// Counts of one (check, bucket); saturate at 65535.
struct bucket_counts {
  std::uint16_t up = 0;
  std::uint16_t degraded = 0;
  std::uint16_t down = 0;
  std::uint16_t unknown = 0;

  [[nodiscard]] bucket_state state() const;
  /// (up + degraded) / (up + degraded + down) in permille; nullopt without such samples.
  [[nodiscard]] std::optional<int> uptime_permille() const;
};

struct history_options {
  std::chrono::milliseconds bucket{std::chrono::minutes(5)};
  std::size_t buckets = 72;
};

struct history_check {
  std::string id;
  std::string region;
  std::string service;
};

struct history_query {
  std::string region;        ///< exact region name; empty: every region
  std::string check;         ///< case-insensitive substring of the check id; empty: every check
  std::size_t limit = 1000;  ///< most checks in one answer
};

class status_history {
 public:
  status_history(std::vector<history_check> checks, history_options options);

  /// One tick: samples[i] is checks[i]'s. A tick older than the window (the
  /// newest bucket seen minus `buckets`) is dropped; a samples span of the
  /// wrong size is refused (false).
  bool record(common::wall_time at, std::span<const history_sample> samples);

  /// The counts of check `i` in the bucket that contains `at` (zero when
  /// evicted or never recorded).
  [[nodiscard]] bucket_counts counts(std::size_t check, common::wall_time at) const;

  /// The GET /v1/history document for the `buckets` buckets ending with the
  /// one that contains `now`, oldest first (docs/design.md, "HTTP API").
  [[nodiscard]] nlohmann::json to_json(common::wall_time now, const history_query& q) const;

  [[nodiscard]] std::size_t memory_bytes() const { return counts_.size() * sizeof(bucket_counts); }
  [[nodiscard]] const history_options& options() const { return options_; }
  [[nodiscard]] const std::vector<history_check>& checks() const { return checks_; }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

  /// The letter of a state in "states": '-' no data, 'u' up, 'w' degraded, 'd' down.
  static char letter(bucket_state s);

 private:
  [[nodiscard]] std::int64_t bucket_of(common::wall_time t) const;
  [[nodiscard]] std::size_t slot_of(std::int64_t bucket) const;

  std::vector<history_check> checks_;
  history_options options_;
  std::vector<std::int64_t> slot_bucket_;  ///< [slot]: the bucket number it holds, or -1
  std::vector<bucket_counts> counts_;      ///< [slot * checks + check]
  std::vector<std::uint16_t> ticks_;       ///< [slot]: ticks recorded in it
  std::optional<std::int64_t> newest_;
  std::uint64_t dropped_ = 0;
};

}  // namespace vigil::app
