#include "actuators/plan_executor.hpp"

#include <cmath>
#include <cstdio>

#include "common/log.hpp"
#include "common/waiter.hpp"

namespace vigil::actuators {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

// Step durations: a routing control flips in ~1 s, an Aurora promotion takes
// about a minute, an ECS service can need 10 minutes to come up.
const prometheus::Histogram::BucketBoundaries& step_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800};
  return buckets;
}

constexpr std::array<std::string_view, 3> run_results{"done", "failed", "aborted"};
constexpr std::array<std::string_view, 5> step_results{"done", "already_done", "failed", "unexpected_state", "dry_run"};

double seconds_between(common::mono_time a, common::mono_time b) {
  return static_cast<double>(std::chrono::duration_cast<milliseconds>(b - a).count()) / 1000.0;
}

std::optional<std::int64_t> ms_of(const std::optional<common::wall_time>& t) {
  if (!t) return std::nullopt;
  return t->time_since_epoch().count();
}

json mark_json(const std::optional<common::wall_time>& t) {
  return t ? json(common::format_rfc3339(*t)) : json(nullptr);
}

std::optional<common::wall_time> mark_from(const json& timeline, const char* key) {
  const auto it = timeline.find(std::string(key) + "_ms");
  if (it == timeline.end() || !it->is_number_integer()) return std::nullopt;
  return common::wall_time{milliseconds{it->get<std::int64_t>()}};
}

std::string fmt_s(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}

}  // namespace

std::string_view to_string(plan_result r) {
  switch (r) {
    case plan_result::done:
      return "done";
    case plan_result::failed:
      return "failed";
    case plan_result::aborted:
      return "aborted";
    case plan_result::refused:
      return "refused";
    case plan_result::stopped:
      return "stopped";
  }
  return "failed";
}

// --- metrics -------------------------------------------------------------------

plan_metrics::plan_metrics(prometheus::Registry& registry, const common::config* cfg)
    : runs_(prometheus::BuildCounter()
                .Name("vigil_plan_runs_total")
                .Help("Plan executions by action and result (done, failed, aborted)")
                .Register(registry)),
      steps_(prometheus::BuildHistogram()
                 .Name("vigil_plan_step_duration_seconds")
                 .Help("Duration of each plan step (all its attempts) by step name and result")
                 .Register(registry)) {
  for (const char* action : {"failover", "failback"}) {
    for (const auto r : run_results)
      runs_.Add({{"action", action}, {"result", std::string(r)}});
  }
  if (cfg == nullptr) return;
  for (const auto* plan : {&cfg->failover, &cfg->failback}) {
    for (const auto& s : plan->steps) {
      for (const auto r : step_results)
        steps_.Add({{"step", s.name}, {"result", std::string(r)}}, step_buckets());
    }
  }
}

void plan_metrics::run(const std::string& action, const std::string& result) {
  std::lock_guard lock(mu_);
  runs_.Add({{"action", action}, {"result", result}}).Increment();
}

void plan_metrics::step(const std::string& step, const std::string& result, double seconds) {
  std::lock_guard lock(mu_);
  steps_.Add({{"step", step}, {"result", result}}, step_buckets()).Observe(seconds);
}

// --- executor ------------------------------------------------------------------

struct plan_executor::step_record {
  std::string outcome;  ///< done | already_done | failed | unexpected_state | dry_run | stopped
  std::string detail;
  double duration_s = 0;
};

plan_executor::plan_executor(plan_journal& journal, step_factory factory, const common::clock& clock,
                             common::waiter& wait, plan_metrics* metrics, executor_options options)
    : journal_(journal),
      factory_(std::move(factory)),
      clock_(clock),
      wait_(wait),
      metrics_(metrics),
      options_(options) {}

void plan_executor::stop() {
  stop_ = true;
  wait_.notify();
}

bool plan_executor::sleep(milliseconds d) {
  if (stop_) return false;
  if (d.count() > 0) wait_.wait_for(d);
  return !stop_;
}

bool plan_executor::aborting(const plan_context& ctx) const {
  return control_ != nullptr && control_->aborted(ctx.recommendation_id).has_value();
}

