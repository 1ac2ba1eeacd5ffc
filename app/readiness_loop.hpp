#pragma once
// The continuous readiness loop (docs/runbook.md, "Readiness"; docs/design.md,
// "GET /v1/readiness"): every readiness.interval (+-10 % jitter), on the leader
// only, the read-only items of actuators/readiness.hpp for the failover and
// the failback plan. Runs on its own thread with its own AWS client (one
// retry, readiness.timeout per call), so a slow AWS never holds the engine's
// io thread or the plan's recovery path. Keeps per plan and item the state
// (ok | failed | unknown), its detail, when it was last checked and since when
// it is in that state; reports it as GET /v1/readiness, the metrics
// vigil_readiness_ok{plan,item} (1 ok, 0 failed, -1 unknown) and
// vigil_readiness_last_run_timestamp_seconds{plan}, one warning notice per
// failed item ("readiness-<plan>-<item>", cleared when it recovers) and the
// dr_ready gate (ok = every item ok).

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actuators/readiness.hpp"
#include "common/clock.hpp"
#include "common/config.hpp"
#include "common/http_server.hpp"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Gauge;
}  // namespace prometheus

namespace vigil::aws {
struct aws_stack;
}

namespace vigil::app {

struct readiness_settings {
  std::chrono::milliseconds interval{std::chrono::minutes(5)};
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  int cert_min_days = 14;
  std::string actuator_role_arn;
};

/// What the loop needs from the engine. Every function but `post` runs on
/// the engine's io thread (the loop posts it there).
struct readiness_sinks {
  std::function<void(std::function<void()>)> post;  ///< run on the engine's io thread
  std::function<nlohmann::json()> status;           ///< GET /v1/status's document
  std::function<bool()> is_leader;
  std::function<void(const std::string& key, const std::string& summary, const nlohmann::json& details)> set_notice;
  std::function<void(const std::string& key)> clear_notice;
  /// The dr_ready gate of `action` ("failover" | "failback").
  std::function<void(const std::string& action, bool ok, const std::string& detail, common::wall_time at)>
      set_readiness;
};

using readiness_probe = std::function<std::vector<actuators::readiness_item>(const actuators::readiness_request&)>;

class readiness_loop {
 public:
  readiness_loop(const common::config& cfg, readiness_settings settings, const common::clock& clock,
                 prometheus::Registry& registry, readiness_sinks sinks, readiness_probe probe = nullptr);
  ~readiness_loop();
  readiness_loop(const readiness_loop&) = delete;
  readiness_loop& operator=(const readiness_loop&) = delete;

  /// Starts the thread: a first run after `first_delay`, then every interval +-10 %.
  void start(std::chrono::milliseconds first_delay = std::chrono::seconds(1));
  void stop();
  /// One run now on the calling thread (not the io thread). False when it
  /// did not run (not the leader, or the engine did not answer).
  bool run_once();

  /// The GET /v1/readiness document.
  [[nodiscard]] nlohmann::json to_json() const;
  /// GET /v1/readiness; nullopt for any other request.
  [[nodiscard]] std::optional<common::http_response> route(const common::http_request& r) const;

  struct item_record {
    actuators::item_state state = actuators::item_state::unknown;
    std::string detail;
    bool warning = false;  ///< failed, it is paged but the plan stays ready
    common::wall_time last_checked{};
    common::wall_time since{};
  };
  struct plan_record {
    std::map<std::string, item_record> items;
    std::optional<common::wall_time> last_run;
  };

 private:
  void loop(std::chrono::milliseconds first_delay);
  std::optional<std::pair<nlohmann::json, bool>> snapshot();
  void record(const std::string& plan, const std::vector<actuators::readiness_item>& items, common::wall_time at);

  const common::config& cfg_;
  readiness_settings settings_;
  const common::clock& clock_;
  readiness_sinks sinks_;
  readiness_probe probe_;
  prometheus::Family<prometheus::Gauge>& ok_;
  prometheus::Family<prometheus::Gauge>& last_run_;
  std::unique_ptr<aws::aws_stack> stack_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, plan_record> plans_;
  std::thread thread_;
};

class engine;
/// The loop for `vigil engine` when cfg.readiness is on (null otherwise): its
/// sinks post to `io` and call the engine `eng()` returns (null: not yet).
[[nodiscard]] std::unique_ptr<readiness_loop> make_engine_readiness(boost::asio::io_context& io,
                                                                    const common::config& cfg,
                                                                    const common::clock& clock,
                                                                    prometheus::Registry& registry,
                                                                    const std::function<engine*()>& eng);

/// The readiness client's AWS settings: aws.* with one retry and the given timeout per call.
[[nodiscard]] common::aws_config readiness_aws_config(common::aws_config aws, std::chrono::milliseconds timeout);

}  // namespace vigil::app
