#pragma once
// Operator controls on a running engine (docs/runbook.md, "Silence planned
// work", "Stop a plan"; docs/design.md, HTTP API): signed silences, the
// actuation brake, plan abort/pause/resume and proposals (approvals/command_token.hpp),
// recurring maintenance windows (decision/silences.hpp), and what a silence
// does to pages (silences.pages: hold | downgrade).
//
// Silences and the brake are stored through engine_hooks::store_controls (the
// coordinator's key "controls": a file in engine.state_dir on a single node,
// etcd under HA) and read back at start and on taking over.
//
// Threading: the engine's io thread only.

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "app/engine.hpp"
#include "approvals/command_token.hpp"
#include "common/http_server.hpp"
#include "decision/silences.hpp"

namespace prometheus {
class Gauge;
}

namespace vigil::app {

class operator_controls {
 public:
  using event_fn = std::function<void(const nlohmann::json&)>;
  operator_controls(const common::config& cfg, decision::core& core, prometheus::Registry& registry,
                    const engine_hooks& hooks, event_fn record_event);

  /// Reads the stored silences and brake (hooks.load_controls) into the core.
  void load(common::wall_time now);
  /// The routes this owns (GET/POST /v1/silences, POST /v1/silences/expire,
  /// POST /v1/brake, POST /v1/plan/{abort,pause,resume}, POST /v1/propose);
  /// nullopt for any other path.
  [[nodiscard]] std::optional<common::http_response> route(const common::http_request& r, common::wall_time now);
  /// Before each core tick: maintenance windows in and out, expired silences out.
  void tick(common::wall_time now);
  /// A page as the silences leave it: nullopt when held.
  [[nodiscard]] std::optional<decision::page> filter(const decision::page& p);
  /// {"silences": [...], "maintenance_windows": [...], "actuation_brake": {...}} for /v1/status.
  [[nodiscard]] nlohmann::json status(common::wall_time now) const;
  /// The actuation brake is on (standing approvals hold while it is).
  [[nodiscard]] bool brake_on() const { return brake_; }

 private:
  struct silence {
    std::string id;
    std::string scope;
    std::string by;
    std::string reason;
    common::wall_time created{};
    common::wall_time until{};
  };
  common::http_response command(const common::http_request& r, const std::string& action, common::wall_time now);
  std::optional<approvals::command_result> precheck(const nlohmann::json& body, common::wall_time now) const;
  common::http_response apply(const approvals::command_result& ok, common::wall_time now);
  void add_to_core(const silence& s, common::wall_time now);
  void silence_ended(const std::string& id, common::wall_time now);
  void store();
  void gauges();
  [[nodiscard]] std::vector<decision::down_check> down_in(const std::string& region) const;
  [[nodiscard]] nlohmann::json silences_json(common::wall_time now) const;

  const common::config& cfg_;
  decision::core& core_;
  const engine_hooks& hooks_;
  event_fn record_event_;
  approvals::command_limits limits_;
  approvals::command_metrics metrics_;
  prometheus::Gauge* active_gauge_;
  prometheus::Gauge* brake_gauge_;
  std::vector<decision::maintenance_window> windows_;
  std::vector<silence> silences_;
  std::set<std::string> windows_active_;
  std::set<std::string> held_incidents_;  ///< incidents whose trigger was held
  bool brake_ = false;
  std::string brake_detail_;
};

}  // namespace vigil::app
