// The agent probes every kind of check of its config with its own prober
// (check_prober): http, tcp, dns, postgres and grpc checks all reach the
// batches and vigil_probe_outcomes_total. Each points at a closed port of
// 127.0.0.1, so every kind has a known outcome (connect_refused) without a
// server; the servers themselves are in the *_prober_test.cpp files.
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/config_load.hpp"
#include "detector/agent.hpp"
#include "tests/support/aws_test_support.hpp"

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;

std::string config_yaml() {
  const std::string closed = "127.0.0.1:" + std::to_string(test_support::free_port());
  return "deployment: kinds\n"
         "regions: [{name: r1, role: primary}, {name: r2, role: dr}]\n"
         "vantages: [local]\n"
         "decision: {quorum: 1}\n"
         "engine: {agent_key: k, endpoints: ['http://127.0.0.1:1']}\n"
         "probe_defaults: {interval: 200ms, timeout: 150ms}\n"
         "region_checks:\n"
         "  - {name: web, region: r1, http: {url: 'http://" +
         closed +
         "/'}}\n"
         "  - {name: smtp, region: r1, tcp: {address: '" +
         closed +
         "'}}\n"
         "  - {name: dns, region: r1, dns: {name: db.internal, resolver: '" +
         closed +
         "'}}\n"
         "  - {name: writer, region: r2, postgres: {dsn: 'host=127.0.0.1 port=" +
         closed.substr(10) +
         " user=x', query: 'SELECT NOT pg_is_in_recovery()', expect: t}}\n"
         "  - {name: health, region: r2, grpc: {address: '" +
         closed + "'}}\n";
}

TEST(agent_check_kinds, every_kind_is_probed_and_reported) {
  auto loaded = common::load_config_text(
      config_yaml(), "/virtual/kinds.yaml", [](std::string_view) { return std::optional<std::string>{}; },
      [](const std::string&, std::string& error) -> std::optional<std::string> {
        error = "no files here";
        return std::nullopt;
      });
  ASSERT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].format());

  std::mutex mu;
  std::map<std::string, std::map<std::string, int>> outcomes;  // check -> outcome -> count
  auto post = [&](const std::string&, const std::string& body, const std::vector<std::string>&,
                  std::chrono::milliseconds, std::string& answer) {
    std::lock_guard lock(mu);
    const auto doc = nlohmann::json::parse(body);  // not in the range-for: .at() would outlive it
    for (const auto& o : doc.at("observations"))
      ++outcomes[o.at("check").get<std::string>()][o.at("outcome").get<std::string>()];
    answer = R"({"accepted":1})";
    return 202;
  };
  boost::asio::io_context io;
  common::real_clock clock;
  prometheus::Registry registry;
  agent_options opts;
  opts.vantage = "local";
  opts.flush_interval = 100ms;
  {
    agent a(io, *loaded.value, opts, clock, registry, nullptr, post);
    EXPECT_EQ(a.check_count(), 5U);
    a.start();
    io.run_for(1000ms);
    a.stop();
  }
  std::lock_guard lock(mu);
  for (const char* id : {"web@r1", "smtp@r1", "dns@r1", "writer@r2", "health@r2"}) {
    EXPECT_GT(outcomes[id]["connect_refused"], 0) << id;
    EXPECT_EQ(outcomes[id].size(), 1U) << id << ": only connect_refused expected";
  }
  double counted = 0;
  for (const auto& fam : registry.Collect()) {
    if (fam.name != "vigil_probe_outcomes_total") continue;
    for (const auto& m : fam.metric) {
      for (const auto& l : m.label) {
        if (l.name == "outcome" && l.value == "connect_refused") counted += m.counter.value;
      }
    }
  }
  EXPECT_GE(counted, 5.0);
}

}  // namespace
}  // namespace vigil::detector
