// The retrying client, endpoint resolution, error parsing, protocol helpers
// and typed calls against a scripted transport: hermetic, no sleeping (the
// sleeper advances a manual clock).

#include "aws/client.hpp"

#include <gtest/gtest.h>

#include "aws/arc.hpp"
#include "aws/cloudwatch.hpp"
#include "aws/route53.hpp"
#include "aws/timefmt.hpp"
#include "tests/support/aws_fakes.hpp"

namespace vigil::aws {
namespace {

using test_support::fake_transport;
using namespace std::chrono_literals;

struct rig {
  common::manual_clock clock;
  fake_transport http;
  std::unique_ptr<credentials_provider> creds = make_static_provider({"AKIDTEST", "secret", "", std::nullopt, "test"});
  std::vector<std::chrono::milliseconds> sleeps;
  double random_value = 0.5;
  std::map<std::string, std::string> env;

  client make(common::aws_config cfg = {}) {
    client_options o;
    o.aws = std::move(cfg);
    o.env = map_env(env);
    o.sleep = [this](std::chrono::milliseconds d) {
      sleeps.push_back(d);
      clock.advance(d);
    };
    o.random = [this] { return random_value; };
    return client(o, *creds, http, clock);
  }
};

constexpr std::string_view ok_xml =
    "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123</Account></GetCallerIdentityResult>"
    "</GetCallerIdentityResponse>";

TEST(client, retries_a_503_then_succeeds_with_jittered_backoff) {
  rig r;
  r.http.push(503, "<ErrorResponse><Error><Code>ServiceUnavailable</Code></Error></ErrorResponse>");
  r.http.push(200, std::string(ok_xml));
  auto c = r.make();
  auto doc = c.query(service::sts, "us-east-1", "GetCallerIdentity", "2011-06-15", {});
  ASSERT_TRUE(doc) << doc.error().to_string();
  EXPECT_EQ(doc->text_at("GetCallerIdentityResult/Account"), "123");
  ASSERT_EQ(r.sleeps.size(), 1u);
  EXPECT_EQ(r.sleeps[0], 500ms);  // 0.5 * min(2^0, 20) s
  EXPECT_EQ(c.stats().attempts, 2u);
  EXPECT_EQ(c.budget().available(), retry_budget::capacity);  // the retry's 5 tokens came back
}

TEST(client, throttling_is_retried_three_attempts_then_typed_error) {
  rig r;
  r.random_value = 0.99;
  for (int i = 0; i < 3; ++i) {
    r.http.push(400, R"({"__type":"com.amazonaws.ecs#ThrottlingException","message":"Rate exceeded"})",
                {{"x-amzn-RequestId", "req-" + std::to_string(i)}});
  }
  auto c = r.make();
  auto j = c.json(service::ecs, "us-east-1", "AmazonEC2ContainerServiceV20141113.DescribeServices", "1.1", {});
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code, "ThrottlingException");
  EXPECT_EQ(j.error().message, "Rate exceeded");
  EXPECT_EQ(j.error().request_id, "req-2");
  EXPECT_EQ(j.error().http_status, 400);
  EXPECT_TRUE(j.error().retryable);
  ASSERT_EQ(r.sleeps.size(), 2u);
  EXPECT_EQ(r.sleeps[0], 990ms);   // 0.99 * 1 s
  EXPECT_EQ(r.sleeps[1], 1980ms);  // 0.99 * 2 s
  EXPECT_EQ(c.budget().available(), retry_budget::capacity - 10);
  EXPECT_EQ(c.stats().throttled, 3u);
}

TEST(client, backoff_is_capped_at_twenty_seconds) {
  rig r;
  r.random_value = 0.999;
  common::aws_config cfg;
  cfg.max_attempts = 8;
  cfg.call_timeout = 10min;
  for (int i = 0; i < 8; ++i)
    r.http.push(500, "");
  auto c = r.make(cfg);
  (void)c.query(service::rds, "us-east-1", "DescribeDBClusters", "2014-10-31", {});
  ASSERT_EQ(r.sleeps.size(), 7u);
  EXPECT_EQ(r.sleeps[4], 15984ms);  // 0.999 * 16 s
  EXPECT_EQ(r.sleeps[5], 19980ms);  // 0.999 * min(32, 20) s
  EXPECT_EQ(r.sleeps[6], 19980ms);
}

TEST(client, client_errors_are_not_retried_and_parse_query_xml) {
  rig r;
  r.http.push(403,
              "<ErrorResponse><Errors><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>"
              "<Message>The request signature &amp; so on</Message></Error></Errors>"
              "<RequestId>abc-123</RequestId></ErrorResponse>");
  auto c = r.make();
  auto doc = c.query(service::cloudwatch, "us-east-1", "GetMetricData", "2010-08-01", {});
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, "SignatureDoesNotMatch");
  EXPECT_EQ(doc.error().message, "The request signature & so on");
  EXPECT_EQ(doc.error().request_id, "abc-123");
  EXPECT_FALSE(doc.error().retryable);
  EXPECT_TRUE(r.sleeps.empty());
  EXPECT_EQ(r.http.sent().size(), 1u);
}

