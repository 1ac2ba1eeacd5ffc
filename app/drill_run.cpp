#include "app/drill_run.hpp"

#include <map>
#include <memory>

#include "app/objectives_store.hpp"
#include "aws/sts.hpp"
#include "common/waiter.hpp"
#include "decision/time_format.hpp"

namespace vigil::app {

actuators::plan_request drill_request(const common::config& cfg, const drill_options& o) {
  const bool primary_first = o.action == "failover";
  actuators::plan_request req;
  req.ctx.recommendation_id = "drill-" + o.action;
  req.ctx.recommendation_hash = "drill";
  req.ctx.action = o.action;
  req.ctx.from = primary_first ? cfg.primary().name : cfg.dr().name;
  req.ctx.to = primary_first ? cfg.dr().name : cfg.primary().name;
  req.ctx.approvers = {"drill"};
  req.ctx.allow_data_loss = o.allow_data_loss;
  req.ctx.planned = o.planned;
  return req;
}

drill_outcome run_drill(const common::config& cfg, const drill_options& o, const common::clock& clock,
                        const std::function<void(const std::string&)>& print) {
  common::plan_config plan = o.action == "failback" ? cfg.failback : cfg.failover;
  plan.dry_run = true;  // a drill never mutates, whatever the file says
  const auto req = drill_request(cfg, o);
  common::cv_waiter wait;
  actuators::plan_journal journal{std::filesystem::path{}};  // in memory: a drill leaves no record to resume
  std::unique_ptr<aws::aws_stack> stack;
  actuators::step_factory factory = [&](const common::plan_step_config& s) {
    if (!stack) stack = std::make_unique<aws::aws_stack>(aws::make_aws_stack(cfg.aws, clock));
    actuators::step_deps deps;
    deps.aws = stack->client.get();
    return actuators::make_step_factory(deps)(s);
  };
  actuators::executor_options opts;
  opts.dry_run_prechecks = o.prechecks;
  actuators::plan_executor exec(journal, factory, clock, wait, nullptr, opts);
  drill_outcome out;
  std::map<std::string, std::string> started, finished;  // step -> RFC 3339
  actuators::executor_events ev;
  ev.print = [&](const std::string& line) {
    if (print) print(line);
  };
  ev.on_step = [&](std::size_t, const std::string& step, const std::string& status, const std::string& detail) {
    const std::string now = common::format_rfc3339(clock.wall());
    (status == "running" ? started : finished)[step] = now;
    if (detail.find("pre-check: unexpected_state") != std::string::npos) out.unexpected = true;
  };
  out.outcome = exec.execute(plan, req, actuators::approval_ref{"drill", {"drill"}}, ev);
  nlohmann::json rto = out.outcome.rto.is_object() ? out.outcome.rto : nlohmann::json::object();
  for (auto& s : rto["steps"]) {
    const std::string name = s.value("name", std::string{});
    if (const auto it = started.find(name); it != started.end()) s["started"] = it->second;
    if (const auto it = finished.find(name); it != finished.end()) s["finished"] = it->second;
  }
  const std::string result =
      out.unexpected && out.outcome.ok() ? "unexpected_state" : std::string(actuators::to_string(out.outcome.result));
  const auto at = decision::time_point{clock.wall().time_since_epoch()};
  out.timeline =
      timeline_from_report(rto, "drill-" + o.action + "-" + decision::format_compact(at), "drill", o.action, result);
  out.timeline.dry_run = true;
  out.timeline.scheduled = o.scheduled;
  return out;
}

}  // namespace vigil::app
