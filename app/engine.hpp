#pragma once
// `vigil engine`: ingest → decision core → pager → approvals → plan
// (docs/design.md, "Contracts between components" and "HTTP API").
//
// Threading: everything the engine does runs on the io_context it is given
// (HTTP handlers, the tick timer, the decision core); the core is therefore
// never touched from two threads. Hooks (pager, plan executor) are called on
// that thread too and must hand slow work to their own threads.
//
// I/O seams (docs/design.md, "I/O seams"): paging, approval verification and plan execution
// come in as small function objects so that tests and `vigil demo` can plug
// in their own, and the engine never knows which sink or actuator it drives.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actuators/plan_runner.hpp"
#include "approvals/approval_hook.hpp"
#include "approvals/command_token.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"
#include "common/http_server.hpp"
#include "decision/core.hpp"

namespace prometheus {
class Registry;
}

namespace vigil::app {

using token_check = approvals::token_check;
using token_verifier = approvals::token_verifier;
using page_hook = std::function<void(const decision::page&)>;
using execute_hook = std::function<void(const decision::execute_plan&)>;
using event_hook = std::function<void(const nlohmann::json&)>;

struct engine_hooks {
  page_hook on_page;            ///< every page intent, in order (leader only)
  execute_hook on_execute;      ///< an approved plan to run (leader only)
  token_verifier verify_token;  ///< POST /v1/approvals; absent: approvals are refused
  event_hook on_event;          ///< every event as JSON, after it is logged (demo timeline)
  /// Extra /v1/status fields (plan progress, coordination) merged at top level.
  std::function<nlohmann::json()> extra_status;
  /// Incidents a previous run paged about and did not resolve (from the durable
  /// page outbox): start() hands them to the core before the first tick, so a
  /// restart mid-incident continues them instead of triggering new ones.
  std::function<std::vector<decision::open_incident>()> open_incidents;
  /// Page intents while this replica is not the leader (HA: kept so that a
  /// new leader can send what the old one never claimed). Absent: dropped.
  page_hook on_follower_page;
  /// POST /v1/approvals and POST /v1/propose on a replica that does not lead
  /// (HA): returns the answer to give (the leader's, forwarded), or nullopt to
  /// handle it here.
  std::function<std::optional<common::http_response>(const common::http_request&)> forward_to_leader;
  /// Decision state continuity (decision/continuity.hpp, docs/ha.md). At
  /// start() the engine adopts what load_continuity returns (before the
  /// open_incidents); while it leads it hands its state to on_continuity after
  /// each batch of outputs went to the hooks, when it changed. on_continuity
  /// returns false when it could not store it (offered again next time).
  std::function<std::optional<nlohmann::json>()> load_continuity;
  std::function<bool(const nlohmann::json&)> on_continuity;
  /// Operator controls (app/engine_controls.hpp). verify_command checks a
  /// signed command request (absent: every command is refused, not_configured).
  std::function<approvals::command_result(std::string_view body, std::string_view action, common::wall_time now,
                                          const approvals::command_verifier::extra_check& extra)>
      verify_command;
  /// plan_abort | plan_pause | plan_resume on the running plan: "" when done, else why not.
  std::function<std::string(const std::string& action, const std::string& recommendation_id, const std::string& by,
                            const std::string& reason)>
      plan_command;
  /// The actuation brake changed (the plan runner holds every step while it is on).
  std::function<void(bool on, const std::string& detail)> set_brake;
  /// Silences and the brake, durable and shared; absent: kept in memory.
  std::function<std::optional<nlohmann::json>()> load_controls;
  std::function<bool(const nlohmann::json&)> store_controls;
  /// Standing approvals (app/standing.hpp): stored and read back like the
  /// controls (absent: state_dir/standing.json, mode 0600), and the single-use
  /// ledger a use is spent through: true when `key` was never spent before
  /// (throws when it cannot record). Absent: uses are counted in the store only.
  std::function<std::optional<nlohmann::json>()> load_standing;
  std::function<bool(const nlohmann::json&)> store_standing;
  std::function<bool(const std::string& key, common::wall_time expires_at)> consume_once;
  /// Routes served by components beside the engine (readiness, objectives,
  /// standing approvals), tried in order after the operator controls and
  /// before the engine's own routes; nullopt: not this one's path. Called on
  /// the engine's thread; the engine drains the core's outputs afterwards.
  std::vector<std::function<std::optional<common::http_response>(const common::http_request&)>> extra_routes;
};

struct engine_options {
  std::string listen_override;  ///< "127.0.0.1:0" in tests; empty = config engine.listen
  bool leader = true;           ///< single node: leader from the start
  bool tick_timer = true;       ///< false: only tick_now() ticks (tests)
};

class engine final : public actuators::plan_host {
 public:
  engine(boost::asio::io_context& io, const common::config& cfg, const common::clock& clock,
         prometheus::Registry& registry, engine_hooks hooks, engine_options options = {});
  ~engine() override;
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Restores the open incidents (hooks.open_incidents), binds the listener(s)
  /// (throws std::system_error naming the address when it cannot) and starts
  /// the tick timer.
  void start();
  void stop();

  [[nodiscard]] std::string base_url() const;
  [[nodiscard]] std::string metrics_url() const;

  /// Run on the engine's io thread: reports from the plan executor.
  void plan_started(const std::string& recommendation_id, bool dry_run) override;
  void plan_step(const std::string& recommendation_id, const std::string& step, const std::string& status) override;
  void plan_finished(const std::string& recommendation_id, bool ok, const std::string& detail, bool dry_run) override;
  void set_leader(bool leader);
  [[nodiscard]] bool is_leader() const;
  /// Operational notices (app/engine_notices.hpp; io thread): `key` raises a
  /// warning-style page once (incident `<deployment>/notice/<key>`, kind
  /// notice), updates it when the summary changes; clear_notice resolves it.
  /// Sent only while this replica leads; audited either way.
  void set_notice(const std::string& key, decision::severity sev, const std::string& summary,
                  const nlohmann::json& details = nlohmann::json::object());
  void clear_notice(const std::string& key);
  /// The last readiness run of `plan`'s plan: the dr_ready gate (io thread;
  /// decision::core::set_readiness).
  void set_readiness(decision::action_kind plan, std::optional<decision::plan_readiness> r);
  /// Adopts another replica's decision state (io thread; core::adopt). False
  /// when it does not parse (logged and counted, nothing changed).
  bool adopt_continuity(const nlohmann::json& state);
  /// Ids of the incidents (regions and vantages) the core has open (io thread).
  [[nodiscard]] std::set<std::string> open_incident_ids() const;
  /// A new leader found no page of this open incident in the shared outbox:
  /// the core pages it again (decision::core::mark_unpaged; io thread).
  bool mark_unpaged(const std::string& incident_id);
  /// Replaces the read tokens (engine.read_tokens_file) GET /v1/* needs;
  /// empty: those routes are open (io thread; SIGHUP).
  void set_read_tokens(const std::vector<std::string>& tokens);
  /// One decision tick now (io thread). The timer calls it every decision.tick;
  /// tests call it directly with a manual clock.
  void tick_now();

  /// The current /v1/status document (io thread only).
  [[nodiscard]] nlohmann::json status_json() const override;
  /// The document but its check list (the plan runner's reads; io thread only).
  [[nodiscard]] nlohmann::json status_head_json() const override;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace vigil::app
