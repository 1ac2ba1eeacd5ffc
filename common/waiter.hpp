#pragma once
// An injectable wait: worker threads (page delivery, plan steps) sleep through
// it so that tests can pass one that advances a manual clock instead.

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace vigil::common {

/// Waits up to a duration, returning early when notified.
class waiter {
 public:
  virtual ~waiter() = default;
  virtual void wait_for(std::chrono::milliseconds d) = 0;
  virtual void notify() = 0;
};

/// The production waiter: a condition variable.
class cv_waiter final : public waiter {
 public:
  void wait_for(std::chrono::milliseconds d) override;
  void notify() override;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;
};

}  // namespace vigil::common