std::string plan_executor::hold_before(const plan_context& ctx, std::size_t index, const std::string& step,
                                       const executor_events& ev) {
  std::string noted;
  for (;;) {
    if (aborting(ctx)) return "aborted";
    std::string why;
    if (const auto p = control_->paused(ctx.recommendation_id)) {
      why = "paused by " + *p;
    } else if (control_->brake()) {
      why = "actuation brake on (" + control_->brake_detail() + ")";
    }
    if (why.empty()) {
      if (!noted.empty()) {
        journal_.note(clock_.wall(), ctx.recommendation_hash, {{"event", "continued"}, {"step", step}});
        if (ev.print) ev.print("  " + step + ": continuing");
      }
      return {};
    }
    if (why != noted) {
      journal_.note(clock_.wall(), ctx.recommendation_hash,
                    {{"event", "held"}, {"step", step}, {"index", index}, {"detail", why}});
      if (ev.on_step) ev.on_step(index, step, "held", "waiting before this step: " + why);
      if (ev.print) ev.print(std::string("  ").append(step).append(": held before it runs: ").append(why));
      noted = why;
    }
    if (!sleep(milliseconds(250))) return "stopped";
  }
}

plan_request plan_executor::request_from(const journal_plan& p) {
  const json& b = p.begin;
  plan_request r;
  r.ctx.recommendation_id = b.value("recommendation_id", std::string{});
  r.ctx.recommendation_hash = b.value("hash", std::string{});
  r.ctx.action = b.value("action", std::string{});
  r.ctx.from = b.value("from", std::string{});
  r.ctx.to = b.value("to", std::string{});
  r.ctx.allow_data_loss = b.value("allow_data_loss", false);
  r.ctx.approvers = b.value("approvers", std::vector<std::string>{});
  r.ctx.planned = b.value("planned", false);
  const json tl = b.value("timeline", json::object());
  r.marks.first_evidence = mark_from(tl, "first_evidence");
  r.marks.classified = mark_from(tl, "classified");
  r.marks.paged = mark_from(tl, "paged");
  r.marks.approved = mark_from(tl, "approved");
  return r;
}

approval_ref plan_executor::approval_from(const journal_plan& p) {
  return {p.hash(), p.begin.value("approvers", std::vector<std::string>{})};
}

namespace {

/// Why a plan must not start at all (nothing is journaled then), or nullopt.
std::optional<std::string> refusal(const common::plan_config& plan, const plan_context& ctx,
                                   const std::optional<approval_ref>& approval) {
  if (!approval) return "refused: no approval - a plan runs only for an accepted approval of its recommendation";
  if (ctx.recommendation_hash.empty() || approval->recommendation_hash != ctx.recommendation_hash) {
    return "refused: the approval is bound to hash " + approval->recommendation_hash +
           ", not to the recommendation to execute (" + ctx.recommendation_hash + ")";
  }
  if (plan.steps.empty()) return "refused: plan." + ctx.action + " has no steps";
  return std::nullopt;
}

/// The journal's begin record: what runs, for whom, and the RTO marks so far.
json begin_record(const common::plan_config& plan, const plan_request& req, const approval_ref& approval, bool dry_run,
                  common::wall_time started) {
  const plan_context& ctx = req.ctx;
  json names = json::array();
  for (const auto& s : plan.steps)
    names.push_back(s.name);
  json timeline = json::object();
  const std::pair<const char*, const std::optional<common::wall_time>*> marks[] = {
      {"first_evidence", &req.marks.first_evidence},
      {"classified", &req.marks.classified},
      {"paged", &req.marks.paged},
      {"approved", &req.marks.approved}};
  for (const auto& [k, v] : marks) {
    if (const auto ms = ms_of(*v)) {
      timeline[std::string(k) + "_ms"] = *ms;
      timeline[k] = mark_json(*v);
    }
  }
  return {{"at_ms", started.time_since_epoch().count()},
          {"recommendation_id", ctx.recommendation_id},
          {"action", ctx.action},
          {"from", ctx.from},
          {"to", ctx.to},
          {"approvers", approval.approvers},
          {"allow_data_loss", ctx.allow_data_loss},
          {"planned", ctx.planned},
          {"dry_run", dry_run},
          {"steps", names},
          {"timeline", timeline}};
}

/// The one-line result a finished plan reports.
std::string outcome_detail(plan_result result, bool dry_run, const json& rto, const std::string& first_problem) {
  if (result == plan_result::done) {
    return dry_run ? "dry run: every step described, nothing changed"
                   : "every step done; total " + fmt_s(rto["plan_s"].get<double>());
  }
  if (result == plan_result::aborted) return "aborted: " + first_problem + " - take over by hand (docs/runbook.md)";
  return "finished with failures: " + first_problem;
}

/// What an operator's abort left done and undone, from the steps so far.
std::string operator_abort(const std::string& who, const json& steps) {
  std::string done;
  std::string undone;
  for (const auto& s : steps) {
    const std::string o = s.value("outcome", std::string{});
    std::string& list = (o == "done" || o == "already_done" || o == "dry_run") ? done : undone;
    list += (list.empty() ? "" : ", ") + s.value("name", std::string{}) + (o == "cancelled" ? " (cancelled)" : "");
  }
  return "aborted by " + who + "; done: " + (done.empty() ? "none" : done) +
         "; not done: " + (undone.empty() ? "none" : undone) + " (and every later step)";
}

}  // namespace

