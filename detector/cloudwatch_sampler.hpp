#pragma once
// CloudWatch metric checks, batched: one GetMetricData call per region per
// interval for every metric check of that region (up to 500 queries per call,
// more are split), instead of one call per check. 100 checks over two regions
// at a 60 s interval cost 2 calls a minute, not 100.
//
// Each sampled check yields the same shape as an HTTP probe (probe_result,
// detector/http_prober.hpp) plus the metric value:
//   newest datapoint in the window satisfies the condition -> ok
//   it does not                                            -> condition_failed
//   no datapoint: missing_data ok -> ok, fail -> no_data (a failure vote),
//                 ignore -> no sample at all (the check keeps its state)
//   the call failed (signature, access, 5xx after retries)   -> aws_error
// The window looks back max(3 periods, 3 min): CloudWatch publishes late.
//
// Throttling is vigil's problem, not the region's: a throttled region skips
// the round (no votes) and backs off, doubling up to max_backoff with jitter,
// while other regions go on (regions are sampled concurrently). Only after
// `throttle_report_after` consecutive throttled rounds are its checks reported
// as aws_error, so a persistent problem still becomes visible.
//
// Thread safety: poll() from one thread at a time; it calls the source for
// each due region on its own thread and joins them before returning.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "aws/client.hpp"
#include "aws/cloudwatch.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"
#include "detector/condition.hpp"
#include "detector/http_prober.hpp"

namespace vigil::detector {

struct cloudwatch_check {
  std::string id;
  std::string region;       ///< the region the check is about
  std::string call_region;  ///< the region to call (cloudwatch.aws_region, default region)
  aws::metric_query query;  ///< id filled by the sampler
  condition cond;
  common::missing_data on_missing = common::missing_data::ignore;
  std::chrono::milliseconds interval{60000};
};

/// From a loaded config check with a `cloudwatch` block; an error message otherwise.
[[nodiscard]] std::variant<cloudwatch_check, std::string> compile_cloudwatch_check(const common::check_config& c);

/// The seam to CloudWatch (tests substitute a fake).
class metric_source {
 public:
  virtual ~metric_source() = default;
  [[nodiscard]] virtual aws::result<std::vector<aws::metric_result>> get_metric_data(
      const std::string& region, const std::vector<aws::metric_query>& queries, common::wall_time start,
      common::wall_time end) = 0;
};

/// metric_source over aws::get_metric_data.
class aws_metric_source final : public metric_source {
 public:
  explicit aws_metric_source(aws::client& c) : client_(c) {}
  aws::result<std::vector<aws::metric_result>> get_metric_data(const std::string& region,
                                                               const std::vector<aws::metric_query>& queries,
                                                               common::wall_time start,
                                                               common::wall_time end) override {
    return aws::get_metric_data(client_, region, queries, start, end);
  }

 private:
  aws::client& client_;
};

struct cloudwatch_sample {
  std::string check_id;
  common::wall_time at;         ///< when the sample was taken
  probe_result result;          ///< outcome, detail, latency of the batched call
  std::optional<double> value;  ///< the datapoint used
  std::optional<common::wall_time> datapoint_at;
};

struct cloudwatch_sampler_options {
  std::chrono::milliseconds max_backoff{300000};
  int throttle_report_after = 3;
  aws::random_fn random = aws::default_random();
};

struct region_stats {
  std::uint64_t calls = 0;
  std::uint64_t throttled = 0;
  std::uint64_t errors = 0;
  std::uint64_t ignored_missing = 0;
  std::optional<common::mono_time> backoff_until;
};

class cloudwatch_sampler {
 public:
  cloudwatch_sampler(std::vector<cloudwatch_check> checks, metric_source& source, const common::clock& clock,
                     cloudwatch_sampler_options options = {});

  /// Samples every region that is due (and not backing off); returns the samples.
  [[nodiscard]] std::vector<cloudwatch_sample> poll();
  /// When the next region is due (for the caller's timer).
  [[nodiscard]] common::mono_time next_due() const;
  [[nodiscard]] std::map<std::string, region_stats> stats() const;

 private:
  struct region_state {
    std::vector<std::size_t> checks;  ///< indexes into checks_
    std::chrono::milliseconds interval{60000};
    common::mono_time due{};
    std::chrono::milliseconds backoff{0};
    int throttled_rounds = 0;
    region_stats stats;
  };
  std::vector<cloudwatch_sample> sample_region(const std::string& region, region_state& st);
  cloudwatch_sample judge(const cloudwatch_check& c, const aws::metric_result* r, common::wall_time now,
                          double latency_ms) const;

  std::vector<cloudwatch_check> checks_;
  metric_source& source_;
  const common::clock& clock_;
  cloudwatch_sampler_options options_;
  std::map<std::string, region_state> regions_;
};

}  // namespace vigil::detector
