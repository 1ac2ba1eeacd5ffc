#pragma once
// Test support: a real etcd 3.4 cluster (Debian's /usr/bin/etcd) of N members
// on 127.0.0.1, with ports chosen at run time, data in a fresh temporary
// directory and a unique cluster token. Members can be killed (SIGKILL),
// paused (SIGSTOP / SIGCONT) and restarted from their data directories.
//
// shared_etcd_cluster() starts one cluster per test process on first use and
// stops it at exit; tests that kill members build their own etcd_cluster.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/http_client.hpp"

namespace vigil::testing {

/// A port nobody listens on right now (bound to port 0, then released).
inline int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  // The sockaddr casts are what the BSD socket API requires.
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

/// Client TLS of every member (empty ca_file: plain http) and extra flags.
struct etcd_cluster_options {
  std::string ca_file;    ///< --trusted-ca-file; also what healthy() trusts
  std::string cert_file;  ///< --cert-file (server certificate, IP SAN 127.0.0.1)
  std::string key_file;   ///< --key-file
  bool client_cert_auth = false;
  std::string client_cert_file;  ///< what healthy() presents when client_cert_auth
  std::string client_key_file;
  std::vector<std::string> extra_args;  ///< e.g. {"--auth-token-ttl", "1"}
};

class etcd_cluster {
 public:
  struct member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    pid_t pid = -1;
    bool stopped = false;  ///< SIGSTOPped
    bool tls = false;
    [[nodiscard]] std::string client_url() const {
      return (tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(client_port);
    }
    [[nodiscard]] std::string peer_url() const { return "http://127.0.0.1:" + std::to_string(peer_port); }
  };

  explicit etcd_cluster(std::size_t size = 3, etcd_cluster_options options = {}) : options_(std::move(options)) {
    static int counter = 0;
    const std::string token = "vigil-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    dir_ = std::filesystem::temp_directory_path() / token;
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    token_ = token;
    for (std::size_t i = 0; i < size; ++i) {
      member m;
      m.name = "m" + std::to_string(i);
      m.client_port = free_tcp_port();
      m.peer_port = free_tcp_port();
      m.tls = !options_.cert_file.empty();
      members_.push_back(m);
    }
    for (std::size_t i = 0; i < size; ++i)
      start(i);
    if (!wait_healthy(std::chrono::seconds(30))) {
      stop_all();
      throw std::runtime_error("etcd cluster did not become healthy; logs in " + dir_.string());
    }
  }
  ~etcd_cluster() {
    stop_all();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  etcd_cluster(const etcd_cluster&) = delete;
  etcd_cluster& operator=(const etcd_cluster&) = delete;

  [[nodiscard]] std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (const auto& m : members_)
      out.push_back(m.client_url());
    return out;
  }
  [[nodiscard]] const member& at(std::size_t i) const { return members_.at(i); }
  [[nodiscard]] std::size_t size() const { return members_.size(); }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

  /// (Re)starts member i from its data directory.
  void start(std::size_t i) {
    member& m = members_.at(i);
    if (m.pid > 0) return;
    std::string initial;
    for (const auto& o : members_)
      initial += (initial.empty() ? "" : ",") + o.name + "=" + o.peer_url();
    std::vector<std::string> argv = {
        "/usr/bin/etcd",
        "--name",
        m.name,
        "--data-dir",
        (dir_ / m.name).string(),
        "--listen-client-urls",
        m.client_url(),
        "--advertise-client-urls",
        m.client_url(),
        "--listen-peer-urls",
        m.peer_url(),
        "--initial-advertise-peer-urls",
        m.peer_url(),
        "--initial-cluster",
        initial,
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        token_,
        // Faster than the defaults (100 ms / 1 s) so the cluster forms and
        // re-elects quickly on loopback.
        "--heartbeat-interval",
        "50",
        "--election-timeout",
        "500",
        "--logger",
        "zap",
        "--log-outputs",
        (dir_ / (m.name + ".log")).string(),
    };
    if (m.tls) {
      argv.insert(argv.end(), {"--cert-file", options_.cert_file, "--key-file", options_.key_file});
      if (!options_.ca_file.empty()) argv.insert(argv.end(), {"--trusted-ca-file", options_.ca_file});
      if (options_.client_cert_auth) argv.emplace_back("--client-cert-auth");
    }
    argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
    const std::string out_path = (dir_ / (m.name + ".out")).string();
    m.pid = ::fork();
    if (m.pid < 0) throw std::runtime_error("fork");
    if (m.pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphaned etcd if the test binary dies
      // etcd's gRPC and HTTP layers still write to stderr beside --log-outputs.
      const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> args;
      for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    m.stopped = false;
  }

  /// SIGKILL member i (a crash).
  void kill(std::size_t i) {
    member& m = members_.at(i);
    if (m.pid <= 0) return;
    if (m.stopped) ::kill(m.pid, SIGCONT);
    ::kill(m.pid, SIGKILL);
    ::waitpid(m.pid, nullptr, 0);
    m.pid = -1;
  }
  void pause(std::size_t i) {
    member& m = members_.at(i);
    if (m.pid > 0 && !m.stopped) ::kill(m.pid, SIGSTOP);
    m.stopped = true;
  }
  void resume(std::size_t i) {
    member& m = members_.at(i);
    if (m.pid > 0 && m.stopped) ::kill(m.pid, SIGCONT);
    m.stopped = false;
  }

  /// True when member i answers GET /health with {"health":"true"}.
  [[nodiscard]] bool healthy(std::size_t i) const {
    common::http_call c;
    c.url = members_.at(i).client_url() + "/health";
    c.timeout = std::chrono::milliseconds(1000);
    c.connect_timeout = std::chrono::milliseconds(500);
    c.ca_file = options_.ca_file;
    c.cert_file = options_.client_cert_file;
    c.key_file = options_.client_key_file;
    const auto r = common::http_perform(c);
    return r.success() && r.body.find("\"true\"") != std::string::npos;
  }

  /// Polls until every running member is healthy (real time: etcd elects its
  /// own raft leader on its own schedule).
  bool wait_healthy(std::chrono::milliseconds limit) const {
    for (auto waited = std::chrono::milliseconds(0); waited < limit; waited += std::chrono::milliseconds(50)) {
      bool all = true;
      for (std::size_t i = 0; i < members_.size() && all; ++i) {
        if (members_[i].pid > 0) all = healthy(i);
      }
      if (all) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void stop_all() {
    for (auto& m : members_) {
      if (m.pid <= 0) continue;
      if (m.stopped) ::kill(m.pid, SIGCONT);
      ::kill(m.pid, SIGTERM);
    }
    for (auto& m : members_) {
      if (m.pid <= 0) continue;
      bool gone = false;
      // The data is thrown away: half a second of grace, then SIGKILL (an etcd
      // raft leader whose peers are stopping waits ~5 s for a leader transfer).
      for (int i = 0; i < 5 && !gone; ++i) {
        gone = ::waitpid(m.pid, nullptr, WNOHANG) == m.pid;
        if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!gone) {
        ::kill(m.pid, SIGKILL);
        ::waitpid(m.pid, nullptr, 0);
      }
      m.pid = -1;
    }
  }

 private:
  etcd_cluster_options options_;
  std::filesystem::path dir_;
  std::string token_;
  std::vector<member> members_;
};

/// One cluster per test process, started on first use, stopped at exit.
inline etcd_cluster& shared_etcd_cluster() {
  static std::unique_ptr<etcd_cluster> cluster = std::make_unique<etcd_cluster>(3);
  return *cluster;
}

}  // namespace vigil::testing
