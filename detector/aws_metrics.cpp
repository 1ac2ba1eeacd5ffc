#include "detector/aws_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <limits>

namespace vigil::detector {

aws_call_metrics::aws_call_metrics(prometheus::Registry& registry)
    : calls_(prometheus::BuildCounter()
                 .Name("vigil_aws_calls_total")
                 .Help("AWS API calls made by this process (one per call, whatever its retries)")
                 .Register(registry)),
      errors_(prometheus::BuildCounter()
                  .Name("vigil_aws_errors_total")
                  .Help("AWS API calls that failed after retries, by AWS error code")
                  .Register(registry)) {}

void aws_call_metrics::call(const std::string& service, const std::string& region) {
  calls_.Add({{"service", service}, {"region", region}}).Increment();
}

void aws_call_metrics::error(const std::string& service, const std::string& region, const std::string& code) {
  errors_.Add({{"service", service}, {"region", region}, {"code", code.empty() ? "Unknown" : code}}).Increment();
}

aws::result<std::vector<aws::metric_result>> counting_metric_source::get_metric_data(
    const std::string& region, const std::vector<aws::metric_query>& queries, common::wall_time start,
    common::wall_time end) {
  metrics_.call("cloudwatch", region);
  auto r = inner_.get_metric_data(region, queries, start, end);
  if (!r) metrics_.error("cloudwatch", region, r.error().code);
  return r;
}

namespace {
constexpr std::array<decision::outcome, 4> sampled_outcomes{decision::outcome::ok, decision::outcome::condition_failed,
                                                            decision::outcome::no_data, decision::outcome::aws_error};
}

cloudwatch_check_metrics::cloudwatch_check_metrics(prometheus::Registry& registry, std::string vantage)
    : vantage_(std::move(vantage)),
      value_(prometheus::BuildGauge()
                 .Name("vigil_cloudwatch_value")
                 .Help("The CloudWatch datapoint the last sample of a cloudwatch check judged (NaN: none)")
                 .Register(registry)),
      outcomes_(prometheus::BuildCounter()
                    .Name("vigil_cloudwatch_outcomes_total")
                    .Help("CloudWatch check samples by outcome")
                    .Register(registry)) {}

void cloudwatch_check_metrics::add_check(const cloudwatch_check& c) {
  std::lock_guard lock(mu_);
  if (checks_.count(c.id) != 0) return;
  const prometheus::Labels base{{"vantage", vantage_}, {"check", c.id}, {"region", c.region}};
  children ch;
  ch.value = &value_.Add(base);
  ch.value->Set(std::numeric_limits<double>::quiet_NaN());
  for (const auto o : sampled_outcomes) {
    auto labels = base;
    labels.emplace("outcome", std::string(decision::to_string(o)));
    ch.outcomes[o] = &outcomes_.Add(labels);
  }
  checks_.emplace(c.id, std::move(ch));
}

void cloudwatch_check_metrics::record(const cloudwatch_sample& s) {
  std::lock_guard lock(mu_);
  const auto it = checks_.find(s.check_id);
  if (it == checks_.end()) return;
  it->second.value->Set(s.value ? *s.value : std::numeric_limits<double>::quiet_NaN());
  if (const auto o = it->second.outcomes.find(s.result.result); o != it->second.outcomes.end()) o->second->Increment();
}

}  // namespace vigil::detector
