#pragma once
// Carries out approved plans for the engine: the journaled executor
// (actuators/plan_executor.hpp) on its own worker thread, progress reported
// back on the engine's io_context (and so to the core, the status page, the
// audit log and the pages).
//
// - execute(): an execute_plan from the core (io thread) is queued for the
//   worker; an approval drives at most one execution (the journal in
//   <state_dir>/plan.jsonl remembers every hash, across restarts).
// - attach(): connects to the engine and, once this replica is the leader,
//   resumes every plan the journal shows begun but not ended (a crash or a
//   kill -9 in the middle): at its first step without a result, whose
//   pre-check runs again.
// - dry_run: true plans are described and journaled, nothing mutates.
// - status(): {"plan": ...} for /v1/status, with the RTO report at the end.
//
// Threading: every public method but finished()/succeeded() runs on the io
// thread. The worker never touches the engine directly: it posts.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actuators/plan_executor.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"
#include "decision/events.hpp"

namespace prometheus {
class Gauge;
class Registry;
}  // namespace prometheus
namespace vigil::aws {
struct aws_stack;
}

namespace vigil::actuators {

/// What the plan runner reports to and reads from (the engine implements it;
/// every call on the io thread).
class plan_host {
 public:
  virtual ~plan_host() = default;
  /// The current /v1/status document: leadership and the recommendation.
  [[nodiscard]] virtual nlohmann::json status_json() const = 0;
  /// The same without its check list (leadership, incident, recommendation:
  /// what the runner itself reads); at 10,000 checks the list is ~3 MB.
  [[nodiscard]] virtual nlohmann::json status_head_json() const { return status_json(); }
  /// `dry_run`: the plan describes its steps and changes nothing (plan.<action>.dry_run).
  virtual void plan_started(const std::string& recommendation_id, bool dry_run) = 0;
  virtual void plan_step(const std::string& recommendation_id, const std::string& step, const std::string& status) = 0;
  virtual void plan_finished(const std::string& recommendation_id, bool ok, const std::string& detail,
                             bool dry_run) = 0;

 protected:
  plan_host() = default;
  plan_host(const plan_host&) = default;
  plan_host& operator=(const plan_host&) = default;
};

struct plan_progress_step {
  std::string name;
  std::string kind;
  std::string status = "pending";  ///< pending | running | retrying | dry_run | done | already_done | failed |
                                   ///< unexpected_state | skipped
  std::string detail;
};

struct plan_runner_options {
  /// Journal directory; default engine.state_dir. "-" keeps the journal in memory.
  std::string state_dir;
  /// Step runners; default: the production ones (AWS from config `aws`).
  step_factory factory;
  prometheus::Registry* registry = nullptr;  ///< vigil_plan_* metrics; none when null
  const common::clock* clock = nullptr;      ///< default: the real clock
  executor_options executor;
  bool resume = true;  ///< resume unfinished journal plans on attach
};

class plan_runner {
 public:
  using line_fn = std::function<void(const std::string&)>;

  /// `step_pause` spaces dry-run steps so people can follow them.
  /// Opens the journal (throws std::runtime_error naming the file).
  plan_runner(boost::asio::io_context& io, const common::config& cfg, std::chrono::milliseconds step_pause,
              line_fn print = nullptr, plan_runner_options options = {});
  ~plan_runner();
  plan_runner(const plan_runner&) = delete;
  plan_runner& operator=(const plan_runner&) = delete;

  void attach(plan_host& e);
  /// Queues the plan of `e.action` for the approved recommendation (io thread).
  void execute(const decision::execute_plan& e);
  /// HA: who may make a step's mutating calls (plan_executor::set_may_act); before the first plan.
  void set_may_act(may_act_fn f) { executor_->set_may_act(std::move(f)); }
  /// HA: the plan journal is shared (mirror each record, load them all on
  /// taking over); plans are then resumed only on leadership_gained().
  void set_shared_journal(plan_journal::mirror_fn mirror, std::function<std::vector<nlohmann::json>()> load);
  /// This replica just became the leader: resume what the journal shows begun (io thread).
  void leadership_gained();
  /// Engine events (JSON, as logged): page times for the RTO report.
  void observe(const nlohmann::json& event);

  /// Operator command on the running plan (io thread): action plan_abort |
  /// plan_pause | plan_resume, journaled with who and why. Empty when done,
  /// else why not ("no_plan: ...").
  [[nodiscard]] std::string command(const std::string& action, const std::string& recommendation_id,
                                    const std::string& by, const std::string& reason);
  /// The actuation brake: while on, no step starts (plans wait before their next step).
  void set_brake(bool on, const std::string& detail);
  [[nodiscard]] bool brake() const { return control_.brake(); }

  /// {"plan": {...}} for /v1/status (null before any plan).
  [[nodiscard]] nlohmann::json status() const;
  [[nodiscard]] bool finished() const { return finished_.load(); }
  [[nodiscard]] bool succeeded() const { return succeeded_.load(); }
  /// Stops the worker at its next wait (the plan stays resumable) and joins it.
  void stop();

  struct job;

 private:
  void start_job(const job& j);
  void resume_unfinished();
  void worker_loop();
  void post(std::function<void()> f);
  rto_marks marks_for(const decision::execute_plan& e) const;
  nlohmann::json engine_status_from_worker();

  boost::asio::io_context& io_;
  const common::config& cfg_;
  line_fn print_;
  plan_runner_options options_;
  std::unique_ptr<common::clock> own_clock_;
  const common::clock& clock_;
  plan_host* engine_ = nullptr;
  std::shared_ptr<std::atomic<bool>> alive_;

  std::unique_ptr<plan_journal> journal_;
  std::function<std::vector<nlohmann::json>()> load_shared_;
  std::unique_ptr<plan_metrics> metrics_;
  common::cv_waiter waiter_;
  plan_control control_;
  prometheus::Gauge* paused_gauge_ = nullptr;  ///< vigil_plan_paused
  std::unique_ptr<aws::aws_stack> aws_;
  std::unique_ptr<plan_executor> executor_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<job>> queue_;
  bool quit_ = false;
  std::thread worker_;

  // io-thread state (status)
  std::map<std::string, common::wall_time> page_times_;  ///< incident id -> its first page
  std::string recommendation_id_;
  std::string hash_;
  std::string action_;
  bool dry_run_ = true;
  bool running_ = false;
  bool resumed_ = false;
  std::string result_;
  std::string detail_;
  nlohmann::json rto_;
  std::vector<plan_progress_step> progress_;
  std::atomic<bool> finished_{false};
  std::atomic<bool> succeeded_{false};
};

}  // namespace vigil::actuators
