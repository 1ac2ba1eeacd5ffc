// The readiness loop wired to the engine (app/readiness_loop.hpp): its sinks
// post to the engine's io thread and call the engine's notice and dr_ready
// inputs there.
#include <boost/asio/post.hpp>

#include "app/engine.hpp"
#include "app/readiness_loop.hpp"

namespace vigil::app {

std::unique_ptr<readiness_loop> make_engine_readiness(boost::asio::io_context& io, const common::config& cfg,
                                                      const common::clock& clock, prometheus::Registry& registry,
                                                      const std::function<engine*()>& eng) {
  if (!cfg.readiness.enabled) return nullptr;
  readiness_settings s;
  s.interval = cfg.readiness.interval;
  s.timeout = cfg.readiness.timeout;
  s.cert_min_days = cfg.readiness.cert_min_days;
  s.actuator_role_arn = cfg.readiness.actuator_role_arn;

  readiness_sinks k;
  k.post = [&io](std::function<void()> f) { boost::asio::post(io, std::move(f)); };
  k.status = [eng] {
    engine* e = eng();
    return e != nullptr ? e->status_json() : nlohmann::json();
  };
  k.is_leader = [eng] {
    engine* e = eng();
    return e != nullptr && e->is_leader();
  };
  k.set_notice = [eng](const std::string& key, const std::string& summary, const nlohmann::json& details) {
    if (engine* e = eng()) e->set_notice(key, decision::severity::warning, summary, details);
  };
  k.clear_notice = [eng](const std::string& key) {
    if (engine* e = eng()) e->clear_notice(key);
  };
  k.set_readiness = [eng](const std::string& action, bool ok, const std::string& detail, common::wall_time at) {
    engine* e = eng();
    if (e == nullptr) return;
    e->set_readiness(action == "failback" ? decision::action_kind::failback : decision::action_kind::failover,
                     decision::plan_readiness{ok, detail, std::chrono::time_point_cast<std::chrono::milliseconds>(at)});
  };
  return std::make_unique<readiness_loop>(cfg, std::move(s), clock, registry, std::move(k));
}

}  // namespace vigil::app
