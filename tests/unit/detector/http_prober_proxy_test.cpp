// Proxies: libcurl's environment variables are honoured (operators route
// probes through proxies; tests give each vantage its own network faults
// this way), an explicit proxy is used when configured, and a broken proxy
// is told apart from a broken target.

#include <gtest/gtest.h>

#include "detector/http_prober.hpp"
#include "http_prober_test_support.hpp"

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;
using decision::outcome;
using testing::env_guard;
using testing::make_check;
using testing::probe_once;

class http_prober_proxy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    shared_server = new testing::fault_server();
    shared_proxy = new testing::fault_proxy();
  }
  static void TearDownTestSuite() {
    delete shared_proxy;
    delete shared_server;
  }
  static testing::fault_server& server() { return *shared_server; }
  static testing::fault_proxy& proxy() { return *shared_proxy; }

  /// How many CONNECT tunnels the forward proxy opened so far (read with the prober itself).
  static long tunnels_opened() {
    testing::no_proxy_env clean;
    for (long n = 0; n < 100; ++n) {
      const auto r = probe_once(
          make_check(proxy().url("forward") + "/stats", {"body.json(\"/tunnels\") == " + std::to_string(n)}));
      if (r.result == outcome::ok) return n;
    }
    return -1;
  }

  testing::no_proxy_env clean_env_;

 private:
  static testing::fault_server* shared_server;
  static testing::fault_proxy* shared_proxy;
};

testing::fault_server* http_prober_proxy::shared_server = nullptr;
testing::fault_proxy* http_prober_proxy::shared_proxy = nullptr;

TEST_F(http_prober_proxy, http_proxy_from_the_environment_is_used) {
  env_guard env("http_proxy", proxy().url("forward"));
  const auto r = probe_once(make_check(server().http("/ok"), {R"(header("x-proxied") == "1")"}));
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
}

TEST_F(http_prober_proxy, no_proxy_from_the_environment_bypasses_it) {
  env_guard env("http_proxy", proxy().url("drop"));
  env_guard bypass("no_proxy", "localhost,127.0.0.1");
  const auto r = probe_once(make_check(server().http("/ok"), {R"(header("x-proxied") != "1")"}));
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
}

TEST_F(http_prober_proxy, configured_proxy_tunnels_https) {
  const long before = tunnels_opened();
  auto check = make_check(server().https("good", "/ok"), {R"(body.json("/status") == "UP")"});
  check.ca_file = server().ca_file();
  check.proxy = proxy().url("forward");
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
  EXPECT_EQ(tunnels_opened(), before + 1);
}

TEST_F(http_prober_proxy, proxy_that_drops_the_connection_is_proxy_error) {
  auto check = make_check(server().http("/ok"));
  check.proxy = proxy().url("drop");
  auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::proxy_error) << r.detail;

  auto tls = make_check(server().https("good", "/ok"));
  tls.ca_file = server().ca_file();
  tls.proxy = proxy().url("drop");
  r = probe_once(tls);
  EXPECT_EQ(r.result, outcome::proxy_error) << r.detail;  // CONNECT aborted
}

TEST_F(http_prober_proxy, proxy_from_the_environment_that_drops_is_proxy_error) {
  env_guard env("http_proxy", proxy().url("drop"));
  const auto r = probe_once(make_check(server().http("/ok")));
  EXPECT_EQ(r.result, outcome::proxy_error) << r.detail;
}

TEST_F(http_prober_proxy, proxy_that_never_answers_is_timeout) {
  // A silent proxy looks like a silent target: no-one answered in time.
  auto check = make_check(server().http("/ok"), {}, 400ms);
  check.proxy = proxy().url("silent");
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::timeout) << r.detail;
}

TEST_F(http_prober_proxy, unreachable_or_unresolvable_proxy_is_proxy_error) {
  auto check = make_check(server().http("/ok"));
  check.proxy = "http://127.0.0.1:" + std::to_string(test_support::free_port());
  auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::proxy_error) << r.detail;  // refused by the proxy port, not the target

  // Resolving the proxy's name must not query the machine's resolver (that
  // would leave loopback): resolve where no network exists.
  check.proxy = "http://nonexistent.invalid:3128";
  const auto offline = testing::probe_once_offline(check);
  if (!offline) GTEST_SKIP() << "no private network namespace (needs root); not querying a real resolver";
  EXPECT_EQ(offline->result, outcome::proxy_error) << offline->detail;
}

}  // namespace
}  // namespace vigil::detector
