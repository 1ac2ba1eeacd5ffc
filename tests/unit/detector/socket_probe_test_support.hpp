#pragma once
// Test support for the tcp, dns, postgres and grpc checks: compiling a check
// from its config section, running one probe through check_prober (what the
// agent uses), and a loopback socket that never answers.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "detector/socket_probers.hpp"
#include "tests/unit/detector/http_prober_test_support.hpp"

namespace vigil::detector::testing {

/// A compiled check of any kind: `set` fills the kind's section of the config.
template <typename Set>
compiled_check socket_check(Set set, std::chrono::milliseconds timeout = std::chrono::milliseconds(1500)) {
  common::check_config cfg;
  cfg.id = "svc@test-1";
  cfg.region = "test-1";
  cfg.timeout = timeout;
  set(cfg);
  return compile_or_throw(cfg);
}

/// Runs one probe through check_prober and returns its result.
inline probe_result run_probe(const compiled_check& check, probe_metrics* metrics = nullptr) {
  return probe_once<check_prober>(check, metrics);
}

/// A socket bound to a kernel-chosen port of 127.0.0.1 that never answers:
/// SOCK_STREAM listens (the kernel completes handshakes) but never accepts,
/// SOCK_DGRAM reads nothing.
class silent_socket {
 public:
  explicit silent_socket(int type) {
    fd_ = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    auto* sa = reinterpret_cast<sockaddr*>(&a);  // NOLINT: the sockets API
    if (::bind(fd_, sa, len) != 0 || (type == SOCK_STREAM && ::listen(fd_, 16) != 0) ||
        ::getsockname(fd_, sa, &len) != 0) {
      throw std::runtime_error("silent socket");
    }
    port_ = ntohs(a.sin_port);
  }
  ~silent_socket() { ::close(fd_); }
  silent_socket(const silent_socket&) = delete;
  silent_socket& operator=(const silent_socket&) = delete;
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace vigil::detector::testing
