#pragma once
// The closed vocabulary of probe outcomes (docs/design.md, "Vocabulary":
// observation). Shared by the detector (which produces them), the wire
// format of agent batches, the decision core (which votes on them), metrics
// labels and docs: the string names below are stable.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vigil::decision {

enum class outcome : std::uint8_t {
  ok,                  ///< answered and every expectation held
  degraded,            ///< answered correctly but slower than degraded_after: counts as up
  http_status,         ///< unexpected HTTP status
  timeout,             ///< connect, total or low-speed timeout; headers never sent
  connect_refused,     ///< TCP RST on connect
  connect_error,       ///< other connect failure (unreachable, reset)
  dns_error,           ///< name did not resolve
  tls_error,           ///< handshake or verification failure
  cert_expiring,       ///< certificate valid but expires inside the expectation window
  body_mismatch,       ///< an expect condition on body/header/json failed
  body_too_large,      ///< body exceeded the cap (cut in the write callback)
  too_many_redirects,  ///< redirect limit hit (or redirects off and expected 2xx)
  proxy_error,         ///< the configured proxy failed
  condition_failed,    ///< a CloudWatch metric breached its condition
  no_data,             ///< a CloudWatch metric had no datapoint (treated per missing_data)
  aws_error,           ///< an AWS API call failed (signature, throttling after retries, ...)
  internal,            ///< a bug or resource problem inside the prober
};

inline constexpr std::size_t outcome_count = 17;

inline constexpr std::array<std::string_view, outcome_count> outcome_names{
    "ok",          "degraded",         "http_status",   "timeout",       "connect_refused", "connect_error",
    "dns_error",   "tls_error",        "cert_expiring", "body_mismatch", "body_too_large",  "too_many_redirects",
    "proxy_error", "condition_failed", "no_data",       "aws_error",     "internal"};

[[nodiscard]] constexpr std::string_view to_string(outcome o) {
  return outcome_names[static_cast<std::size_t>(o)];
}

[[nodiscard]] constexpr std::optional<outcome> outcome_from_string(std::string_view s) {
  for (std::size_t i = 0; i < outcome_count; ++i) {
    if (outcome_names[i] == s) return static_cast<outcome>(i);
  }
  return std::nullopt;
}

/// Does this outcome count as the check answering (a vote for `up`)?
[[nodiscard]] constexpr bool is_success(outcome o) {
  return o == outcome::ok || o == outcome::degraded;
}

}  // namespace vigil::decision
