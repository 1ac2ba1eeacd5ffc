#pragma once
// The retrying AWS client: resolves the endpoint, signs, sends, parses errors
// and retries as the SDKs' "standard" mode:
// - at most `max_attempts` (config aws.max_attempts, default 3) attempts;
// - delay before attempt n+1 = random[0,1) * min(2^(n-1) s, 20 s);
// - retried: HTTP 500/502/503/504, transport failures and timeouts, throttling
//   codes (is_throttling) and transient codes (RequestTimeout, ...);
// - a retry budget shared by every call of the client: a token bucket of 500,
//   a retry costs 5 (10 after a timeout/transport failure), a success refunds
//   what its retries cost, or 1 when it needed none. An empty bucket stops
//   retrying (an outage must not triple the load on AWS).
// - each call has a deadline (aws.call_timeout): no attempt or backoff runs past it;
// - clock skew: an answer saying the signature's time is off teaches the
//   client AWS's time (Date header) and the call is re-signed once, free.
// Sleep and randomness are injected so tests never sleep.
//
// Thread safety: one client may be used from many threads at once.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "aws/credentials.hpp"
#include "aws/endpoints.hpp"
#include "aws/error.hpp"
#include "aws/http.hpp"
#include "aws/sigv4.hpp"
#include "aws/xml.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"

namespace vigil::aws {

using sleep_fn = std::function<void(std::chrono::milliseconds)>;
using random_fn = std::function<double()>;  ///< uniform in [0, 1)

[[nodiscard]] sleep_fn real_sleep();
[[nodiscard]] random_fn default_random(std::uint64_t seed = 0);  ///< seed 0: from std::random_device

[[nodiscard]] bool is_throttling(const aws_error& e);
/// Classifies (and sets e.retryable) per the standard retry mode.
[[nodiscard]] bool is_retryable(const aws_error& e);
/// Builds the typed error from a non-2xx (or status 0) answer, JSON or XML.
[[nodiscard]] aws_error parse_error(const http_response& resp);

class retry_budget {
 public:
  static constexpr int capacity = 500;
  static constexpr int retry_cost = 5;
  static constexpr int timeout_cost = 10;
  static constexpr int no_retry_refund = 1;

  bool acquire(int cost);
  void release(int amount);
  [[nodiscard]] int available() const;

 private:
  mutable std::mutex mu_;
  int tokens_ = capacity;
};

struct client_options {
  common::aws_config aws;
  env_fn env = process_env();
  std::optional<profile_settings> profile;  ///< for endpoint_url
  sleep_fn sleep = real_sleep();
  random_fn random = default_random();
  std::string user_agent = "vigil";
};

/// Per-call overrides.
struct call_options {
  std::optional<std::string> endpoint;               ///< explicit URL (ARC cluster endpoints)
  std::optional<std::chrono::milliseconds> timeout;  ///< default aws.call_timeout
  std::optional<int> max_attempts;                   ///< default aws.max_attempts (1: no retry)
};

struct call_stats {
  std::uint64_t calls = 0;
  std::uint64_t attempts = 0;
  std::uint64_t retries = 0;
  std::uint64_t throttled = 0;
  std::uint64_t failures = 0;
};

class client {
 public:
  client(client_options options, credentials_provider& creds, http_transport& http, const common::clock& clock);

  /// Signs and sends `req` (host/scheme filled from the endpoint; req.path is
  /// appended to the endpoint's base path), retrying per the policy.
  [[nodiscard]] result<http_response> send(service s, const std::string& region, http_request req,
                                           const call_options& opts = {});

  /// Query protocol (CloudWatch, RDS, STS): form POST of Action, Version and
  /// params; returns the parsed XML answer.
  [[nodiscard]] result<xml_node> query(service s, const std::string& region, std::string_view action,
                                       std::string_view version,
                                       const std::vector<std::pair<std::string, std::string>>& params,
                                       const call_options& opts = {});

  /// JSON 1.0/1.1 protocol (ECS, SSM, ARC): POST with X-Amz-Target.
  [[nodiscard]] result<nlohmann::json> json(service s, const std::string& region, std::string_view target,
                                            std::string_view json_version, const nlohmann::json& body,
                                            const call_options& opts = {});

  /// REST-XML protocol (Route 53).
  [[nodiscard]] result<xml_node> rest_xml(service s, const std::string& region, std::string method, std::string path,
                                          std::vector<std::pair<std::string, std::string>> query, std::string body,
                                          const call_options& opts = {});

  [[nodiscard]] result<resolved_endpoint> endpoint(service s, const std::string& region) const;
  [[nodiscard]] call_stats stats() const;
  [[nodiscard]] const clock_skew& skew() const { return skew_; }
  [[nodiscard]] const retry_budget& budget() const { return budget_; }
  [[nodiscard]] const common::clock& clock() const { return clock_; }

 private:
  client_options options_;
  credentials_provider& creds_;
  http_transport& http_;
  const common::clock& clock_;
  clock_skew skew_;
  retry_budget budget_;
  mutable std::mutex stats_mu_;
  call_stats stats_;
};

}  // namespace vigil::aws
