#include "app/readiness_loop.hpp"

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <future>
#include <random>

#include "aws/sts.hpp"
#include "common/log.hpp"
#include "decision/time_format.hpp"

namespace vigil::app {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string stamp(common::wall_time t) {
  return decision::format_time(std::chrono::time_point_cast<std::chrono::milliseconds>(t));
}

double seconds_of(common::wall_time t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

double gauge_value(actuators::item_state s) {
  switch (s) {
    case actuators::item_state::ok:
      return 1;
    case actuators::item_state::failed:
      return 0;
    case actuators::item_state::unknown:
      break;
  }
  return -1;
}

}  // namespace

common::aws_config readiness_aws_config(common::aws_config aws, std::chrono::milliseconds timeout) {
  aws.max_attempts = 2;  // one retry: the next run is the real retry
  aws.call_timeout = timeout;
  return aws;
}

readiness_loop::readiness_loop(const common::config& cfg, readiness_settings settings, const common::clock& clock,
                               prometheus::Registry& registry, readiness_sinks sinks, readiness_probe probe)
    : cfg_(cfg),
      settings_(std::move(settings)),
      clock_(clock),
      sinks_(std::move(sinks)),
      probe_(probe ? std::move(probe) : readiness_probe(actuators::probe_plan)),
      ok_(prometheus::BuildGauge()
              .Name("vigil_readiness_ok")
              .Help("Readiness item of a plan: 1 ok, 0 failed, -1 unknown (docs/runbook.md, Readiness)")
              .Register(registry)),
      last_run_(prometheus::BuildGauge()
                    .Name("vigil_readiness_last_run_timestamp_seconds")
                    .Help("When the readiness items of a plan were last checked (Unix time)")
                    .Register(registry)) {}

readiness_loop::~readiness_loop() {
  stop();
}

void readiness_loop::start(std::chrono::milliseconds first_delay) {
  const std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this, first_delay] { loop(first_delay); });
}

void readiness_loop::stop() {
  {
    const std::lock_guard lock(mu_);
    stop_ = true;
    *alive_ = false;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void readiness_loop::loop(std::chrono::milliseconds first_delay) {
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.9, 1.1);
  auto wait = first_delay;
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, wait, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    try {
      (void)run_once();
    } catch (const std::exception& e) {
      common::logger("readiness")->warn("readiness run failed: {}", e.what());
    }
    lock.lock();
    wait = std::chrono::milliseconds(
        static_cast<std::int64_t>(static_cast<double>(settings_.interval.count()) * jitter(rng)));
  }
}

std::optional<std::pair<json, bool>> readiness_loop::snapshot() {
  auto p = std::make_shared<std::promise<std::pair<json, bool>>>();
  auto f = p->get_future();
  sinks_.post([this, p, a = alive_] {
    if (!*a) return;
    try {
      const bool leader = sinks_.is_leader ? sinks_.is_leader() : true;
      p->set_value({leader && sinks_.status ? sinks_.status() : json(), leader});
    } catch (...) {
      p->set_exception(std::current_exception());
    }
  });
  // The engine's io thread may be busy or stopping: give up after a while.
  for (int i = 0; i < 100; ++i) {
    if (f.wait_for(100ms) == std::future_status::ready) return f.get();
    const std::lock_guard lock(mu_);
    if (stop_) return std::nullopt;
  }
  return std::nullopt;
}

bool readiness_loop::run_once() {
  const auto snap = snapshot();
  if (!snap || !snap->second) return false;
  if (!stack_ && (!cfg_.failover.steps.empty() || !cfg_.failback.steps.empty())) {
    stack_ = std::make_unique<aws::aws_stack>(
        aws::make_aws_stack(readiness_aws_config(cfg_.aws, settings_.timeout), clock_));
  }
  const std::string active = snap->first.is_object()
                                 ? snap->first.value("active", json::object()).value("region", cfg_.primary().name)
                                 : cfg_.primary().name;
  struct which {
    const char* action;
    const common::plan_config* plan;
    const common::plan_config* other;
    std::string from, to;
  };
  const which plans[] = {{"failover", &cfg_.failover, &cfg_.failback, cfg_.primary().name, cfg_.dr().name},
                         {"failback", &cfg_.failback, &cfg_.failover, cfg_.dr().name, cfg_.primary().name}};
  for (const auto& w : plans) {
    if (w.plan->steps.empty()) continue;
    actuators::readiness_request req;
    req.action = w.action;
    req.cfg = &cfg_;
    req.plan = w.plan;
    req.other_plan = w.other;
    req.from = w.from;
    req.to = w.to;
    req.next = active == w.from;
    req.aws = stack_ ? stack_->client.get() : nullptr;
    req.actuator_role_arn = settings_.actuator_role_arn;
    req.status = snap->first;
    req.lag_configured = cfg_.replication_lag.source != common::lag_source::none;
    req.lag_max_age = std::max<std::chrono::seconds>(
        60s, std::chrono::duration_cast<std::chrono::seconds>(cfg_.replication_lag.interval * 6));
    req.cert_min_days = settings_.cert_min_days;
    req.now = clock_.wall();
    req.clock = &clock_;
    const auto timeout = settings_.timeout;
    req.cert_not_after = [timeout](const common::check_config& c, std::string& error) {
      return actuators::tls_not_after(c, timeout, error);
    };
    const auto items = probe_(req);
    record(w.action, items, clock_.wall());
  }
  return true;
}

