#pragma once
// Operator brakes on plan execution (docs/runbook.md, "Stop a plan"): the
// global actuation brake and, per plan (recommendation id), pause and abort.
// The executor looks before every step: an aborted plan stops there (a step
// that is running is cancelled when it supports it: its waits return false),
// a paused plan or any plan under the brake waits before its next step.
//
// Thread-safe: the engine's io thread sets, the executor's worker reads.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace vigil::actuators {

class plan_control {
 public:
  /// `wake` is called after every change (the executor's waiter's notify).
  void set_wake(std::function<void()> wake);
  void set_brake(bool on, std::string detail);
  [[nodiscard]] bool brake() const;
  [[nodiscard]] std::string brake_detail() const;
  void pause(const std::string& recommendation_id, std::string detail);
  void resume(const std::string& recommendation_id);
  void abort(const std::string& recommendation_id, std::string detail);
  [[nodiscard]] std::optional<std::string> paused(const std::string& recommendation_id) const;
  [[nodiscard]] std::optional<std::string> aborted(const std::string& recommendation_id) const;

 private:
  void wake();
  mutable std::mutex mu_;
  std::function<void()> wake_;
  bool brake_ = false;
  std::string brake_detail_;
  std::map<std::string, std::string> paused_;   ///< recommendation id -> who and why
  std::map<std::string, std::string> aborted_;  ///< recommendation id -> who and why
};

}  // namespace vigil::actuators
