#pragma once
// The agent → engine wire format: POST /v1/observations (docs/design.md, "Agent to engine: batches").
//
//   {"v":1, "vantage":"eu-west-1", "seq":1795000000001, "sent_at":1795000000123,
//    "observations":[{"check":"api-web@us-east-1","at":1795000000100,"outcome":"ok",
//                     "latency_ms":12.5,"status":200,"value":null,"detail":""}],
//    (an observation degraded by a `warn` condition also has "warning":"cert_expiring";
//     a suspicion-mode re-probe has "fast":true)
//    "lag":[{"at":1795000000050,"lag_ms":420}]}
//
// Times are Unix epoch milliseconds. Headers: X-Vigil-Timestamp = sent_at and
// X-Vigil-Signature = "sha256=" + hex(HMAC-SHA256(agent key, body)). The
// timestamp header must equal the body's sent_at, so the signature covers it.
// `seq` must increase per vantage; agents start it at their start time in ms,
// so it keeps increasing across agent restarts.
//
// Bounds (parse_batch): no key twice in one object (bad_json); latency_ms
// finite in [0, 1 day]; status 0 (none read) or 100..999; lag_ms in
// [0, 30 days] or null. The engine's gate (app/batch_gate.hpp) also holds
// every item's `at` to the batch timestamp's window.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decision/outcome.hpp"

namespace vigil::common {

struct wire_observation {
  std::string check;
  std::int64_t at_ms = 0;
  decision::outcome result = decision::outcome::internal;
  double latency_ms = 0;
  int http_status = 0;
  std::optional<double> value;
  std::string detail;
  /// result `degraded` by a failed `warn` condition: the outcome it maps to
  /// (sent as "warning" only when not ok).
  decision::outcome warning = decision::outcome::ok;
  /// A suspicion-mode re-probe (sent as "fast":true only when set).
  bool fast = false;
};

struct wire_lag {
  std::int64_t at_ms = 0;
  std::optional<std::int64_t> lag_ms;  ///< nullopt: the source could not be read
  std::string error;
  /// The region whose (secondary) cluster was measured; empty: untagged (the
  /// configured dr, as sent by agents without replication_lag.failback).
  std::string region;
};

struct batch {
  std::string vantage;
  std::uint64_t seq = 0;
  std::int64_t sent_at_ms = 0;
  std::vector<wire_observation> observations;
  std::vector<wire_lag> lag;
};

struct batch_limits {
  std::size_t max_observations = 20000;
  std::size_t max_detail_bytes = 1024;
  std::size_t max_name_bytes = 256;
};

/// Why a batch was refused; the string names are the `reason` label of
/// vigil_batches_rejected_total and the `error` field of the 4xx answer.
enum class batch_rejection : std::uint8_t {
  missing_signature,
  bad_signature,
  bad_timestamp,
  stale_timestamp,
  future_timestamp,
  non_increasing_seq,
  bad_json,
  bad_schema,
  too_large,
  unknown_vantage,
  unknown_region,  ///< a lag sample names a region that is not configured
};
[[nodiscard]] std::string_view to_string(batch_rejection r);

struct batch_parse_result {
  std::optional<batch> value;
  batch_rejection reason = batch_rejection::bad_schema;
  std::string message;  ///< what was wrong, with the JSON path
};

[[nodiscard]] std::string serialize_batch(const batch& b);
[[nodiscard]] batch_parse_result parse_batch(std::string_view body, const batch_limits& limits = {});

/// "sha256=<hex>" over the body.
[[nodiscard]] std::string sign_batch(std::string_view key, std::string_view body);
[[nodiscard]] bool verify_batch_signature(std::string_view key, std::string_view body, std::string_view header);

}  // namespace vigil::common
