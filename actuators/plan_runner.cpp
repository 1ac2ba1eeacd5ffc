#include "actuators/plan_runner.hpp"

#include <prometheus/gauge.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>

#include "aws/sts.hpp"
#include "common/log.hpp"
#include "decision/time_format.hpp"

namespace vigil::actuators {

using nlohmann::json;

struct plan_runner::job {
  common::plan_config plan;
  plan_request request;
  std::optional<approval_ref> approval;
};

namespace {

std::optional<common::wall_time> wall_of(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  const auto t = decision::parse_time(it->get<std::string>());
  if (!t) return std::nullopt;
  return common::wall_time{std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch())};
}

}  // namespace

plan_runner::plan_runner(boost::asio::io_context& io, const common::config& cfg, std::chrono::milliseconds step_pause,
                         line_fn print, plan_runner_options options)
    : io_(io),
      cfg_(cfg),
      print_(std::move(print)),
      options_(std::move(options)),
      own_clock_(options_.clock ? nullptr : std::make_unique<common::real_clock>()),
      clock_(options_.clock ? *options_.clock : *own_clock_),
      alive_(std::make_shared<std::atomic<bool>>(true)) {
  std::string dir = options_.state_dir.empty() ? cfg.engine.state_dir : options_.state_dir;
  journal_ = std::make_unique<plan_journal>(dir == "-" || dir.empty() ? std::filesystem::path{}
                                                                      : std::filesystem::path(dir) / "plan.jsonl");
  if (options_.registry) metrics_ = std::make_unique<plan_metrics>(*options_.registry, &cfg);
  step_factory factory = options_.factory;
  if (!factory) {
    // Production runners, built on first use so that a dry-run-only engine
    // never resolves credentials.
    factory = [this](const common::plan_step_config& s) {
      if (!aws_) aws_ = std::make_unique<aws::aws_stack>(aws::make_aws_stack(cfg_.aws, clock_));
      step_deps deps;
      deps.aws = aws_->client.get();
      deps.engine_status = [this] { return engine_status_from_worker(); };
      return make_step_factory(deps)(s);
    };
  }
  auto exec_opts = options_.executor;
  if (exec_opts.dry_run_pause.count() == 0) exec_opts.dry_run_pause = step_pause;
  executor_ =
      std::make_unique<plan_executor>(*journal_, std::move(factory), clock_, waiter_, metrics_.get(), exec_opts);
  control_.set_wake([this] { waiter_.notify(); });
  executor_->set_control(&control_);
  if (cfg.engine.actuation_brake) control_.set_brake(true, "engine.actuation_brake in " + cfg.file);
  if (options_.registry) {
    paused_gauge_ = &prometheus::BuildGauge()
                         .Name("vigil_plan_paused")
                         .Help("1 while the running plan is paused by an operator (vigil plan pause)")
                         .Register(*options_.registry)
                         .Add({});
  }
}

std::string plan_runner::command(const std::string& action, const std::string& id, const std::string& by,
                                 const std::string& reason) {
  if (!running_ || id != recommendation_id_) {
    return "no_plan: no plan of recommendation " + id + " is running" +
           (running_ ? " (the running plan is " + recommendation_id_ + ")" : "");
  }
  const std::string who = by + ": " + reason;
  journal_->note(clock_.wall(), hash_, {{"event", action}, {"by", by}, {"reason", reason}});
  if (action == "plan_abort") {
    control_.abort(id, who);
  } else if (action == "plan_pause") {
    control_.pause(id, who);
  } else {
    control_.resume(id);
  }
  if (paused_gauge_) paused_gauge_->Set(control_.paused(id) && !control_.aborted(id) ? 1 : 0);
  common::logger("plan")->warn("{} {} by {}: {}", action, id, by, reason);
  return {};
}

void plan_runner::set_brake(bool on, const std::string& detail) {
  control_.set_brake(on, detail);
}

plan_runner::~plan_runner() {
  *alive_ = false;
  stop();
}

void plan_runner::stop() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  executor_->stop();
  if (worker_.joinable()) worker_.join();
}

void plan_runner::post(std::function<void()> f) {
  boost::asio::post(io_, [alive = alive_, f = std::move(f)] {
    if (*alive) f();
  });
}

void plan_runner::attach(plan_host& e) {
  engine_ = &e;
  if (options_.resume && !load_shared_) post([this] { resume_unfinished(); });
}

void plan_runner::set_shared_journal(plan_journal::mirror_fn mirror, std::function<std::vector<json>()> load) {
  journal_->set_mirror(std::move(mirror));
  load_shared_ = std::move(load);
}

