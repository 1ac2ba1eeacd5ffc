// The agent samples the config's cloudwatch checks (batched per region) and
// sends them in its batches like HTTP probe results; AWS errors become
// aws_error observations and vigil_aws_errors_total{code}; the lag source and
// the checks share one CloudWatch source.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/config_load.hpp"
#include "detector/agent.hpp"

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;

constexpr const char* config_yaml = R"(
deployment: agent-cw-test
regions:
  - {name: us-east-1, role: primary}
  - {name: us-west-2, role: dr}
vantages: [local]
decision: {quorum: 1}
engine: {agent_key: test-key, endpoints: ['http://127.0.0.1:1']}
services:
  - name: api
    checks:
      - {region: us-east-1, interval: 200ms, timeout: 100ms, http: {url: 'http://127.0.0.1:1/h'}}
      - {region: us-west-2, interval: 200ms, timeout: 100ms, http: {url: 'http://127.0.0.1:1/h'}}
region_checks:
  - name: backlog
    region: us-east-1
    interval: 200ms
    timeout: 100ms
    cloudwatch: {namespace: AWS/SQS, metric: Backlog, stat: Maximum, period: 60s, condition: '< 10', missing_data: fail}
  - name: elb-5xx
    region: us-east-1
    interval: 200ms
    timeout: 100ms
    cloudwatch: {namespace: AWS/ApplicationELB, metric: Errors, dimensions: {LoadBalancer: east}, stat: Sum,
                 condition: '< 50'}
  - name: elb-5xx
    region: us-west-2
    interval: 200ms
    timeout: 100ms
    cloudwatch: {namespace: AWS/ApplicationELB, metric: Errors, dimensions: {LoadBalancer: west}, stat: Sum,
                 condition: '< 50'}
replication_lag: {source: cloudwatch, region: us-west-2, cluster: shop-west, interval: 200ms}
)";

class fake_cloudwatch final : public metric_source {
 public:
  aws::result<std::vector<aws::metric_result>> get_metric_data(const std::string& region,
                                                               const std::vector<aws::metric_query>& queries,
                                                               common::wall_time, common::wall_time end) override {
    std::lock_guard lock(mu);
    calls.emplace_back(region, queries.size());
    if (region == "us-west-2" && queries.front().metric == "Errors") {
      return aws::aws_error{"SignatureDoesNotMatch", "The request signature we calculated does not match", "req-1", 403,
                            false};
    }
    std::vector<aws::metric_result> out;
    for (const auto& q : queries) {
      aws::metric_result r{q.id, q.metric, "Complete", {}};
      if (q.metric == "Errors") r.points.push_back({end - 30s, 75});  // breaches '< 50'
      if (q.metric == "AuroraGlobalDBRPOLag") r.points.push_back({end - 30s, 420});
      out.push_back(r);  // Backlog: no datapoint (missing_data: fail)
    }
    return out;
  }
  std::mutex mu;
  std::vector<std::pair<std::string, std::size_t>> calls;
};

/// us-west-2 answers only after `delay`, and then throttles (a throttled,
/// retrying or slow region); us-east-1 answers at once.
class slow_cloudwatch final : public metric_source {
 public:
  explicit slow_cloudwatch(std::chrono::milliseconds d) : delay(d) {}
  aws::result<std::vector<aws::metric_result>> get_metric_data(const std::string& region,
                                                               const std::vector<aws::metric_query>& queries,
                                                               common::wall_time, common::wall_time end) override {
    if (region == "us-west-2") {
      std::this_thread::sleep_for(delay);
      return aws::aws_error{"ThrottlingException", "Rate exceeded", "req-2", 400, true};
    }
    std::vector<aws::metric_result> out;
    out.reserve(queries.size());
    for (const auto& q : queries)
      out.push_back({q.id, q.metric, "Complete", {{end - 30s, 1.0}}});
    return out;
  }
  std::chrono::milliseconds delay;
};

class ok_prober final : public prober {
 public:
  void probe(const compiled_check&, done_fn done) override {
    probe_result r;
    r.result = decision::outcome::ok;
    done(r);
  }
};

common::config load(std::string_view yaml) {
  auto loaded = common::load_config_text(
      yaml, "/virtual/agent-cw.yaml", [](std::string_view) { return std::optional<std::string>{}; },
      [](const std::string&, std::string& error) -> std::optional<std::string> {
        error = "no files here";
        return std::nullopt;
      });
  EXPECT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].format());
  return loaded.value ? *loaded.value : common::config{};
}

