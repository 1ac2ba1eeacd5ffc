// The plan executor with scripted steps (no network): journal write-ahead
// order, refusals, retries, on_failure, unexpected state, dry run, resume
// after a crash, one execution per approval, metrics and the RTO report.

#include "actuators/plan_executor.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "common/metrics.hpp"
#include "common/waiter.hpp"
#include "tests/support/aws_test_support.hpp"

namespace vigil::actuators {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

/// Advances the manual clock instead of sleeping.
class clock_waiter final : public common::waiter {
 public:
  explicit clock_waiter(common::manual_clock& c) : c_(c) {}
  void wait_for(std::chrono::milliseconds d) override {
    c_.advance(d);
    waited += d;
    ++waits;
    if (on_wait) on_wait(waits);
  }
  void notify() override {}
  std::chrono::milliseconds waited{0};
  int waits = 0;
  std::function<void(int)> on_wait;  ///< called after each wait with their count

 private:
  common::manual_clock& c_;
};

/// What each scripted step does, and what was called.
struct script {
  std::map<std::string, std::vector<step_outcome>> prechecks;  // consumed in order; default done
  std::map<std::string, std::vector<step_outcome>> runs;       // consumed in order; default done
  std::vector<std::string> calls;                              // "precheck:<name>" / "run:<name>"
  std::vector<bool> resumed;                                   // step_context.resumed per precheck
  plan_journal* journal = nullptr;
  std::vector<bool> intent_before_run;  // for each run: the journal had an open intent for it
};

class scripted_step final : public step_runner {
 public:
  scripted_step(script& s, std::string name, common::manual_clock& clock)
      : s_(s), name_(std::move(name)), clock_(clock) {}
  step_outcome precheck(const step_context& c) override {
    s_.calls.push_back("precheck:" + name_);
    s_.resumed.push_back(c.resumed);
    return next(s_.prechecks[name_]);
  }
  step_outcome run(const step_context& c) override {
    s_.calls.push_back("run:" + name_);
    if (s_.journal != nullptr) {
      const auto p = s_.journal->find(c.plan.recommendation_hash);
      const auto* st = p ? p->step(name_) : nullptr;
      s_.intent_before_run.push_back(st != nullptr && st->intent_open);
    }
    clock_.advance(1500ms);  // the call takes 1.5 s
    return next(s_.runs[name_]);
  }

 private:
  static step_outcome next(std::vector<step_outcome>& v) {
    if (v.empty()) return step_outcome::done();
    auto o = v.front();
    v.erase(v.begin());
    return o;
  }
  script& s_;
  std::string name_;
  common::manual_clock& clock_;
};

common::plan_config plan_of(int n, bool dry_run = false) {
  common::plan_config p;
  p.dry_run = dry_run;
  for (int i = 1; i <= n; ++i) {
    common::plan_step_config s;
    s.name = "s" + std::to_string(i);
    s.kind = "exec";
    s.params = {{"command", {"/bin/true"}}};
    s.retries = 0;
    s.timeout = 10s;
    p.steps.push_back(s);
  }
  return p;
}

plan_request request(const std::string& hash = "h1") {
  plan_request r;
  r.ctx = {"failover-us-east-1-r1", hash, "failover", "us-east-1", "us-west-2", false, {"alice"}};
  const common::wall_time t0{std::chrono::milliseconds{1'795'000'000'000}};
  r.marks.first_evidence = t0 - 60s;
  r.marks.classified = t0 - 50s;
  r.marks.paged = t0 - 49s;
  r.marks.approved = t0 - 10s;
  return r;
}

struct rig {
  test_support::temp_dir dir{"plan-exec"};
  common::manual_clock clock;
  clock_waiter wait{clock};
  script sc;
  prometheus::Registry registry;
  plan_metrics metrics{registry};
  std::unique_ptr<plan_journal> journal = std::make_unique<plan_journal>(dir.path() / "plan.jsonl");
  std::unique_ptr<plan_executor> exec;

