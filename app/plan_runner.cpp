#include "app/plan_runner.hpp"

#include "app/engine.hpp"
#include "common/log.hpp"

namespace vigil::app {

plan_runner::plan_runner(boost::asio::io_context& io, const common::config& cfg, std::chrono::milliseconds step_pause,
                         line_fn print)
    : io_(io), cfg_(cfg), pause_(step_pause), print_(std::move(print)), timer_(io) {}

void plan_runner::execute(const decision::execute_plan& e) {
  if (running_ || e.recommendation_id == recommendation_id_) {
    common::logger("plan")->warn("ignoring execute for {}: a plan already ran or runs for {}", e.recommendation_id,
                                 recommendation_id_);
    return;
  }
  recommendation_id_ = e.recommendation_id;
  action_ = std::string(decision::to_string(e.action));
  const common::plan_config& plan = e.action == decision::action_kind::failover ? cfg_.failover : cfg_.failback;
  dry_run_ = plan.dry_run;
  actuators::plan_context ctx{e.recommendation_id, e.recommendation_hash, action_, e.from, e.to, e.allow_data_loss,
                              e.approvers};
  plan_ = actuators::describe_plan(plan, ctx);
  progress_.clear();
  for (const auto& s : plan_) progress_.push_back({s.name, s.kind, "pending", s.summary});
  next_step_ = 0;
  running_ = true;
  finished_ = false;
  if (engine_) engine_->plan_started(recommendation_id_);
  if (!dry_run_) {
    // Refuse loudly rather than pretend: this build makes no mutating call.
    const std::string why =
        "plan." + action_ + ".dry_run is false but this build executes plans in dry-run only; "
        "carry out the steps by hand (docs/runbook.md)";
    for (auto& p : progress_) p.status = "skipped";
    running_ = false;
    finished_ = true;
    succeeded_ = false;
    if (print_) print_("plan refused: " + why);
    if (engine_) engine_->plan_finished(recommendation_id_, false, why);
    return;
  }
  next();
}

void plan_runner::next() {
  if (next_step_ >= plan_.size()) {
    running_ = false;
    finished_ = true;
    succeeded_ = true;
    if (engine_) engine_->plan_finished(recommendation_id_, true, "dry run: every step described, nothing changed");
    return;
  }
  const auto& step = plan_[next_step_];
  auto& prog = progress_[next_step_];
  prog.status = "dry_run";
  if (print_) {
    std::string line = "  [dry-run] " + step.name + " (" + step.kind + "): " + step.summary;
    for (const auto& c : step.prechecks) line += "\n      pre-check " + c.service + ":" + c.operation + " " + c.params.dump();
    for (const auto& c : step.calls) {
      line += "\n      would call " + c.service + ":" + c.operation + " " + c.params.dump() +
              (c.mutating ? "  (mutating: not sent)" : "");
    }
    print_(line);
  }
  if (engine_) engine_->plan_step(recommendation_id_, step.name, "dry_run");
  ++next_step_;
  timer_.expires_after(pause_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) next();
  });
}

nlohmann::json plan_runner::status() const {
  if (recommendation_id_.empty()) return nullptr;
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& p : progress_) {
    steps.push_back({{"name", p.name}, {"kind", p.kind}, {"status", p.status}, {"detail", p.detail}});
  }
  return {{"recommendation_id", recommendation_id_},
          {"action", action_},
          {"dry_run", dry_run_},
          {"state", running_ ? "executing" : (succeeded_ ? "done" : "failed")},
          {"steps", steps}};
}

}  // namespace vigil::app
