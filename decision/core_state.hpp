#pragma once
// Private: the state of decision::core, shared by core*.cpp. Not installed,
// not included outside decision/.

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "decision/classifier.hpp"
#include "decision/core.hpp"
#include "decision/gates.hpp"
#include "decision/hysteresis.hpp"
#include "decision/quorum.hpp"

namespace vigil::decision {

/// One (vantage, check): 16 bytes, vantages x checks of them, no allocation.
struct cell {
  time_point last_obs{};
  probe_hysteresis h;
  outcome warning = outcome::ok;  ///< of the newest observation
  /// The first failing observation of the current run of failures (cleared by
  /// a success): an incident's first evidence (RTO report).
  std::optional<time_point> failing_since;
};

/// A check's warning (a `warn` condition failing from a quorum of vantages)
/// and its page: raised after confirm_for, resolved after clear_for without.
struct check_warning_rt {
  std::optional<time_point> since;  ///< warning continuously since
  std::optional<time_point> clear_since;
  outcome reason = outcome::ok;
  int voters = 0;
  bool paged = false;
  std::string incident_id;
  time_point paged_since{};
};

struct vantage_rt {
  time_point last_report{};
  bool ever = false;
  vantage_state state = vantage_state::absent;
  bool paged = false;  ///< a vantage page is open
  page_kind paged_kind = page_kind::vantage_absent;
  std::string incident_id;
  time_point paged_since{};
  bool restored = false;  ///< paged by a previous run: held until the vantages had stale_after to report
  time_point state_since{};
  std::optional<time_point>
      disagree_since;  ///< raw impairment (find_impaired) held since; impaired after impaired_after
  /// Per region (exactly two): since when this vantage has been the lone
  /// "down" against an "up" majority there, and whether that lasted
  /// partition_after (then its votes on that region abstain).
  std::array<std::optional<time_point>, 2> alarm_since{};
  std::array<bool, 2> partitioned{};
};

/// What a region's page says is down: counts, names and voters.
struct down_view {
  region_counts counts;
  std::vector<std::string> down_services;
  int down_voters = 0;  ///< distinct non-abstaining vantages voting down on a down check
  [[nodiscard]] bool any_down() const { return counts.services_down > 0 || counts.region_checks_down > 0; }
};

struct region_rt {
  classification_hysteresis h;
  classification raw = classification::unknown;
  region_counts counts;
  std::vector<std::string> down_services;
  int gate_checks_not_up = 0;
  int down_voters = 0;  ///< distinct non-abstaining vantages voting down on a down check
  /// The open incident's evidence: as declared, then the latest tick on which
  /// something was down. A flapping service may be up on the tick a page goes
  /// out; the page still describes the incident, never an empty list.
  down_view incident_view;
  /// Since when the region has met the outage condition on thin evidence
  /// (thin_outage) while not declared an outage; counts as service_degraded
  /// until clear_for has passed.
  std::optional<time_point> thin_since;
  // incident
  bool incident_open = false;
  std::string incident_id;
  time_point incident_start{};
  /// The incident's first failing observation (the earliest failing_since of
  /// the checks down when it opened) and when its first page went out.
  std::optional<time_point> incident_first_evidence;
  std::optional<time_point> incident_paged_at;
  bool recommended = false;  ///< a recommendation was created in this incident
  // page
  bool page_sent = false;
  page_kind sent_kind = page_kind::service_degraded;
  std::string sent_key;  ///< kind + recommendation id/state when last sent
  bool service_page_held = false;
  bool restored = false;  ///< continued from a previous run: its page is held until the region is classified
};

struct past_recommendation {
  std::string id;
  approval_reason reason = approval_reason::unknown_recommendation;
};

struct core::state {
  explicit state(topology t);

  topology topo;
  int quorum = 1;
  std::size_t n_checks = 0;
  std::size_t n_vantages = 0;
  std::vector<duration> check_stale;       ///< [check] max(stale_after, 3 x interval)
  std::vector<region_index> check_region;  ///< [check]

  std::vector<cell> cells;  ///< [vantage * n_checks + check]
  std::vector<vantage_rt> vantages;
  std::vector<region_rt> regions;
  std::vector<check_warning_rt> warnings;  ///< [check]

  // per-tick results and scratch (sized once)
  std::vector<verdict> cell_verdict;
  std::vector<std::uint8_t> present;
  std::vector<std::uint8_t> impaired;
  std::vector<int> scratch_up, scratch_down;
  std::vector<agreement> agree;
  std::vector<vote_tally> votes;       ///< [check]
  std::vector<verdict> check_state;    ///< [check]
  std::vector<verdict> service_state;  ///< [region * services + service]

  std::optional<lag_sample> lag_latest;
  std::optional<lag_sample> lag_last_value;
  std::uint64_t lag_other_direction = 0;  ///< samples ignored: not about ad()

