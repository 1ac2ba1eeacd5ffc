#include "common/clock.hpp"

#include "decision/time_format.hpp"

namespace vigil::common {

mono_time real_clock::monotonic() const {
  return std::chrono::steady_clock::now();
}

wall_time real_clock::wall() const {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

manual_clock::manual_clock(wall_time start) : start_wall_(start) {}

mono_time manual_clock::monotonic() const {
  return mono_time{} + std::chrono::hours(1) + std::chrono::milliseconds(elapsed_ms_.load());
}

wall_time manual_clock::wall() const {
  return start_wall_ + std::chrono::milliseconds(elapsed_ms_.load());
}

void manual_clock::advance(std::chrono::milliseconds d) {
  elapsed_ms_.fetch_add(d.count());
}

std::string format_rfc3339(wall_time t) {
  return decision::format_time(decision::time_point{t.time_since_epoch()});
}

}  // namespace vigil::common
