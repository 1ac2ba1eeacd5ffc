#pragma once
// The production I/O behind the engine's hooks, built from config: the
// approval verifier and its single-use jti ledger, the durable page outbox and
// its delivery worker, and the plan runner. `vigil engine` and `vigil run` use
// it; tests and the demo build their own hooks.

#include <boost/asio/io_context.hpp>
#include <memory>

#include "actuators/plan_runner.hpp"
#include "app/engine.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"

namespace prometheus {
class Registry;
}

namespace vigil::app {

/// decision::page → the pager's page, with the links on-call needs: status
/// page, recommendation, runbook and the exact `vigil approve` command.
/// The recommendation links only when the page is about one (`with_recommendation`),
/// the runbook and dashboard only when engine.runbook_url / dashboard_url are set:
/// every link a page carries answers 200.
[[nodiscard]] nlohmann::json page_links(const common::config& cfg, const std::string& engine_url,
                                        bool with_recommendation);

class engine_services {
 public:
  /// Opens the state files (throws std::runtime_error naming the file) and
  /// builds the configured coordinator (coordination.backend) for replica
  /// `replica_id` (unique among the replicas; docs/ha.md).
  engine_services(boost::asio::io_context& io, const common::config& cfg, const common::clock& clock,
                  prometheus::Registry& registry, actuators::plan_runner::line_fn print = nullptr,
                  std::string replica_id = "local");
  ~engine_services();
  engine_services(const engine_services&) = delete;
  engine_services& operator=(const engine_services&) = delete;

  /// Hooks for an engine whose public address is `engine_url`.
  [[nodiscard]] engine_hooks hooks(const std::string& engine_url);
  /// Connects plan progress to the engine, starts the page worker and the
  /// coordination thread (which feeds leadership into the engine).
  /// `replica_url`: where the other replicas reach this one (advertised in
  /// etcd so that followers can forward approvals to the leader).
  void start(engine& e, std::string replica_url = {});
  /// Whether the engine should start as the leader (the file backend: yes;
  /// etcd: no, until the election is won).
  [[nodiscard]] bool starts_as_leader() const;
  void stop();
  /// Replaces the approvers' public keys with those of `approvals` (SIGHUP;
  /// io thread). Keeps the loaded keys when a new one does not load or when
  /// approvals were off at start. Returns what it did, for the log.
  [[nodiscard]] std::string reload_approvers(const common::approvals_config& approvals);
  /// SIGHUP: objectives and drill.schedule from `cfg` (io thread); what changed, for the log.
  [[nodiscard]] std::string reload_objectives(const common::config& cfg);

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace vigil::app
