// Signing cost per request: vigil's SigV4 against botocore's signer, in the
// same run. The request is a typical batched CloudWatch GetMetricData query
// POST (100 metric queries, 46 KB form body) and a small JSON 1.1 call.
//
// botocore is timed by tests/support/botocore_sign.py --bench N (python3 on
// the machine image), reported as the counter botocore_us_per_sign.
// Built as vigil_bench_sigv4 (bench/CMakeLists.txt, -DVIGIL_BUILD_BENCH=ON):
//   VIGIL_SOURCE_DIR=$PWD build/bench/vigil_bench_sigv4

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "aws/sigv4.hpp"

namespace {

using namespace vigil::aws;

http_request metric_request() {
  http_request r;
  r.method = "POST";
  r.host = "monitoring.us-east-1.amazonaws.com";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}, {"User-Agent", "vigil"}};
  r.body =
      "Action=GetMetricData&Version=2010-08-01&StartTime=2026-11-22T03%3A00%3A00Z&EndTime=2026-11-22T03%3A05%3A00Z";
  for (int i = 1; i <= 100; ++i) {
    const std::string n = std::to_string(i);
    std::string m = "&MetricDataQueries.member.";
    m += n;
    m += '.';
    const auto add = [&](std::string_view field, std::string_view value = {}) {
      r.body += m;
      r.body += field;
      r.body += value;
    };
    add("Id=m", n);
    add("MetricStat.Metric.Namespace=AWS%2FApplicationELB");
    add("MetricStat.Metric.MetricName=HTTPCode_ELB_5XX_Count");
    add("MetricStat.Metric.Dimensions.member.1.Name=LoadBalancer");
    add("MetricStat.Metric.Dimensions.member.1.Value=app%2Fprod%2F", n);
    add("MetricStat.Period=60");
    add("MetricStat.Stat=Sum");
  }
  return r;
}

http_request json_request() {
  http_request r;
  r.method = "POST";
  r.host = "ecs.us-west-2.amazonaws.com";
  r.headers = {{"Content-Type", "application/x-amz-json-1.1"},
               {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeServices"}};
  r.body = R"({"cluster":"shop-prod","services":["api-web","api-worker"]})";
  return r;
}

const credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-abc",
                        std::nullopt, "bench"};
const vigil::common::wall_time at{std::chrono::milliseconds{1'795'000'000'000}};

void sign_loop(benchmark::State& state, const http_request& base, const char* service) {
  for ([[maybe_unused]] auto _ : state) {
    http_request r = base;
    auto s = sign(r, creds, {service, "us-east-1", at});
    benchmark::DoNotOptimize(s.signature);
  }
}

double botocore_us(const http_request& r, const char* service, int n) {
  nlohmann::json q = nlohmann::json::array();
  nlohmann::json h = nlohmann::json::array();
  for (const auto& [k, v] : r.headers)
    h.push_back({k, v});
  const nlohmann::json req{{"method", r.method},
                           {"scheme", "https"},
                           {"host", r.host},
                           {"path", "/"},
                           {"query", q},
                           {"headers", h},
                           {"body", r.body},
                           {"service", service},
                           {"region", "us-east-1"},
                           {"amz_date", "20261118T071320Z"},
                           {"access_key", creds.access_key_id},
                           {"secret_key", creds.secret_access_key},
                           {"token", creds.session_token}};
  const char* const source_dir = std::getenv("VIGIL_SOURCE_DIR");
  const std::string src = source_dir != nullptr ? source_dir : ".";
  const std::string cmd =
      "echo '" + req.dump() + "' | python3 " + src + "/tests/support/botocore_sign.py --bench " + std::to_string(n);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[256] = {};
  const auto got = std::fread(buf, 1, sizeof buf - 1, p);
  ::pclose(p);
  const auto j = nlohmann::json::parse(std::string(buf, got), nullptr, false);
  return j.is_object() ? j.value("seconds_per_signature", -1.0) * 1e6 : -1;
}

void bm_vigil_sign_get_metric_data_100(benchmark::State& state) {
  const auto r = metric_request();
  sign_loop(state, r, "monitoring");
  state.counters["body_bytes"] = static_cast<double>(r.body.size());
}
BENCHMARK(bm_vigil_sign_get_metric_data_100);

void bm_vigil_sign_ecs_json(benchmark::State& state) {
  sign_loop(state, json_request(), "ecs");
}
BENCHMARK(bm_vigil_sign_ecs_json);

void bm_botocore_sign_get_metric_data_100(benchmark::State& state) {
  double us = 0;
  for ([[maybe_unused]] auto _ : state)
    us = botocore_us(metric_request(), "monitoring", 2000);
  state.counters["botocore_us_per_sign"] = us;
}
BENCHMARK(bm_botocore_sign_get_metric_data_100)->Iterations(1)->Unit(benchmark::kMillisecond);

void bm_botocore_sign_ecs_json(benchmark::State& state) {
  double us = 0;
  for ([[maybe_unused]] auto _ : state)
    us = botocore_us(json_request(), "ecs", 5000);
  state.counters["botocore_us_per_sign"] = us;
}
BENCHMARK(bm_botocore_sign_ecs_json)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