TEST(client, retry_budget_drains_and_stops_retries) {
  rig r;
  r.random_value = 0.0;
  r.http.set_handler([](const http_request&) {
    http_response resp;
    resp.status = 503;
    return resp;
  });
  auto c = r.make();
  // Each failing call retries twice (5 tokens each): 50 calls drain 500 tokens.
  for (int i = 0; i < 50; ++i)
    (void)c.query(service::rds, "us-east-1", "X", "1", {});
  EXPECT_EQ(c.budget().available(), 0);
  const auto before = r.http.sent().size();
  auto doc = c.query(service::rds, "us-east-1", "X", "1", {});
  ASSERT_FALSE(doc);
  EXPECT_NE(doc.error().message.find("retry budget exhausted"), std::string::npos);
  EXPECT_EQ(r.http.sent().size() - before, 1u);
  // Successes refill: one per call that needed no retry.
  r.http.set_handler([](const http_request&) {
    http_response resp;
    resp.status = 200;
    resp.body = "<A/>";
    return resp;
  });
  for (int i = 0; i < 7; ++i)
    (void)c.query(service::rds, "us-east-1", "X", "1", {});
  EXPECT_EQ(c.budget().available(), 7);
}

TEST(client, transport_failures_cost_ten_tokens_and_respect_the_deadline) {
  rig r;
  r.random_value = 0.9;
  common::aws_config cfg;
  cfg.call_timeout = 1500ms;
  http_response down;
  down.transport_error = "Connection refused";
  r.http.push(down);
  r.http.push(down);
  r.http.push(down);
  auto c = r.make(cfg);
  auto doc = c.query(service::sts, "us-east-1", "GetCallerIdentity", "2011-06-15", {});
  ASSERT_FALSE(doc);
  EXPECT_EQ(doc.error().code, "TransportError");
  EXPECT_EQ(doc.error().http_status, 0);
  // First backoff 900 ms fits in 1500 ms; the second (1800 ms) would not.
  EXPECT_EQ(r.sleeps.size(), 1u);
  EXPECT_EQ(r.http.sent().size(), 2u);
  EXPECT_EQ(r.http.timeouts()[0], 1500ms);
  EXPECT_EQ(r.http.timeouts()[1], 600ms);  // what is left of the deadline
  EXPECT_EQ(c.budget().available(), retry_budget::capacity - 10);
}

TEST(client, signature_expired_learns_skew_from_date_and_resigns_once) {
  rig r;
  const auto server_time = r.clock.wall() + 15min;
  http_response skewed;
  skewed.status = 400;
  skewed.headers = {{"x-amzn-ErrorType", "InvalidSignatureException:http://internal.amazon.com/"},
                    {"Date", format_http_date(server_time)}};
  skewed.body = R"({"message":"Signature expired: 20261122T030000Z is now earlier than 20261122T031000Z"})";
  r.http.push(skewed);
  r.http.push(200, "{}");
  auto c = r.make();
  auto j = c.json(service::ssm, "us-east-1", "AmazonSSM.PutParameter", "1.1", {});
  ASSERT_TRUE(j) << j.error().to_string();
  EXPECT_EQ(c.skew().offset(), 15min);
  EXPECT_TRUE(r.sleeps.empty());
  const auto sent = r.http.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(*sent[0].header("x-amz-date"), format_amz_date(r.clock.wall()));
  EXPECT_EQ(*sent[1].header("x-amz-date"), format_amz_date(server_time));
}

