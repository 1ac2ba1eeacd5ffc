#pragma once
// Prometheus metrics of the agent's AWS calls and CloudWatch checks, registered
// once (docs/design.md, "Metrics registered once"):
//
//   vigil_aws_calls_total{service,region}           counter: AWS API calls (after retries)
//   vigil_aws_errors_total{service,region,code}     counter: calls that failed, by AWS error code
//                                                   (SignatureDoesNotMatch, ThrottlingException,
//                                                   AccessDenied, or vigil's own TransportError,
//                                                   RequestTimeout, NoCredentials, ...)
//   vigil_cloudwatch_value{vantage,check,region}    gauge: the datapoint the last sample judged
//                                                   (NaN when it had none)
//   vigil_cloudwatch_outcomes_total{vantage,check,region,outcome}
//                                                   counter: samples by outcome (ok,
//                                                   condition_failed, no_data, aws_error)
//
// `code` is AWS's vocabulary plus vigil's few (aws/error.hpp): bounded in
// practice; its children are added on the first error with that code.
// Thread safety: every method may be called from any thread.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "detector/cloudwatch_sampler.hpp"

namespace prometheus {
class Registry;
class Gauge;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace vigil::detector {

class aws_call_metrics {
 public:
  explicit aws_call_metrics(prometheus::Registry& registry);
  void call(const std::string& service, const std::string& region);
  void error(const std::string& service, const std::string& region, const std::string& code);

 private:
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Counter>& errors_;
};

/// A metric_source that counts every call and error of the source it wraps.
class counting_metric_source final : public metric_source {
 public:
  counting_metric_source(metric_source& inner, aws_call_metrics& metrics) : inner_(inner), metrics_(metrics) {}
  aws::result<std::vector<aws::metric_result>> get_metric_data(const std::string& region,
                                                               const std::vector<aws::metric_query>& queries,
                                                               common::wall_time start, common::wall_time end) override;

 private:
  metric_source& inner_;
  aws_call_metrics& metrics_;
};

class cloudwatch_check_metrics {
 public:
  cloudwatch_check_metrics(prometheus::Registry& registry, std::string vantage);
  /// Pre-builds the check's children. Idempotent.
  void add_check(const cloudwatch_check& c);
  /// Records one sample; a check that was never added is ignored.
  void record(const cloudwatch_sample& s);

 private:
  struct children {
    prometheus::Gauge* value = nullptr;
    std::map<decision::outcome, prometheus::Counter*> outcomes;
  };
  std::string vantage_;
  prometheus::Family<prometheus::Gauge>& value_;
  prometheus::Family<prometheus::Counter>& outcomes_;
  std::mutex mu_;
  std::map<std::string, children, std::less<>> checks_;
};

}  // namespace vigil::detector
