#pragma once
// Helpers shared by the CloudWatch sampler tests (cloudwatch_sampler_test.cpp
// and servers/cloudwatch_moto_test.cpp).

#include <string>
#include <utility>
#include <vector>

#include "detector/cloudwatch_sampler.hpp"

namespace vigil::detector::cloudwatch_test {

using namespace std::chrono_literals;

inline cloudwatch_check check(std::string id, const std::string& region, std::string metric, const std::string& cond,
                              common::missing_data missing = common::missing_data::ignore) {
  cloudwatch_check c;
  c.id = std::move(id);
  c.region = region;
  c.call_region = region;
  c.query = {"", "AWS/ApplicationELB", std::move(metric), {{"LoadBalancer", "app/x"}}, "Sum", 60};
  c.cond = *parse_condition(cond);
  c.on_missing = missing;
  c.interval = 60s;
  return c;
}

inline const cloudwatch_sample* find(const std::vector<cloudwatch_sample>& v, const std::string& id) {
  for (const auto& s : v) {
    if (s.check_id == id) return &s;
  }
  return nullptr;
}

}  // namespace vigil::detector::cloudwatch_test
