#pragma once
// The decision core (docs/design.md, "Decision semantics", "Pure decision core"): a pure state
// machine. Feed it observations, batch heartbeats and lag samples as they
// arrive, call tick(now) every `params.tick`, and drain take_output(). It
// never does I/O, never reads a clock, never starts a thread; the same core
// drives the engine, `vigil simulate`, `vigil replay` and the benchmarks.
//
// Thread affinity: none inside; the caller serialises every call (one strand).
// Cost: ingest is O(1) and allocates nothing; tick is O(vantages x checks).
// Bad input: observations naming an out-of-range vantage/check are counted
// (status) and dropped; times may arrive out of order (older ones are ignored
// for heartbeats, applied to hysteresis in arrival order).
//
// Leadership: a core starts as a *follower* (the `leader` gate fails) until
// set_leader(true); a single-node engine and the simulator set it at start.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "decision/events.hpp"
#include "decision/quorum.hpp"
#include "decision/recommendation.hpp"
#include "decision/snapshot.hpp"
#include "decision/types.hpp"

namespace vigil::decision {

struct continuity;  // decision/continuity.hpp

/// How far past its time (plus one tick) the core takes an observation,
/// heartbeat or lag sample; later ones are ignored (core::ignored_future).
inline constexpr duration future_skew{5000};

struct approval_result {
  bool accepted = false;
  approval_reason reason = approval_reason::accepted;
  std::string hint;    ///< what the operator should do next (empty when accepted)
  std::string detail;  ///< specifics: which gate blocked, which hash was expected, ...
  int approvals = 0;   ///< distinct approvers counted so far
  int required = 1;
  bool execute = false;  ///< this approval completed the set: an execute_plan event was emitted
};

struct propose_result {
  bool ok = false;
  std::string reason;  ///< why not, or the new recommendation's id
};

/// An incident a previous run of the engine paged about and did not resolve
/// (the engine reads them from its durable page outbox at start).
struct open_incident {
  std::string incident_id;  ///< the dedup key its pages were sent under
  page_kind kind = page_kind::regional_outage;
  std::string region;   ///< the region, for region incidents
  std::string vantage;  ///< the vantage, for vantage pages
  time_point started{};
  std::string content_key;  ///< page::content_key of its last page
};

class core {
 public:
  /// `topo` must validate() cleanly (make_topology guarantees it); throws
  /// std::invalid_argument listing the problems otherwise.
  explicit core(topology topo);
  ~core();
  core(core&&) noexcept;
  core& operator=(core&&) noexcept;
  core(const core&) = delete;
  core& operator=(const core&) = delete;

  [[nodiscard]] const topology& topo() const;

  // --- inputs ------------------------------------------------------------
  /// One probe result. Also counts as a heartbeat of its vantage.
  void ingest(const observation& obs);
  /// A batch from `v` arrived at `at` (a heartbeat even when empty).
  void vantage_report(vantage_index v, time_point at);
  void ingest_lag(const lag_sample& sample);
  /// Continues an incident that a previous run left open, before the first
  /// tick: its region (or vantage) keeps the incident id, so a restart
  /// mid-incident sends no second trigger; its page says nothing until the
  /// region is classified again, and it is resolved under the same id when
  /// the region is healthy (also when it recovered while the engine was down).
  /// An incident naming a region or vantage no longer configured, or older
  /// than another restored one of the same region, is resolved at the first
  /// tick. Returns false in that case.
  bool restore_incident(const open_incident& inc);
  /// Adopts the decision state another core shared (decision/continuity.hpp):
  /// the leader's on a follower, the previous run's at start, the last
  /// leader's on a new one. Its open incidents replace this core's incident
  /// of the same region or vantage (same id from now on, no page: the leader
  /// sent them); an incident it lists as resolved is closed here without a
  /// page; its recommendation replaces this core's (same id and hash, so a
  /// token signed for it verifies here) and, while this core follows, is not
  /// revised here; the cooldown and its acknowledgement are taken as they are.
  /// An adopted incident of a region this core has seen healthy for
  /// clear_for is resolved by it once it leads.
  void adopt(const continuity& c);
  /// What this core would hand to a successor (adopt()).
  [[nodiscard]] continuity continuity_state() const;
  /// An open incident no page of which reached any sink (a new leader found
  /// none claimed in the shared outbox: the old leader stored the state that
  /// lists it, then its claim failed and it died). Its next page is a
  /// trigger: a region's when the region is classified again (nothing if it
  /// is healthy by then), a vantage's under a new id if the vantage is still
  /// absent or impaired. False when no open incident has that id.
  bool mark_unpaged(const std::string& incident_id);

