// CloudWatch checks: conditions, missing-data treatments, batching (one call
// per region per interval, 500 queries per call), throttling back-off that
// does not stall other regions. End to end against moto_server:
// servers/cloudwatch_moto_test.cpp.

#include "detector/cloudwatch_sampler.hpp"

#include <gtest/gtest.h>

#include <mutex>

#include "tests/unit/detector/cloudwatch_test_support.hpp"

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;
using cloudwatch_test::check;
using cloudwatch_test::find;
using decision::outcome;

TEST(condition, parses_and_evaluates) {
  EXPECT_TRUE(parse_condition("< 50")->holds(49.9));
  EXPECT_FALSE(parse_condition("< 50")->holds(50));
  EXPECT_TRUE(parse_condition(">=1")->holds(1));
  EXPECT_TRUE(parse_condition(" == 0 ")->holds(0));
  EXPECT_TRUE(parse_condition("!= 3")->holds(2));
  EXPECT_TRUE(parse_condition("<= -1.5")->holds(-2));
  EXPECT_TRUE(parse_condition("> 2.5e1")->holds(26));
  std::string err;
  EXPECT_FALSE(parse_condition("= 5", &err));
  EXPECT_NE(err.find("must start"), std::string::npos);
  EXPECT_FALSE(parse_condition("< fifty", &err));
  EXPECT_FALSE(parse_condition("<", &err));
  EXPECT_EQ(parse_condition(">= 1")->to_string(), ">= 1");
}

class fake_source final : public metric_source {
 public:
  aws::result<std::vector<aws::metric_result>> get_metric_data(const std::string& region,
                                                               const std::vector<aws::metric_query>& queries,
                                                               common::wall_time, common::wall_time end) override {
    std::lock_guard lock(mu);
    calls.emplace_back(region, queries.size());
    if (auto it = errors.find(region); it != errors.end()) return it->second;
    std::vector<aws::metric_result> out;
    for (const auto& q : queries) {
      aws::metric_result r;
      r.id = q.id;
      if (auto v = values.find(q.metric); v != values.end()) r.points.push_back({end - 30s, v->second});
      out.push_back(r);
    }
    return out;
  }
  std::mutex mu;
  std::vector<std::pair<std::string, std::size_t>> calls;
  std::map<std::string, double> values;
  std::map<std::string, aws::aws_error> errors;
};

TEST(cloudwatch_sampler, conditions_and_missing_data) {
  common::manual_clock clock;
  fake_source src;
  src.values = {{"Errors", 73}, {"Healthy", 4}};
  cloudwatch_sampler s(
      {check("5xx@use1", "us-east-1", "Errors", "< 50"), check("hosts@use1", "us-east-1", "Healthy", ">= 1"),
       check("ok-missing@use1", "us-east-1", "Gone", "< 1", common::missing_data::ok),
       check("fail-missing@use1", "us-east-1", "Gone", "< 1", common::missing_data::fail),
       check("ignore-missing@use1", "us-east-1", "Gone", "< 1", common::missing_data::ignore)},
      src, clock);
  const auto out = s.poll();
  ASSERT_EQ(src.calls.size(), 1u);  // one batched call for the region
  EXPECT_EQ(src.calls[0].second, 5u);
  ASSERT_EQ(out.size(), 4u);  // ignore: no sample
  EXPECT_EQ(find(out, "5xx@use1")->result.result, outcome::condition_failed);
  EXPECT_EQ(find(out, "5xx@use1")->value, 73.0);
  EXPECT_NE(find(out, "5xx@use1")->result.detail.find("healthy when < 50"), std::string::npos);
  EXPECT_EQ(find(out, "hosts@use1")->result.result, outcome::ok);
  EXPECT_EQ(find(out, "ok-missing@use1")->result.result, outcome::ok);
  EXPECT_EQ(find(out, "fail-missing@use1")->result.result, outcome::no_data);
  EXPECT_EQ(find(out, "ignore-missing@use1"), nullptr);
  EXPECT_EQ(s.stats()["us-east-1"].ignored_missing, 1u);
}

