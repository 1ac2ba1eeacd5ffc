// The probe fault catalogue, each fault asserted by its outcome,
// against tests/support/fault_server.py on 127.0.0.1 (real sockets, real TLS).

#include "detector/http_prober.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <iterator>
#include <optional>
#include <stdexcept>

#include "http_prober_test_support.hpp"

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;
using decision::outcome;
using testing::make_check;
using testing::probe_once;

/// One probe on a long-lived prober (its connection cache and handle pool
/// carry over between calls): runs `io` until the probe finished.
probe_result probe_on(boost::asio::io_context& io, http_prober& prober, const compiled_check& check) {
  std::optional<probe_result> out;
  prober.probe(check, [&](probe_result r) { out = std::move(r); });
  io.restart();
  io.run();
  if (!out) throw std::runtime_error("the probe never finished");
  return *out;
}

class http_prober_faults : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { shared_server = new testing::fault_server(); }
  static void TearDownTestSuite() {
    delete shared_server;
    shared_server = nullptr;
  }
  static testing::fault_server& server() { return *shared_server; }

  testing::no_proxy_env no_proxy_;  // an ambient proxy must not route loopback probes

 private:
  static testing::fault_server* shared_server;
};

testing::fault_server* http_prober_faults::shared_server = nullptr;

TEST_F(http_prober_faults, healthy_endpoint_is_ok_with_phases) {
  const auto check = make_check(server().http("/ok"), {R"(body.json("/status") == "UP")", "status == 200"});
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_TRUE(r.detail.empty()) << r.detail;
  EXPECT_GT(r.body_bytes, 10U);
  EXPECT_GT(r.phases.total_ms, 0.0);
  EXPECT_GE(r.phases.total_ms, r.phases.connect_ms + r.phases.first_byte_ms);
  EXPECT_DOUBLE_EQ(r.latency_ms, r.phases.total_ms);
  EXPECT_EQ(r.phases.tls_ms, 0.0);
  EXPECT_FALSE(r.cert_not_after.has_value());
}

TEST_F(http_prober_faults, status_500_behind_a_healthy_tcp_port_is_http_status) {
  const auto r = probe_once(make_check(server().http("/status/500")));
  EXPECT_EQ(r.result, outcome::http_status) << r.detail;
  EXPECT_EQ(r.http_status, 500);
  EXPECT_NE(r.detail.find("500"), std::string::npos) << r.detail;
}

TEST_F(http_prober_faults, body_trickling_below_the_low_speed_limit_times_out) {
  // 10 bytes/s against a floor of 100 bytes/s over curl's minimum window of
  // 1 s: the low-speed limit trips long before the 5 s total timeout.
  auto check = make_check(server().http("/trickle?every_ms=100"), {}, 5000ms);
  check.low_speed_limit = 100;
  check.low_speed_time = 1000ms;
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::timeout) << r.detail;
  EXPECT_EQ(r.http_status, 200);  // headers came; the body did not
  EXPECT_LT(r.latency_ms, 3000.0) << "the total timeout fired, not the low-speed limit";
  EXPECT_NE(r.detail.find("too slow"), std::string::npos) << r.detail;
}

TEST_F(http_prober_faults, headers_never_sent_times_out) {
  const auto r = probe_once(make_check(server().http("/noheaders"), {}, 400ms));
  EXPECT_EQ(r.result, outcome::timeout) << r.detail;
  EXPECT_EQ(r.http_status, 0);
  EXPECT_GE(r.latency_ms, 390.0);
  EXPECT_LT(r.latency_ms, 1500.0);
}

TEST_F(http_prober_faults, ten_mib_chunked_body_is_cut_at_the_cap) {
  auto check = make_check(server().http("/big"), {}, 5000ms);
  ASSERT_EQ(check.body_limit, 64U * 1024U);  // the default cap
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::body_too_large) << r.detail;
  EXPECT_EQ(r.http_status, 200);
  // Read at most the cap plus the one write that crossed it (curl hands over
  // at most CURL_MAX_WRITE_SIZE = 16 KiB at a time), far below 10 MiB.
  EXPECT_GT(r.body_bytes, 64U * 1024U);
  EXPECT_LE(r.body_bytes, 64U * 1024U + 16U * 1024U);
  EXPECT_LT(r.latency_ms, 2000.0);
}

TEST_F(http_prober_faults, redirect_loop_is_too_many_redirects) {
  auto check = make_check(server().http("/redirect-loop"));
  check.follow_redirects = true;
  check.max_redirects = 3;
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::too_many_redirects) << r.detail;
}

