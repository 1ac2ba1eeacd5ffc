#pragma once
// `vigil agent`: probes every check of both regions from one vantage and sends
// the results to every engine as signed batches (docs/design.md, "Agent to engine: batches").
//
//   scheduler (spread, jitter, bounded concurrency)
//     -> prober (libcurl multi on the io_context)
//     -> batch_sender (own thread; one bounded queue per engine; heartbeats)
//
// CloudWatch checks are sampled off the io_context by the batched sampler
// (detector/cloudwatch_sampler.hpp: one GetMetricData call per region per
// interval) on a thread per region called, so AWS latency, retries and
// throttling backoff never stall HTTP probes nor the other region; their samples join the same batches as
// observations with the same outcome vocabulary (condition_failed, no_data,
// aws_error with the AWS error code and message as detail).
//
// Thread affinity: construct, start and stop on the io_context's thread (or
// before it runs). Probing runs on the io_context; sending on the sender's thread;
// CloudWatch sampling (one per region) and replication lag on threads of their own.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/config.hpp"
#include "detector/batch_sender.hpp"
#include "detector/cloudwatch_sampler.hpp"
#include "detector/http_prober.hpp"

namespace prometheus {
class Registry;
}

namespace vigil::detector {

struct agent_options {
  std::string vantage;
  std::vector<std::string> endpoints;  ///< empty: config engine.endpoints
  std::chrono::milliseconds flush_interval{1000};
  std::uint64_t seed = 0;  ///< scheduler jitter seed; 0 = derived from the vantage name
  std::size_t max_in_flight = 512;
  bool run_lag_source = true;  ///< sample replication_lag when this is the lag vantage
  bool run_cloudwatch = true;  ///< sample the config's cloudwatch checks
  /// CloudWatch for the checks and the lag source; null: GetMetricData through
  /// the agent's own AWS stack (aws::make_aws_stack, built once when needed).
  metric_source* cloudwatch = nullptr;
};

class agent {
 public:
  /// Compiles every HTTP check of the config (throws std::invalid_argument
  /// listing the errors). `probe` overrides the production http_prober (tests,
  /// the demo's fault injection); `post` overrides the HTTP client for batches.
  agent(boost::asio::io_context& io, const common::config& cfg, agent_options options, const common::clock& clock,
        prometheus::Registry& registry, prober* probe = nullptr, http_post_fn post = curl_http_post());
  ~agent();
  agent(const agent&) = delete;
  agent& operator=(const agent&) = delete;

  void start();
  /// Stops probing, flushes what was observed and joins the sender.
  void stop();

  /// Queues a replication-lag sample for the next batch (lag sources call this).
  void add_lag(common::wire_lag lag);

  [[nodiscard]] const std::string& vantage() const;
  [[nodiscard]] std::size_t check_count() const;  ///< HTTP and CloudWatch checks
  [[nodiscard]] std::size_t cloudwatch_check_count() const;
  [[nodiscard]] batch_sender_stats sender_stats() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace vigil::detector