  /// Re-evaluates everything as of `now` (monotonic non-decreasing; an older
  /// `now` is treated as the last one). Emits events for what changed.
  void tick(time_point now);

  /// Drains the events produced since the last call, oldest first.
  [[nodiscard]] std::vector<event> take_output();

  // --- operator actions and execution progress --------------------------
  /// Counts a verified approval towards the current recommendation, gates
  /// re-evaluated at `now`. Emits approval_decided (+ execute_plan when the
  /// required distinct approvers are reached and every blocking gate passes).
  approval_result approve(const verified_approval& a, time_point now);
  /// Clears the cooldown of the last executed failover (orchestrator's ack).
  void acknowledge_cooldown(std::string by, time_point now);
  /// Adds or replaces (same id) a silence; the not_silenced gate fails while
  /// one covering the action's regions is active (until > now).
  void silence(silence_spec s, time_point now);
  /// Removes a silence by id; false when there was none.
  bool unsilence(const std::string& id, time_point now);
  void set_leader(bool leader);
  /// The last readiness run of `plan`'s plan (the engine's readiness loop), or
  /// nullopt (none yet): the dr_ready gate of that action (gates.hpp; shown only
  /// when params.readiness is not off). A change of `ok` is audited.
  void set_readiness(action_kind plan, std::optional<plan_readiness> r);
  /// Operator request (`vigil propose failback|failover`): creates a new
  /// recommendation when none is open and the action's trigger holds
  /// (failover: primary in regional_outage; failback: always, gated).
  propose_result propose(action_kind action, const std::string& by, time_point now);
  /// Why propose(action, ...) would be refused now (nullopt: it would create
  /// one): the engine asks before it spends a signed proposal's token.
  [[nodiscard]] std::optional<std::string> propose_refusal(action_kind action) const;

  /// The active region (types.hpp, active_region): `r` becomes the region
  /// treated as the primary from `since` (an outage of it recommends moving
  /// to the other one: `failover` away from the configured primary, `failback`
  /// away from the configured dr), state active. The engine calls it when a
  /// real plan finished ok. A change of region forgets the lag samples (they
  /// measured replication towards the other region).
  void set_active(region_index r, time_point since, std::string recommendation_id = {},
                  std::vector<std::string> approved_by = {});
  /// failing_over (a real plan runs), split (it failed midway: no automatic
  /// recommendation until an operator proposes one) or back to active; the
  /// region stays. `detail` says which steps ran and what to do.
  void set_active_state(active_mode m, std::string detail, time_point at);
  /// Restores a saved state (engine start, state_dir/active.json). False, and
  /// nothing changed, when its region is not configured.
  bool restore_active(const active_region& a);
  [[nodiscard]] active_region active() const;

  /// Execution progress, reported by the plan executor (or the simulator).
  /// An executed failover starts the cooldown at plan_started; a dry run
  /// (`dry_run`: every step described, nothing changed) does not, and ends in
  /// `dry_run_complete` instead of `done`, so nothing says it failed over.
  void plan_started(const std::string& recommendation_id, time_point at, bool dry_run = false);
  void plan_step(const std::string& recommendation_id, const std::string& step, const std::string& status,
                 time_point at);
  void plan_finished(const std::string& recommendation_id, bool ok, const std::string& detail, time_point at,
                     bool dry_run = false);

  // --- observation ---------------------------------------------------------
  /// `sel` picks the checks listed (all by default); O(checks) to select,
  /// O(vantages) per check listed.
  [[nodiscard]] snapshot status(const check_selection& sel = {}) const;
  /// Each check's quorum state as of the last tick, [check index]: what the
  /// engine's gauges and status summary count, without building a snapshot.
  [[nodiscard]] const std::vector<verdict>& check_states() const;
  /// Each check's vantage votes as of the last tick, [check index].
  [[nodiscard]] const std::vector<vote_tally>& check_votes() const;
  /// The current recommendation (open or not), if the incident still has one.
  [[nodiscard]] std::optional<recommendation> current_recommendation() const;
  /// Observations dropped because they named an unknown vantage or check.
  [[nodiscard]] std::uint64_t dropped() const;
  /// Observations, heartbeats and lag samples ignored because they were dated
  /// more than a tick plus future_skew after the core's time: one dated
  /// ahead would keep its vantage present, or the lag fresh, long after.
  [[nodiscard]] std::uint64_t ignored_future() const;

  struct state;  // decision/core_state.hpp (private)

 private:
  std::unique_ptr<state> s_;
};

}  // namespace vigil::decision
