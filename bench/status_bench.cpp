// GET /v1/status rendering at scale (bench/RESULTS.md, "Scale of one engine"):
// 10,000 checks x 5 vantages, all up, a failure and a warning on 1 check in
// 100; the full document, ?summary=1 and a filtered one, on one thread with
// no HTTP and no batches competing (engine_scale.py measures those).
#include <benchmark/benchmark.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "app/status_view.hpp"
#include "decision/core.hpp"
#include "decision/snapshot.hpp"

namespace {

using namespace vigil;
using nlohmann::json;

constexpr std::size_t n_checks = 10000;
constexpr std::size_t n_vantages = 5;

decision::topology scale_topology() {
  decision::topology t;
  t.deployment = "bench";
  t.regions = {{"us-east-1", decision::region_role::primary, {}, {}}, {"us-west-2", decision::region_role::dr, {}, {}}};
  for (const char* v : {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1"})
    t.vantages.emplace_back(v);
  for (std::size_t s = 0; s < n_checks / 2; ++s) {
    std::string name = "svc-" + std::to_string(100000 + s).substr(1);
    for (decision::region_index r = 0; r < 2; ++r) {
      std::string id = name;
      id += '@';
      id += t.regions[r].name;
      t.checks.push_back(
          decision::check_info{id, r, name, 0, false, decision::check_role::classify, decision::duration{2000}});
    }
  }
  t.index();
  return t;
}

struct fixture {
  decision::topology topo = scale_topology();
  decision::core core{topo};
  std::map<std::string, json> failures;
  std::map<std::string, std::map<std::string, std::string>> warnings;
  json head;

  fixture() {
    const decision::time_point now{std::chrono::milliseconds{1'795'000'000'000}};
    for (std::size_t v = 0; v < n_vantages; ++v) {
      for (int k = 0; k < 3; ++k) {
        for (decision::check_index c = 0; c < topo.checks.size(); ++c)
          core.ingest(
              decision::observation{static_cast<decision::vantage_index>(v), c, now, decision::outcome::ok, 10.0F});
      }
      core.vantage_report(static_cast<decision::vantage_index>(v), now);
    }
    core.tick(now);
    (void)core.take_output();
    for (std::size_t c = 0; c < topo.checks.size(); c += 100) {
      failures[topo.checks[c].id] = {{"eu-west-1", {{"outcome", "timeout"}, {"detail", "no answer"}, {"at", "t"}}}};
      warnings[topo.checks[c].id] = {{"us-west-2", "cert_expiring"}};
    }
    decision::check_selection none;
    none.none = true;
    head = decision::to_json(core.status(none));
  }
};

fixture& shared() {
  static fixture f;
  return f;
}

void run(benchmark::State& state, const std::map<std::string, std::string>& query) {
  auto& f = shared();
  const auto q = app::parse_status_query(query, f.core.topo());
  std::size_t bytes = 0;
  for ([[maybe_unused]] auto _ : state) {
    const std::string body = app::render_status(f.head, f.core, f.failures, f.warnings, *q.value);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

void bm_status_full_10000x5(benchmark::State& state) {
  run(state, {});
}
void bm_status_summary_10000x5(benchmark::State& state) {
  run(state, {{"summary", "1"}});
}
void bm_status_filtered_10000x5(benchmark::State& state) {
  run(state, {{"region", "us-east-1"}, {"check", "svc-00123"}});
}

}  // namespace

BENCHMARK(bm_status_full_10000x5)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_status_summary_10000x5)->Unit(benchmark::kMillisecond);
BENCHMARK(bm_status_filtered_10000x5)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
