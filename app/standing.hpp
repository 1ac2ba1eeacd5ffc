#pragma once
// Standing approvals on a running engine (docs/approvals.md, "Standing
// approvals"; docs/design.md, HTTP API): collects the approvers' signed
// policies (POST /v1/standing), arms one when approvals.required distinct
// approvers signed the same content, evaluates it after every core tick
// (decision/standing.hpp) and, when every condition holds, spends one use
// through the single-use ledger and approves the current recommendation
// through the core, as the listed approvers, so every gate is re-evaluated
// at start. Revocation (POST /v1/standing/revoke, a signed command), expiry
// and a changed plan disarm it.
//
// Stored (every signature token, uses spent, revoked ids) through
// engine_hooks::store_standing (the coordinator's key "standing": etcd under
// HA) or, without that hook, state_dir/standing.json (mode 0600). Every
// stored token is verified again when read: an edited file arms nothing.
//
// Threading: the engine's io thread only.

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/engine.hpp"
#include "approvals/standing_policy.hpp"
#include "common/http_server.hpp"
#include "decision/core.hpp"
#include "decision/standing.hpp"

namespace prometheus {
class Counter;
class Gauge;
}  // namespace prometheus

namespace vigil::app {

/// The plans a policy binds: decision::standing_plan_hash of {"failover": cfg.failover, "failback": cfg.failback}.
[[nodiscard]] std::string configured_plan_hash(const common::config& cfg);

/// Policies collecting signatures or armed at once.
inline constexpr std::size_t max_standing_policies = 16;

class standing_approvals {
 public:
  using event_fn = std::function<void(const nlohmann::json&)>;
  /// A warning page keyed `key` (standing-<id>, standing-<id>-expiring);
  /// summary empty: resolve it.
  using notice_fn = std::function<void(const std::string& key, decision::severity sev, const std::string& summary,
                                       const nlohmann::json& details)>;
  standing_approvals(const common::config& cfg, decision::core& core, prometheus::Registry& registry,
                     const engine_hooks& hooks, event_fn record_event, notice_fn notice);
  ~standing_approvals();

  /// Reads the stored policies, verifying every signature again (a changed
  /// plan disarms them, with a page).
  void load(common::wall_time now);
  /// GET/POST /v1/standing, POST /v1/standing/revoke; nullopt for other paths.
  [[nodiscard]] std::optional<common::http_response> route(const common::http_request& r, common::wall_time now);
  /// After each core tick: expiry, reminders, evaluation, and (leader) the use.
  void tick(common::wall_time now, bool leader, bool brake);
  /// The "standing" block of /v1/status and GET /v1/standing.
  [[nodiscard]] nlohmann::json status(common::wall_time now) const;
  [[nodiscard]] const std::string& plan_hash() const { return plan_hash_; }

 private:
  struct entry {
    approvals::standing_collection col;
    int uses_spent = 0;
    bool was_armed = false;
    decision::standing_verdict last;  ///< the last evaluation
    bool reminded = false;            ///< the day-before-expiry notice is set
    bool held_paged = false;          ///< the "held" notice is set (standing-<id>-held)
  };
  common::http_response post(const common::http_request& r, common::wall_time now);
  common::http_response revoke(const common::http_request& r, common::wall_time now);
  approvals::standing_verified add(std::string_view token, common::wall_time now, bool from_store);
  void disarm(const std::string& id, const std::string& why, const std::string& event, common::wall_time now,
              bool keep_revoked);
  void fire(entry& e, common::wall_time now);
  void store();
  void gauges();
  void event(const std::string& type, const std::string& id, common::wall_time now, nlohmann::json extra = {});
  [[nodiscard]] nlohmann::json entry_json(const entry& e, common::wall_time now) const;

  const common::config& cfg_;
  decision::core& core_;
  const engine_hooks& hooks_;
  event_fn record_event_;
  notice_fn notice_;
  std::string plan_hash_;
  std::unique_ptr<approvals::standing_verifier> verifier_;
  approvals::standing_refusals refusals_;
  prometheus::Gauge* armed_gauge_;
  prometheus::Gauge* uses_gauge_;
  std::map<std::string, prometheus::Counter*> held_;  ///< reason -> vigil_standing_held_total child
  std::map<std::string, entry> entries_;              ///< by policy id
  std::map<std::string, common::wall_time> revoked_;  ///< policy id -> its exp (forgotten after)
};

}  // namespace vigil::app
