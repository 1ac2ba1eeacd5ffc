// tcp checks against real servers on 127.0.0.1: the fault server of
// tests/support/ (plain HTTP and TLS listeners with a test CA) and a socket
// that listens but never answers. Ports are chosen by the kernel.

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "detector/probe_metrics.hpp"
#include "tests/unit/detector/socket_probe_test_support.hpp"

namespace vigil::detector {
namespace {

using decision::outcome;
using testing::run_probe;
using testing::socket_check;

const char* const http_get = "GET /ok HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";

compiled_check tcp_check(common::tcp_check_config t,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(1500)) {
  return socket_check([&](common::check_config& c) { c.tcp = t; }, timeout);
}

common::tcp_check_config at(int port) {
  common::tcp_check_config t;
  t.address = "127.0.0.1:" + std::to_string(port);
  return t;
}

class TcpProber : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new testing::fault_server(true); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static testing::fault_server* server_;
};
testing::fault_server* TcpProber::server_ = nullptr;

TEST_F(TcpProber, ConnectOnlySucceedsWithConnectPhase) {
  const auto r = run_probe(tcp_check(at(server_->port("http"))));
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
  EXPECT_EQ(r.phases.dns_ms, 0.0) << "an IP literal needs no resolution";
  EXPECT_GT(r.phases.connect_ms, 0.0);
  EXPECT_GE(r.phases.total_ms, r.phases.connect_ms);
  EXPECT_EQ(r.latency_ms, r.phases.total_ms);
}

TEST_F(TcpProber, SendAndExpectReadsTheReply) {
  auto t = at(server_->port("http"));
  t.send = http_get;
  t.expect = "\"UP\"";
  const auto r = run_probe(tcp_check(t));
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
  EXPECT_GT(r.phases.first_byte_ms, 0.0);
  EXPECT_GT(r.body_bytes, 0U);
}

TEST_F(TcpProber, ReplyWithoutTheExpectedTextIsBodyMismatch) {
  auto t = at(server_->port("http"));
  t.send = http_get;
  t.expect = "\"DOWN\"";
  const auto r = run_probe(tcp_check(t));
  EXPECT_EQ(r.result, outcome::body_mismatch);
  EXPECT_NE(r.detail.find("connection closed"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("HTTP/1"), std::string::npos) << "the detail quotes the reply: " << r.detail;
}

TEST_F(TcpProber, ReplyOverReadLimitIsBodyTooLarge) {
  auto t = at(server_->port("http"));
  t.send = "GET /big HTTP/1.0\r\n\r\n";
  t.expect = "never in the body";
  t.read_limit = 1000;
  const auto r = run_probe(tcp_check(t));
  EXPECT_EQ(r.result, outcome::body_too_large) << r.detail;
  EXPECT_EQ(r.body_bytes, 1000U);
}

TEST_F(TcpProber, ClosedPortIsConnectRefused) {
  const auto r = run_probe(tcp_check(at(test_support::free_port())));
  EXPECT_EQ(r.result, outcome::connect_refused) << r.detail;
}

TEST_F(TcpProber, SilentServerIsTimeoutNamingThePhase) {
  testing::silent_socket silent(SOCK_STREAM);
  auto t = at(silent.port());
  t.expect = "220 ";  // a banner that never comes
  const auto r = run_probe(tcp_check(t, std::chrono::milliseconds(300)));
  EXPECT_EQ(r.result, outcome::timeout);
  EXPECT_NE(r.detail.find("waiting for the expected reply"), std::string::npos) << r.detail;
  EXPECT_GE(r.phases.total_ms, 250.0);
  EXPECT_LT(r.phases.total_ms, 5000.0);
}

TEST_F(TcpProber, HostNameIsResolved) {
  auto t = at(server_->port("http"));
  t.address = "localhost:" + std::to_string(server_->port("http"));
  const auto r = run_probe(tcp_check(t));
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
  EXPECT_GT(r.phases.dns_ms, 0.0);
}

TEST_F(TcpProber, TlsWithTheTestCaVerifiesAndReadsExpiry) {
  auto t = at(server_->port("https_good"));
  t.tls = true;
  t.ca_file = server_->ca_file();
  t.server_name = "localhost";
  t.send = http_get;
  t.expect = "\"UP\"";
  const auto r = run_probe(tcp_check(t));
  ASSERT_EQ(r.result, outcome::ok) << r.detail;
  EXPECT_GT(r.phases.tls_ms, 0.0);
  ASSERT_TRUE(r.cert_left.has_value());
  EXPECT_GT(r.cert_left->count(), 300LL * 86400) << "the good leaf is valid for 365 days";
  t.server_name.clear();  // verified against the IP of `address` (the leaf has IP:127.0.0.1)
  const auto by_ip = run_probe(tcp_check(t));
  EXPECT_EQ(by_ip.result, outcome::ok) << by_ip.detail;
}

TEST_F(TcpProber, TlsWithoutTrustingTheCaIsTlsError) {
  auto t = at(server_->port("https_good"));
  t.tls = true;
  const auto r = run_probe(tcp_check(t));
  EXPECT_EQ(r.result, outcome::tls_error) << r.detail;
  EXPECT_NE(r.detail.find("certificate"), std::string::npos) << r.detail;
}

TEST_F(TcpProber, TlsExpiredCertificateIsTlsError) {
  auto t = at(server_->port("https_expired"));
  t.tls = true;
  t.ca_file = server_->ca_file();
  const auto r = run_probe(tcp_check(t));
  EXPECT_EQ(r.result, outcome::tls_error) << r.detail;
  EXPECT_NE(r.detail.find("expired"), std::string::npos) << r.detail;
}

TEST_F(TcpProber, TlsWrongServerNameIsTlsError) {
  auto t = at(server_->port("https_good"));
  t.tls = true;
  t.ca_file = server_->ca_file();
  t.server_name = "db.example.internal";
  const auto r = run_probe(tcp_check(t));
  EXPECT_EQ(r.result, outcome::tls_error) << r.detail;
}

TEST_F(TcpProber, SlowConnectAboveDegradedAfterIsDegraded) {
  auto t = at(server_->port("http"));
  t.send = "GET /slow?ms=150 HTTP/1.0\r\n\r\n";
  t.expect = "UP";
  auto c = tcp_check(t);
  c.degraded_after = std::chrono::milliseconds(50);
  const auto r = run_probe(c);
  EXPECT_EQ(r.result, outcome::degraded) << r.detail;
}

TEST_F(TcpProber, MetricsCountOutcomesAndPhases) {
  prometheus::Registry registry;
  probe_metrics metrics(registry, "v1");
  auto c = tcp_check(at(test_support::free_port()));
  metrics.add_check(c);
  const auto r = run_probe(c, &metrics);
  ASSERT_EQ(r.result, outcome::connect_refused);
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_NE(text.find("vigil_probe_outcomes_total{vantage=\"v1\",check=\"svc@test-1\",outcome=\"connect_refused\","
                      "region=\"test-1\"} 1"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("outcome=\"http_status\""), std::string::npos) << "no HTTP-only series for a tcp check";
  EXPECT_EQ(text.find("outcome=\"tls_error\""), std::string::npos) << "no TLS series without tls: true";
  EXPECT_NE(
      text.find("vigil_probe_phase_seconds{vantage=\"v1\",check=\"svc@test-1\",phase=\"connect\",region=\"test-1\"} "),
      std::string::npos);
}

}  // namespace
}  // namespace vigil::detector