TEST(cloudwatch_sampler, one_call_per_region_per_interval_and_500_per_call) {
  common::manual_clock clock;
  fake_source src;
  src.values = {{"M", 1}};
  std::vector<cloudwatch_check> checks;
  checks.reserve(1250);
  for (int i = 0; i < 1200; ++i)
    checks.push_back(check("a" + std::to_string(i), "us-east-1", "M", "< 5"));
  for (int i = 0; i < 50; ++i)
    checks.push_back(check("b" + std::to_string(i), "us-west-2", "M", "< 5"));
  cloudwatch_sampler s(std::move(checks), src, clock);
  EXPECT_EQ(s.poll().size(), 1250u);
  EXPECT_EQ(src.calls.size(), 4u);  // us-east-1: 500 + 500 + 200; us-west-2: 50
  EXPECT_TRUE(s.poll().empty());    // not due again yet
  clock.advance(59s);
  EXPECT_TRUE(s.poll().empty());
  clock.advance(1s);
  EXPECT_EQ(s.poll().size(), 1250u);
  EXPECT_EQ(src.calls.size(), 8u);
  // 100 checks over two regions at 60 s: 2 calls a minute (the benchmark figure in bench/RESULTS.md).
  fake_source src2;
  std::vector<cloudwatch_check> hundred;
  hundred.reserve(100);
  for (int i = 0; i < 100; ++i)
    hundred.push_back(check("c" + std::to_string(i), i % 2 ? "us-east-1" : "us-west-2", "M", "< 5"));
  cloudwatch_sampler s2(std::move(hundred), src2, clock);
  for (int minute = 0; minute < 10; ++minute) {
    (void)s2.poll();
    clock.advance(60s);
  }
  EXPECT_EQ(src2.calls.size(), 20u);
}

TEST(cloudwatch_sampler, throttling_backs_off_one_region_without_stalling_others) {
  common::manual_clock clock;
  fake_source src;
  src.values = {{"M", 1}};
  src.errors["us-east-1"] = aws::aws_error{"Throttling", "Rate exceeded", "r1", 400, true};
  cloudwatch_sampler_options opts;
  opts.random = [] { return 1.0; };  // no jitter: backoff = the full doubled value
  opts.max_backoff = 240s;
  cloudwatch_sampler s({check("e@use1", "us-east-1", "M", "< 5"), check("w@usw2", "us-west-2", "M", "< 5")}, src, clock,
                       opts);
  auto out = s.poll();
  ASSERT_EQ(out.size(), 1u);  // the throttled region casts no vote
  EXPECT_EQ(out[0].check_id, "w@usw2");
  EXPECT_EQ(s.stats()["us-east-1"].throttled, 1u);
  clock.advance(60s);
  out = s.poll();  // us-west-2 due; us-east-1 backs off for 60 s then 120 s...
  EXPECT_EQ(src.calls.size(), 4u);
  clock.advance(60s);  // t=120: west due; east (backoff 120 s from t=60) not yet
  (void)s.poll();
  EXPECT_EQ(src.calls.size(), 5u);
  clock.advance(60s);  // t=180: both due; east's third throttled round is reported
  out = s.poll();
  ASSERT_NE(find(out, "e@use1"), nullptr);
  EXPECT_EQ(find(out, "e@use1")->result.result, outcome::aws_error);
  EXPECT_NE(find(out, "e@use1")->result.detail.find("Throttling"), std::string::npos);
  src.errors.clear();
  clock.advance(240s);
  out = s.poll();
  EXPECT_EQ(find(out, "e@use1")->result.result, outcome::ok);  // recovered: back to the interval
  EXPECT_FALSE(s.stats()["us-east-1"].backoff_until);
}

TEST(cloudwatch_sampler, compiles_config_checks) {
  common::check_config c;
  c.id = "alb-5xx@us-east-1";
  c.region = "us-east-1";
  c.interval = 30s;
  c.cloudwatch = common::cloudwatch_check_config{"AWS/ApplicationELB",
                                                 "HTTPCode_ELB_5XX_Count",
                                                 {{"LoadBalancer", "app/prod/123"}},
                                                 "Sum",
                                                 60s,
                                                 "< 50",
                                                 common::missing_data::fail,
                                                 ""};
  auto r = compile_cloudwatch_check(c);
  ASSERT_TRUE(std::holds_alternative<cloudwatch_check>(r)) << std::get<std::string>(r);
  const auto& cc = std::get<cloudwatch_check>(r);
  EXPECT_EQ(cc.call_region, "us-east-1");
  EXPECT_EQ(cc.query.period_s, 60);
  c.cloudwatch->condition = "about 50";
  EXPECT_TRUE(std::holds_alternative<std::string>(compile_cloudwatch_check(c)));
}

}  // namespace
}  // namespace vigil::detector
