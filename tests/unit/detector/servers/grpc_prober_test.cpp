// grpc checks (grpc.health.v1.Health/Check over h2c) against a REAL gRPC
// server: tests/support/grpc_health_server.py on grpcio, on a free port of
// 127.0.0.1, whose per-service status the test sets.

#include <gtest/gtest.h>

#include "tests/unit/detector/socket_probe_test_support.hpp"

namespace vigil::detector {
namespace {

using decision::outcome;
using testing::run_probe;
using testing::socket_check;

class grpc_server {
 public:
  /// With `tls_dir` (fault_server's certificates), also a TLS port.
  explicit grpc_server(const std::string& tls_dir = {})
      : proc_(tls_dir.empty()
                  ? std::vector<std::string>{testing::stdlib_python(), testing::support_script("grpc_health_server.py")}
                  : std::vector<std::string>{testing::stdlib_python(), testing::support_script("grpc_health_server.py"),
                                             "--tls-dir", tls_dir}),
        ports_(nlohmann::json::parse(proc_.read_line(30000))),
        port_(ports_.at("port").get<int>()) {}
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string tls_address() const {
    return "127.0.0.1:" + std::to_string(ports_.at("tls_port").get<int>());
  }
  /// status: SERVING, NOT_SERVING or UNKNOWN; service "-" is the whole server.
  void set(const std::string& service, const std::string& status) {
    proc_.write_line(service + " " + status);
    if (proc_.read_line(10000) != "ok") throw std::runtime_error("grpc helper did not acknowledge");
  }

 private:
  testing::child_process proc_;
  nlohmann::json ports_;
  int port_;
};

compiled_check grpc_check(const std::string& address, const std::string& service, const std::string& ca_file = {},
                          bool tls = false) {
  return socket_check([&](common::check_config& c) {
    common::grpc_check_config g;
    g.address = address;
    g.service = service;
    g.tls = tls;
    g.ca_file = ca_file;
    c.grpc = g;
  });
}

class GrpcProber : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new grpc_server(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static grpc_server* server_;
};
grpc_server* GrpcProber::server_ = nullptr;

TEST_F(GrpcProber, ServingServerIsOkWithHttpPhases) {
  const auto r = run_probe(grpc_check(server_->address(), ""));
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
  EXPECT_EQ(r.http_status, 200);
  EXPECT_GT(r.phases.connect_ms, 0.0);
  EXPECT_GT(r.phases.first_byte_ms, 0.0);
}

TEST_F(GrpcProber, NamedServiceStatusIsFollowed) {
  const auto check = grpc_check(server_->address(), "vigil.test.Api");
  server_->set("vigil.test.Api", "SERVING");
  EXPECT_EQ(run_probe(check).result, outcome::ok);
  server_->set("vigil.test.Api", "NOT_SERVING");
  const auto down = run_probe(check);
  EXPECT_EQ(down.result, outcome::body_mismatch);
  EXPECT_NE(down.detail.find("NOT_SERVING"), std::string::npos) << down.detail;
  server_->set("vigil.test.Api", "UNKNOWN");  // an empty HealthCheckResponse message
  const auto unknown = run_probe(check);
  EXPECT_EQ(unknown.result, outcome::body_mismatch);
  EXPECT_NE(unknown.detail.find("UNKNOWN"), std::string::npos) << unknown.detail;
}

TEST_F(GrpcProber, UnknownServiceIsGrpcStatusNotFound) {
  const auto r = run_probe(grpc_check(server_->address(), "no.such.Service"));
  EXPECT_EQ(r.result, outcome::http_status);
  EXPECT_NE(r.detail.find("grpc-status 5"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("no.such.Service"), std::string::npos) << r.detail;
}

TEST_F(GrpcProber, ClosedPortIsConnectRefused) {
  const auto r = run_probe(grpc_check("127.0.0.1:" + std::to_string(test_support::free_port()), ""));
  EXPECT_EQ(r.result, outcome::connect_refused) << r.detail;
}

TEST_F(GrpcProber, PlainHttp1ServerIsNotAGrpcServer) {
  testing::fault_server http(false);
  const auto r = run_probe(grpc_check("127.0.0.1:" + std::to_string(http.port("http")), ""));
  EXPECT_FALSE(decision::is_success(r.result)) << "an HTTP/1 server cannot answer a gRPC health check";
}

TEST(GrpcProberTls, TlsWithTheTestCaIsOkAndUntrustedIsTlsError) {
  testing::fault_server certs(true);  // makes the test CA and leaves
  const std::string dir = std::filesystem::path(certs.ca_file()).parent_path().string();
  grpc_server server(dir);
  const auto ok = run_probe(grpc_check(server.tls_address(), "", certs.ca_file(), true));
  EXPECT_EQ(ok.result, outcome::ok) << ok.detail;
  EXPECT_GT(ok.phases.tls_ms, 0.0);
  const auto untrusted = run_probe(grpc_check(server.tls_address(), "", {}, true));
  EXPECT_EQ(untrusted.result, outcome::tls_error) << untrusted.detail;
}

}  // namespace
}  // namespace vigil::detector
