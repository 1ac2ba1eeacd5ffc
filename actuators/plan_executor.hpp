#pragma once
// Carries out an approved plan: the steps in order, each attempt a read-only
// pre-check and then (unless the effect is already in place) the mutating
// call(s), journaled write-ahead (actuators/plan_journal.hpp).
//
// Rules:
// - Refuses without an approval, and for an approval of another hash.
// - One approval (hash) drives at most one execution: a hash the journal has
//   already ended returns its recorded outcome; a hash begun but not ended is
//   resumed at its first step without a final result, whose pre-check runs
//   again (it never repeats a call blindly).
// - Per step: `timeout` bounds each attempt (pre-check, call and wait);
//   `retries` more attempts after a failed one, waiting backoff_initial ·
//   2^(n-1) capped at backoff_max; then `on_failure`: abort stops the plan,
//   continue goes on and the plan ends `failed`. A pre-check answering
//   unexpected_state aborts at once, whatever on_failure says.
// - dry_run (plan.<action>.dry_run): every step is described call by call
//   (plan_describe), printed and journaled with outcome `dry_run`; no
//   mutating call is made. Pre-checks are skipped unless
//   options.dry_run_prechecks (`vigil drill --prechecks`): they are
//   read-only, but a demo or example config may point at AWS accounts the
//   operator did not mean to touch, so reading is opt-in.
// - Plan results (metric label, journal, status): done | failed | aborted.
//
// Threading: execute() blocks the calling thread (the plan runner's worker
// thread, never the engine's io thread); stop() may be called from any thread
// and makes a running execute() return at its next wait, leaving the plan
// begun (resumed on the next start).

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actuators/plan_control.hpp"
#include "actuators/plan_describe.hpp"
#include "actuators/plan_journal.hpp"
#include "actuators/plan_steps.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"
#include "common/waiter.hpp"

namespace vigil::actuators {

/// vigil_plan_runs_total{action,result} and
/// vigil_plan_step_duration_seconds{step,result}; registered once.
class plan_metrics {
 public:
  /// Pre-builds the children for every step of `cfg`'s plans.
  plan_metrics(prometheus::Registry& registry, const common::config* cfg = nullptr);
  void run(const std::string& action, const std::string& result);
  void step(const std::string& step, const std::string& result, double seconds);

 private:
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Histogram>& steps_;
  std::mutex mu_;
};

/// What the approval carried: the hash it is bound to and who signed.
struct approval_ref {
  std::string recommendation_hash;
  std::vector<std::string> approvers;
};

/// Wall-clock marks of the incident, for the RTO report (absent: unknown).
struct rto_marks {
  std::optional<common::wall_time> first_evidence;  ///< the incident's first failing observation
  std::optional<common::wall_time> classified;      ///< the outage was declared
  std::optional<common::wall_time> paged;           ///< the page that carried it went out
  std::optional<common::wall_time> approved;        ///< the approval completed the set
};

struct plan_request {
  plan_context ctx;
  rto_marks marks;
};

enum class plan_result : std::uint8_t { done, failed, aborted, refused, stopped };
[[nodiscard]] std::string_view to_string(plan_result r);

struct plan_outcome {
  plan_result result = plan_result::refused;
  std::string detail;
  nlohmann::json rto;          ///< the RTO report (null when refused or stopped)
  bool resumed = false;        ///< continued a plan begun before a restart
  bool already_ended = false;  ///< the journal had this hash ended: nothing ran
  [[nodiscard]] bool ok() const { return result == plan_result::done; }
};

/// Progress as it happens (executor thread). status: running | retrying |
/// done | already_done | failed | unexpected_state | dry_run | skipped |
/// held (paused or under the brake, before the step) | cancelled (aborted while running).
struct executor_events {
  std::function<void(std::size_t index, const std::string& step, const std::string& status, const std::string& detail)>
      on_step;
  std::function<void(const std::string& line)> print;
};

struct executor_options {
  bool dry_run_prechecks = false;
  std::chrono::milliseconds dry_run_pause{0};  ///< between dry-run steps, so people can follow
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
};

/// High availability (docs/ha.md): asked right before a step's mutating
/// call(s) are journaled and made. False: this replica must not act (not the
/// leader, or its claim of the step was fenced); the plan stops there, begun
/// and resumable, and the executor is not stopped for later plans.
using may_act_fn =
    std::function<bool(const plan_context& ctx, std::size_t index, const std::string& step, int attempt)>;

class plan_executor {
 public:
  plan_executor(plan_journal& journal, step_factory factory, const common::clock& clock, common::waiter& wait,
                plan_metrics* metrics = nullptr, executor_options options = {});

  /// Runs or resumes `plan` for `req`, approved by `approval` (blocking).
  plan_outcome execute(const common::plan_config& plan, const plan_request& req,
                       const std::optional<approval_ref>& approval, const executor_events& ev = {});

  /// The request a begun-but-unended journal plan was started with (its
  /// plan_begin record carries the approval), for resuming after a restart.
  [[nodiscard]] static plan_request request_from(const journal_plan& p);
  [[nodiscard]] static approval_ref approval_from(const journal_plan& p);

  void stop();
  [[nodiscard]] bool stopping() const { return stop_.load(); }
  /// Call before the first execute().
  void set_may_act(may_act_fn f) { may_act_ = std::move(f); }
  /// Operator brakes (abort, pause, the actuation brake); call before the first execute().
  void set_control(const plan_control* c) { control_ = c; }

 private:
  struct step_record;
  step_record run_step(const common::plan_step_config& step, std::size_t index, const plan_request& req, bool dry_run,
                       const journal_step* before, const executor_events& ev);
  bool sleep(std::chrono::milliseconds d);
  /// Waits while the plan is paused or the brake is on (journaled once);
  /// "" to go on, else "stopped" or "aborted".
  std::string hold_before(const plan_context& ctx, std::size_t index, const std::string& step,
                          const executor_events& ev);
  [[nodiscard]] bool aborting(const plan_context& ctx) const;

  plan_journal& journal_;
  step_factory factory_;
  const common::clock& clock_;
  common::waiter& wait_;
  plan_metrics* metrics_;
  executor_options options_;
  may_act_fn may_act_;
  const plan_control* control_ = nullptr;
  std::atomic<bool> stop_{false};
};

/// The RTO report: marks, intervals between them, each step and the total.
[[nodiscard]] nlohmann::json rto_report(const rto_marks& marks, common::wall_time plan_started,
                                        common::wall_time plan_finished, const nlohmann::json& steps);
/// The report as printable lines.
[[nodiscard]] std::vector<std::string> rto_lines(const nlohmann::json& rto);

}  // namespace vigil::actuators
