#pragma once
// Continuous readiness: the read-only items that prove a plan (failover or
// failback) would work if it were approved now (docs/runbook.md, "Readiness").
// probe_plan() makes every item's calls once and returns one result per item;
// app/readiness_loop.cpp schedules it, keeps the states and reports them.
//
// Items (ids are stable; <step> is the plan step's name):
//   precheck.<step>             the step's own pre-check (plan_steps.hpp) would proceed
//   aurora.global_cluster       the global cluster exists, is "available", no failover under way
//   aurora.target_member        the plan's target cluster is a member of it
//   aurora.dr_writer_candidate  the target cluster is available with >= 1 DB instance (not headless)
//   aurora.engine_version       the target runs the global cluster's engine major version
//   aurora.lag_source           the engine has a recent replication lag sample
//   ecs.<step>.service          the service exists and is ACTIVE
//   ecs.<step>.max_capacity     its scalable target allows the plan's count
//   ecs.<step>.task_definition  its task definition is of the other region's family
//   arc.quorum                  at least 3 of the cluster's endpoints answer (a majority
//                               of five: fewer and no routing control can change)
//   arc.endpoints               every endpoint answers (a warning: the plan still works
//                               while a majority does, but one more loss stops it)
//   arc.<control>               every routing control exists (and, for the plan that
//                               would run next, is not yet in the state the plan sets)
//   route53.<step>.zone / .record, ssm.<step>.parameter  what the plan writes exists
//   iam.<action>                SimulatePrincipalPolicy allows the action for the actuator role
//   dr_checks.healthy           every check of the plan's target region is up
//   dr_checks.certificates      their TLS certificates are valid for > cert_min_days
// A later Aurora step (a second global cluster) gets ids aurora.<step>.<item>.

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actuators/step_iam.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"

namespace vigil::aws {
class client;
}

namespace vigil::actuators {

enum class item_state : std::uint8_t { ok, failed, unknown };
[[nodiscard]] std::string_view to_string(item_state s);

struct readiness_item {
  std::string id;
  item_state state = item_state::unknown;
  std::string detail;
  /// A warning item: when failed it is shown and paged like any other, but
  /// the plan would still work, so it does not make the plan unready (the
  /// `dr_ready` gate ignores it).
  bool warning = false;
};

struct readiness_request {
  std::string action;  ///< "failover" | "failback"
  const common::config* cfg = nullptr;
  const common::plan_config* plan = nullptr;
  const common::plan_config* other_plan = nullptr;  ///< the opposite plan (ECS counterparts); may be null
  std::string from, to;                             ///< regions
  /// This plan is the one that would run next (the active region is its
  /// source): its routing controls must not yet be in the state it sets.
  bool next = true;
  aws::client* aws = nullptr;     ///< null: every AWS item is unknown
  std::string actuator_role_arn;  ///< empty: no iam.* items
  std::string account;            ///< for the ARNs of iam grants; empty: from the role ARN
  nlohmann::json status;          ///< the engine's /v1/status (checks, replication_lag); null: unknown
  bool lag_configured = false;    ///< replication_lag is configured (aurora.lag_source)
  std::chrono::seconds lag_max_age{300};
  int cert_min_days = 14;
  common::wall_time now{};
  /// Earliest notAfter of a TLS check's certificate chain (a handshake of our
  /// own); nullopt with `error` set when it could not be read.
  std::function<std::optional<common::wall_time>(const common::check_config&, std::string& error)> cert_not_after;
  const common::clock* clock = nullptr;
};

[[nodiscard]] std::vector<readiness_item> probe_plan(const readiness_request& r);

/// The permissions readiness runs need beyond the plan steps' own pre-checks
/// (step_iam_grants): reading the hosted zones and records the plans write,
/// and simulating the actuator role's policy. None without a readiness section.
[[nodiscard]] std::vector<iam_grant> readiness_iam_grants(const common::config& cfg);

/// The family of a task definition ARN or "family:revision".
[[nodiscard]] std::string task_family(const std::string& task_definition);
/// The major version of an engine version ("15.4" -> "15", "5.7.mysql_aurora.2.11.2" -> "5").
[[nodiscard]] std::string major_version(const std::string& v);

/// The time of a libcurl CERTINFO line "Expire date:Jan  1 00:00:00 2027 GMT"
/// (OpenSSL's format); nullopt for any other line.
[[nodiscard]] std::optional<common::wall_time> certinfo_expire_date(std::string_view line);
/// Earliest notAfter of the certificate chain `url` (https://) or `address`
/// (host:port, TLS) presents, with the check's CA bundle; a handshake only.
[[nodiscard]] std::optional<common::wall_time> tls_not_after(const common::check_config& c,
                                                             std::chrono::milliseconds timeout, std::string& error);

}  // namespace vigil::actuators