TEST_F(http_prober_faults, redirects_are_not_followed_by_default) {
  const auto r = probe_once(make_check(server().http("/redirect-loop"), {"status == 200"}));
  EXPECT_EQ(r.result, outcome::http_status) << r.detail;
  EXPECT_EQ(r.http_status, 302);
  // Without a status expectation a 3xx passes, as Route 53 counts it.
  EXPECT_EQ(probe_once(make_check(server().http("/redirect-loop"))).result, outcome::ok);
}

TEST_F(http_prober_faults, expired_certificate_is_tls_error) {
  auto check = make_check(server().https("expired", "/ok"));
  check.ca_file = server().ca_file();
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::tls_error) << r.detail;
  EXPECT_NE(r.detail.find("expired"), std::string::npos) << r.detail;
}

TEST_F(http_prober_faults, certificate_expiring_inside_the_window_only_warns) {
  auto check = make_check(server().https("expiring", "/ok"), {"cert_expiry > 7d"});
  check.ca_file = server().ca_file();
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::degraded) << r.detail;
  EXPECT_EQ(r.warning, outcome::cert_expiring) << r.detail;
  EXPECT_NE(r.detail.find("(warn)"), std::string::npos) << r.detail;
}

TEST_F(http_prober_faults, certificate_expiring_inside_the_window_is_cert_expiring_when_it_fails) {
  auto check = make_check(server().https("expiring", "/ok"), {"cert_expiry > 7d fail"});
  check.ca_file = server().ca_file();
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::cert_expiring) << r.detail;
  EXPECT_EQ(r.http_status, 200);
  ASSERT_TRUE(r.cert_left.has_value());
  EXPECT_GT(r.cert_left->count(), 2 * 86400 - 3600);
  EXPECT_LE(r.cert_left->count(), 2 * 86400);
}

TEST_F(http_prober_faults, valid_certificate_passes_cert_expiry_and_reports_tls_phase) {
  auto check = make_check(server().https("good", "/ok"), {"cert_expiry > 7d", R"(body.json("/db") == "ok")"});
  check.ca_file = server().ca_file();
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
  ASSERT_TRUE(r.cert_left.has_value());
  EXPECT_GT(r.cert_left->count(), 300 * 86400);
  EXPECT_GT(r.phases.tls_ms, 0.0);
}

TEST_F(http_prober_faults, untrusted_certificate_is_tls_error_verification_stays_on) {
  // The test CA is not in the system bundle: without ca_file this must fail.
  const auto r = probe_once(make_check(server().https("good", "/ok")));
  EXPECT_EQ(r.result, outcome::tls_error) << r.detail;
}

TEST_F(http_prober_faults, unresolvable_host_is_dns_error) {
  // .invalid never resolves (RFC 6761), but asking the machine's resolver
  // would still send a query off the host: resolve where no network exists.
  const auto r = testing::probe_once_offline(make_check("http://nonexistent.invalid/health"));
  if (!r) GTEST_SKIP() << "no private network namespace (needs root); not querying a real resolver";
  EXPECT_EQ(r->result, outcome::dns_error) << r->detail;
}

TEST_F(http_prober_faults, closed_port_is_connect_refused) {
  const auto r = probe_once(make_check("http://127.0.0.1:" + std::to_string(test_support::free_port()) + "/ok"));
  EXPECT_EQ(r.result, outcome::connect_refused) << r.detail;
}

TEST_F(http_prober_faults, tls_to_a_plain_http_port_is_tls_error) {
  const std::string url = "https://127.0.0.1:" + std::to_string(server().port("http")) + "/ok";
  const auto r = probe_once(make_check(url));
  EXPECT_EQ(r.result, outcome::tls_error) << r.detail;
}

TEST_F(http_prober_faults, wrong_json_is_body_mismatch) {
  const auto r = probe_once(make_check(server().http("/json-wrong"), {R"(body.json("/status") == "UP")"}));
  EXPECT_EQ(r.result, outcome::body_mismatch) << r.detail;
  EXPECT_NE(r.detail.find("DOWN"), std::string::npos) << r.detail;
}

TEST_F(http_prober_faults, slow_beyond_degraded_after_is_degraded) {
  auto check = make_check(server().http("/slow?ms=250"));
  check.degraded_after = 100ms;
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::degraded) << r.detail;
  EXPECT_TRUE(decision::is_success(r.result));
  EXPECT_GE(r.latency_ms, 250.0);
  // The same answer inside the threshold is ok.
  check.degraded_after = 2000ms;
  EXPECT_EQ(probe_once(check).result, outcome::ok);
}

