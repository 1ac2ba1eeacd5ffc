#pragma once
// A simulation scenario (docs/design.md, "Scenario files"), as parsed from YAML by
// common/scenario_yaml.cpp. Times are offsets from the start of the run.
// Every filter field left empty matches everything.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "decision/standing.hpp"
#include "decision/types.hpp"

namespace vigil::decision {

struct scenario_filter {
  std::string region;
  std::string service;
  std::string check;
  std::vector<std::string> vantages;
  bool operator==(const scenario_filter&) const = default;
};

enum class scenario_action : std::uint8_t {
  fail,  ///< matching probes fail (connect_error; condition_failed for region checks)
  heal,  ///< removes fail/slow/flap faults whose fields the filter matches
  slow,  ///< matching probes take `latency` (>= timeout: timeout; > degraded_after: degraded)
  flap,  ///< matching probes fail during the first half of each `period`
  /// matching probes answer, but their certificate expires inside the window
  /// of a `cert_expiry` expectation (warn by default): degraded, warning cert_expiring
  cert_expiring,
  vantage_down,  ///< that vantage stops reporting
  vantage_up,
  isolate,  ///< that vantage sees every check fail
  unisolate,
  lag,          ///< replication lag samples from now on (`lag`; nullopt = source unreachable)
  noise,        ///< independent random probe failures with `probability`
  approve,      ///< a valid (pre-verified) approval of the current recommendation per approver
  acknowledge,  ///< acknowledge the cooldown (`by`)
  silence,      ///< silence `scope` (empty = all) for `length`
  unsilence,
  leader,   ///< set leadership (`flag`)
  propose,  ///< operator proposal of `action` (failover | failback)
  active,   ///< the engine recorded `filter.region` as the active region (a real plan ended)
  /// arm a standing approval (`standing`, signed by `approvers`, `uses` uses;
  /// decision/standing.hpp): after each tick, when every condition holds, the
  /// simulator approves the recommendation as the engine would
  standing,
  revoke_standing,  ///< disarm it
  /// a readiness run of the `action` plan: ready (`flag`) or not, `reason` naming the failed items
  readiness,
};

struct scenario_event {
  duration at{0};
  scenario_action what = scenario_action::fail;
  scenario_filter filter;
  duration latency{0};
  duration period{20000};
  duration length{600000};
  std::string vantage;
  std::optional<duration> lag;
  double probability = 0.0;
  std::vector<std::string> approvers;
  std::optional<bool> allow_data_loss;  ///< default: what the recommendation requires
  std::string by = "operator";
  std::string scope;
  std::string reason;  ///< readiness: the failed items
  bool flag = true;
  action_kind action = action_kind::failover;
  std::optional<standing_conditions> standing;  ///< from/to empty: primary -> dr
  int uses = 1;
  int line = 0;
};

enum class expect_kind : std::uint8_t {
  classification,
  recommendation,
  page,
  recommendation_field,
  approval,
  never_classification,
  never_recommendation,
  never_page,
  never_approval,
  standing,  ///< a standing approval timeline entry (result, optional reason; count)
  never_standing
};

struct scenario_expect {
  expect_kind kind = expect_kind::classification;
  classification cls = classification::healthy;
  std::string region;   ///< classification, page (optional)
  std::string vantage;  ///< page of a vantage kind (optional)
  std::optional<action_kind> action;
  std::optional<recommendation_state> state;
  page_kind page = page_kind::service_degraded;
  std::optional<page_action> action_of_page;         ///< page: only this action matches (default: trigger or update)
  std::string summary;                               ///< page: the summary must contain this text
  std::optional<int> count;                          ///< page: exactly this many match inside the window
  nlohmann::json fields = nlohmann::json::object();  ///< recommendation_field
  std::optional<bool> accepted;                      ///< approval
  std::optional<approval_reason> reason;             ///< approval
  std::string standing_result;                       ///< standing: armed | held | used | revoked
  std::optional<standing_hold> hold;                 ///< standing held: this reason only
  duration after{0};
  std::optional<duration> within;  ///< none: until the end of the run
  std::string text;                ///< as written, for messages
  int line = 0;
};

struct scenario {
  std::string file;
  duration length{300000};
  std::uint64_t seed = 1;
  duration stagger{100};  ///< probe phase offset between consecutive vantages (agents are not in phase)
  std::vector<scenario_event> events;
  std::vector<scenario_expect> expects;
};

}  // namespace vigil::decision
