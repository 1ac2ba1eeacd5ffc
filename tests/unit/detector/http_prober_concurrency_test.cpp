// 500 probes in flight at once on one io_context (one thread), against the
// fault server's /ok: every one must complete, correctly, exactly once.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <map>

#include "detector/http_prober.hpp"
#include "http_prober_test_support.hpp"

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;
using decision::outcome;

TEST(http_prober_concurrency, five_hundred_probes_in_flight_on_one_io_context) {
  testing::no_proxy_env clean_env;
  testing::fault_server server(/*https=*/false);
  constexpr std::size_t n = 500;
  // The python server spawns a thread per connection: give it time to accept
  // them all, the prober itself does not need it.
  const auto check = testing::make_check(server.http("/ok"), {R"(body.json("/status") == "UP")"}, 20000ms);

  boost::asio::io_context io;
  common::real_clock clock;
  http_prober prober(io, clock);
  std::map<outcome, std::size_t> outcomes;
  std::size_t done = 0;
  for (std::size_t i = 0; i < n; ++i) {
    prober.probe(check, [&](const probe_result& r) {
      ++outcomes[r.result];
      ++done;
      if (r.result != outcome::ok) ADD_FAILURE() << decision::to_string(r.result) << ": " << r.detail;
    });
  }
  EXPECT_EQ(prober.in_flight(), n);
  const auto start = clock.monotonic();
  io.run();
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock.monotonic() - start);
  EXPECT_EQ(done, n);
  EXPECT_EQ(outcomes[outcome::ok], n);
  EXPECT_EQ(prober.in_flight(), 0U);
  RecordProperty("elapsed_ms", static_cast<int>(elapsed.count()));
  std::printf("%zu concurrent probes finished in %lld ms\n", n, static_cast<long long>(elapsed.count()));
}

}  // namespace
}  // namespace vigil::detector