void plan_runner::leadership_gained() {
  if (load_shared_ && !running_) {
    // The shared journal is the truth: what the previous leader began, with every step's outcome.
    try {
      journal_->adopt(load_shared_());
    } catch (const std::exception& e) {
      common::logger("plan")->warn("cannot read the shared plan journal ({}): no plan resumed", e.what());
      return;
    }
  }
  if (options_.resume) post([this] { resume_unfinished(); });
}

void plan_runner::resume_unfinished() {
  bool any = false;
  for (const auto& p : journal_->plans())
    any = any || !p.ended();
  if (!any) return;
  if (engine_ && !engine_->status_head_json().value("leader", false)) {
    // Only the leader acts: look again in a second.
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::seconds(1));
    timer->async_wait([this, timer, alive = alive_](const boost::system::error_code& ec) {
      if (!ec && *alive) resume_unfinished();
    });
    return;
  }
  for (const auto& p : journal_->plans()) {
    if (p.ended() || (running_ && p.hash() == hash_)) continue;
    job j;
    j.request = plan_executor::request_from(p);
    j.approval = plan_executor::approval_from(p);  // the journaled approval authorises the resume
    j.plan = j.request.ctx.action == "failback" ? cfg_.failback : cfg_.failover;
    j.plan.dry_run = p.begin.value("dry_run", j.plan.dry_run);  // as it began, whatever the file says now
    const common::log_fields f{{"recommendation_id", j.request.ctx.recommendation_id}};
    common::logger("plan")->warn("resuming plan {} ({}) from {}", j.request.ctx.recommendation_id, j.request.ctx.action,
                                 journal_->path().string());
    start_job(j);
  }
}

rto_marks plan_runner::marks_for(const decision::execute_plan& e) const {
  rto_marks m;
  m.approved = common::wall_time{std::chrono::duration_cast<std::chrono::milliseconds>(e.at.time_since_epoch())};
  if (!engine_) return m;
  const json st = engine_->status_head_json();
  const json inc = st.value("incident", json(nullptr));
  std::string incident_id;
  if (inc.is_object() && inc.value("region", std::string{}) == e.from) {
    m.classified = wall_of(inc, "started_at");
    m.first_evidence = wall_of(inc, "first_evidence");  // the incident's first failing observation
    m.paged = wall_of(inc, "paged_at");
    incident_id = inc.value("id", std::string{});
  }
  if (!m.classified) {
    const json rec = st.value("recommendation", json(nullptr));
    if (rec.is_object() && rec.value("id", std::string{}) == e.recommendation_id)
      m.classified = wall_of(rec, "created_at");
  }
  // A page this process saw go out (another leader's core paged the incident
  // before this one took over: the core's paged_at is unknown then).
  if (const auto it = page_times_.find(incident_id); !m.paged && !incident_id.empty() && it != page_times_.end()) {
    m.paged = it->second;
  }
  return m;
}

void plan_runner::observe(const json& event) {
  if (event.value("type", std::string{}) != "page" || event.value("action", std::string{}) != "trigger") return;
  const std::string id = event.value("incident_id", std::string{});
  if (id.empty() || page_times_.count(id) != 0) return;
  if (const auto t = wall_of(event, "at")) page_times_[id] = *t;
}

void plan_runner::execute(const decision::execute_plan& e) {
  const std::string action(decision::to_string(e.action));
  job j;
  j.plan = e.action == decision::action_kind::failover ? cfg_.failover : cfg_.failback;
  j.request.ctx = plan_context{e.recommendation_id, e.recommendation_hash, action,   e.from, e.to,
                               e.allow_data_loss,   e.approvers,           e.planned};
  j.request.marks = marks_for(e);
  j.approval = approval_ref{e.recommendation_hash, e.approvers};
  if (engine_) {
    // The recommendation must still be the one approved (same id, same hash).
    const json rec = engine_->status_head_json().value("recommendation", json(nullptr));
    if (rec.is_object() && rec.value("id", std::string{}) == e.recommendation_id &&
        rec.value("hash", std::string{}) != e.recommendation_hash) {
      j.approval->recommendation_hash = rec.value("hash", std::string{});
    }
  }
  if (running_ && e.recommendation_hash == hash_) {
    common::logger("plan")->warn("ignoring a second execute for {}: it is running", e.recommendation_id);
    return;
  }
  if (const auto done = journal_->find(e.recommendation_hash); done && done->ended()) {
    // An approval drives at most one execution.
    common::logger("plan")->warn("ignoring execute for {}: the journal shows it executed ({})", e.recommendation_id,
                                 done->end->value("result", std::string{}));
    return;
  } else if (done) {
    // Begun by a previous run or leader: resumed from the journal, not begun again.
    common::logger("plan")->info("execute for {}: the journal shows it begun; resuming it", e.recommendation_id);
    post([this] { resume_unfinished(); });
    return;
  }
  start_job(j);
}

