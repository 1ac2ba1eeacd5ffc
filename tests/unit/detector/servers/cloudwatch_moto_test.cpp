// CloudWatch checks end to end against moto_server: PutMetricData through
// botocore, sampled by vigil; a wrong secret surfaces as aws_error with
// SignatureDoesNotMatch.

#include <gtest/gtest.h>

#include "detector/cloudwatch_sampler.hpp"
#include "tests/support/aws_moto.hpp"
#include "tests/unit/detector/cloudwatch_test_support.hpp"

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;
using cloudwatch_test::check;
using cloudwatch_test::find;
using decision::outcome;

using test_support::moto;
const auto* moto_env = ::testing::AddGlobalTestEnvironment(new test_support::moto_environment);

struct moto_rig {
  common::real_clock clock;
  std::unique_ptr<aws::http_transport> http = aws::make_curl_transport();
  std::unique_ptr<aws::credentials_provider> creds;
  std::unique_ptr<aws::client> client;
  std::unique_ptr<aws_metric_source> source;

  explicit moto_rig(std::string secret) {
    creds = aws::make_static_provider({moto::instance().access_key(), std::move(secret), "", {}, "test"});
    aws::client_options o;
    o.env = aws::map_env({{"AWS_ENDPOINT_URL_CLOUDWATCH", moto::instance().endpoint()}});
    o.sleep = [](std::chrono::milliseconds) {};
    client = std::make_unique<aws::client>(o, *creds, *http, clock);
    source = std::make_unique<aws_metric_source>(*client);
  }
};

TEST(cloudwatch_moto, put_metric_data_then_sample_and_wrong_secret_is_aws_error) {
  ASSERT_TRUE(moto::instance().ok()) << moto::instance().error();
  moto::instance().seed("put_metric", {{"namespace", "AWS/ApplicationELB"},
                                       {"metric", "HTTPCode_ELB_5XX_Count"},
                                       {"dimensions", {{"LoadBalancer", "app/prod/123"}}},
                                       {"value", 73}});
  moto::instance().seed("put_metric", {{"namespace", "AWS/ApplicationELB"},
                                       {"metric", "HealthyHostCount"},
                                       {"dimensions", {{"LoadBalancer", "app/prod/123"}}},
                                       {"value", 3}});
  std::vector<cloudwatch_check> checks{
      check("alb-5xx@us-east-1", "us-east-1", "HTTPCode_ELB_5XX_Count", "< 50"),
      check("alb-hosts@us-east-1", "us-east-1", "HealthyHostCount", ">= 1"),
      check("alb-none@us-east-1", "us-east-1", "NoSuchMetric", "< 1", common::missing_data::fail)};
  checks[0].query.dimensions = checks[1].query.dimensions = {{"LoadBalancer", "app/prod/123"}};
  checks[1].query.stat = "Minimum";
  {
    moto_rig good(moto::instance().secret_key());
    cloudwatch_sampler s(checks, *good.source, good.clock);
    const auto out = s.poll();
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(find(out, "alb-5xx@us-east-1")->result.result, outcome::condition_failed);
    EXPECT_EQ(find(out, "alb-5xx@us-east-1")->value, 73.0);
    EXPECT_EQ(find(out, "alb-hosts@us-east-1")->result.result, outcome::ok);
    EXPECT_EQ(find(out, "alb-hosts@us-east-1")->value, 3.0);
    EXPECT_EQ(find(out, "alb-none@us-east-1")->result.result, outcome::no_data);
    EXPECT_EQ(good.client->stats().calls, 1u);  // three checks, one GetMetricData
  }
  moto_rig bad("wrong-secret");
  cloudwatch_sampler s(checks, *bad.source, bad.clock);
  const auto out = s.poll();
  ASSERT_EQ(out.size(), 3u);
  for (const auto& smp : out) {
    EXPECT_EQ(smp.result.result, outcome::aws_error);
    EXPECT_NE(smp.result.detail.find("SignatureDoesNotMatch"), std::string::npos) << smp.result.detail;
    EXPECT_EQ(smp.result.http_status, 403);
  }
  EXPECT_EQ(s.stats()["us-east-1"].errors, 3u);
}

}  // namespace
}  // namespace vigil::detector
