#include "detector/probe_metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "detector/curl_easy.hpp"
#include "detector/http_prober.hpp"

namespace vigil::detector {

namespace {

using decision::outcome;

// Probe durations: 5 ms (loopback) to 10 s (the longest sensible timeout).
const prometheus::Histogram::BucketBoundaries& duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                               0.5,   1.0,  2.5,   5.0,  10.0};
  return buckets;
}
// Scheduling lag: the target is p99 < 50 ms (bench/RESULTS.md), so resolve below and around it.
const prometheus::Histogram::BucketBoundaries& lag_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                                               0.1,   0.25,  0.5,   1.0,  2.5};
  return buckets;
}

/// Outcomes an HTTP probe can produce (the CloudWatch ones get no series here).
constexpr bool http_outcome(outcome o) {
  return o != outcome::condition_failed && o != outcome::no_data && o != outcome::aws_error;
}

/// The host of a URL is an IP literal (no name to resolve).
bool ip_literal_host(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return false;
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return true;  // [IPv6]
  rest = rest.substr(0, rest.find(':'));
  if (rest.empty()) return false;
  int dots = 0;
  for (const char c : rest) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

/// The outcomes of tcp, dns and postgres checks (socket_probers.hpp).
bool socket_outcome(const compiled_check& c, outcome o) {
  switch (o) {
    case outcome::http_status:
    case outcome::too_many_redirects:
    case outcome::proxy_error:
    case outcome::cert_expiring:
      return false;
    case outcome::degraded:
      return c.degraded_after.count() > 0;
    case outcome::tls_error:
      return c.kind == check_kind::postgres || (c.tcp && c.tcp->tls);
    case outcome::body_too_large:
      return c.kind == check_kind::tcp;
    default:
      return http_outcome(o);
  }
}

/// Can a probe of `c` end with `o`? Series for outcomes a check cannot produce
/// are not pre-built: each costs about 0.5 KB (a labels map per child), and
/// 14 per check were the largest single share of the agent's heap at 1,000
/// checks (bench/RESULTS.md). Only what the check's own settings rule out is
/// left out: TLS outcomes without https (and without redirects that could
/// lead there), cert_expiring without a cert_expiry expectation, degraded
/// without degraded_after or a `warn` expectation, too_many_redirects without following redirects,
/// proxy_error when no proxy applies, dns_error for an IP literal. record()
/// still counts anything else, building the child on that first occurrence.
bool can_produce(const compiled_check& c, outcome o) {
  if (c.kind == check_kind::tcp || c.kind == check_kind::dns || c.kind == check_kind::postgres) {
    return socket_outcome(c, o);
  }
  const bool https = c.url.starts_with("https://");
  const bool redirects = c.follow_redirects;
  switch (o) {
    case outcome::tls_error:
      return https || redirects;
    case outcome::cert_expiring:
      return c.expect.needs_cert();
    case outcome::degraded:
      return c.degraded_after.count() > 0 || c.expect.warns();
    case outcome::too_many_redirects:
      return redirects;
    case outcome::proxy_error:
      return redirects || curl::proxy_applies(c.url, c.proxy);
    case outcome::dns_error:
      return redirects || !ip_literal_host(c.url) || curl::proxy_applies(c.url, c.proxy);
    default:
      return http_outcome(o);
  }
}

}  // namespace

probe_metrics::probe_metrics(prometheus::Registry& registry, const std::string& vantage)
    : success_(prometheus::BuildGauge()
                   .Name("vigil_probe_success")
                   .Help("1 if the last probe of the check succeeded (ok or degraded), else 0")
                   .Labels({{"vantage", vantage}})
                   .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("vigil_probe_duration_seconds")
                    .Help("Total duration of HTTP probes")
                    .Labels({{"vantage", vantage}})
                    .Register(registry)),
      outcomes_(prometheus::BuildCounter()
                    .Name("vigil_probe_outcomes_total")
                    .Help("Finished HTTP probes by outcome")
                    .Labels({{"vantage", vantage}})
                    .Register(registry)),
      phases_(prometheus::BuildGauge()
                  .Name("vigil_probe_phase_seconds")
                  .Help("Duration of each phase of the last probe (dns, connect, tls, first_byte, total)")
                  .Labels({{"vantage", vantage}})
                  .Register(registry)),
      cert_expiry_(prometheus::BuildGauge()
                       .Name("vigil_probe_cert_expiry_seconds")
                       .Help("Seconds until the earliest notAfter of the server certificate chain, "
                             "at the last probe")
                       .Labels({{"vantage", vantage}})
                       .Register(registry)) {
  auto& lag = prometheus::BuildHistogram()
                  .Name("vigil_scheduler_lag_seconds")
                  .Help("How late probes started against their due time")
                  .Labels({{"vantage", vantage}})
                  .Register(registry);
  lag_ = &lag.Add({}, lag_buckets());
}

void probe_metrics::add_check(const compiled_check& check) {
  if (checks_.find(check.id) != checks_.end()) return;
  const prometheus::Labels labels{{"check", check.id}, {"region", check.region}};
  children c;
  c.region = check.region;
  c.success = &success_.Add(labels);
  c.duration = &duration_.Add(labels, duration_buckets());
  for (std::size_t i = 0; i < decision::outcome_count; ++i) {
    const auto o = static_cast<outcome>(i);
    if (!can_produce(check, o)) continue;
    auto l = labels;
    l.emplace("outcome", std::string(decision::to_string(o)));
    c.outcomes[i] = &outcomes_.Add(l);
  }
  for (std::size_t i = 0; i < phase_names.size(); ++i) {
    auto l = labels;
    l.emplace("phase", std::string(phase_names[i]));
    c.phases[i] = &phases_.Add(l);
  }
  if (check.url.starts_with("https://") || (check.tcp && check.tcp->tls)) c.cert_expiry = &cert_expiry_.Add(labels);
  checks_.emplace(check.id, c);
}

void probe_metrics::record(std::string_view check_id, const probe_result& r) {
  const auto it = checks_.find(check_id);
  if (it == checks_.end()) return;
  children& c = it->second;
  c.success->Set(decision::is_success(r.result) ? 1.0 : 0.0);
  c.duration->Observe(r.latency_ms / 1000.0);
  const auto oi = static_cast<std::size_t>(r.result);
  if (oi < c.outcomes.size() && c.outcomes[oi] == nullptr && http_outcome(r.result)) {
    // An outcome can_produce() ruled out: count it anyway. Once per (check,
    // outcome) at most, so not a hot-path Family::Add.
    c.outcomes[oi] = &outcomes_.Add(
        {{"check", it->first}, {"region", c.region}, {"outcome", std::string(decision::to_string(r.result))}});
  }
  if (oi < c.outcomes.size() && c.outcomes[oi] != nullptr) c.outcomes[oi]->Increment();
  const std::array<double, phase_names.size()> ms{r.phases.dns_ms, r.phases.connect_ms, r.phases.tls_ms,
                                                  r.phases.first_byte_ms, r.phases.total_ms};
  for (std::size_t i = 0; i < ms.size(); ++i)
    c.phases[i]->Set(ms[i] / 1000.0);
  if (c.cert_expiry != nullptr && r.cert_left) c.cert_expiry->Set(static_cast<double>(r.cert_left->count()));
}

void probe_metrics::record_lag(std::chrono::duration<double> lag) {
  lag_->Observe(std::max(0.0, lag.count()));
}

}  // namespace vigil::detector