plan_outcome plan_executor::execute(const common::plan_config& plan, const plan_request& req,
                                    const std::optional<approval_ref>& approval, const executor_events& ev) {
  const auto print = [&](const std::string& line) {
    if (ev.print) ev.print(line);
  };
  const plan_context& ctx = req.ctx;
  plan_outcome out;
  if (auto why = refusal(plan, ctx, approval)) {
    out.detail = std::move(*why);
    return out;
  }
  const auto existing = journal_.find(ctx.recommendation_hash);
  if (existing && existing->ended()) {
    const json& e = *existing->end;
    out.already_ended = true;
    const std::string r = e.value("result", std::string{"failed"});
    out.result = r == "done" ? plan_result::done : (r == "aborted" ? plan_result::aborted : plan_result::failed);
    out.detail = "already executed (journal " + e.value("at", std::string{}) + "): " + e.value("detail", std::string{});
    out.rto = e.value("rto", json(nullptr));
    return out;
  }
  const bool dry_run = existing ? existing->begin.value("dry_run", plan.dry_run) : plan.dry_run;
  const auto started_wall = clock_.wall();
  common::wall_time begun_at = started_wall;
  if (existing) {
    out.resumed = true;
    // The journaled begin time: the RTO spans the restart.
    const auto t = existing->begin.value("at_ms", std::int64_t{0});
    if (t > 0) begun_at = common::wall_time{milliseconds{t}};
    print("resuming plan " + ctx.recommendation_id + " (" + ctx.action + ") from the journal");
  } else {
    journal_.begin(started_wall, ctx.recommendation_hash, begin_record(plan, req, *approval, dry_run, started_wall));
    print(std::string(dry_run ? "dry run of " : "executing ") + "plan " + ctx.recommendation_id + " (" + ctx.action +
          " " + ctx.from + " -> " + ctx.to + (ctx.planned ? ", planned" : ", unplanned") +
          (ctx.allow_data_loss ? ", data loss allowed" : "") + ")");
  }

  plan_result result = plan_result::done;
  std::string first_problem;
  json steps = json::array();
  std::size_t i = 0;
  for (; i < plan.steps.size(); ++i) {
    const auto& step = plan.steps[i];
    const journal_step* before = existing ? existing->step(step.name) : nullptr;
    step_record rec;
    if (before != nullptr && before->outcome) {
      rec = {*before->outcome, before->detail, before->duration_s};
      print("  " + step.name + ": " + rec.outcome + " before the restart (journal): " + rec.detail);
      if (ev.on_step) ev.on_step(i, step.name, rec.outcome, rec.detail);
    } else {
      const std::string hold = control_ != nullptr ? hold_before(ctx, i, step.name, ev) : std::string{};
      if (hold == "stopped") {
        out.result = plan_result::stopped;
        out.detail = "stopped while held before step " + step.name + "; the plan resumes there on the next start";
        return out;
      }
      rec = hold.empty() ? run_step(step, i, req, dry_run, before, ev)
                         : step_record{"skipped", "not run: the plan was aborted before it", 0};
      if (!hold.empty() && ev.on_step) ev.on_step(i, step.name, "skipped", rec.detail);
    }
    if (rec.outcome == "skipped" || rec.outcome == "cancelled") {
      steps.push_back({{"name", step.name},
                       {"kind", step.kind},
                       {"outcome", rec.outcome},
                       {"duration_s", rec.duration_s},
                       {"detail", rec.detail}});
      result = plan_result::aborted;
      first_problem = operator_abort(*control_->aborted(ctx.recommendation_id), steps);
      break;
    }
    if (rec.outcome == "stopped") {
      out.result = plan_result::stopped;
      out.detail = "stopped during step " + step.name + "; the plan resumes there on the next start";
      return out;
    }
    steps.push_back({{"name", step.name},
                     {"kind", step.kind},
                     {"outcome", rec.outcome},
                     {"duration_s", rec.duration_s},
                     {"detail", rec.detail}});
    if (rec.outcome == "unexpected_state") {
      result = plan_result::aborted;
      first_problem = "step " + step.name + " found an unexpected state: " + rec.detail;
      break;
    }
    if (rec.outcome == "failed") {
      if (first_problem.empty()) first_problem = "step " + step.name + " failed: " + rec.detail;
      if (step.failure == common::on_failure::abort) {
        result = plan_result::aborted;
        break;
      }
      result = plan_result::failed;
    }
  }
  for (std::size_t k = i + 1; k < plan.steps.size(); ++k) {
    if (ev.on_step) ev.on_step(k, plan.steps[k].name, "skipped", "not run: the plan aborted");
    steps.push_back({{"name", plan.steps[k].name},
                     {"kind", plan.steps[k].kind},
                     {"outcome", "skipped"},
                     {"duration_s", 0},
                     {"detail", "not run: the plan aborted"}});
  }
  const auto finished = clock_.wall();
  out.result = result;
  out.rto = rto_report(req.marks, begun_at, finished, steps);
  out.rto["dry_run"] = dry_run;
  out.detail = outcome_detail(result, dry_run, out.rto, first_problem);
  journal_.end(finished, ctx.recommendation_hash, out.ok(), std::string(to_string(result)), out.detail, out.rto);
  if (metrics_ && !dry_run) metrics_->run(ctx.action, std::string(to_string(result)));
  print("plan " + std::string(to_string(result)) + ": " + out.detail);
  for (const auto& l : rto_lines(out.rto))
    print("  " + l);
  return out;
}

