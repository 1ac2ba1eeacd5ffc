#include "coordination/coordination_runner.hpp"

#include "common/log.hpp"
#include "coordination/coordination_etcd.hpp"

namespace vigil::coordination {

std::unique_ptr<coordinator> make_coordinator(const common::config& cfg, std::string replica_id,
                                              const common::clock& clock, prometheus::Registry& registry) {
  const std::filesystem::path dir = cfg.engine.state_dir;
  if (cfg.coordination.backend == common::coordination_backend::file) {
    return std::make_unique<file_coordinator>(dir / "shared", dir / "approvals.jti", std::move(replica_id));
  }
  etcd_coordinator_options o;
  o.endpoints = cfg.coordination.endpoints;
  o.lease_ttl = cfg.coordination.lease_ttl;
  o.prefix = cfg.coordination.prefix;
  o.replica_id = std::move(replica_id);
  o.security = {cfg.coordination.ca_file, cfg.coordination.cert_file, cfg.coordination.key_file,
                cfg.coordination.username, cfg.coordination.password};
  return std::make_unique<etcd_coordinator>(std::move(o), clock, registry);
}

coordination_runner::coordination_runner(coordinator& c, const common::clock& clock, change_fn on_change)
    : c_(c), clock_(clock), on_change_(std::move(on_change)) {}

coordination_runner::~coordination_runner() {
  stop();
}

void coordination_runner::start() {
  const std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void coordination_runner::stop() {
  {
    const std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void coordination_runner::run() {
  bool last = false;
  bool first = true;
  for (;;) {
    try {
      c_.step(clock_.monotonic());
    } catch (const std::exception& e) {
      // A long-running loop logs and goes on (docs/design.md, "Errors and bounds"); is_leader() stays safe.
      common::logger("coordination")->error("coordination step failed: {}", e.what());
    }
    const bool now_leader = c_.is_leader();
    if ((first || now_leader != last) && on_change_) on_change_(now_leader);
    first = false;
    last = now_leader;
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, c_.step_interval(), [this] { return stopping_; })) return;
  }
}

}  // namespace vigil::coordination
