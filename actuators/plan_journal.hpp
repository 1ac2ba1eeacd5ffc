#pragma once
// The plan executor's write-ahead journal: <state_dir>/plan.jsonl, one JSON
// object per line, fsync'd before append returns (common/append_journal:
// torn tails are cut on open, an exclusive flock keeps a second engine out).
//
// Records (every one carries "type", "at" (RFC 3339) and the approved
// recommendation "hash", which names the plan):
//   plan_begin {recommendation_id, action, from, to, approvers, allow_data_loss,
//               planned, dry_run, steps: [names], timeline: {...}}
//   intent     {step, index, attempt, calls: [...]}   BEFORE a step's mutating call(s)
//   result     {step, index, attempt, outcome, detail, duration_s, final}
//   plan_end   {ok, result: done|failed|aborted, detail, rto: {...}}
//   process    {step, index, attempt, pgid, boot_id}  an exec step's process group, right after the fork
//   process_kill {step, index, pgid, detail}          a resumed run killed (or left) that group first
//   operator   {event, ...}  an operator's command (abort, pause, resume: by,
//              reason) or what the executor did about it (held, continued:
//              step, detail); informational, replay ignores it
// `final: false` marks a failed attempt that will be retried; the step's
// outcome is its final result. An intent with no result after it means the
// process died while the call was in flight: it may or may not have reached
// AWS, so resuming re-runs the step's read-only pre-check, never the call blindly.
//
// An approval (recommendation hash) drives at most one execution: the
// executor looks a hash up here before it begins, and a begun plan is resumed,
// never restarted.
//
// Thread-safe (one mutex). Errors writing throw std::runtime_error naming the
// file; a line that is not a JSON object is skipped on open with a warning (it
// can only come from a hand edit: appends are whole lines).

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/append_journal.hpp"
#include "common/clock.hpp"

namespace vigil::actuators {

struct journal_step {
  std::string name;
  int attempts = 0;                    ///< highest attempt number journaled (intent or result)
  bool intent_open = false;            ///< the last intent has no result: the call may be in flight or done
  std::optional<std::string> outcome;  ///< the final result's outcome, once there is one
  std::string detail;
  double duration_s = 0;
  /// The process group of the attempt in flight (exec), until its result or
  /// a process_kill record: a resumed run kills it before re-running the step.
  std::optional<int> pgid;
  std::string boot_id;  ///< where that group lives (actuators::boot_id())
};

struct journal_plan {
  nlohmann::json begin;               ///< the plan_begin record as written
  std::vector<journal_step> steps;    ///< in the order they were first journaled
  std::optional<nlohmann::json> end;  ///< the plan_end record, once written

  [[nodiscard]] std::string hash() const;
  [[nodiscard]] std::string recommendation_id() const;
  [[nodiscard]] bool ended() const { return end.has_value(); }
  [[nodiscard]] const journal_step* step(const std::string& name) const;
};

class plan_journal {
 public:
  /// Opens or creates `file` (its directory is created) and replays it. An
  /// empty path keeps the journal in memory only (demo, tests).
  explicit plan_journal(std::filesystem::path file);
  ~plan_journal();
  plan_journal(const plan_journal&) = delete;
  plan_journal& operator=(const plan_journal&) = delete;

  /// High availability (docs/ha.md): every record is first written to the
  /// shared state as record `n` (0, 1, ...) of its plan; a mirror that throws
  /// fails the append (nothing is written locally either).
  using mirror_fn = std::function<void(const std::string& hash, std::size_t n, const nlohmann::json& record)>;
  void set_mirror(mirror_fn f);
  /// Replaces what the journal knows with `records` (the shared journal, in
  /// order per plan): a new leader continues the plans of the old one.
  void adopt(const std::vector<nlohmann::json>& records);

  [[nodiscard]] std::optional<journal_plan> find(const std::string& hash) const;
  [[nodiscard]] std::vector<journal_plan> plans() const;  ///< in plan_begin order
  [[nodiscard]] const std::filesystem::path& path() const { return file_; }
  [[nodiscard]] std::size_t lines() const;

  void begin(common::wall_time at, const std::string& hash, nlohmann::json fields);
  void intent(common::wall_time at, const std::string& hash, const std::string& step, std::size_t index, int attempt,
              nlohmann::json calls);
  void result(common::wall_time at, const std::string& hash, const std::string& step, std::size_t index, int attempt,
              const std::string& outcome, const std::string& detail, double duration_s, bool final_result);
  void process(common::wall_time at, const std::string& hash, const std::string& step, std::size_t index, int attempt,
               int pgid, const std::string& boot_id);
  void process_kill(common::wall_time at, const std::string& hash, const std::string& step, std::size_t index, int pgid,
                    const std::string& detail);
  void end(common::wall_time at, const std::string& hash, bool ok, const std::string& result, const std::string& detail,
           nlohmann::json rto);
  /// An `operator` record (fields merged in).
  void note(common::wall_time at, const std::string& hash, nlohmann::json fields);

 private:
  void append(const nlohmann::json& record);
  void apply(const nlohmann::json& record);

  std::filesystem::path file_;
  std::unique_ptr<common::append_journal> journal_;
  mutable std::mutex mu_;
  std::vector<journal_plan> plans_;
  std::size_t lines_ = 0;
  mirror_fn mirror_;
  std::map<std::string, std::size_t> records_;  ///< hash -> records of that plan so far
};

}  // namespace vigil::actuators
