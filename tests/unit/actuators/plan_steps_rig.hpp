#pragma once
// The plan-step rig shared by plan_steps_test.cpp and
// servers/plan_steps_moto_test.cpp: a plan request, an executor over a fresh
// journal, and the params of the ARC and Aurora failover steps.

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actuators/plan_executor.hpp"
#include "common/waiter.hpp"
#include "tests/unit/actuators/plan_test_support.hpp"

namespace vigil::actuators::plan_rig {

using nlohmann::json;
using namespace std::chrono_literals;

inline plan_request req(bool allow_data_loss = false, const std::string& hash = "hash-1") {
  plan_request r;
  r.ctx = {
      "failover-us-east-1-20261122T030000Z-r1", hash, "failover", "us-east-1", "us-west-2", allow_data_loss, {"alice"}};
  return r;
}

struct exec_rig {
  test_support::temp_dir dir{"plan-steps"};
  common::real_clock clock;
  common::cv_waiter wait;
  std::unique_ptr<plan_journal> journal;
  std::unique_ptr<plan_executor> exec;
  step_deps deps;

  explicit exec_rig(aws::client* c, executor_options o = {false, 0ms, 10ms, 50ms}) {
    deps.aws = c;
    deps.random = aws::default_random(7);
    journal = std::make_unique<plan_journal>(dir.path() / "plan.jsonl");
    exec = std::make_unique<plan_executor>(*journal, make_step_factory(deps), clock, wait, nullptr, o);
  }
  plan_outcome run(const std::vector<common::plan_step_config>& steps, const plan_request& r = req(),
                   bool dry_run = false) {
    common::plan_config p;
    p.dry_run = dry_run;
    p.steps = steps;
    return exec->execute(p, r, approval_ref{r.ctx.recommendation_hash, r.ctx.approvers});
  }
};

inline json arc_params(const test_support::python_fake& arc, const char* arn, const char* state,
                       bool with_dead = true) {
  json eps = json::array();
  if (with_dead) eps.push_back(test_support::dead_url());
  for (std::size_t i = 0; i < arc.endpoints(); ++i)
    eps.push_back(arc.url(i));
  return {{"routing_control_arn", arn}, {"state", state}, {"cluster_endpoints", eps}, {"region", "us-west-2"}};
}

inline json failover_params() {
  return {{"global_cluster", "shop-global"}, {"target_cluster_arn", test_support::west_arn}, {"region", "us-west-2"}};
}

}  // namespace vigil::actuators::plan_rig
