#include "app/status_history.hpp"

#include <gtest/gtest.h>

#include <array>

namespace vigil::app {
namespace {

using namespace std::chrono_literals;
using S = history_sample;

// 10 s buckets, 4 of them; two checks in two regions.
constexpr auto width = 10s;
const common::wall_time t0{std::chrono::milliseconds{1'795'000'000'000}};  // a multiple of 10 s

status_history make(std::size_t buckets = 4) {
  return status_history({{"web@us-east-1", "us-east-1", "web"}, {"web@us-west-2", "us-west-2", "web"}},
                        history_options{width, buckets});
}

bool rec(status_history& h, common::wall_time at, S a, S b) {
  const std::array<S, 2> s{a, b};
  return h.record(at, s);
}

TEST(status_history, a_bucket_is_its_worst_sample_and_boundaries_are_half_open) {
  auto h = make();
  rec(h, t0, S::up, S::up);
  rec(h, t0 + 9999ms, S::degraded, S::up);  // still the first bucket [t0, t0+10s)
  rec(h, t0 + 10s, S::up, S::down);         // the second one starts exactly at t0+10s
  rec(h, t0 + 19999ms, S::unknown, S::up);
  const auto first = h.counts(0, t0 + 5s);
  EXPECT_EQ(first.up, 1);
  EXPECT_EQ(first.degraded, 1);
  EXPECT_EQ(first.state(), bucket_state::degraded);
  EXPECT_EQ(first.uptime_permille(), 1000);
  EXPECT_EQ(h.counts(1, t0).state(), bucket_state::up);
  const auto second = h.counts(1, t0 + 10s);
  EXPECT_EQ(second.down, 1);
  EXPECT_EQ(second.up, 1);
  EXPECT_EQ(second.state(), bucket_state::down);
  EXPECT_EQ(second.uptime_permille(), 500);
  EXPECT_EQ(h.counts(0, t0 + 10s).state(), bucket_state::up);  // one up, one unknown
  EXPECT_EQ(h.counts(0, t0 + 10s).unknown, 1);

  const auto j = h.to_json(t0 + 15s, {});
  EXPECT_EQ(j["buckets"], 4);
  EXPECT_EQ(j["bucket_s"], 10.0);
  EXPECT_EQ(j["from"], common::format_rfc3339(t0 - 20s));
  EXPECT_EQ(j["to"], common::format_rfc3339(t0 + 20s));
  EXPECT_EQ(j["ticks"], nlohmann::json::array({0, 0, 2, 2}));
  ASSERT_EQ(j["checks"].size(), 2U);
  EXPECT_EQ(j["checks"][0]["states"], "--wu");
  EXPECT_EQ(j["checks"][1]["states"], "--ud");
  EXPECT_TRUE(j["checks"][1]["uptime_permille"][0].is_null());
  EXPECT_EQ(j["checks"][1]["uptime_permille"][3], 500);
  EXPECT_EQ(j["checks"][1]["region"], "us-west-2");
}

TEST(status_history, only_unknown_samples_are_no_data) {
  auto h = make();
  rec(h, t0, S::unknown, S::unknown);
  EXPECT_EQ(h.counts(0, t0).state(), bucket_state::no_data);
  EXPECT_FALSE(h.counts(0, t0).uptime_permille().has_value());
  EXPECT_EQ(h.to_json(t0, {})["checks"][0]["states"], "----");
  EXPECT_EQ(h.to_json(t0, {})["ticks"][3], 1);
}

TEST(status_history, old_buckets_are_evicted_and_memory_is_fixed) {
  auto h = make(4);
  const std::size_t bytes = h.memory_bytes();
  EXPECT_EQ(bytes, 2U * 4U * 8U);  // checks x buckets x 8 bytes
  for (int i = 0; i < 100; ++i)
    rec(h, t0 + i * width, i % 2 == 0 ? S::down : S::up, S::up);
  EXPECT_EQ(h.memory_bytes(), bytes);
  // Bucket 96 shares its slot with bucket 0, 4, ... : only the newest one is kept.
  EXPECT_EQ(h.counts(0, t0).state(), bucket_state::no_data);
  EXPECT_EQ(h.counts(0, t0 + 96 * width).down, 1);
  EXPECT_EQ(h.counts(0, t0 + 99 * width).up, 1);
  EXPECT_EQ(h.to_json(t0 + 99 * width, {})["checks"][0]["states"], "dudu");
  // The window moves with `now`: buckets never recorded (the engine was stopped) are no data.
  EXPECT_EQ(h.to_json(t0 + 101 * width, {})["checks"][0]["states"], "du--");
  EXPECT_EQ(h.to_json(t0 + 200 * width, {})["checks"][0]["states"], "----");
}

TEST(status_history, a_tick_older_than_the_window_is_dropped) {
  auto h = make(4);
  rec(h, t0 + 10 * width, S::up, S::up);
  rec(h, t0 + 6 * width, S::down, S::down);  // 4 buckets back: evicted already
  EXPECT_EQ(h.dropped(), 1U);
  EXPECT_EQ(h.counts(0, t0 + 10 * width).up, 1);
  EXPECT_EQ(h.counts(0, t0 + 6 * width).state(), bucket_state::no_data);
  rec(h, t0 + 7 * width, S::down, S::up);  // still inside the window: counted
  EXPECT_EQ(h.dropped(), 1U);
  EXPECT_EQ(h.counts(0, t0 + 7 * width).down, 1);
  EXPECT_EQ(h.to_json(t0 + 10 * width, {})["checks"][0]["states"], "d--u");
}

TEST(status_history, refuses_samples_of_the_wrong_size) {
  auto h = make();
  const std::array<S, 1> one{S::up};
  EXPECT_FALSE(h.record(t0, one));
  EXPECT_EQ(h.to_json(t0, {})["ticks"][3], 0);
}

TEST(status_history, counts_saturate_instead_of_wrapping) {
  status_history h({{"a@r", "r", "a"}}, history_options{1h, 1});
  const std::array<S, 1> down{S::down};
  for (int i = 0; i < 70000; ++i)
    h.record(t0, down);
  EXPECT_EQ(h.counts(0, t0).down, 65535);
  EXPECT_EQ(h.counts(0, t0).state(), bucket_state::down);
}

TEST(status_history, filters_by_region_and_check_substring_and_bounds_the_answer) {
  std::vector<history_check> checks;
  for (int i = 0; i < 30; ++i) {
    const std::string region = i % 2 == 0 ? "us-east-1" : "us-west-2";
    checks.push_back({"svc" + std::to_string(i) + "@" + region, region, "svc" + std::to_string(i)});
  }
  status_history h(checks, history_options{width, 3});
  const auto east = h.to_json(t0, {"us-east-1", "", 1000});
  EXPECT_EQ(east["matched"], 15);
  for (const auto& c : east["checks"])
    EXPECT_EQ(c["region"], "us-east-1");
  const auto one = h.to_json(t0, {"", "SVC1@", 1000});  // case-insensitive: svc1@us-west-2
  ASSERT_EQ(one["checks"].size(), 1U);
  EXPECT_EQ(one["checks"][0]["id"], "svc1@us-west-2");
  const auto some = h.to_json(t0, {"", "svc1", 1000});  // svc1, svc10..svc19
  EXPECT_EQ(some["matched"], 11);
  const auto bounded = h.to_json(t0, {"", "", 7});
  EXPECT_EQ(bounded["checks"].size(), 7U);
  EXPECT_EQ(bounded["matched"], 30);
  EXPECT_EQ(bounded["checks_total"], 30);
  EXPECT_TRUE(bounded["truncated"].get<bool>());
  EXPECT_FALSE(east["truncated"].get<bool>());
}

}  // namespace
}  // namespace vigil::app
