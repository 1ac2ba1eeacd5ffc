#pragma once
// Carries out an approved plan step by step on the engine's io_context and
// reports progress to the engine (and so to the core, the status page, the
// audit log and the pages).
//
// This build executes plans in dry-run only: every step is described call by
// call (actuators/plan_describe) and journaled in the audit trail, and no
// mutating call is made. A plan configured with dry_run: false is refused at
// execution with a clear reason, so nobody believes a failover happened when
// it did not (docs/runbook.md: take over by hand).

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actuators/plan_describe.hpp"
#include "common/config.hpp"
#include "decision/events.hpp"

namespace vigil::app {

class engine;

struct plan_progress_step {
  std::string name;
  std::string kind;
  std::string status = "pending";  ///< pending | running | dry_run | done | failed | skipped
  std::string detail;
};

class plan_runner {
 public:
  using line_fn = std::function<void(const std::string&)>;

  /// `step_pause` spaces the dry-run steps so people can follow them.
  plan_runner(boost::asio::io_context& io, const common::config& cfg, std::chrono::milliseconds step_pause,
              line_fn print = nullptr);

  void attach(engine& e) { engine_ = &e; }
  /// Starts the plan of `e.action` (io thread). A second execute for the same
  /// recommendation is ignored: an approval drives at most one execution.
  void execute(const decision::execute_plan& e);

  /// {"plan": {...}} for /v1/status.
  [[nodiscard]] nlohmann::json status() const;
  [[nodiscard]] bool finished() const { return finished_; }
  [[nodiscard]] bool succeeded() const { return succeeded_; }

 private:
  void next();

  boost::asio::io_context& io_;
  const common::config& cfg_;
  std::chrono::milliseconds pause_;
  line_fn print_;
  engine* engine_ = nullptr;
  boost::asio::steady_timer timer_;
  std::string recommendation_id_;
  std::string action_;
  bool dry_run_ = true;
  std::vector<actuators::planned_step> plan_;
  std::vector<plan_progress_step> progress_;
  std::size_t next_step_ = 0;
  bool running_ = false;
  bool finished_ = false;
  bool succeeded_ = false;
};

}  // namespace vigil::app
