#include "detector/probe_metrics.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

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

TEST(probe_metrics, children_are_prebuilt_and_updated_per_probe) {
  prometheus::Registry registry;
  probe_metrics m(registry, "eu-west-1");
  m.add_check(check("api@us-east-1", "https://api.example/health"));
  m.add_check(check("web@us-east-1", "http://web.example/health"));
  m.add_check(check("api@us-east-1", "https://api.example/health"));  // idempotent

  // Before any probe every series exists already (so rate() and absent() work).
  auto all = registry.Collect();
  const auto* outcomes = family(all, "vigil_probe_outcomes_total");
  ASSERT_NE(outcomes, nullptr);
  EXPECT_EQ(outcomes->metric.size(), 2U * 14U);  // 14 HTTP outcomes per check
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
  EXPECT_EQ(outcomes->metric.size(), 2U * 14U);
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

}  // namespace
}  // namespace vigil::detector