  rig() { reopen(); }
  void reopen() {
    exec.reset();
    journal.reset();
    journal = std::make_unique<plan_journal>(dir.path() / "plan.jsonl");
    sc.journal = journal.get();
    exec = std::make_unique<plan_executor>(
        *journal,
        [this](const common::plan_step_config& s) { return std::make_unique<scripted_step>(sc, s.name, clock); }, clock,
        wait, &metrics, executor_options{false, 0ms, 1000ms, 30000ms});
  }
  plan_outcome run(const common::plan_config& p, const plan_request& r = request(),
                   std::vector<std::string>* steps = nullptr) {
    executor_events ev;
    ev.on_step = [steps](std::size_t, const std::string& name, const std::string& status, const std::string&) {
      if (steps) steps->push_back(name + ":" + status);
    };
    return exec->execute(p, r, approval_ref{r.ctx.recommendation_hash, r.ctx.approvers}, ev);
  }
  std::vector<json> lines() {
    std::vector<json> out;
    std::ifstream f(dir.path() / "plan.jsonl");
    for (std::string l; std::getline(f, l);)
      out.push_back(json::parse(l));
    return out;
  }
  double metric(const std::string& name, const std::map<std::string, std::string>& labels) {
    for (const auto& fam : registry.Collect()) {
      if (fam.name != name) continue;
      for (const auto& m : fam.metric) {
        bool match = true;
        for (const auto& [k, v] : labels) {
          bool found = false;
          for (const auto& l : m.label)
            found = found || (l.name == k && l.value == v);
          match = match && found;
        }
        if (!match) continue;
        if (fam.type == prometheus::MetricType::Histogram) return static_cast<double>(m.histogram.sample_count);
        return m.counter.value;
      }
    }
    return 0;
  }
};

TEST(plan_executor, runs_every_step_with_intent_journaled_before_each_call) {
  rig r;
  std::vector<std::string> steps;
  const auto out = r.run(plan_of(3), request(), &steps);
  ASSERT_TRUE(out.ok()) << out.detail;
  EXPECT_EQ(r.sc.calls,
            (std::vector<std::string>{"precheck:s1", "run:s1", "precheck:s2", "run:s2", "precheck:s3", "run:s3"}));
  EXPECT_EQ(r.sc.intent_before_run, (std::vector<bool>{true, true, true}));
  const auto lines = r.lines();
  ASSERT_EQ(lines.size(), 8u);  // begin, 3 x (intent, result), end
  EXPECT_EQ(lines[0]["type"], "plan_begin");
  EXPECT_EQ(lines[0]["approvers"], json::array({"alice"}));
  EXPECT_EQ(lines[1]["type"], "intent");
  EXPECT_EQ(lines[1]["step"], "s1");
  EXPECT_EQ(lines[2]["type"], "result");
  EXPECT_EQ(lines[2]["outcome"], "done");
  EXPECT_EQ(lines[7]["type"], "plan_end");
  EXPECT_EQ(lines[7]["result"], "done");
  // RTO: 60 s before the plan began evidence came in; each step took 1.5 s.
  EXPECT_DOUBLE_EQ(out.rto["detection_s"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(out.rto["page_to_approval_s"].get<double>(), 39.0);
  EXPECT_DOUBLE_EQ(out.rto["plan_s"].get<double>(), 4.5);
  EXPECT_DOUBLE_EQ(out.rto["total_s"].get<double>(), 64.5);
  EXPECT_EQ(out.rto["steps"].size(), 3u);
  EXPECT_EQ(r.metric("vigil_plan_runs_total", {{"action", "failover"}, {"result", "done"}}), 1.0);
  EXPECT_EQ(r.metric("vigil_plan_step_duration_seconds", {{"step", "s2"}, {"result", "done"}}), 1.0);
  EXPECT_FALSE(rto_lines(out.rto).empty());
}

TEST(plan_executor, refuses_without_an_approval_or_for_another_hash) {
  rig r;
  const auto req = request("h1");
  auto none = r.exec->execute(plan_of(2), req, std::nullopt);
  EXPECT_EQ(none.result, plan_result::refused);
  EXPECT_NE(none.detail.find("no approval"), std::string::npos);
  auto other = r.exec->execute(plan_of(2), req, approval_ref{"h-other", {"alice"}});
  EXPECT_EQ(other.result, plan_result::refused);
  EXPECT_NE(other.detail.find("h-other"), std::string::npos);
  EXPECT_TRUE(r.sc.calls.empty());
  EXPECT_TRUE(r.lines().empty());  // nothing journaled: nothing was begun
}

TEST(plan_executor, unexpected_state_aborts_even_with_on_failure_continue) {
  rig r;
  auto p = plan_of(3);
  p.steps[1].failure = common::on_failure::continue_;
  p.steps[1].retries = 3;
  r.sc.prechecks["s2"] = {step_outcome::unexpected("writer is shop-eu in eu-west-1")};
  std::vector<std::string> steps;
  const auto out = r.run(p, request(), &steps);
  EXPECT_EQ(out.result, plan_result::aborted);
  EXPECT_NE(out.detail.find("writer is shop-eu"), std::string::npos);
  EXPECT_NE(out.detail.find("take over by hand"), std::string::npos);
  EXPECT_EQ(r.sc.calls, (std::vector<std::string>{"precheck:s1", "run:s1", "precheck:s2"}));
  EXPECT_EQ(steps.back(), "s3:skipped");
  EXPECT_EQ(r.metric("vigil_plan_runs_total", {{"action", "failover"}, {"result", "aborted"}}), 1.0);
}

TEST(plan_executor, retries_with_backoff_then_succeeds) {
  rig r;
  auto p = plan_of(1);
  p.steps[0].retries = 2;
  r.sc.runs["s1"] = {step_outcome::failed("Throttling"), step_outcome::failed("503")};
  const auto out = r.run(p);
  ASSERT_TRUE(out.ok()) << out.detail;
  EXPECT_EQ(r.sc.calls.size(), 6u);  // each attempt re-checks first
  EXPECT_EQ(r.wait.waited, 3000ms);  // 1 s then 2 s
  int intents = 0;
  int non_final = 0;
  for (const auto& l : r.lines()) {
    intents += l["type"] == "intent" ? 1 : 0;
    non_final += l["type"] == "result" && !l["final"].get<bool>() ? 1 : 0;
  }
  EXPECT_EQ(intents, 3);
  EXPECT_EQ(non_final, 2);
}

TEST(plan_executor, on_failure_continue_goes_on_and_the_plan_ends_failed) {
  rig r;
  auto p = plan_of(3);
  p.steps[0].failure = common::on_failure::continue_;
  r.sc.runs["s1"] = {step_outcome::failed("exit 3")};
  const auto out = r.run(p);
  EXPECT_EQ(out.result, plan_result::failed);
  EXPECT_EQ(r.sc.calls.size(), 6u);
  // abort (the default) stops at the failing step
  rig r2;
  r2.sc.runs["s2"] = {step_outcome::failed("exit 1")};
  EXPECT_EQ(r2.run(plan_of(3)).result, plan_result::aborted);
  EXPECT_EQ(r2.sc.calls.size(), 4u);
}

TEST(plan_executor, already_done_precheck_skips_the_call) {
  rig r;
  r.sc.prechecks["s1"] = {step_outcome::already_done("routing control already Off")};
  const auto out = r.run(plan_of(2));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(r.sc.calls, (std::vector<std::string>{"precheck:s1", "precheck:s2", "run:s2"}));
  EXPECT_EQ(out.rto["steps"][0]["outcome"], "already_done");
}

TEST(plan_executor, dry_run_calls_nothing_and_journals_every_step) {
  rig r;
  std::vector<std::string> printed;
  executor_events ev;
  ev.print = [&](const std::string& l) { printed.push_back(l); };
  const auto req = request();
  const auto out = r.exec->execute(plan_of(3, true), req, approval_ref{"h1", {"alice"}}, ev);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(r.sc.calls.empty());
  int dry = 0;
  for (const auto& l : r.lines())
    dry += l["type"] == "result" && l["outcome"] == "dry_run" ? 1 : 0;
  EXPECT_EQ(dry, 3);
  bool described = false;
  for (const auto& l : printed)
    described = described || l.find("would call exec:run") != std::string::npos;
  EXPECT_TRUE(described);
  EXPECT_EQ(r.metric("vigil_plan_runs_total", {{"action", "failover"}, {"result", "done"}}), 0.0);
}

TEST(plan_executor, resumes_after_a_crash_at_the_first_step_without_a_result) {
  rig r;
  // What a crash leaves: s1 and s2 done, s3's intent journaled, no result.
  const auto req = request();
  r.journal->begin(r.clock.wall(), "h1",
                   {{"at_ms", r.clock.wall().time_since_epoch().count()},
                    {"recommendation_id", req.ctx.recommendation_id},
                    {"action", "failover"},
                    {"from", "us-east-1"},
                    {"to", "us-west-2"},
                    {"approvers", {"alice"}},
                    {"allow_data_loss", false},
                    {"dry_run", false},
                    {"steps", {"s1", "s2", "s3", "s4"}},
                    {"timeline", json::object()}});
  for (const char* s : {"s1", "s2"}) {
    r.journal->intent(r.clock.wall(), "h1", s, 0, 1, json::array());
    r.journal->result(r.clock.wall(), "h1", s, 0, 1, "done", "ok", 1.0, true);
  }
  r.journal->intent(r.clock.wall(), "h1", "s3", 2, 1, json::array());
  r.reopen();  // the restart
  const auto pending = r.journal->plans();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_FALSE(pending[0].ended());
  EXPECT_TRUE(pending[0].step("s3")->intent_open);
  // The call of s3 did reach AWS before the crash: its pre-check sees it.
  r.sc.prechecks["s3"] = {step_outcome::already_done("already the writer")};
  const auto resumed_req = plan_executor::request_from(pending[0]);
  EXPECT_EQ(resumed_req.ctx.recommendation_hash, "h1");
  const auto out = r.exec->execute(plan_of(4), resumed_req, plan_executor::approval_from(pending[0]));
  ASSERT_TRUE(out.ok()) << out.detail;
  EXPECT_TRUE(out.resumed);
  EXPECT_EQ(r.sc.calls, (std::vector<std::string>{"precheck:s3", "precheck:s4", "run:s4"}));
  EXPECT_EQ(r.sc.resumed, (std::vector<bool>{true, false}));
  // A second execute of the same approval never runs again.
  r.sc.calls.clear();
  const auto again = r.run(plan_of(4));
  EXPECT_TRUE(again.already_ended);
  EXPECT_TRUE(again.ok());
  EXPECT_TRUE(r.sc.calls.empty());
  r.reopen();
  EXPECT_TRUE(r.run(plan_of(4)).already_ended);
  EXPECT_TRUE(r.sc.calls.empty());
}

TEST(plan_journal, reconstructs_plans_and_cuts_a_torn_tail) {
  test_support::temp_dir dir("plan-journal");
  const auto file = dir.path() / "state" / "plan.jsonl";
  const common::wall_time t{std::chrono::milliseconds{1'795'000'000'000}};
  {
    plan_journal j(file);
    j.begin(t, "a", {{"recommendation_id", "r-a"}});
    j.intent(t, "a", "x", 0, 1, json::array());
    j.result(t, "a", "x", 0, 1, "failed", "503", 0.5, false);
    j.intent(t, "a", "x", 0, 2, json::array());
    j.result(t, "a", "x", 0, 2, "done", "ok", 1.5, true);
    j.end(t, "a", true, "done", "fine", json::object());
    j.begin(t, "b", {{"recommendation_id", "r-b"}});
    j.begin(t, "b", {{"recommendation_id", "r-b-again"}});  // never restarted: the first begin wins
    j.intent(t, "b", "y", 0, 1, json::array());
  }
  {
    std::ofstream f(file, std::ios::app);
    f << R"({"type":"result","hash":"b","step":"y","out)";  // a crash mid-append
  }
  auto j = std::make_unique<plan_journal>(file);
  const auto plans = j->plans();
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_TRUE(plans[0].ended());
  EXPECT_EQ(plans[0].step("x")->attempts, 2);
  EXPECT_EQ(plans[0].step("x")->outcome.value_or(""), "done");
  EXPECT_FALSE(plans[1].ended());
  EXPECT_EQ(plans[1].recommendation_id(), "r-b");
  EXPECT_TRUE(plans[1].step("y")->intent_open);
  EXPECT_FALSE(plans[1].step("y")->outcome.has_value());
  EXPECT_FALSE(j->find("c").has_value());
  j->result(t, "b", "y", 0, 1, "done", "", 0.1, true);  // appends on a line boundary after the cut
  j.reset();                                            // releases the flock
  plan_journal again(file);
  EXPECT_EQ(again.find("b")->step("y")->outcome.value_or(""), "done");
}

}  // namespace
// --- operator brakes -------------------------------------------------------------

namespace {
std::vector<json> operator_records(const std::vector<json>& lines) {
  std::vector<json> out;
  for (const auto& l : lines) {
    if (l["type"] == "operator") out.push_back(l);
  }
  return out;
}
}  // namespace

TEST(plan_control, an_abort_stops_before_the_next_step_and_says_what_was_left_undone) {
  rig r;
  plan_control control;
  r.exec->set_control(&control);
  // The abort arrives while s2 retries its backoff (s2 fails once): s1 done, s2 cancelled, s3 never run.
  auto p = plan_of(3);
  p.steps[1].retries = 2;
  r.sc.runs["s2"] = {step_outcome::failed("throttled")};
  r.wait.on_wait = [&](int) { control.abort("failover-us-east-1-r1", "alice: wrong region"); };
  const auto out = r.run(p);
  EXPECT_EQ(out.result, plan_result::aborted);
  EXPECT_EQ(r.sc.calls, (std::vector<std::string>{"precheck:s1", "run:s1", "precheck:s2", "run:s2"}));
  EXPECT_NE(out.detail.find("aborted by alice: wrong region"), std::string::npos) << out.detail;
  EXPECT_NE(out.detail.find("done: s1; not done: s2 (cancelled)"), std::string::npos) << out.detail;
  const auto lines = r.lines();
  EXPECT_EQ(lines.back()["type"], "plan_end");
  EXPECT_EQ(lines.back()["result"], "aborted");
  EXPECT_EQ(out.rto["steps"][2]["outcome"], "skipped");
}

TEST(plan_control, a_paused_plan_waits_before_its_next_step_and_resumes) {
  rig r;
  plan_control control;
  r.exec->set_control(&control);
  control.pause("failover-us-east-1-r1", "bob: checking the replica");
  r.wait.on_wait = [&](int n) {
    if (n == 4) control.resume("failover-us-east-1-r1");
  };
  const auto out = r.run(plan_of(2));
  ASSERT_TRUE(out.ok()) << out.detail;
  EXPECT_EQ(r.wait.waits, 4);
  EXPECT_EQ(r.sc.calls.size(), 4u);
  const auto ops = operator_records(r.lines());
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0]["event"], "held");
  EXPECT_EQ(ops[0]["step"], "s1");
  EXPECT_NE(ops[0]["detail"].get<std::string>().find("paused by bob"), std::string::npos);
  EXPECT_EQ(ops[1]["event"], "continued");
  // The operator records do not disturb a replay of the journal.
  r.reopen();
  const auto again = r.run(plan_of(2));
  EXPECT_TRUE(again.already_ended);
}

TEST(plan_control, under_the_actuation_brake_no_step_ever_runs) {
  rig r;
  plan_control control;
  r.exec->set_control(&control);
  control.set_brake(true, "carol: game day");
  r.wait.on_wait = [&](int n) {
    if (n == 20) control.abort("failover-us-east-1-r1", "carol: not today");
  };
  std::vector<std::string> steps;
  const auto out = r.run(plan_of(2), request(), &steps);
  EXPECT_EQ(out.result, plan_result::aborted);
  EXPECT_TRUE(r.sc.calls.empty());
  EXPECT_EQ(steps.front(), "s1:held");
  const auto ops = operator_records(r.lines());
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_NE(ops[0]["detail"].get<std::string>().find("actuation brake on (carol: game day)"), std::string::npos);
}

}  // namespace vigil::actuators
