#pragma once
// Shared by vigil_bench_probe and vigil_bench_curl_loop (bench/probe_peer_bench.sh):
// command-line durations and the process CPU time, measured the same way for both.

#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vigil::bench {

/// "1s", "500ms", "2m" or a bare number of seconds; nullopt when malformed.
inline std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(std::string(s), &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string_view unit = s.substr(used);
  double ms = v * 1000.0;
  if (unit == "ms") {
    ms = v;
  } else if (unit == "m") {
    ms = v * 60000.0;
  } else if (!unit.empty() && unit != "s") {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

/// User + system CPU seconds of one getrusage() reading.
inline double cpu_seconds(const rusage& r) {
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(r.ru_utime) + s(r.ru_stime);
}

}  // namespace vigil::bench
