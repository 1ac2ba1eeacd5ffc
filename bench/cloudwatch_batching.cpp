// AWS calls per minute for 100 CloudWatch metric checks across two regions:
// vigil's batched sampler (detector/cloudwatch_sampler: one GetMetricData call
// per region per interval) against one call per check per interval, the way a
// per-check poller (or one CloudWatch alarm/exporter query per check) works.
//
// Part 1, virtual time: the real sampler against a counting metric_source on a
// manual clock, 10 simulated minutes at a 60 s interval (and 10 s).
// Part 2, optional, real calls: with VIGIL_BENCH_MOTO_URL, AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY set (a moto_server seeded by tests/support/aws_moto_seed.py),
// the wall time of one batched round (2 signed GetMetricData calls of 50
// queries) against 100 single-query calls through the same aws::client.
//
//   vigil_bench_cloudwatch_batching            prints a markdown table
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "aws/cloudwatch.hpp"
#include "aws/sts.hpp"
#include "common/clock.hpp"
#include "detector/cloudwatch_sampler.hpp"

namespace {

using namespace std::chrono_literals;
using namespace vigil;

class counting_source final : public detector::metric_source {
 public:
  aws::result<std::vector<aws::metric_result>> get_metric_data(const std::string&,
                                                               const std::vector<aws::metric_query>& queries,
                                                               common::wall_time, common::wall_time end) override {
    std::lock_guard lock(mu);
    ++calls;
    queries_seen += queries.size();
    std::vector<aws::metric_result> out;
    out.reserve(queries.size());
    for (const auto& q : queries)
      out.push_back({q.id, q.metric, "Complete", {{end - 30s, 1.0}}});
    return out;
  }
  std::mutex mu;
  std::size_t calls = 0;
  std::size_t queries_seen = 0;
};

std::vector<detector::cloudwatch_check> make_checks(std::size_t n, std::chrono::milliseconds interval) {
  std::vector<detector::cloudwatch_check> out;
  for (std::size_t i = 0; i < n; ++i) {
    detector::cloudwatch_check c;
    c.region = i % 2 == 0 ? "us-east-1" : "us-west-2";
    c.call_region = c.region;
    c.id = fmt::format("svc{}@{}", i / 2, c.region);
    c.query = {"", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", {{"LoadBalancer", fmt::format("app/x{}", i)}}, "Sum",
               60};
    c.cond = *detector::parse_condition("< 50");
    c.on_missing = common::missing_data::ok;
    c.interval = interval;
    out.push_back(std::move(c));
  }
  return out;
}

struct counted {
  double calls_per_min;
  double queries_per_min;
  std::size_t samples;
};

/// Runs `samplers` over `minutes` of virtual time in 1 s steps.
counted run_virtual(std::vector<std::vector<detector::cloudwatch_check>> groups, int minutes) {
  common::manual_clock clock;
  counting_source src;
  std::vector<std::unique_ptr<detector::cloudwatch_sampler>> samplers;
  detector::cloudwatch_sampler_options opts;
  opts.random = [] { return 0.5; };
  samplers.reserve(groups.size());
  for (auto& g : groups)
    samplers.push_back(std::make_unique<detector::cloudwatch_sampler>(std::move(g), src, clock, opts));
  std::size_t samples = 0;
  for (int s = 0; s < minutes * 60; ++s) {
    for (auto& sp : samplers)
      samples += sp->poll().size();
    clock.advance(1s);
  }
  return {static_cast<double>(src.calls) / minutes, static_cast<double>(src.queries_seen) / minutes, samples};
}

void virtual_part() {
  fmt::print("| interval | mode | GetMetricData calls/min | metric queries/min | samples in 10 min |\n");
  fmt::print("|---|---|---|---|---|\n");
  for (const auto interval : {60000ms, 10000ms}) {
    const auto batched = run_virtual({make_checks(100, interval)}, 10);
    std::vector<std::vector<detector::cloudwatch_check>> singles;
    for (auto& c : make_checks(100, interval))
      singles.push_back({std::move(c)});
    const auto single = run_virtual(std::move(singles), 10);
    const auto secs = interval.count() / 1000;
    fmt::print("| {} s | batched (vigil) | {:.1f} | {:.1f} | {} |\n", secs, batched.calls_per_min,
               batched.queries_per_min, batched.samples);
    fmt::print("| {} s | one call per check | {:.1f} | {:.1f} | {} |\n", secs, single.calls_per_min,
               single.queries_per_min, single.samples);
  }
}

void moto_part() {
  const char* url = std::getenv("VIGIL_BENCH_MOTO_URL");
  if (url == nullptr) {
    fmt::print("\n(real calls skipped: VIGIL_BENCH_MOTO_URL not set)\n");
    return;
  }
  common::aws_config cfg;
  cfg.endpoints["cloudwatch"] = url;
  common::real_clock clock;
  auto stack = aws::make_aws_stack(cfg, clock);
  const auto checks = make_checks(100, 60000ms);
  const auto now = clock.wall();
  constexpr int rounds = 5;
  auto time_it = [&](auto&& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r)
      fn();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / rounds;
  };
  std::size_t failures = 0;
  const double batched_ms = time_it([&] {
    for (const char* region : {"us-east-1", "us-west-2"}) {
      std::vector<aws::metric_query> qs;
      for (std::size_t i = 0; i < checks.size(); ++i) {
        if (checks[i].call_region != region) continue;
        auto q = checks[i].query;
        q.id = fmt::format("m{}", i);
        qs.push_back(std::move(q));
      }
      if (!aws::get_metric_data(*stack.client, region, qs, now - 3min, now)) ++failures;
    }
  });
  const double single_ms = time_it([&] {
    for (std::size_t i = 0; i < checks.size(); ++i) {
      auto q = checks[i].query;
      q.id = "m0";
      if (!aws::get_metric_data(*stack.client, checks[i].call_region, {q}, now - 3min, now)) ++failures;
    }
  });
  fmt::print("\nReal signed calls to moto_server at {} (mean of {} rounds, {} failed calls):\n\n", url, rounds,
             failures);
  fmt::print("| mode | calls per round | wall time per round |\n|---|---|---|\n");
  fmt::print("| batched (vigil) | 2 | {:.1f} ms |\n", batched_ms);
  fmt::print("| one call per check | 100 | {:.1f} ms |\n", single_ms);
}

}  // namespace

int main() {
  virtual_part();
  moto_part();
  return 0;
}
