#include "app/event_log.hpp"

namespace vigil::app {

event_log::event_log(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

std::uint64_t event_log::append(nlohmann::json event) {
  std::lock_guard lock(mutex_);
  const std::uint64_t seq = next_++;
  event["seq"] = seq;
  events_.push_back(std::move(event));
  if (events_.size() > capacity_) events_.pop_front();
  return seq;
}

nlohmann::json event_log::since(std::uint64_t since, std::size_t max) const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  // seq numbers are contiguous, so the first wanted index is computable.
  const std::uint64_t first_seq = events_.empty() ? next_ : events_.front()["seq"].get<std::uint64_t>();
  std::size_t i = since >= first_seq ? static_cast<std::size_t>(since - first_seq + 1) : 0;
  for (; i < events_.size() && out.size() < max; ++i)
    out.push_back(events_[i]);
  return out;
}

nlohmann::json event_log::tail(std::size_t n) const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  const std::size_t start = events_.size() > n ? events_.size() - n : 0;
  for (std::size_t i = start; i < events_.size(); ++i)
    out.push_back(events_[i]);
  return out;
}

std::uint64_t event_log::last_seq() const {
  std::lock_guard lock(mutex_);
  return next_ - 1;
}

}  // namespace vigil::app