TEST(client, query_and_json_requests_are_shaped_and_signed_for_the_service) {
  rig r;
  r.http.push(200, "<R/>");
  r.http.push(200, R"({"services":[]})");
  auto c = r.make();
  ASSERT_TRUE(c.query(service::cloudwatch, "us-west-2", "GetMetricData", "2010-08-01", {{"A b", "c&d"}}));
  ASSERT_TRUE(c.json(service::ecs, "eu-west-1", "AmazonEC2ContainerServiceV20141113.DescribeServices", "1.1",
                     {{"cluster", "x"}}));
  const auto sent = r.http.sent();
  EXPECT_EQ(sent[0].url(), "https://monitoring.us-west-2.amazonaws.com/");
  EXPECT_EQ(sent[0].body, "Action=GetMetricData&Version=2010-08-01&A%20b=c%26d");
  EXPECT_NE(sent[0].header("authorization")->find("/us-west-2/monitoring/aws4_request"), std::string::npos);
  EXPECT_EQ(*sent[1].header("x-amz-target"), "AmazonEC2ContainerServiceV20141113.DescribeServices");
  EXPECT_EQ(*sent[1].header("content-type"), "application/x-amz-json-1.1");
  EXPECT_EQ(sent[1].host, "ecs.eu-west-1.amazonaws.com");
  EXPECT_EQ(sent[1].body, R"({"cluster":"x"})");
}

TEST(endpoints, resolution_order_config_env_profile_default) {
  common::aws_config cfg;
  std::map<std::string, std::string> env;
  std::optional<profile_settings> profile;
  const auto url = [&](service s, const std::string& region) {
    auto r = resolve_endpoint(s, region, cfg, map_env(env), profile);
    return r ? r->url.scheme + "://" + r->url.host + r->url.base_path + " " + r->signing_region : r.error().code;
  };
  EXPECT_EQ(url(service::cloudwatch, "us-west-2"), "https://monitoring.us-west-2.amazonaws.com us-west-2");
  EXPECT_EQ(url(service::route53, "us-west-2"), "https://route53.amazonaws.com us-east-1");
  EXPECT_EQ(url(service::rds, "cn-north-1"), "https://rds.cn-north-1.amazonaws.com.cn cn-north-1");
  EXPECT_EQ(url(service::arc_cluster, "us-west-2"), "InvalidEndpoint");
  EXPECT_EQ(url(service::application_autoscaling, "us-west-2"),
            "https://application-autoscaling.us-west-2.amazonaws.com us-west-2");
  env["AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING"] = "http://aas:6";
  EXPECT_EQ(url(service::application_autoscaling, "us-west-2"), "http://aas:6 us-west-2");
  env.erase("AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING");
  profile = profile_settings{{"endpoint_url", "http://profile:1"}};
  EXPECT_EQ(url(service::sts, "us-east-1"), "http://profile:1 us-east-1");
  env["AWS_ENDPOINT_URL"] = "http://global:2";
  EXPECT_EQ(url(service::sts, "us-east-1"), "http://global:2 us-east-1");
  env["AWS_ENDPOINT_URL_STS"] = "http://sts:3/base/";
  EXPECT_EQ(url(service::sts, "us-east-1"), "http://sts:3/base us-east-1");
  EXPECT_EQ(url(service::route53, "eu-west-1"), "http://global:2 us-east-1");
  cfg.endpoints["monitoring"] = "https://vpce-cw:4";
  EXPECT_EQ(url(service::cloudwatch, "eu-west-1"), "https://vpce-cw:4 eu-west-1");
  cfg.region_endpoints["eu-west-1"]["cloudwatch"] = "https://fips-cw:5";
  EXPECT_EQ(url(service::cloudwatch, "eu-west-1"), "https://fips-cw:5 eu-west-1");
  EXPECT_EQ(url(service::cloudwatch, "us-east-1"), "https://vpce-cw:4 us-east-1");
  env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";
  EXPECT_EQ(url(service::sts, "us-east-1"), "https://sts.us-east-1.amazonaws.com us-east-1");
  cfg.endpoints["ecs"] = "ftp://nope";
  EXPECT_EQ(url(service::ecs, "us-east-1"), "InvalidEndpoint");
}

