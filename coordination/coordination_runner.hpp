#pragma once
// Builds the configured coordinator and drives it from its own thread.
//
// step() blocks on etcd requests, so it never runs on the engine's io thread:
// coordination_runner calls it every step_interval() on a thread of its own
// and reports leadership changes through a callback (called on that thread;
// post it to the engine's io_context). The callback is a convenience, not the
// guard: is_leader() turns false at the local deadline even while a step is
// blocked, so the engine must also ask is_leader() before every action.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/config.hpp"
#include "coordination/coordination.hpp"

namespace vigil::coordination {

/// file backend: file_coordinator over <state_dir>/shared and
/// <state_dir>/approvals.jti; etcd backend: etcd_coordinator with the
/// configured endpoints, lease_ttl and prefix. `replica_id` must be unique
/// among the replicas (e.g. the region or host name). Throws
/// std::runtime_error / std::invalid_argument on bad input.
[[nodiscard]] std::unique_ptr<coordinator> make_coordinator(const common::config& cfg, std::string replica_id,
                                                            const common::clock& clock, prometheus::Registry& registry);

class coordination_runner {
 public:
  using change_fn = std::function<void(bool leader)>;
  /// `c` and `clock` must outlive the runner.
  coordination_runner(coordinator& c, const common::clock& clock, change_fn on_change);
  ~coordination_runner();
  coordination_runner(const coordination_runner&) = delete;
  coordination_runner& operator=(const coordination_runner&) = delete;

  void start();
  /// Stops the thread (waits for a step in flight). Does not resign.
  void stop();

 private:
  void run();

  coordinator& c_;
  const common::clock& clock_;
  change_fn on_change_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vigil::coordination
