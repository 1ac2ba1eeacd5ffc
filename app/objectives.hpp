#pragma once
// Recovery objectives in the engine (docs/runbook.md, "Objectives"):
// - records the timeline of every plan an approved recommendation ran (dry
//   run or real) in the timeline history (app/objectives_store.hpp);
// - runs the scheduled drills (drill.schedule; leader only) and records them;
// - keeps the RTO estimate (decision/objectives.hpp) and the RPO exposure
//   against objectives.rto / objectives.rpo: GET /v1/objectives, the
//   vigil_rto_* / vigil_rpo_* gauges and the objectives-rto / objectives-rpo
//   warning pages.
//
// Threading: every method runs on the engine's io thread; a scheduled drill
// runs on its own thread (its pre-checks block on AWS calls) and posts its
// result back.

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/config.hpp"
#include "common/http_server.hpp"
#include "decision/vocabulary.hpp"

namespace prometheus {
class Registry;
}

namespace vigil::app {

struct objectives_settings {
  std::optional<std::chrono::milliseconds> rto;             ///< objectives.rto
  std::optional<std::chrono::milliseconds> rpo;             ///< objectives.rpo
  std::optional<std::chrono::milliseconds> drill_schedule;  ///< drill.schedule
  /// The approval term while no approval was ever observed.
  std::chrono::milliseconds default_approval{std::chrono::minutes(5)};
};

/// objectives.rto / .rpo and drill.schedule of `cfg`.
[[nodiscard]] objectives_settings objectives_settings_from(const common::config& cfg);

/// What the service reads from and drives in the engine (io thread).
struct objectives_seams {
  std::function<bool()> is_leader;
  std::function<nlohmann::json()> status;  ///< the /v1/status document (replication_lag)
  std::function<void(const std::string& key, decision::severity sev, const std::string& summary,
                     const nlohmann::json& details)>
      set_notice;
  std::function<void(const std::string& key)> clear_notice;
  /// HA: the newest records shared through the coordinator (absent: local only).
  std::function<std::optional<nlohmann::json>()> load_shared;
  std::function<bool(const nlohmann::json&)> store_shared;
};

class objectives_service {
 public:
  /// Keys of the warning pages.
  static constexpr const char* rto_notice = "objectives-rto";
  static constexpr const char* rpo_notice = "objectives-rpo";
  /// Records kept in the coordinator for a new leader (the file keeps 200).
  static constexpr std::size_t shared_keep = 50;

  objectives_service(boost::asio::io_context& io, const common::config& cfg, const common::clock& clock,
                     prometheus::Registry& registry, objectives_settings settings);
  ~objectives_service();
  objectives_service(const objectives_service&) = delete;
  objectives_service& operator=(const objectives_service&) = delete;

  /// Starts the evaluation timer and the drill schedule.
  void start(objectives_seams seams);
  /// Stops the timers and waits for a running drill.
  void stop();
  /// Every engine event (JSON, as logged). `plan_status` gives the plan
  /// runner's status ({"recommendation_id", "result", "rto", ...}); it is
  /// asked only when a recommendation's plan ended.
  void observe(const nlohmann::json& event, const std::function<nlohmann::json()>& plan_status);
  /// GET /v1/objectives; nullopt for other paths.
  [[nodiscard]] std::optional<common::http_response> route(const common::http_request& r);
  /// The GET /v1/objectives document, evaluated now.
  [[nodiscard]] nlohmann::json document();
  /// Recomputes the estimate and exposure: gauges and warning pages.
  void evaluate();
  /// Runs a scheduled drill now (on its thread) unless one is running.
  void run_scheduled_drill();
  /// SIGHUP: new objectives and drill schedule, evaluated at once (a raised
  /// objective resolves its warning). Returns what changed, for the log.
  std::string reload(const objectives_settings& settings);

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace vigil::app
