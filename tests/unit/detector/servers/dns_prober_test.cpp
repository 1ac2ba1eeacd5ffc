// dns checks against a REAL resolver: dnsmasq (Debian's dnsmasq-base) started
// here on a free port of 127.0.0.1 with fixed records, authoritative for
// vigil.test (other names there are NXDOMAIN) and with no upstream (other
// domains are REFUSED). Plus a UDP socket that never answers (timeout) and a
// closed port (ICMP port unreachable: connect_refused).

#include <gtest/gtest.h>

#include "tests/unit/detector/socket_probe_test_support.hpp"

namespace vigil::detector {
namespace {

using decision::outcome;
using testing::run_probe;
using testing::socket_check;

class dnsmasq {
 public:
  dnsmasq() : port_(test_support::free_port()) {
    proc_.emplace(std::vector<std::string>{
        "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--user=root",
        "--pid-file=", "--bind-interfaces", "--listen-address=127.0.0.1", "--port=" + std::to_string(port_),
        "--local=/vigil.test/", "--host-record=svc.vigil.test,127.0.0.5,fd00::5",
        "--host-record=svc.vigil.test,127.0.0.6", "--cname=www.vigil.test,svc.vigil.test",
        "--txt-record=txt.vigil.test,\"v=vigil1 region=test-1\"", "--mx-host=vigil.test,mail.vigil.test,10"});
    // dnsmasq serves TCP on the same port: open means it is answering.
    if (!test_support::wait_for_port(port_, std::chrono::seconds(20)))
      throw std::runtime_error("dnsmasq did not start");
  }
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::optional<testing::child_process> proc_;
};

compiled_check dns_check(const std::string& resolver, const std::string& name, const std::string& type,
                         std::vector<std::string> expect = {},
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(1500)) {
  return socket_check(
      [&](common::check_config& c) {
        common::dns_check_config d;
        d.resolver = resolver;
        d.name = name;
        d.type = type;
        d.expect = std::move(expect);
        c.dns = d;
      },
      timeout);
}

class DnsProber : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new dnsmasq(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static dnsmasq* server_;
};
dnsmasq* DnsProber::server_ = nullptr;

TEST_F(DnsProber, ARecordsResolveAndContainTheExpectedAddresses) {
  const auto r = run_probe(dns_check(server_->address(), "svc.vigil.test", "A", {"127.0.0.5", "127.0.0.6"}));
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
  EXPECT_GT(r.phases.dns_ms, 0.0);
  EXPECT_GE(r.phases.total_ms, r.phases.dns_ms);
}

TEST_F(DnsProber, MissingExpectedValueIsBodyMismatchListingTheAnswers) {
  const auto r = run_probe(dns_check(server_->address(), "svc.vigil.test", "A", {"10.0.0.1"}));
  EXPECT_EQ(r.result, outcome::body_mismatch);
  EXPECT_NE(r.detail.find("127.0.0.5"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("10.0.0.1"), std::string::npos) << r.detail;
}

TEST_F(DnsProber, AaaaCnameTxtAndMxAnswersAreRead) {
  EXPECT_EQ(run_probe(dns_check(server_->address(), "svc.vigil.test", "AAAA", {"fd00::5"})).result, outcome::ok);
  const auto cname = run_probe(dns_check(server_->address(), "www.vigil.test", "CNAME", {"SVC.vigil.test."}));
  EXPECT_EQ(cname.result, outcome::ok) << cname.detail;
  // An A query for the alias follows the CNAME in the answer section.
  EXPECT_EQ(run_probe(dns_check(server_->address(), "www.vigil.test", "A", {"127.0.0.5"})).result, outcome::ok);
  const auto txt = run_probe(dns_check(server_->address(), "txt.vigil.test", "TXT", {"region=test-1"}));
  EXPECT_EQ(txt.result, outcome::ok) << txt.detail;
  const auto mx = run_probe(dns_check(server_->address(), "vigil.test", "MX", {"10 mail.vigil.test"}));
  EXPECT_EQ(mx.result, outcome::ok) << mx.detail;
}

TEST_F(DnsProber, NxdomainIsDnsError) {
  const auto r = run_probe(dns_check(server_->address(), "nope.vigil.test", "A"));
  EXPECT_EQ(r.result, outcome::dns_error);
  EXPECT_NE(r.detail.find("NXDOMAIN"), std::string::npos) << r.detail;
}

TEST_F(DnsProber, NoRecordOfTheTypeIsDnsError) {
  const auto r = run_probe(dns_check(server_->address(), "txt.vigil.test", "A"));
  EXPECT_EQ(r.result, outcome::dns_error);
  EXPECT_NE(r.detail.find("no A record"), std::string::npos) << r.detail;
}

TEST_F(DnsProber, RefusedNameIsDnsError) {
  const auto r = run_probe(dns_check(server_->address(), "elsewhere.example", "A"));
  EXPECT_EQ(r.result, outcome::dns_error);
  EXPECT_NE(r.detail.find("REFUSED"), std::string::npos) << r.detail;
}

TEST_F(DnsProber, SilentResolverIsTimeout) {
  testing::silent_socket silent(SOCK_DGRAM);
  const auto r = run_probe(dns_check(silent.address(), "svc.vigil.test", "A", {}, std::chrono::milliseconds(300)));
  EXPECT_EQ(r.result, outcome::timeout);
  EXPECT_GE(r.phases.total_ms, 250.0);
}

TEST_F(DnsProber, ClosedResolverPortIsConnectRefused) {
  std::string closed;
  {
    testing::silent_socket gone(SOCK_DGRAM);  // a port that was free a moment ago
    closed = gone.address();
  }
  const auto r = run_probe(dns_check(closed, "svc.vigil.test", "A"));
  EXPECT_EQ(r.result, outcome::connect_refused) << r.detail;
}

}  // namespace
}  // namespace vigil::detector