plan_executor::step_record plan_executor::run_step(const common::plan_step_config& step, std::size_t index,
                                                   const plan_request& req, bool dry_run, const journal_step* before,
                                                   const executor_events& ev) {
  const auto print = [&](const std::string& line) {
    if (ev.print) ev.print(line);
  };
  const plan_context& ctx = req.ctx;
  const std::string& hash = ctx.recommendation_hash;
  const planned_step described = describe_step(step, ctx);
  const bool resumed = before != nullptr && before->intent_open;
  const int first_attempt = (before != nullptr ? before->attempts : 0) + 1;
  const auto step_start = clock_.monotonic();
  auto finish = [&](std::string outcome, std::string detail, int attempt) {
    const double took = seconds_between(step_start, clock_.monotonic());
    journal_.result(clock_.wall(), hash, step.name, index, attempt, outcome, detail, took, true);
    if (metrics_ && !dry_run) metrics_->step(step.name, outcome, took);
    if (ev.on_step) ev.on_step(index, step.name, outcome, detail);
    print("  " + step.name + ": " + outcome + (detail.empty() ? "" : ": " + detail));
    return step_record{std::move(outcome), std::move(detail), took};
  };
  auto guarded = [&](const std::function<step_outcome()>& f) {
    try {
      return f();
    } catch (const std::exception& e) {
      return step_outcome::failed(std::string("internal error: ") + e.what());
    }
  };

  if (ev.on_step) ev.on_step(index, step.name, "running", described.summary);
  if (dry_run) {
    std::string line = "  [dry-run] " + step.name + " (" + step.kind + "): " + described.summary;
    for (const auto& c : described.prechecks)
      line += "\n      pre-check " + c.service + ":" + c.operation + " " + c.params.dump();
    for (const auto& c : described.calls) {
      line += "\n      would call " + c.service + ":" + c.operation + " " + c.params.dump() +
              (c.mutating ? "  (mutating: not sent)" : "");
    }
    print(line);
    std::string detail = described.summary;
    if (options_.dry_run_prechecks && !described.prechecks.empty()) {
      auto runner = factory_(step);
      const step_context sc{
          ctx,           step,  clock_, clock_.monotonic() + step.timeout, [this](milliseconds d) { return sleep(d); },
          first_attempt, false, {}};
      const step_outcome pc = guarded([&] { return runner->precheck(sc); });
      const std::string said = pc.kind == outcome_kind::done ? "would proceed" : std::string(to_string(pc.kind));
      detail += "; pre-check: " + said + (pc.detail.empty() ? "" : " (" + pc.detail + ")");
      print("      pre-check result: " + said + (pc.detail.empty() ? "" : ": " + pc.detail));
    }
    json calls = json::array();
    for (const auto& c : described.calls)
      calls.push_back(
          {{"service", c.service}, {"operation", c.operation}, {"params", c.params}, {"mutating", c.mutating}});
    journal_.result(clock_.wall(), hash, step.name, index, first_attempt, "dry_run", detail, 0.0, true);
    if (ev.on_step) ev.on_step(index, step.name, "dry_run", detail);
    if (options_.dry_run_pause.count() > 0 && !sleep(options_.dry_run_pause)) return {"stopped", "", 0};
    return {"dry_run", detail, 0};
  }

  std::unique_ptr<step_runner> runner;
  try {
    runner = factory_(step);
  } catch (const std::exception& e) {
    return finish("failed", std::string("cannot build the step: ") + e.what(), first_attempt);
  }
  json calls = json::array();
  for (const auto& c : described.calls) {
    if (c.mutating) calls.push_back({{"service", c.service}, {"operation", c.operation}, {"params", c.params}});
  }
  if (resumed && before->pgid) {
    // The dead run's process group may still be running the step: it goes
    // before the step runs again, so the two never run side by side.
    const std::string what =
        kill_orphan_group(*before->pgid, before->boot_id, ctx.recommendation_hash + "/" + step.name);
    journal_.process_kill(clock_.wall(), hash, step.name, index, *before->pgid, what);
    print("  " + step.name + ": " + what);
  }
  const int attempts = std::max(1, step.retries + 1);
  for (int a = 0; a < attempts; ++a) {
    const int attempt = first_attempt + a;
    const step_context sc{ctx,
                          step,
                          clock_,
                          clock_.monotonic() + step.timeout,
                          [this, &ctx](milliseconds d) { return sleep(d) && !aborting(ctx); },
                          attempt,
                          resumed && a == 0,
                          [this, &hash, &step, index, attempt](int pgid) {
                            journal_.process(clock_.wall(), hash, step.name, index, attempt, pgid, boot_id());
                          }};
    if (resumed && a == 0) {
      print("  " + step.name + ": its call may have been in flight at the crash; re-checking before anything else");
    }
    step_outcome o = guarded([&] { return runner->precheck(sc); });
    if (o.kind == outcome_kind::done) {
      if (may_act_ && !may_act_(ctx, index, step.name, attempt)) {
        print("  " + step.name + ": not run: this replica may not act (not the leader); the leader resumes here");
        return {"stopped", "not the leader", 0};
      }
      journal_.intent(clock_.wall(), hash, step.name, index, attempt, calls);
      o = guarded([&] { return runner->run(sc); });
      if (o.kind == outcome_kind::failed && stop_) return {"stopped", o.detail, 0};
      if (aborting(ctx) && !o.ok())
        return finish("cancelled", "cancelled by the operator's abort: " + o.detail, attempt);
    } else if (o.kind == outcome_kind::failed) {
      o.detail = "pre-check: " + o.detail;
    }
    if (o.ok() || o.kind == outcome_kind::unexpected_state || a + 1 == attempts) {
      return finish(std::string(to_string(o.kind)), o.detail, attempt);
    }
    journal_.result(clock_.wall(), hash, step.name, index, attempt, "failed", o.detail,
                    seconds_between(step_start, clock_.monotonic()), false);
    const milliseconds backoff =
        std::min<milliseconds>(options_.backoff_max, options_.backoff_initial * (std::int64_t{1} << std::min(a, 20)));
    if (ev.on_step) ev.on_step(index, step.name, "retrying", o.detail);
    print("  " + step.name + ": attempt " + std::to_string(attempt) + " failed (" + o.detail + "); retrying in " +
          std::to_string(backoff.count()) + " ms");
    if (!sleep(backoff) || aborting(ctx)) {
      if (aborting(ctx)) return finish("cancelled", "not retried: the operator aborted the plan: " + o.detail, attempt);
      return {"stopped", o.detail, 0};
    }
  }
  return finish("failed", "no attempt made", first_attempt);
}

