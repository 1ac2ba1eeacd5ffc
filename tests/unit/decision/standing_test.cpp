// Standing approvals, the pure part: every hold reason, in order, and the
// one state that fires.
#include "decision/standing.hpp"

#include <gtest/gtest.h>

#include "decision/time_format.hpp"

namespace vigil::decision {
namespace {

const time_point now = *parse_time("2026-12-07T10:00:00Z");

gate_result gate(gate_name n, bool ok = true, std::string detail = {}) {
  return {n, ok, true, std::move(detail)};
}

/// us-east-1 in regional_outage for 5 minutes, seen down by 3 vantages, lag
/// 1 s sampled now, a pending failover with every gate passing (dr_ready too,
/// when readiness exists).
snapshot firing() {
  snapshot s;
  s.at = now;
  s.active.region = "us-east-1";
  region_status east;
  east.name = "us-east-1";
  east.declared = classification::regional_outage;
  east.since = now - std::chrono::minutes(5);
  region_status west;
  west.name = "us-west-2";
  west.role = region_role::dr;
  west.declared = classification::healthy;
  s.regions = {east, west};
  check_status c;
  c.id = "api@us-east-1";
  c.region = "us-east-1";
  c.by_vantage = {"down", "down", "down", "up"};
  s.checks.push_back(c);
  check_status w;
  w.id = "api@us-west-2";
  w.region = "us-west-2";
  w.by_vantage = {"up", "up", "up", "up"};
  s.checks.push_back(w);
  s.lag.ms = 1000;
  s.lag.at = now;
  s.lag.reachable = true;
  recommendation r;
  r.action = action_kind::failover;
  r.from = "us-east-1";
  r.to = "us-west-2";
  r.state = recommendation_state::pending_approval;
  r.gates = {gate(gate_name::primary_regional), gate(gate_name::dr_healthy)};
  r.gates.push_back(gate(gate_name::dr_ready));
  r.gates.push_back(gate(gate_name::replication_lag));
  r.gates.push_back(gate(gate_name::cooldown));
  r.gates.push_back(gate(gate_name::not_silenced));
  r.gates.push_back(gate(gate_name::leader));
  s.rec = r;
  return s;
}

standing_conditions conditions() {
  standing_conditions c;
  c.from = "us-east-1";
  c.to = "us-west-2";
  c.min_duration = std::chrono::minutes(2);
  c.min_vantages = 2;
  c.max_lag = std::chrono::seconds(5);
  return c;
}

standing_verdict eval(const snapshot& s, const standing_conditions& c = conditions(), bool brake = false,
                      time_point at = now) {
  standing_inputs in;
  in.s = &s;
  in.now = at;
  in.rpo = std::chrono::seconds(5);
  in.lag_max_age = std::chrono::seconds(30);
  in.brake = brake;
  return evaluate_standing(c, in);
}

void set_gate(snapshot& s, std::string_view name, bool ok) {
  for (auto& g : s.rec->gates)
    if (to_string(g.name) == name) g.ok = ok;
}

}  // namespace

TEST(Standing, HoldNamesRoundTrip) {
  for (std::size_t i = 0; i < standing_hold_count; ++i) {
    const auto h = static_cast<standing_hold>(i);
    EXPECT_EQ(standing_hold_from_string(to_string(h)), h) << to_string(h);
  }
  EXPECT_FALSE(standing_hold_from_string("nope"));
}

TEST(Standing, HoursParseAndWrapMidnight) {
  const auto day = parse_standing_hours("08:00-20:00");
  ASSERT_TRUE(day);
  EXPECT_EQ(format_standing_hours(*day), "08:00-20:00");
  EXPECT_TRUE(within_hours(*day, now));
  EXPECT_FALSE(within_hours(*day, *parse_time("2026-12-07T20:00:00Z")));
  const auto night = parse_standing_hours("22:00-06:00");
  ASSERT_TRUE(night);
  EXPECT_FALSE(within_hours(*night, now));
  EXPECT_TRUE(within_hours(*night, *parse_time("2026-12-07T23:30:00Z")));
  EXPECT_TRUE(within_hours(*night, *parse_time("2026-12-07T05:59:00Z")));
  for (const char* bad : {"", "8:00-20:00", "08:00-08:00", "25:00-01:00", "08:60-09:00", "08:00_20:00"})
    EXPECT_FALSE(parse_standing_hours(bad)) << bad;
}

TEST(Standing, FiresWhenEveryConditionHolds) {
  const auto v = eval(firing());
  EXPECT_TRUE(v.fire()) << to_string(v.hold) << ": " << v.detail;
}

TEST(Standing, EachConditionHoldsWithItsReason) {
  auto expect = [](const snapshot& s, standing_hold h, const standing_conditions& c = conditions(),
                   bool brake = false) {
    const auto v = eval(s, c, brake);
    EXPECT_EQ(v.hold, h) << "got " << to_string(v.hold) << ": " << v.detail;
    EXPECT_FALSE(v.detail.empty());
  };
  {
    auto s = firing();
    s.active.region = "us-west-2";
    expect(s, standing_hold::not_active);
  }
  {
    auto s = firing();
    s.regions[0].declared = classification::service_degraded;
    expect(s, standing_hold::no_outage);
  }
  {
    auto s = firing();
    s.regions[0].since = now - std::chrono::seconds(90);
    expect(s, standing_hold::too_short);
  }
  {
    auto s = firing();
    s.checks[0].by_vantage = {"down", "absent", "up", "up"};
    expect(s, standing_hold::too_few_vantages);
  }
  {
    auto s = firing();
    s.lag.reachable = false;
    expect(s, standing_hold::lag_unknown);
    s = firing();
    s.lag.at = now - std::chrono::minutes(1);
    expect(s, standing_hold::lag_unknown);
  }
  {
    auto s = firing();
    s.lag.ms = 6000;
    expect(s, standing_hold::lag_too_high);
    auto wide = conditions();
    wide.max_lag = std::chrono::seconds(60);  // never beyond the RPO
    expect(s, standing_hold::lag_too_high, wide);
  }
  {
    auto s = firing();
    s.rec.reset();
    expect(s, standing_hold::not_pending);
  }
  {
    auto s = firing();
    std::erase_if(s.rec->gates, [](const gate_result& g) { return to_string(g.name) == "dr_ready"; });
    expect(s, standing_hold::dr_not_ready);  // readiness not configured: never automatic
    s = firing();
    set_gate(s, "dr_ready", false);
    expect(s, standing_hold::dr_not_ready);
  }
  {
    auto s = firing();
    set_gate(s, "cooldown", false);
    expect(s, standing_hold::cooldown);
  }
  {
    auto s = firing();
    set_gate(s, "not_silenced", false);
    expect(s, standing_hold::silenced);
  }
  expect(firing(), standing_hold::brake, conditions(), true);
  {
    auto c = conditions();
    c.hours = parse_standing_hours("20:00-08:00");
    expect(firing(), standing_hold::outside_hours, c);
    c.hours = parse_standing_hours("08:00-20:00");
    EXPECT_TRUE(eval(firing(), c).fire());
  }
  {
    auto s = firing();
    s.rec->state = recommendation_state::executing;
    expect(s, standing_hold::not_pending);
  }
  {
    auto s = firing();
    set_gate(s, "leader", false);
    expect(s, standing_hold::gate_failed);
  }
}

TEST(Standing, PlanHashIsCanonicalAndChangesWithThePlan) {
  const nlohmann::json a = nlohmann::json::parse(R"({"dry_run":false,"steps":[{"name":"dns","kind":"route53"}]})");
  const nlohmann::json b = nlohmann::json::parse(R"({"steps":[{"kind":"route53","name":"dns"}],"dry_run":false})");
  EXPECT_EQ(standing_plan_hash(a), standing_plan_hash(b));
  EXPECT_EQ(standing_plan_hash(a).size(), 64U);
  auto c = a;
  c["steps"][0]["name"] = "dns2";
  EXPECT_NE(standing_plan_hash(a), standing_plan_hash(c));
}

}  // namespace vigil::decision