TEST(xml, parses_what_aws_sends) {
  std::string err;
  auto d = parse_xml(
      "<?xml version=\"1.0\"?>\n<!-- c --><a:Root xmlns:a=\"x\"><B attr='>'>x &lt;&#65;&#x42;&gt; y</B>"
      "<C><![CDATA[<raw>&amp;]]></C><D/><m>1</m><m>2</m></a:Root>",
      &err);
  ASSERT_TRUE(d) << err;
  EXPECT_EQ(d->name, "Root");
  EXPECT_EQ(d->text_at("B"), "x <AB> y");
  EXPECT_EQ(d->text_at("C"), "<raw>&amp;");
  EXPECT_NE(d->child("D"), nullptr);
  EXPECT_EQ(d->all("m").size(), 2u);
  EXPECT_EQ(d->text_at("Nope", "fallback"), "fallback");
  EXPECT_FALSE(parse_xml("<a><b></a></b>", &err));
  EXPECT_NE(err.find("mismatched"), std::string::npos);
  EXPECT_FALSE(parse_xml("<a>", &err));
  EXPECT_FALSE(parse_xml("<a/><b/>", &err));
  EXPECT_EQ(xml_escape("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
}

TEST(arc, tries_cluster_endpoints_in_random_order_until_one_answers) {
  rig r;
  r.http.set_handler([](const http_request& req) {
    http_response resp;
    if (req.host == "good:1") {
      resp.status = 200;
      resp.body = R"({"RoutingControlArn":"arn:rc","RoutingControlState":"On","RoutingControlName":"east"})";
    } else {
      resp.transport_error = "Could not connect";
    }
    return resp;
  });
  common::aws_config cfg;
  cfg.max_attempts = 1;
  auto c = r.make(cfg);
  double seq[] = {0.0, 0.0};  // Fisher-Yates with 0s: [a,b,c] -> [b,c,a]
  int i = 0;
  arc_cluster arc(c, {{"http://bad-a:1", "us-east-1"}, {"http://bad-b:1", "us-west-2"}, {"http://good:1", "eu-west-1"}},
                  [&] { return seq[i++ % 2]; });
  auto st = arc.get_state("arn:rc");
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(st->state, "On");
  EXPECT_EQ(st->name, "east");
  EXPECT_EQ(arc.last_endpoint(), "http://good:1");
  const auto sent = r.http.sent();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].host, "bad-b:1");
  EXPECT_EQ(*sent[1].header("x-amz-target"), "ToggleCustomerAPI.GetRoutingControlState");
  EXPECT_EQ(*sent[1].header("content-type"), "application/x-amz-json-1.0");
  EXPECT_NE(sent[1].header("authorization")->find("/eu-west-1/route53-recovery-cluster/aws4_request"),
            std::string::npos);
}

TEST(arc, a_dead_endpoint_costs_one_attempt_before_the_next_is_tried) {
  rig r;
  r.http.set_handler([](const http_request& req) {
    http_response resp;
    if (req.host == "good:1") {
      resp.status = 200;
      resp.body = R"({"RoutingControlArn":"arn:rc","RoutingControlState":"On","RoutingControlName":"east"})";
    } else {
      resp.transport_error = "Could not connect";
    }
    return resp;
  });
  common::aws_config cfg;
  cfg.max_attempts = 3;  // the standard retry schedule is configured...
  auto c = r.make(cfg);
  // Fisher-Yates with 0.9s keeps [dead, good]: the dead endpoint is first.
  arc_cluster arc(c, {{"http://dead:1", "us-east-1"}, {"http://good:1", "us-west-2"}}, [] { return 0.9; });
  auto st = arc.get_state("arn:rc");
  ASSERT_TRUE(st) << st.error().to_string();
  const auto sent = r.http.sent();
  ASSERT_EQ(sent.size(), 2u);  // ...but not spent on a dead endpoint while another may answer
  EXPECT_EQ(sent[0].host, "dead:1");
  EXPECT_EQ(sent[1].host, "good:1");

  // None answers: a second round with the full schedule before giving up.
  r.http.set_handler([](const http_request&) {
    http_response resp;
    resp.transport_error = "Could not connect";
    return resp;
  });
  const auto before = r.http.sent().size();
  auto none = arc.get_state("arn:rc");
  ASSERT_FALSE(none);
  EXPECT_EQ(r.http.sent().size() - before, 2u + 2u * 3u);
  EXPECT_NE(none.error().message.find("tried us-east-1, us-west-2"), std::string::npos) << none.error().message;
}

