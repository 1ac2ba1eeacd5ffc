#pragma once
// The observation record (JSONL; the engine's `engine.record` option writes
// it, `vigil replay` reads it). One JSON object per line:
//   {"t":"2026-11-22T03:00:00.250Z","vantage":"eu-west-1","check":"api-web@us-east-1",
//    "outcome":"ok","latency_ms":41.5,"value":null}                 an observation
//   {"type":"report","t":...,"vantage":"eu-west-1"}                 a batch heartbeat
//   {"type":"lag","t":...,"lag_ms":420}                             lag sample; "lag_ms":null = unreachable
// `t` is RFC 3339 or integer milliseconds since the Unix epoch; an
// observation line may carry "type":"observation". Lines must be in time
// order (replay rejects a line older than the previous one by more than 1 minute).

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "decision/types.hpp"

namespace vigil::decision {

struct report_record {
  vantage_index vantage = 0;
  time_point at{};
};

using record = std::variant<observation, report_record, lag_sample>;

struct record_parse_result {
  std::optional<record> value;
  std::string error;  ///< why the line was refused (no file/line: the caller adds them)
};

/// Parses one line against the topology (names -> indices). Empty lines and
/// lines starting with '#' give neither value nor error.
[[nodiscard]] record_parse_result parse_record_line(std::string_view line, const topology& topo);

[[nodiscard]] time_point record_time(const record& r);

/// Serialises (the engine's writer uses these).
[[nodiscard]] std::string to_record_line(const observation& o, const topology& topo);
[[nodiscard]] std::string to_record_line(const report_record& r, const topology& topo);
[[nodiscard]] std::string to_record_line(const lag_sample& l);
/// Same, naming the measured region when the sample has one.
[[nodiscard]] std::string to_record_line(const lag_sample& l, const topology& topo);

}  // namespace vigil::decision