TEST_F(http_prober_faults, latency_expectation_is_a_hard_deadline) {
  const auto r = probe_once(make_check(server().http("/slow?ms=250"), {"latency < 100ms"}));
  EXPECT_EQ(r.result, outcome::timeout) << r.detail;
  EXPECT_EQ(r.http_status, 200);
}

TEST_F(http_prober_faults, method_headers_and_body_are_sent) {
  auto check = make_check(server().http("/echo"),
                          {R"(body.json("/method") == "PUT")", R"(body.json("/headers/x-probe") == "vigil")",
                           R"(body.json("/body") == "ping")"});
  check.method = "PUT";
  check.headers = {"X-Probe: vigil"};
  check.body = "ping";
  const auto r = probe_once(check);
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
}

TEST_F(http_prober_faults, header_expectations_read_response_headers) {
  const auto r = probe_once(make_check(server().http("/header"), {R"(header("Content-Type") contains "json")",
                                                                  R"(header("x-vigil-test") == "present")"}));
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
  const auto bad = probe_once(make_check(server().http("/header"), {R"(header("x-vigil-test") == "absent")"}));
  EXPECT_EQ(bad.result, outcome::body_mismatch) << bad.detail;
}

TEST_F(http_prober_faults, fresh_connection_by_default_reuse_with_keep_alive) {
  boost::asio::io_context io;
  common::real_clock clock;
  http_prober prober(io, clock);
  auto run_twice = [&](const compiled_check& check) {
    std::vector<probe_result> out;
    prober.probe(check, [&](probe_result a) {
      out.push_back(std::move(a));
      prober.probe(check, [&](probe_result b) { out.push_back(std::move(b)); });
    });
    io.restart();
    io.run();
    return out;
  };
  auto fresh = make_check(server().http("/ok"));
  auto results = run_twice(fresh);
  ASSERT_EQ(results.size(), 2U);
  EXPECT_EQ(results[1].result, outcome::ok) << results[1].detail;
  EXPECT_FALSE(results[1].reused_connection);

  auto kept = fresh;
  kept.keep_alive = true;
  results = run_twice(kept);
  ASSERT_EQ(results.size(), 2U);
  EXPECT_EQ(results[1].result, outcome::ok) << results[1].detail;
  EXPECT_TRUE(results[1].reused_connection);
}

// Kept-alive sockets stay registered with the event loop while idle
// (detector/curl_multi.hpp): a long chain of reuses works, a connection the
// server dropped while idle is replaced by a fresh one, and every socket is
// closed exactly once (the fd table is back where it started).
TEST_F(http_prober_faults, idle_kept_alive_sockets_are_reused_and_closed_once) {
  auto open_fds = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator{});
  };
  server();  // the fault server's pipes exist before the baseline
  const auto before = open_fds();
  {
    boost::asio::io_context io;
    common::real_clock clock;
    http_prober prober(io, clock);
    auto one = [&](const compiled_check& check) { return probe_on(io, prober, check); };
    auto ok = make_check(server().http("/ok"));
    ok.keep_alive = true;
    auto drop = make_check(server().http("/ok-then-drop"));
    drop.keep_alive = true;
    for (int i = 0; i < 20; ++i) {
      const auto r = one(ok);
      ASSERT_EQ(r.result, outcome::ok) << "probe " << i << ": " << r.detail;
      EXPECT_EQ(r.reused_connection, i > 0) << "probe " << i;
    }
    for (int round = 0; round < 3; ++round) {
      const auto d = one(drop);
      ASSERT_EQ(d.result, outcome::ok) << d.detail;
      io.restart();
      io.run_for(50ms);  // the server closes the idle connection meanwhile
      const auto r = one(ok);
      ASSERT_EQ(r.result, outcome::ok) << "round " << round << ": " << r.detail;
      EXPECT_FALSE(r.reused_connection) << "round " << round << ": the dropped connection was replaced";
      const auto again = one(ok);
      ASSERT_EQ(again.result, outcome::ok) << again.detail;
      EXPECT_TRUE(again.reused_connection) << "round " << round;
    }
  }
  EXPECT_EQ(open_fds(), before) << "a socket leaked or was closed twice";
}

