#pragma once
// The narrow seam between the plan executor and the world (docs/design.md, "I/O seams"): one
// step_runner per configured step, made by a step_factory. Production
// runners call AWS through aws::client (plan_steps_aws.cpp) or act locally
// (exec, webhook, verify: plan_steps_local.cpp); tests substitute their own
// to force the n-th step to fail.
//
// An attempt is precheck() then, unless the pre-check says otherwise, run():
//   precheck   read-only. done = proceed with run(); already_done = the effect
//              is already in place (run() is skipped); failed = could not
//              tell (the attempt fails and is retried); unexpected_state =
//              the world is not what the approval assumed: the plan aborts,
//              whatever on_failure says, and nothing is retried.
//   run        the mutating call(s) and any wait for them to take effect,
//              bounded by the attempt's deadline (the step's timeout).
// Expected failures (throttling, a 5xx, a refused connection, a timeout) are
// outcomes, never exceptions; an exception escaping a runner is treated as
// `failed` with its message.
//
// Every runner must be safe to re-run after its pre-check: a crash between
// the journaled intent and the result resumes with precheck() of the same
// step. Steps without a meaningful pre-check (route53_upsert UPSERT, ssm
// PutParameter with Overwrite, exec, webhook) are idempotent by construction
// or are told they are resumed (VIGIL_RESUMED=1, X-Vigil-Resumed: true) and
// get a stable idempotency key (VIGIL_IDEMPOTENCY_KEY, X-Vigil-Idempotency-Key
// = <recommendation hash>/<step name>).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "actuators/plan_describe.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"

namespace vigil::aws {
class client;
}

namespace vigil::actuators {

enum class outcome_kind : std::uint8_t { done, already_done, failed, unexpected_state };

/// "done", "already_done", "failed", "unexpected_state".
[[nodiscard]] std::string_view to_string(outcome_kind k);

struct step_outcome {
  outcome_kind kind = outcome_kind::done;
  std::string detail;  ///< what happened, for the journal, the status page and the page

  static step_outcome done(std::string d = {}) { return {outcome_kind::done, std::move(d)}; }
  static step_outcome already_done(std::string d) { return {outcome_kind::already_done, std::move(d)}; }
  static step_outcome failed(std::string d) { return {outcome_kind::failed, std::move(d)}; }
  static step_outcome unexpected(std::string d) { return {outcome_kind::unexpected_state, std::move(d)}; }
  [[nodiscard]] bool ok() const { return kind == outcome_kind::done || kind == outcome_kind::already_done; }
};

/// What one attempt of a step runs with. `sleep` waits (through the
/// executor's injected waiter) and returns false when the executor is being
/// stopped: a runner then returns failed("cancelled") at once.
struct step_context {
  const plan_context& plan;
  const common::plan_step_config& step;
  const common::clock& clock;
  common::mono_time deadline;  ///< end of this attempt (now + step timeout)
  std::function<bool(std::chrono::milliseconds)> sleep;
  int attempt = 1;
  bool resumed = false;  ///< an earlier intent of this step has no result (crash while in flight)
  /// An exec step calls this with its process group id right after the fork,
  /// before waiting (the executor journals it: a restarted engine kills that
  /// group before re-running the step). May be empty.
  std::function<void(int pgid)> on_process;

  [[nodiscard]] std::chrono::milliseconds remaining() const;
  [[nodiscard]] bool expired() const { return remaining().count() <= 0; }
};

class step_runner {
 public:
  virtual ~step_runner() = default;
  virtual step_outcome precheck(const step_context& c) = 0;
  virtual step_outcome run(const step_context& c) = 0;
};

using step_factory = std::function<std::unique_ptr<step_runner>(const common::plan_step_config&)>;

/// What the production runners need. Any member may be absent: the steps
/// that need it then fail with a reason naming what is missing.
struct step_deps {
  aws::client* aws = nullptr;
  /// The engine's /v1/status document (verify). Called from the executor's
  /// thread; returns null when the engine cannot answer.
  std::function<nlohmann::json()> engine_status;
  /// Uniform in [0,1): the ARC endpoint order.
  std::function<double()> random;
};

/// The production factory for every step kind of common/config_plan.cpp.
[[nodiscard]] step_factory make_step_factory(step_deps deps);

// The kinds, one maker each (plan_steps_aws.cpp, plan_steps_local.cpp).
[[nodiscard]] std::unique_ptr<step_runner> make_aws_step(const common::plan_step_config& s, const step_deps& d);
[[nodiscard]] std::unique_ptr<step_runner> make_local_step(const common::plan_step_config& s, const step_deps& d);

/// The environment an exec step's command gets (besides the engine's own):
/// VIGIL_ACTION, VIGIL_FROM, VIGIL_TO, VIGIL_RECOMMENDATION_ID,
/// VIGIL_RECOMMENDATION_HASH, VIGIL_ALLOW_DATA_LOSS, VIGIL_STEP,
/// VIGIL_IDEMPOTENCY_KEY, VIGIL_RESUMED, then the step's `env`.
[[nodiscard]] std::vector<std::string> exec_environment(const step_context& c);

/// This boot of this host (/proc/sys/kernel/random/boot_id; "host:<name>"
/// where /proc/sys is hidden): a journaled process group id means something
/// only on the same host and boot.
[[nodiscard]] std::string boot_id();

/// Kills (SIGKILL) the process group `pgid` an exec step of a dead engine
/// left behind, so that it does not run beside the step's re-run. Only when
/// `boot` is this boot and a live member of the group carries
/// VIGIL_IDEMPOTENCY_KEY=`idempotency_key` in its environment (a reused
/// process group id is left alone). Waits up to 5 s for the group to go.
/// Returns what it did, for the journal.
[[nodiscard]] std::string kill_orphan_group(int pgid, const std::string& boot, const std::string& idempotency_key);

/// The JSON body a webhook step posts (the plan context).
[[nodiscard]] nlohmann::json webhook_body(const step_context& c);

}  // namespace vigil::actuators