// --- RTO report ----------------------------------------------------------------

json rto_report(const rto_marks& marks, common::wall_time plan_started, common::wall_time plan_finished,
                const json& steps) {
  const auto diff = [](const std::optional<common::wall_time>& a, const std::optional<common::wall_time>& b) -> json {
    if (!a || !b) return nullptr;
    return static_cast<double>((*b - *a).count()) / 1000.0;
  };
  const std::optional<common::wall_time> start = plan_started;
  const std::optional<common::wall_time> end = plan_finished;
  // The total runs from the earliest mark known: normally the first evidence.
  std::optional<common::wall_time> origin;
  for (const auto* m : {&marks.first_evidence, &marks.classified, &marks.paged, &marks.approved, &start}) {
    if (*m && (!origin || **m < *origin)) origin = *m;
  }
  json step_list = json::array();
  for (const auto& s : steps) {
    step_list.push_back({{"name", s.value("name", std::string{})},
                         {"outcome", s.value("outcome", std::string{})},
                         {"duration_s", s.value("duration_s", 0.0)}});
  }
  return {{"first_evidence", mark_json(marks.first_evidence)},
          {"classified", mark_json(marks.classified)},
          {"paged", mark_json(marks.paged)},
          {"approved", mark_json(marks.approved)},
          {"plan_started", mark_json(start)},
          {"plan_finished", mark_json(end)},
          {"detection_s", diff(marks.first_evidence, marks.classified)},
          {"classification_to_page_s", diff(marks.classified, marks.paged)},
          {"page_to_approval_s", diff(marks.paged, marks.approved)},
          {"approval_to_start_s", diff(marks.approved, start)},
          {"plan_s", diff(start, end)},
          {"total_s", diff(origin, end)},
          {"steps", step_list}};
}

std::vector<std::string> rto_lines(const json& rto) {
  std::vector<std::string> out;
  if (!rto.is_object()) return out;
  const auto val = [&](const char* k) {
    const auto it = rto.find(k);
    return it != rto.end() && it->is_number() ? fmt_s(it->get<double>()) : std::string("unknown");
  };
  out.emplace_back("RTO report:");
  out.push_back("  first evidence -> classification  " + val("detection_s"));
  out.push_back("  classification -> page           " + val("classification_to_page_s"));
  out.push_back("  page -> approval                 " + val("page_to_approval_s"));
  out.push_back("  approval -> plan start           " + val("approval_to_start_s"));
  for (const auto& s : rto.value("steps", json::array())) {
    std::string name = "  step " + s.value("name", std::string{});
    name.resize(std::max<std::size_t>(name.size() + 1, 35), ' ');
    out.push_back(name + fmt_s(s.value("duration_s", 0.0)) + "  " + s.value("outcome", std::string{}));
  }
  out.push_back("  plan                             " + val("plan_s"));
  out.push_back("  total (first evidence -> end)    " + val("total_s"));
  return out;
}

}  // namespace vigil::actuators