TEST(arc, a_validation_error_is_final_and_all_down_is_reported) {
  rig r;
  r.http.set_handler([](const http_request&) {
    http_response resp;
    resp.status = 400;
    resp.body = R"({"__type":"ValidationException","message":"bad arn"})";
    return resp;
  });
  common::aws_config cfg;
  cfg.max_attempts = 1;
  auto c = r.make(cfg);
  arc_cluster arc(c, {{"http://a:1", "us-east-1"}, {"http://b:1", "us-west-2"}}, [] { return 0.3; });
  auto u = arc.update_state("arn:rc", "Off");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().code, "ValidationException");
  EXPECT_EQ(r.http.sent().size(), 1u);
  const auto body = nlohmann::json::parse(r.http.sent()[0].body);
  EXPECT_EQ(body["RoutingControlState"], "Off");

  r.http.set_handler([](const http_request&) {
    http_response resp;
    resp.transport_error = "timeout";
    resp.timed_out = true;
    return resp;
  });
  auto all = arc.update_states({{"arn:1", "On"}, {"arn:2", "Off"}});
  ASSERT_FALSE(all);
  EXPECT_NE(all.error().message.find("no ARC cluster endpoint answered"), std::string::npos);
}

TEST(cloudwatch, get_metric_data_builds_queries_and_parses_points) {
  rig r;
  r.http.push(200,
              "<GetMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><GetMetricDataResult>"
              "<MetricDataResults><member><Id>q0</Id><Label>Errors</Label><StatusCode>Complete</StatusCode>"
              "<Timestamps><member>2026-11-22T03:00:00Z</member><member>2026-11-22T03:01:00Z</member></Timestamps>"
              "<Values><member>4.0</member><member>7.5</member></Values></member></MetricDataResults>"
              "</GetMetricDataResult></GetMetricDataResponse>");
  auto c = r.make();
  metric_query q{"q0", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", {{"LoadBalancer", "app/prod/1"}}, "Sum", 60};
  auto res = get_metric_data(c, "us-east-1", {q}, r.clock.wall() - 5min, r.clock.wall());
  ASSERT_TRUE(res) << res.error().to_string();
  ASSERT_EQ(res->size(), 1u);
  ASSERT_EQ((*res)[0].points.size(), 2u);
  EXPECT_EQ((*res)[0].points[0].value, 7.5);  // newest first
  const auto params = parse_query(r.http.sent()[0].body);
  const auto has = [&](const std::string& k, const std::string& v) {
    return std::find(params.begin(), params.end(), std::make_pair(k, v)) != params.end();
  };
  EXPECT_TRUE(has("MetricDataQueries.member.1.MetricStat.Metric.Dimensions.member.1.Value", "app/prod/1"));
  EXPECT_TRUE(has("MetricDataQueries.member.1.MetricStat.Stat", "Sum"));
  EXPECT_TRUE(has("MetricDataQueries.member.1.MetricStat.Period", "60"));
  std::vector<metric_query> too_many(501, q);
  EXPECT_EQ(get_metric_data(c, "us-east-1", too_many, r.clock.wall(), r.clock.wall()).error().code,
            "InvalidParameterValue");
}

TEST(route53, change_batch_is_escaped_rest_xml) {
  record_change ch;
  ch.name = "api.example.com.";
  ch.ttl = 60;
  ch.values = {"a<b>&c"};
  const auto x = change_batch_xml({ch}, "fail over");
  EXPECT_NE(x.find("<Value>a&lt;b&gt;&amp;c</Value>"), std::string::npos);
  EXPECT_NE(x.find("<Comment>fail over</Comment>"), std::string::npos);
  EXPECT_TRUE(parse_xml(x));
}

}  // namespace
}  // namespace vigil::aws
