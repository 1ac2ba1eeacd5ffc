// Decision core hot paths and their targets: ingest >= 1M observations/s on one core
// with no allocation per observation; a tick over 1,000 checks x 5 vantages
// under 1 ms.
#include <benchmark/benchmark.h>

#include <string>

#include "decision/core.hpp"

namespace {

using namespace vigil::decision;

topology big_topology(std::size_t services_per_region, std::size_t vantages) {
  topology t;
  t.deployment = "bench";
  t.regions = {{"us-east-1", region_role::primary, {}, {}}, {"us-west-2", region_role::dr, {}, {}}};
  for (std::size_t v = 0; v < vantages; ++v)
    t.vantages.push_back(std::to_string(v));
  for (region_index r = 0; r < 2; ++r) {
    for (std::size_t s = 0; s < services_per_region; ++s) {
      std::string name = "svc";
      name += std::to_string(s);
      std::string id = name;  // appended piecewise: GCC 12 -O3 warns (-Wrestrict) on a + "@" + b
      id += '@';
      id += t.regions[r].name;
      t.checks.push_back(check_info{id, r, name, 0, false, check_role::classify, duration{2000}});
    }
  }
  t.p.quorum = 0;
  t.index();
  return t;
}

const time_point start{std::chrono::milliseconds{1'795'000'000'000}};

void warm(core& c, const topology& t, time_point now) {
  for (std::size_t vi = 0; vi < t.vantages.size(); ++vi) {
    const auto v = static_cast<vantage_index>(vi);
    for (int k = 0; k < 3; ++k) {
      for (check_index i = 0; i < t.checks.size(); ++i)
        c.ingest(observation{v, i, now, outcome::ok, 10.0F});
    }
    c.vantage_report(v, now);
  }
  c.tick(now);
  (void)c.take_output();
}

void bm_ingest(benchmark::State& state) {
  const auto t = big_topology(500, 5);
  core c(t);
  warm(c, t, start);
  const auto checks = static_cast<check_index>(t.checks.size());
  std::uint64_t n = 0;
  for ([[maybe_unused]] auto _ : state) {
    const auto v = static_cast<vantage_index>(n % 5);
    const auto k = static_cast<check_index>((n / 5) % checks);
    // one failure in 16: the hysteresis counters move
    c.ingest(observation{v, k, start, (n & 15U) == 0 ? outcome::timeout : outcome::ok, 12.0F});
    ++n;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(bm_ingest);

void bm_tick_1000_checks_5_vantages(benchmark::State& state) {
  const auto t = big_topology(500, 5);  // 2 regions x 500 = 1,000 checks
  core c(t);
  warm(c, t, start);
  time_point now = start;
  for ([[maybe_unused]] auto _ : state) {
    now += duration{1000};
    for (vantage_index v = 0; v < 5; ++v)
      c.vantage_report(v, now);
    c.tick(now);
    benchmark::DoNotOptimize(c.take_output());
  }
}
BENCHMARK(bm_tick_1000_checks_5_vantages)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