  bool leader = false;
  std::array<std::optional<plan_readiness>, 2> readiness;  ///< [action_kind]
  std::optional<recommendation> rec;
  std::deque<past_recommendation> past;  ///< the last 64 ids, for precise refusal reasons
  bool execute_emitted = false;
  bool rec_adopted = false;  ///< rec came from the leader (adopt): a follower does not revise it

  std::deque<std::string> resolved;  ///< ids of the incidents lately resolved (continuity::resolved_kept)

  std::optional<time_point> last_failover;
  bool cooldown_acknowledged = false;
  std::string cooldown_acknowledged_by;
  std::vector<silence_spec> silences;

  /// The active region: index and what core::active() reports.
  region_index active = 0;
  active_region act;
  /// The effective primary (the active region) and dr (the other one).
  [[nodiscard]] region_index ap() const { return active; }
  [[nodiscard]] region_index ad() const { return static_cast<region_index>(1 - active); }
  /// The action that moves away from the active region.
  [[nodiscard]] action_kind away() const {
    return active == topo.primary() ? action_kind::failover : action_kind::failback;
  }
  /// Proposed without an outage (`vigil propose`): its incident id is
  /// <deployment>/<action>/<time>, not a region's incident.
  [[nodiscard]] bool planned(const recommendation& r) const {
    return r.incident_id.rfind(topo.deployment + "/failback/", 0) == 0 ||
           r.incident_id.rfind(topo.deployment + "/failover/", 0) == 0;
  }
  /// The region a recommendation moves away from.
  [[nodiscard]] region_index source_of(action_kind a) const {
    return a == action_kind::failover ? topo.primary() : topo.dr();
  }

  std::vector<open_incident> orphans;  ///< restored incidents to resolve at the next tick

  std::vector<event> out;
  time_point now{};
  bool ticked = false;
  time_point first_tick{};
  std::uint64_t dropped = 0;
  std::uint64_t ignored_future = 0;
  /// Counts and says whether an item dated `at` is too far ahead (core::ignored_future).
  bool from_future(time_point at);

  // core_evaluate.cpp
  void evaluate_vantages();
  void evaluate_partitions();
  [[nodiscard]] bool votes_on(std::size_t v, std::size_t c) const {
    return vantages[v].state == vantage_state::present && !vantages[v].partitioned[check_region[c]];
  }
  void evaluate_checks();
  void evaluate_regions();
  nlohmann::json region_evidence(region_index r, bool only_not_up) const;
  // core_recommend.cpp
  /// `planned`: the gates of a planned move (target healthy, lag blocking);
  /// default: the current recommendation's kind for `a`, else planned unless
  /// `a` moves away from the active region.
  gate_evaluation gates_for(action_kind a, std::optional<bool> planned = std::nullopt) const;
  void update_recommendation();
  /// What is shown but not hashed (gate details, data loss numbers), from `ge` or this core's gates now.
  void refresh_details(std::optional<gate_evaluation> ge = std::nullopt);
  /// `proposed`: an operator asked for it; it is `planned` when its source region is healthy.
  void create_recommendation(action_kind a, const std::string& incident_id, time_point incident_start,
                             const std::string& why, bool proposed = false);
  /// Gates, data loss, evidence, times, state and hash of a new (revision of a) recommendation.
  void fill_content(recommendation& r, gate_evaluation ge, const std::string& why) const;
  void set_rec_state(recommendation_state s, const std::string& reason);
  void retire_recommendation(approval_reason why);
  void emit_rec(const std::string& reason);
  nlohmann::json evidence_summary() const;
  // core_pages.cpp
  void update_region_pages();
  void update_vantage_pages();
  void evaluate_warnings();
  void update_warning_pages();
  /// The check a check_warning incident id (<deployment>/check/<check id>/<start>) names.
  [[nodiscard]] std::optional<check_index> warning_check(const std::string& incident_id) const;
  [[nodiscard]] std::string vantage_summary(std::size_t v) const;  ///< from its paged_kind
  [[nodiscard]] nlohmann::json vantage_details(std::size_t v) const;
  void resolve_orphans();
  void note_resolved(const std::string& incident_id);
  // core_continuity.cpp
  void close_adopted_incidents();
  std::string region_summary(region_index r) const;
  /// The evidence a region's page shows (incident_view while it has some).
  [[nodiscard]] down_view shown(region_index r) const;
  nlohmann::json page_details(region_index r) const;
  /// The earliest failing observation behind the checks down in region r now.
  [[nodiscard]] std::optional<time_point> first_evidence(region_index r) const;

  void audit(std::string kind, std::string message, nlohmann::json details);
  [[nodiscard]] const region_info& region(region_index r) const { return topo.regions[r]; }
};

}  // namespace vigil::decision
