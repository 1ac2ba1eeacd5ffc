#pragma once
// The engine's front door for agent batches (POST /v1/observations):
// signature, timestamp window, schema and size, the times of its items,
// per-vantage seq, in that order. Each refusal has a reason (common::batch_rejection) and an HTTP status;
// nothing refused ever reaches the decision core.
//
// Not thread-safe: called on the engine's io thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "common/batch.hpp"
#include "common/clock.hpp"

namespace vigil::app {

struct batch_gate_options {
  std::string key;                              ///< HMAC key shared with the agents
  std::chrono::milliseconds max_age{30000};     ///< X-Vigil-Timestamp older than this: stale
  std::chrono::milliseconds max_future{30000};  ///< ...newer than now + this: future
  /// Every observation's and lag sample's `at` is held to the same window as
  /// the batch's timestamp, except that a lag sample may be this old: the
  /// `cloudwatch` lag source reports its datapoint's own time, minutes old by
  /// nature (docs/aws-notes.md, "CloudWatch"); the lag gate judges its age.
  std::chrono::milliseconds lag_sample_max_age{std::chrono::minutes(15)};
  std::size_t max_body_bytes = std::size_t{4} * 1024 * 1024;
  /// The configured regions: a lag sample's `region` must name one.
  std::set<std::string, std::less<>> regions;
  common::batch_limits limits;
};

struct batch_verdict {
  std::optional<common::batch> value;
  common::batch_rejection reason = common::batch_rejection::bad_schema;
  std::string message;
  int http_status = 400;
};

class batch_gate {
 public:
  batch_gate(batch_gate_options options, std::set<std::string> vantages);

  [[nodiscard]] batch_verdict check(std::string_view body, std::string_view signature_header,
                                    std::string_view timestamp_header, common::wall_time now);

  /// Highest accepted seq per vantage (for status and tests).
  [[nodiscard]] std::optional<std::uint64_t> last_seq(const std::string& vantage) const;

 private:
  [[nodiscard]] std::optional<batch_verdict> check_item_times(const common::batch& b, std::int64_t now_ms) const;
  batch_gate_options options_;
  std::set<std::string> vantages_;
  std::map<std::string, std::uint64_t, std::less<>> last_seq_;
};

}  // namespace vigil::app