void plan_runner::start_job(const job& j) {
  recommendation_id_ = j.request.ctx.recommendation_id;
  hash_ = j.request.ctx.recommendation_hash;
  action_ = j.request.ctx.action;
  dry_run_ = j.plan.dry_run;
  running_ = true;
  resumed_ = false;
  result_.clear();
  detail_.clear();
  rto_ = nullptr;
  finished_ = false;
  succeeded_ = false;
  progress_.clear();
  for (const auto& s : describe_plan(j.plan, j.request.ctx)) {
    progress_.push_back({s.name, s.kind, "pending", s.summary});
  }
  if (engine_) engine_->plan_started(recommendation_id_, dry_run_);
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::make_shared<job>(j));
    if (!worker_.joinable()) worker_ = std::thread([this] { worker_loop(); });
  }
  cv_.notify_all();
}

void plan_runner::worker_loop() {
  for (;;) {
    std::shared_ptr<job> j;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return quit_ || !queue_.empty(); });
      if (quit_) return;
      j = queue_.front();
      queue_.pop_front();
    }
    const std::string id = j->request.ctx.recommendation_id;
    executor_events ev;
    ev.on_step = [this, id](std::size_t index, const std::string& step, const std::string& status,
                            const std::string& detail) {
      post([this, id, index, step, status, detail] {
        if (id != recommendation_id_) return;
        if (index < progress_.size()) {
          progress_[index].status = status;
          if (!detail.empty()) progress_[index].detail = detail;
        }
        if (status != "running" && engine_) engine_->plan_step(id, step, status);
      });
      const common::log_fields f{{"recommendation_id", id}, {"step", step}};
      common::logger("plan")->info("step {}: {}{}{}", step, status, detail.empty() ? "" : ": ", detail);
    };
    ev.print = [this, id](const std::string& line) {
      const common::log_fields f{{"recommendation_id", id}};
      common::logger("plan")->info("{}", line);
      if (print_) post([this, line] { print_(line); });
    };
    plan_outcome out;
    try {
      out = executor_->execute(j->plan, j->request, j->approval, ev);
    } catch (const std::exception& e) {
      // The journal could not be written: stop rather than act unrecorded.
      out.result = plan_result::failed;
      out.detail = std::string("plan journal error, stopped: ") + e.what();
      common::logger("plan")->error("{}", out.detail);
    }
    if (out.result == plan_result::stopped) {
      if (executor_->stopping()) return;  // shutting down: the plan resumes on the next start
      // Leadership lost mid-plan: the plan stays begun; the leader resumes it.
      post([this, id, out] {
        if (id != recommendation_id_) return;
        running_ = false;
        result_ = "stopped";
        detail_ = out.detail;
      });
      continue;
    }
    post([this, id, out] {
      if (id != recommendation_id_) return;
      running_ = false;
      resumed_ = out.resumed;
      result_ = std::string(to_string(out.result));
      detail_ = out.detail;
      rto_ = out.rto;
      if (out.result == plan_result::refused) {
        for (auto& p : progress_)
          p.status = "skipped";
        if (print_) print_("plan refused: " + out.detail);
      }
      succeeded_ = out.ok();
      finished_ = true;
      if (paused_gauge_) paused_gauge_->Set(0);
      if (engine_) engine_->plan_finished(id, out.ok(), out.detail, dry_run_);
    });
  }
}

json plan_runner::engine_status_from_worker() {
  auto done = std::make_shared<std::promise<json>>();
  auto f = done->get_future();
  post([this, done] { done->set_value(engine_ ? engine_->status_json() : json(nullptr)); });
  if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) return nullptr;
  return f.get();
}

json plan_runner::status() const {
  if (recommendation_id_.empty()) return nullptr;
  json steps = json::array();
  for (const auto& p : progress_) {
    steps.push_back({{"name", p.name}, {"kind", p.kind}, {"status", p.status}, {"detail", p.detail}});
  }
  return {{"recommendation_id", recommendation_id_},
          {"hash", hash_},
          {"action", action_},
          {"dry_run", dry_run_},
          {"state", running_     ? "executing"
                    : succeeded_ ? (dry_run_ ? "dry_run_complete" : "done")
                                 : (result_ == "stopped" ? "stopped" : "failed")},
          {"result", running_ ? "" : result_},
          {"detail", detail_},
          {"resumed", resumed_},
          {"paused", running_ && control_.paused(recommendation_id_).has_value()},
          {"aborting", running_ && control_.aborted(recommendation_id_).has_value()},
          {"actuation_brake", control_.brake()},
          {"journal", journal_->path().string()},
          {"steps", steps},
          {"rto", rto_}};
}

}  // namespace vigil::actuators