// The prober hands finished easy handles to the next probes (reset, from a
// pool): nothing of one check's options may leak into the next, and every new
// TLS connection still shows the certificate (no session resumption).
TEST_F(http_prober_faults, pooled_handles_forget_the_previous_probe) {
  boost::asio::io_context io;
  common::real_clock clock;
  http_prober prober(io, clock);
  auto one = [&](const compiled_check& check) { return probe_on(io, prober, check); };
  auto put =
      make_check(server().http("/echo"), {R"(body.json("/method") == "PUT")", R"(body.json("/body") == "ping")"});
  put.method = "PUT";
  put.headers = {"X-Probe: vigil"};
  put.body = "ping";
  auto get = make_check(server().http("/echo"), {R"(body.json("/method") == "GET")", R"(body.json("/body") == "")",
                                                 R"(body.json("/headers/user-agent") == "vigil-probe/1")"});
  auto tls = make_check(server().https("good", "/ok"), {"cert_expiry > 7d"});
  tls.ca_file = server().ca_file();
  auto untrusted = make_check(server().https("good", "/ok"));  // the CA file must not carry over
  for (int round = 0; round < 2; ++round) {
    const auto a = one(put);
    EXPECT_EQ(a.result, outcome::ok) << a.detail;
    const auto b = one(get);
    EXPECT_EQ(b.result, outcome::ok) << b.detail;
    const auto c = one(tls);
    EXPECT_EQ(c.result, outcome::ok) << c.detail;
    ASSERT_TRUE(c.cert_left.has_value()) << "round " << round;
    EXPECT_GT(c.phases.tls_ms, 0.0) << "round " << round << ": a full handshake every time";
    const auto d = one(untrusted);
    EXPECT_EQ(d.result, outcome::tls_error) << d.detail;
  }
}

TEST_F(http_prober_faults, destroying_the_prober_abandons_probes_in_flight) {
  boost::asio::io_context io;
  common::real_clock clock;
  const auto check = make_check(server().http("/noheaders"), {}, 5000ms);
  int called = 0;
  {
    http_prober prober(io, clock);
    for (int i = 0; i < 3; ++i)
      prober.probe(check, [&called](const probe_result&) { ++called; });
    EXPECT_EQ(prober.in_flight(), 3U);
    io.run_for(100ms);  // connections are up and waiting for headers
  }
  io.restart();
  io.run();  // whatever is still queued must be harmless
  EXPECT_EQ(called, 0);
}

TEST(http_prober_config, compile_check_reports_bad_expectations_with_positions) {
  common::check_config cfg;
  cfg.id = "api@x";
  cfg.pos = {"vigil.yaml", 10, 7, "services[0].checks[0]"};
  common::http_check_config h;
  h.url = "http://127.0.0.1/";
  h.expect = {"status == 200", "status = 200", "cert_expiry > 7d"};
  h.expect_pos = {{"vigil.yaml", 12, 11, "services[0].checks[0].http.expect[0]"},
                  {"vigil.yaml", 13, 11, "services[0].checks[0].http.expect[1]"},
                  {"vigil.yaml", 14, 11, "services[0].checks[0].http.expect[2]"}};
  cfg.http = h;
  const auto out = compile_check(cfg, {});
  ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(out));
  const auto& errors = std::get<std::vector<std::string>>(out);
  ASSERT_EQ(errors.size(), 2U);
  EXPECT_EQ(errors[0].rfind("vigil.yaml:13:11: services[0].checks[0].http.expect[1]: ", 0), 0U) << errors[0];
  EXPECT_NE(errors[0].find("column 8"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("needs an https:// URL"), std::string::npos) << errors[1];

  common::check_config no_http;
  no_http.id = "cw@x";
  EXPECT_TRUE(std::holds_alternative<std::vector<std::string>>(compile_check(no_http, {})));
}

TEST(http_prober_config, compile_check_applies_defaults) {
  common::check_config cfg;
  cfg.id = "api@x";
  cfg.timeout = 1500ms;
  cfg.degraded_after = 400ms;
  common::http_check_config h;
  h.url = "https://example.invalid/";
  h.follow_redirects = true;
  h.headers = {{"Accept", "application/json"}};
  cfg.http = h;
  common::probe_defaults_config d;
  d.jitter = 0.25;
  const auto c = std::get<compiled_check>(compile_check(cfg, d));
  EXPECT_EQ(c.connect_timeout, 1500ms);
  EXPECT_EQ(c.low_speed_time, 1500ms);
  EXPECT_EQ(c.max_redirects, 5);
  EXPECT_EQ(c.degraded_after, 400ms);
  EXPECT_EQ(c.headers, std::vector<std::string>{"Accept: application/json"});
  EXPECT_DOUBLE_EQ(c.jitter, 0.25);
  EXPECT_FALSE(c.keep_alive);
}

}  // namespace
}  // namespace vigil::detector