void readiness_loop::record(const std::string& plan, const std::vector<actuators::readiness_item>& items,
                            common::wall_time at) {
  struct change {
    std::string key, summary;
    json details;
    bool set;
  };
  std::vector<change> changes;
  bool all_ok = !items.empty();
  std::string failed;
  {
    const std::lock_guard lock(mu_);
    auto& pr = plans_[plan];
    std::map<std::string, item_record> next;
    for (const auto& i : items) {
      item_record rec;
      const auto old = pr.items.find(i.id);
      rec.state = i.state;
      rec.detail = i.detail;
      rec.warning = i.warning;
      rec.last_checked = at;
      rec.since = old != pr.items.end() && old->second.state == i.state ? old->second.since : at;
      const std::string key = "readiness-" + plan + "-" + i.id;
      if (i.state == actuators::item_state::failed) {
        changes.push_back({key,
                           "readiness" + std::string(i.warning ? " warning" : "") + ": the " + plan + " plan's item " +
                               i.id + " fails",
                           json{{"plan", plan}, {"item", i.id}, {"detail", i.detail}, {"since", stamp(rec.since)}},
                           true});
      } else if (i.state == actuators::item_state::ok && old != pr.items.end() &&
                 old->second.state == actuators::item_state::failed) {
        changes.push_back({key, {}, {}, false});
      }
      if (i.state != actuators::item_state::ok && !i.warning) {
        all_ok = false;
        failed +=
            (failed.empty() ? "" : "; ") + i.id + " " + std::string(actuators::to_string(i.state)) + ": " + i.detail;
      }
      ok_.Add({{"plan", plan}, {"item", i.id}}).Set(gauge_value(i.state));
      next.emplace(i.id, std::move(rec));
    }
    for (const auto& [id, old] : pr.items) {
      if (next.contains(id)) continue;  // an item that went away (config reload): forget it
      ok_.Remove(&ok_.Add({{"plan", plan}, {"item", id}}));
      if (old.state == actuators::item_state::failed) {
        std::string key = "readiness-";
        key.append(plan).append("-").append(id);
        changes.push_back({std::move(key), {}, {}, false});
      }
    }
    pr.items = std::move(next);
    pr.last_run = at;
  }
  last_run_.Add({{"plan", plan}}).Set(seconds_of(at));
  if (failed.size() > 1024) failed = failed.substr(0, 1021) + "...";
  sinks_.post([this, changes = std::move(changes), plan, all_ok, failed, at, a = alive_] {
    if (!*a) return;
    for (const auto& c : changes) {
      if (c.set && sinks_.set_notice) sinks_.set_notice(c.key, c.summary, c.details);
      if (!c.set && sinks_.clear_notice) sinks_.clear_notice(c.key);
    }
    if (sinks_.set_readiness) sinks_.set_readiness(plan, all_ok, all_ok ? "every readiness item is ok" : failed, at);
  });
}

json readiness_loop::to_json() const {
  const std::lock_guard lock(mu_);
  json plans = json::object();
  for (const auto& [name, pr] : plans_) {
    json items = json::array();
    bool all_ok = !pr.items.empty();
    for (const auto& [id, r] : pr.items) {
      all_ok = all_ok && (r.state == actuators::item_state::ok || r.warning);
      items.push_back({{"id", id},
                       {"state", actuators::to_string(r.state)},
                       {"warning", r.warning},
                       {"detail", r.detail},
                       {"last_checked", stamp(r.last_checked)},
                       {"since", stamp(r.since)}});
    }
    plans[name] = {{"ok", all_ok},
                   {"last_run", pr.last_run ? json(stamp(*pr.last_run)) : json(nullptr)},
                   {"items", std::move(items)}};
  }
  return {{"interval_s", std::chrono::duration<double>(settings_.interval).count()},
          {"cert_min_days", settings_.cert_min_days},
          {"plans", std::move(plans)}};
}

std::optional<common::http_response> readiness_loop::route(const common::http_request& r) const {
  if (r.path != "/v1/readiness") return std::nullopt;
  if (r.method != "GET" && r.method != "HEAD") {
    return common::http_response::error(405, "method_not_allowed", "GET /v1/readiness");
  }
  return common::http_response::json(200, to_json().dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace vigil::app
