#pragma once
// Time is injected (docs/design.md, "Injected time"). common/clock.cpp is the only file that reads
// the system clocks (enforced by tests/unit/common/single_clock_check.sh);
// everything else takes `now` or a `const clock&`.
//
// Thread safety: real_clock is stateless; manual_clock is safe to read and
// advance from several threads.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace vigil::common {

using wall_time = std::chrono::sys_time<std::chrono::milliseconds>;
using mono_time = std::chrono::steady_clock::time_point;

class clock {
 public:
  virtual ~clock() = default;
  /// Monotonic time, for deadlines and intervals. Never goes backwards.
  [[nodiscard]] virtual mono_time monotonic() const = 0;
  /// Wall-clock time (UTC, millisecond resolution), for timestamps.
  [[nodiscard]] virtual wall_time wall() const = 0;
};

class real_clock final : public clock {
 public:
  [[nodiscard]] mono_time monotonic() const override;
  [[nodiscard]] wall_time wall() const override;
};

/// A clock that moves only when told to: monotonic and wall time advance together.
class manual_clock final : public clock {
 public:
  explicit manual_clock(wall_time start = wall_time{std::chrono::milliseconds{1'795'000'000'000}});
  [[nodiscard]] mono_time monotonic() const override;
  [[nodiscard]] wall_time wall() const override;
  void advance(std::chrono::milliseconds d);

 private:
  wall_time start_wall_;
  std::atomic<std::int64_t> elapsed_ms_{0};
};

/// RFC 3339 UTC with milliseconds: 2026-11-22T03:00:00.000Z
[[nodiscard]] std::string format_rfc3339(wall_time t);

}  // namespace vigil::common