TEST(agent_cloudwatch, samples_checks_into_batches_and_counts_aws_errors) {
  const common::config cfg = load(config_yaml);
  ASSERT_FALSE(cfg.checks.empty());

  std::mutex mu;
  std::vector<nlohmann::json> batches;
  auto post = [&](const std::string&, const std::string& body, const std::vector<std::string>&,
                  std::chrono::milliseconds, std::string& answer) {
    std::lock_guard lock(mu);
    batches.push_back(nlohmann::json::parse(body));
    answer = R"({"accepted":1})";
    return 202;
  };

  boost::asio::io_context io;
  common::real_clock clock;
  prometheus::Registry registry;
  fake_cloudwatch cw;
  ok_prober probe;
  agent_options opts;
  opts.vantage = "local";
  opts.flush_interval = 100ms;
  opts.cloudwatch = &cw;
  {
    agent a(io, cfg, opts, clock, registry, &probe, post);
    EXPECT_EQ(a.cloudwatch_check_count(), 3U);
    EXPECT_EQ(a.check_count(), 5U);
    a.start();
    io.run_for(1200ms);
    a.stop();
  }

  std::map<std::string, std::map<std::string, int>> outcomes;  // check -> outcome -> count
  std::map<std::string, std::string> details;
  std::size_t lag_samples = 0;
  for (const auto& b : batches) {
    for (const auto& o : b.at("observations")) {
      ++outcomes[o.at("check")][o.at("outcome")];
      details[o.at("check").get<std::string>() + "/" + o.at("outcome").get<std::string>()] = o.value("detail", "");
    }
    for (const auto& l : b.at("lag"))
      lag_samples += l.at("lag_ms") == 420 ? 1U : 0U;
  }
  EXPECT_GT(outcomes["api@us-east-1"]["ok"], 0);
  EXPECT_GT(outcomes["elb-5xx@us-east-1"]["condition_failed"], 0);
  EXPECT_NE(details["elb-5xx@us-east-1/condition_failed"].find("Errors Sum 60s = 75"), std::string::npos)
      << details["elb-5xx@us-east-1/condition_failed"];
  EXPECT_GT(outcomes["backlog@us-east-1"]["no_data"], 0);
  EXPECT_EQ(outcomes["backlog@us-east-1"]["ok"], 0);
  EXPECT_GT(outcomes["elb-5xx@us-west-2"]["aws_error"], 0);
  EXPECT_NE(details["elb-5xx@us-west-2/aws_error"].find("SignatureDoesNotMatch"), std::string::npos)
      << details["elb-5xx@us-west-2/aws_error"];
  EXPECT_GT(lag_samples, 0U);

  // Batching: every call to us-east-1 for the checks carries both of its metric checks.
  {
    std::lock_guard lock(cw.mu);
    std::size_t east = 0;
    for (const auto& [region, n] : cw.calls) {
      if (region == "us-east-1") {
        EXPECT_EQ(n, 2U);
        ++east;
      }
    }
    EXPECT_GE(east, 2U);
  }

  double sig_errors = 0;
  double aws_error_outcomes = 0;
  bool agent_lag = false;
  for (const auto& fam : registry.Collect()) {
    for (const auto& m : fam.metric) {
      std::map<std::string, std::string> labels;
      for (const auto& l : m.label)
        labels[l.name] = l.value;
      if (fam.name == "vigil_aws_errors_total" && labels["code"] == "SignatureDoesNotMatch" &&
          labels["region"] == "us-west-2") {
        sig_errors += m.counter.value;
      }
      if (fam.name == "vigil_cloudwatch_outcomes_total" && labels["check"] == "elb-5xx@us-west-2" &&
          labels["outcome"] == "aws_error") {
        aws_error_outcomes += m.counter.value;
      }
      if (fam.name == "vigil_agent_replication_lag_seconds" && labels["vantage"] == "local") {
        agent_lag = m.gauge.value == 0.42;
      }
    }
  }
  EXPECT_GT(sig_errors, 0);
  EXPECT_GT(aws_error_outcomes, 0);
  EXPECT_TRUE(agent_lag);
}

// CloudWatch runs off the io_context, a thread per region: a region that takes
// 1.5 s to answer (throttled, retrying) delays neither HTTP probes nor the other
// region's checks, which keep their 200 ms pace.
TEST(agent_cloudwatch, a_slow_region_stalls_neither_http_probes_nor_the_other_region) {
  const common::config cfg = load(config_yaml);
  ASSERT_FALSE(cfg.checks.empty());
  std::mutex mu;
  std::size_t http_ok = 0;
  std::size_t east = 0;
  std::size_t west = 0;
  auto post = [&](const std::string&, const std::string& body, const std::vector<std::string>&,
                  std::chrono::milliseconds, std::string& answer) {
    std::lock_guard lock(mu);
    const auto batch = nlohmann::json::parse(body);
    for (const auto& o : batch.at("observations")) {
      const auto id = o.at("check").get<std::string>();
      if (id.rfind("api@", 0) == 0 && o.at("outcome") == "ok") ++http_ok;
      if (id == "elb-5xx@us-east-1" && o.at("outcome") == "ok") ++east;
      if (id == "elb-5xx@us-west-2") ++west;
    }
    answer = R"({"accepted":1})";
    return 202;
  };
  boost::asio::io_context io;
  common::real_clock clock;
  prometheus::Registry registry;
  slow_cloudwatch cw(1500ms);
  ok_prober probe;
  agent_options opts;
  opts.vantage = "local";
  opts.flush_interval = 100ms;
  opts.cloudwatch = &cw;
  opts.run_lag_source = false;
  const auto started = std::chrono::steady_clock::now();
  {
    agent a(io, cfg, opts, clock, registry, &probe, post);
    a.start();
    io.run_for(1000ms);
    a.stop();  // waits for the sampler's round in flight
  }
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1000ms);
  std::lock_guard lock(mu);
  EXPECT_GE(http_ok, 6U) << "two HTTP checks every 200 ms for 1 s while CloudWatch hung";
  EXPECT_GE(east, 3U) << "us-east-1's checks every 200 ms for 1 s while us-west-2 hung";
  EXPECT_EQ(west, 0U) << "a throttled round casts no votes (cloudwatch_sampler.hpp)";
}

}  // namespace
}  // namespace vigil::detector
