#include "app/objectives.hpp"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <deque>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "app/drill_run.hpp"
#include "app/objectives_store.hpp"
#include "common/log.hpp"
#include "decision/objectives.hpp"
#include "decision/time_format.hpp"

namespace vigil::app {

namespace asio = boost::asio;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

constexpr std::size_t trend_size = 10;
constexpr std::size_t remembered = 64;  ///< recommendations whose pending time or recording is kept

double secs(milliseconds d) {
  return static_cast<double>(d.count()) / 1000.0;
}

std::optional<decision::time_point> time_of(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return decision::parse_time(it->get<std::string>());
}

std::optional<double> number_of(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

json opt_json(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

prometheus::Gauge& gauge(prometheus::Registry& reg, const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(reg).Add({});
}

/// "6m29s", "45s": the numbers of the warning summaries, whole seconds.
std::string whole(double s) {
  const auto n = static_cast<long long>(std::llround(s));
  if (n < 60) return std::to_string(n) + "s";
  return std::to_string(n / 60) + "m" + (n % 60 != 0 ? std::to_string(n % 60) + "s" : "");
}

}  // namespace

struct objectives_service::impl {
  asio::io_context& io;
  const common::config& cfg;
  const common::clock& clock;
  objectives_settings settings;
  objectives_seams seams;
  timeline_store store;
  prometheus::Gauge& rto_estimate;
  prometheus::Gauge& rto_objective;
  prometheus::Gauge& rpo_exposure;
  prometheus::Gauge& rpo_objective;
  asio::steady_timer eval_timer;
  asio::steady_timer drill_timer;
  std::shared_ptr<std::atomic<bool>> alive = std::make_shared<std::atomic<bool>>(true);
  std::thread drill_thread;
  bool drill_running = false;
  std::optional<common::wall_time> next_drill;
  std::mt19937_64 rng{std::random_device{}()};
  // plans seen in the event stream
  std::map<std::string, decision::time_point> pending;                            ///< id -> pending_approval since
  std::map<std::string, std::map<std::string, decision::time_point>> step_ended;  ///< id -> step -> end
  std::deque<std::string> recorded;                                               ///< ids recorded (newest last)
  // warning pages: what this replica set while leading
  bool was_leader = false;
  /// The objectives-rto notice as last sent this term: its summary, "" cleared,
  /// nullopt nothing sent yet (the first evaluation sends either: a restart
  /// with a raised objective resolves the warning the previous run opened).
  std::optional<std::string> rto_summary;
  std::optional<bool> rpo_set;
  std::uint64_t drill_generation = 0;  ///< a rescheduled drill timer's stale handler does nothing
  int rpo_over = 0;                    ///< consecutive evaluations with the exposure above the objective
  json last_rto = nullptr;
  json last_rpo = nullptr;

  impl(asio::io_context& ctx, const common::config& c, const common::clock& clk, prometheus::Registry& reg,
       objectives_settings s)
      : io(ctx),
        cfg(c),
        clock(clk),
        settings(s),
        store(timelines_path(c.engine.state_dir)),
        rto_estimate(gauge(reg, "vigil_rto_estimate_seconds",
                           "Estimated recovery time: detection bound + median approval + per-step p90 (or timeout)")),
        rto_objective(gauge(reg, "vigil_rto_objective_seconds", "objectives.rto (NaN when not configured)")),
        rpo_exposure(gauge(reg, "vigil_rpo_exposure_seconds",
                           "Data-loss exposure now: the replication lag, plus its age when stale (NaN when unknown)")),
        rpo_objective(gauge(reg, "vigil_rpo_objective_seconds", "objectives.rpo (NaN when not configured)")),
        eval_timer(ctx),
        drill_timer(ctx) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    rto_objective.Set(settings.rto ? secs(*settings.rto) : nan);
    rpo_objective.Set(settings.rpo ? secs(*settings.rpo) : nan);
    rpo_exposure.Set(nan);
  }

  /// Every 5 s (at most every tick): the exposure reads the whole /v1/status document.
  [[nodiscard]] milliseconds eval_period() const {
    return std::max<milliseconds>(cfg.decision.tick, milliseconds(5000));
  }

  static constexpr const char* drill_notice_key = "drill-scheduled";

  [[nodiscard]] bool leading() const { return seams.is_leader ? seams.is_leader() : true; }

  decision::estimate_inputs inputs() const {
    decision::detection_inputs d;
    for (const auto& c : cfg.checks) {
      if (c.role != common::check_role::classify) continue;
      d.classify_checks.push_back({c.interval, c.cloudwatch ? milliseconds(0) : c.fast_interval});
    }
    d.fall = cfg.decision.fall;
    d.confirm_for = cfg.decision.confirm_for;
    d.tick = cfg.decision.tick;
    decision::estimate_inputs in;
    in.detection = decision::compute_detection_bound(d);
    in.action = "failover";
    for (const auto& s : cfg.failover.steps)
      in.steps.push_back({s.name, s.timeout});
    in.default_approval = settings.default_approval;
    in.rto_objective = settings.rto;
    return in;
  }

  json rpo_now() const {
    json lag = seams.status ? seams.status().value("replication_lag", json(nullptr)) : json(nullptr);
    if (!lag.is_object()) lag = json::object();
    const auto exposure = decision::rpo_exposure_s(number_of(lag, "ms"), number_of(lag, "age_s"),
                                                   lag.value("reachable", false), cfg.decision.lag_max_age);
    const bool exceeds = exposure.has_value() && settings.rpo.has_value() && *exposure > secs(*settings.rpo);
    return {{"exposure_s", opt_json(exposure)},
            {"objective_s", settings.rpo ? json(secs(*settings.rpo)) : json(nullptr)},
            {"exceeds", exceeds},
            {"lag_ms", lag.value("ms", json(nullptr))},
            {"age_s", lag.value("age_s", json(nullptr))},
            {"reachable", lag.value("reachable", false)},
            {"rule", "the lag with a fresh sample; lag + its age when older than decision.lag_max_age or unreachable"}};
  }

  /// The estimate and exposure now, and the gauges.
  decision::rto_estimate compute() {
    auto est = decision::estimate_rto(store.entries(), inputs());
    last_rto = decision::to_json(est);
    rto_estimate.Set(est.total_s);
    last_rpo = rpo_now();
    rpo_exposure.Set(last_rpo["exposure_s"].is_number() ? last_rpo["exposure_s"].get<double>()
                                                        : std::numeric_limits<double>::quiet_NaN());
    return est;
  }

  /// compute() and the warning pages (the timer, a recorded timeline, SIGHUP;
  /// not a GET, so that readers do not hurry the RPO rule's two evaluations).
  void evaluate() {
    const auto est = compute();
    const bool lead = leading();
    if (lead && !was_leader) {  // a new term: the shared history adopted, this replica's notices set again
      rto_summary.reset();
      rpo_set.reset();
      adopt_shared();
    }
    was_leader = lead;
    if (!lead) return;
    notice_rto(est);
    notice_rpo();
  }

  void notice_rto(const decision::rto_estimate& est) {
    if (!est.exceeds()) {
      if (rto_summary != "" && seams.clear_notice) seams.clear_notice(rto_notice);
      rto_summary = "";
      return;
    }
    const decision::rto_term* largest = &est.terms.front();
    for (const auto& t : est.terms)
      if (t.seconds > largest->seconds) largest = &t;
    const std::string summary = "estimated RTO " + whole(est.total_s) + " exceeds objectives.rto " +
                                whole(*est.objective_s) + " (largest term: " + largest->term +
                                (largest->name.empty() ? "" : " " + largest->name) + " " + whole(largest->seconds) +
                                ", " + largest->source + "); GET /v1/objectives has the breakdown";
    if (summary == rto_summary) return;
    if (seams.set_notice) seams.set_notice(rto_notice, decision::severity::warning, summary, last_rto);
    rto_summary = summary;
  }

  /// Set once the exposure stays above the objective for two evaluations
  /// (longer than a tick): a single late sample does not page.
  void notice_rpo() {
    const bool over = last_rpo.value("exceeds", false);
    rpo_over = over ? rpo_over + 1 : 0;
    if (rpo_over >= 2 && rpo_set != true) {
      if (seams.set_notice) {
        seams.set_notice(rpo_notice, decision::severity::warning,
                         "replication lag exposure exceeds objectives.rpo " +
                             whole(last_rpo["objective_s"].get<double>()) + ": a failover now may lose more data",
                         last_rpo);
      }
      rpo_set = true;
    } else if (!over && rpo_set != false) {
      if (seams.clear_notice) seams.clear_notice(rpo_notice);
      rpo_set = false;
    }
  }

  void schedule_eval() {
    eval_timer.expires_after(eval_period());
    eval_timer.async_wait([this, a = alive](const boost::system::error_code& ec) {
      if (ec || !*a) return;
      try {
        evaluate();
      } catch (const std::exception& e) {
        common::logger("objectives")->error("objectives not evaluated: {}", e.what());
      }
      schedule_eval();
    });
  }

  // --- the history -----------------------------------------------------------

  void record(const decision::recorded_timeline& t) {
    if (const auto why = store.append(t); !why.empty()) {
      common::logger("objectives")->error("timeline {} kept in memory only: {}", t.id, why);
    }
    share();
  }

  /// HA: the newest records go to the coordinator for the next leader.
  void share() {
    if (!seams.store_shared || !leading()) return;
    const auto& all = store.entries();
    json list = json::array();
    for (std::size_t i = all.size() > shared_keep ? all.size() - shared_keep : 0; i < all.size(); ++i)
      list.push_back(decision::to_json(all[i]));
    if (!seams.store_shared(json{{"timelines", list}}))
      common::logger("objectives")->warn("timeline history not stored in the coordinator (kept locally)");
  }

  void adopt_shared() {
    if (!seams.load_shared) return;
    try {
      const auto doc = seams.load_shared();
      if (!doc || !doc->is_object()) return;
      std::vector<decision::recorded_timeline> others;
      for (const auto& j : doc->value("timelines", json::array())) {
        try {
          others.push_back(decision::timeline_from_json(j));
        } catch (const std::exception&) {
          // a record another version wrote: skipped
        }
      }
      if (const auto n = store.merge(others); n > 0)
        common::logger("objectives")->info("{} timeline(s) adopted from the shared history", n);
    } catch (const std::exception& e) {
      common::logger("objectives")->warn("shared timeline history not read: {}", e.what());
    }
  }

  void remember(const std::string& id) {
    recorded.push_back(id);
    while (recorded.size() > remembered)
      recorded.pop_front();
    while (pending.size() > remembered)
      pending.erase(pending.begin());
    while (step_ended.size() > remembered)
      step_ended.erase(step_ended.begin());
  }

  void observe(const json& ev, const std::function<json()>& plan_status) {
    const std::string type = ev.value("type", std::string{});
    const auto at = time_of(ev, "at");
    if (type == "audit" && ev.value("kind", std::string{}) == "plan" && at) {
      const json d = ev.value("details", json::object());
      if (d.contains("step") && d.contains("recommendation_id"))
        step_ended[d.value("recommendation_id", std::string{})][d.value("step", std::string{})] = *at;
      return;
    }
    if (type != "recommendation" || !at) return;
    const json rec = ev.value("recommendation", json::object());
    const std::string id = rec.value("id", std::string{});
    const std::string state = rec.value("state", std::string{});
    if (state == "pending_approval" && pending.count(id) == 0) pending[id] = *at;
    if (state != "done" && state != "failed" && state != "dry_run_complete") return;
    const json plan = plan_status ? plan_status() : json(nullptr);
    if (!plan.is_object() || plan.value("recommendation_id", std::string{}) != id) return;
    const json rto = plan.value("rto", json(nullptr));
    if (!rto.is_object() || std::find(recorded.begin(), recorded.end(), id) != recorded.end()) return;
    auto t = timeline_from_report(rto, id, "plan", plan.value("action", std::string{}),
                                  plan.value("result", std::string{state == "failed" ? "failed" : "done"}));
    t.dry_run = plan.value("dry_run", t.dry_run);
    if (const auto it = pending.find(id); it != pending.end()) t.pending_approval = it->second;
    if (const auto it = step_ended.find(id); it != step_ended.end()) {
      for (auto& s : t.steps) {
        if (const auto e = it->second.find(s.name); e != it->second.end()) {
          s.finished = e->second;
          s.started = e->second - milliseconds(std::llround(s.duration_s * 1000.0));
        }
      }
    }
    remember(id);
    record(t);
    const auto plan_s = t.plan_s();
    common::logger("objectives")
        ->info("timeline of plan {} recorded ({}, {}, plan {}s)", id, t.result, t.dry_run ? "dry run" : "executed",
               plan_s ? *plan_s : 0.0);
    evaluate();
  }

  // --- scheduled drills ------------------------------------------------------

  /// One period, jittered by +-10 %, from now.
  void schedule_drill() {
    if (!settings.drill_schedule) return;
    const auto period = *settings.drill_schedule;
    std::uniform_int_distribution<std::int64_t> jitter(-period.count() / 10, period.count() / 10);
    const milliseconds wait{period.count() + jitter(rng)};
    next_drill = clock.wall() + wait;
    drill_timer.expires_after(wait);
    drill_timer.async_wait([this, a = alive, gen = ++drill_generation](const boost::system::error_code& ec) {
      if (ec || !*a || gen != drill_generation) return;
      run_drill_now();
      schedule_drill();
    });
  }

  void run_drill_now() {
    if (drill_running) return;
    if (!leading()) {
      common::logger("objectives")->debug("scheduled drill skipped: this replica does not lead");
      return;
    }
    if (cfg.failover.steps.empty()) {
      common::logger("objectives")->warn("scheduled drill skipped: plan.failover has no steps");
      return;
    }
    if (drill_thread.joinable()) drill_thread.join();  // the previous one posted its result: it has ended
    drill_running = true;
    common::logger("objectives")->info("scheduled drill of plan.failover starting (dry run with pre-checks)");
    drill_thread = std::thread([this, a = alive] {
      drill_options o;
      o.prechecks = true;
      o.scheduled = true;
      std::optional<drill_outcome> out;
      std::string error;
      try {
        out = run_drill(cfg, o, clock, [](const std::string& line) { common::logger("drill")->debug("{}", line); });
      } catch (const std::exception& e) {
        error = e.what();
      }
      asio::post(io, [this, a, out = std::move(out), error] {
        if (!*a) return;
        drill_running = false;
        if (!out) {
          common::logger("objectives")->error("scheduled drill failed to run: {}", error);
          drill_notice(false, "it did not run: " + error, "");
          return;
        }
        record(out->timeline);
        const auto plan_s = out->timeline.plan_s();
        common::logger("objectives")
            ->info("scheduled drill {}: {} in {}s{}", out->timeline.id, out->timeline.result, plan_s ? *plan_s : 0.0,
                   out->ok() ? "" : ": " + out->outcome.detail);
        drill_notice(out->ok(), out->outcome.detail, out->timeline.id);
        evaluate();
      });
    });
  }

  /// A failed scheduled drill pages one warning (drill-scheduled), updated
  /// while drills keep failing the same way and resolved by the next one
  /// that passes: the plan it proves is what a failover would run.
  void drill_notice(bool ok, const std::string& detail, const std::string& id) {
    if (ok) {
      if (seams.clear_notice) seams.clear_notice(drill_notice_key);
      return;
    }
    if (!seams.set_notice) return;
    std::string what = detail.size() > 300 ? detail.substr(0, 297) + "..." : detail;
    seams.set_notice(
        drill_notice_key, decision::severity::warning,
        "the scheduled drill of plan.failover failed: " + what + " (vigil objectives; vigil drill --prechecks)",
        json{{"drill", id}, {"detail", detail}});
  }

  // --- serving -----------------------------------------------------------------

  json document() {
    (void)compute();
    const auto& all = store.entries();
    json recent = json::array();
    for (auto it = all.rbegin(); it != all.rend() && recent.size() < trend_size; ++it)
      recent.push_back(decision::to_json(*it));
    json drills{{"schedule_s", settings.drill_schedule ? json(secs(*settings.drill_schedule)) : json(nullptr)},
                {"next_at", next_drill ? json(common::format_rfc3339(*next_drill)) : json(nullptr)},
                {"running", drill_running},
                {"trend", decision::drill_trend(all, trend_size)}};
    return {{"deployment", cfg.deployment},
            {"rto", last_rto},
            {"rpo", last_rpo},
            {"drills", drills},
            {"history",
             {{"file", timelines_path(cfg.engine.state_dir)},
              {"records", all.size()},
              {"skipped_lines", store.skipped()},
              {"recent", recent}}}};
  }
};

objectives_settings objectives_settings_from(const common::config& cfg) {
  objectives_settings s;
  s.rto = cfg.objectives.rto;
  s.rpo = cfg.objectives.rpo;
  s.drill_schedule = cfg.drill.schedule;
  return s;
}

objectives_service::objectives_service(asio::io_context& io, const common::config& cfg, const common::clock& clock,
                                       prometheus::Registry& registry, objectives_settings settings)
    : impl_(std::make_unique<impl>(io, cfg, clock, registry, settings)) {}

objectives_service::~objectives_service() {
  stop();
}

void objectives_service::start(objectives_seams seams) {
  impl_->seams = std::move(seams);
  impl_->evaluate();
  impl_->schedule_eval();
  impl_->schedule_drill();
}

void objectives_service::stop() {
  if (!impl_ || !*impl_->alive) return;
  *impl_->alive = false;
  impl_->eval_timer.cancel();
  impl_->drill_timer.cancel();
  if (impl_->drill_thread.joinable()) impl_->drill_thread.join();
}

void objectives_service::observe(const json& event, const std::function<json()>& plan_status) {
  impl_->observe(event, plan_status);
}

std::optional<common::http_response> objectives_service::route(const common::http_request& r) {
  if (r.path != "/v1/objectives") return std::nullopt;
  if (r.method != "GET" && r.method != "HEAD")
    return common::http_response::error(405, "method_not_allowed", "method not allowed on this path");
  return common::http_response::json(200, document().dump());
}

json objectives_service::document() {
  return impl_->document();
}

void objectives_service::evaluate() {
  impl_->evaluate();
}

void objectives_service::run_scheduled_drill() {
  impl_->run_drill_now();
}

std::string objectives_service::reload(const objectives_settings& settings) {
  auto& i = *impl_;
  const auto text = [](const std::optional<milliseconds>& d) {
    return d ? decision::format_seconds(*d) : std::string("unset");
  };
  const bool schedule_changed = settings.drill_schedule != i.settings.drill_schedule;
  std::string what = "objectives.rto " + text(settings.rto) + ", objectives.rpo " + text(settings.rpo) +
                     ", drill.schedule " + text(settings.drill_schedule);
  i.settings = settings;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  i.rto_objective.Set(settings.rto ? secs(*settings.rto) : nan);
  i.rpo_objective.Set(settings.rpo ? secs(*settings.rpo) : nan);
  if (schedule_changed) {
    i.drill_timer.cancel();  // its handler sees operation_aborted and does not reschedule
    i.next_drill.reset();
    i.schedule_drill();
  }
  i.evaluate();
  return what;
}

}  // namespace vigil::app
