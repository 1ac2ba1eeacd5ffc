#include "detector/probe_metrics.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cstdlib>
#include <set>
#include <variant>

#include "detector/expect.hpp"
#include "detector/http_prober.hpp"

namespace vigil::detector {
namespace {

using decision::outcome;

const prometheus::MetricFamily* family(const std::vector<prometheus::MetricFamily>& all, const std::string& name) {
  for (const auto& f : all) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string label(const prometheus::ClientMetric& m, const std::string& name) {
  for (const auto& l : m.label) {
    if (l.name == name) return l.value;
  }
  return "";
}

const prometheus::ClientMetric* find(const prometheus::MetricFamily& f,
                                     const std::map<std::string, std::string>& labels) {
  for (const auto& m : f.metric) {
    bool all = true;
    for (const auto& [k, v] : labels)
      all = all && label(m, k) == v;
    if (all) return &m;
  }
  return nullptr;
}

compiled_check check(const std::string& id, const std::string& url) {
  compiled_check c;
  c.id = id;
  c.region = "us-east-1";
  c.url = url;
  return c;
}

/// No proxy from the environment: which outcomes a check can produce depends on it.
void no_proxy_env() {
  for (const char* v : {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"})
    ::unsetenv(v);
}

std::set<std::string> outcome_series(const prometheus::Registry& registry, const std::string& check_id) {
  std::set<std::string> out;
  for (const auto& f : registry.Collect()) {
    if (f.name != "vigil_probe_outcomes_total") continue;
    for (const auto& m : f.metric) {
      if (label(m, "check") == check_id) out.insert(label(m, "outcome"));
    }
  }
  return out;
}

TEST(probe_metrics, children_are_prebuilt_and_updated_per_probe) {
  no_proxy_env();
  prometheus::Registry registry;
  probe_metrics m(registry, "eu-west-1");
  m.add_check(check("api@us-east-1", "https://api.example/health"));
  m.add_check(check("web@us-east-1", "http://web.example/health"));
  m.add_check(check("api@us-east-1", "https://api.example/health"));  // idempotent

  // Before any probe every series exists already (so rate() and absent() work).
  auto all = registry.Collect();
  const auto* outcomes = family(all, "vigil_probe_outcomes_total");
  ASSERT_NE(outcomes, nullptr);
  // The outcomes each check can produce: api (https, a host name) 10 of the 14
  // HTTP outcomes, web (plain http) 9; see the next test.
  EXPECT_EQ(outcomes->metric.size(), 10U + 9U);
  const auto* cert = family(all, "vigil_probe_cert_expiry_seconds");
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(cert->metric.size(), 1U);  // https checks only

  probe_result r;
  r.result = outcome::http_status;
  r.http_status = 503;
  r.latency_ms = 120;
  r.phases = {1, 2, 30, 80, 120};
  r.cert_left = std::chrono::seconds(86400);
  m.record("api@us-east-1", r);
  r.result = outcome::degraded;
  m.record("api@us-east-1", r);
  m.record("unknown@nowhere", r);  // ignored, no new series
  m.record_lag(std::chrono::milliseconds(3));

  all = registry.Collect();
  const auto* success = family(all, "vigil_probe_success");
  ASSERT_NE(success, nullptr);
  const auto* api = find(*success, {{"check", "api@us-east-1"}});
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->gauge.value, 1.0);  // degraded counts as up
  EXPECT_EQ(label(*api, "vantage"), "eu-west-1");
  EXPECT_EQ(label(*api, "region"), "us-east-1");

  outcomes = family(all, "vigil_probe_outcomes_total");
  EXPECT_EQ(outcomes->metric.size(), 10U + 9U + 1U);  // degraded was not expected (no degraded_after): built then
  EXPECT_EQ(find(*outcomes, {{"check", "api@us-east-1"}, {"outcome", "http_status"}})->counter.value, 1.0);
  EXPECT_EQ(find(*outcomes, {{"check", "api@us-east-1"}, {"outcome", "degraded"}})->counter.value, 1.0);
  EXPECT_EQ(find(*outcomes, {{"check", "web@us-east-1"}, {"outcome", "ok"}})->counter.value, 0.0);

  const auto* duration = family(all, "vigil_probe_duration_seconds");
  EXPECT_EQ(find(*duration, {{"check", "api@us-east-1"}})->histogram.sample_count, 2U);
  EXPECT_DOUBLE_EQ(find(*duration, {{"check", "api@us-east-1"}})->histogram.sample_sum, 0.24);

  const auto* phases = family(all, "vigil_probe_phase_seconds");
  EXPECT_DOUBLE_EQ(find(*phases, {{"check", "api@us-east-1"}, {"phase", "tls"}})->gauge.value, 0.03);
  EXPECT_DOUBLE_EQ(find(*phases, {{"check", "api@us-east-1"}, {"phase", "first_byte"}})->gauge.value, 0.08);

  EXPECT_EQ(family(all, "vigil_probe_cert_expiry_seconds")->metric.at(0).gauge.value, 86400.0);
  EXPECT_EQ(family(all, "vigil_scheduler_lag_seconds")->metric.at(0).histogram.sample_count, 1U);

  // The exposition is well-formed text with the documented names.
  const std::string text = prometheus::TextSerializer().Serialize(all);
  EXPECT_NE(text.find("vigil_probe_success{"), std::string::npos);
  EXPECT_NE(text.find("# TYPE vigil_probe_outcomes_total counter"), std::string::npos);
}

// Series for outcomes a check's settings rule out are not pre-built (about
// 0.5 KB each, 14 per check: the agent's largest heap share at 1,000 checks).
TEST(probe_metrics, prebuilds_only_the_outcomes_a_check_can_produce) {
  no_proxy_env();
  prometheus::Registry registry;
  probe_metrics m(registry, "eu-west-1");
  m.add_check(check("ip@us-east-1", "http://127.0.0.1:8080/health"));
  auto full = check("full@us-east-1", "https://api.example/health");
  full.follow_redirects = true;
  full.degraded_after = std::chrono::milliseconds(200);
  full.expect = expect_set({std::get<expectation>(parse_expect("cert_expiry > 7d"))});
  m.add_check(full);
  auto proxied = check("proxied@us-east-1", "http://10.0.0.1/health");
  proxied.proxy = "http://127.0.0.1:3128";
  m.add_check(proxied);

  const std::set<std::string> always{
      "ok",      "http_status", "timeout", "connect_refused", "connect_error", "body_mismatch", "body_too_large",
      "internal"};
  EXPECT_EQ(outcome_series(registry, "ip@us-east-1"), always);
  EXPECT_EQ(outcome_series(registry, "full@us-east-1").size(), 14U);
  auto with_proxy = always;
  with_proxy.insert({"proxy_error", "dns_error"});
  EXPECT_EQ(outcome_series(registry, "proxied@us-east-1"), with_proxy);

  // What was ruled out still counts when it happens: its series appears then.
  probe_result r;
  r.result = outcome::tls_error;
  m.record("ip@us-east-1", r);
  m.record("ip@us-east-1", r);
  const auto all = registry.Collect();
  const auto* tls =
      find(*family(all, "vigil_probe_outcomes_total"), {{"check", "ip@us-east-1"}, {"outcome", "tls_error"}});
  ASSERT_NE(tls, nullptr);
  EXPECT_EQ(tls->counter.value, 2.0);
  EXPECT_EQ(label(*tls, "region"), "us-east-1");
  EXPECT_EQ(label(*tls, "vantage"), "eu-west-1");
}

}  // namespace
}  // namespace vigil::detector
