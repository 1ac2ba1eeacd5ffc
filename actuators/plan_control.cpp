#include "actuators/plan_control.hpp"

namespace vigil::actuators {

void plan_control::set_wake(std::function<void()> wake) {
  std::lock_guard lock(mu_);
  wake_ = std::move(wake);
}

void plan_control::wake() {
  std::function<void()> w;
  {
    std::lock_guard lock(mu_);
    w = wake_;
  }
  if (w) w();
}

void plan_control::set_brake(bool on, std::string detail) {
  {
    std::lock_guard lock(mu_);
    brake_ = on;
    brake_detail_ = std::move(detail);
  }
  wake();
}

bool plan_control::brake() const {
  std::lock_guard lock(mu_);
  return brake_;
}

std::string plan_control::brake_detail() const {
  std::lock_guard lock(mu_);
  return brake_detail_;
}

void plan_control::pause(const std::string& id, std::string detail) {
  {
    std::lock_guard lock(mu_);
    paused_[id] = std::move(detail);
  }
  wake();
}

void plan_control::resume(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    paused_.erase(id);
  }
  wake();
}

void plan_control::abort(const std::string& id, std::string detail) {
  {
    std::lock_guard lock(mu_);
    aborted_[id] = std::move(detail);
  }
  wake();
}

std::optional<std::string> plan_control::paused(const std::string& id) const {
  std::lock_guard lock(mu_);
  const auto it = paused_.find(id);
  if (it == paused_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> plan_control::aborted(const std::string& id) const {
  std::lock_guard lock(mu_);
  const auto it = aborted_.find(id);
  if (it == aborted_.end()) return std::nullopt;
  return it->second;
}

}  // namespace vigil::actuators
