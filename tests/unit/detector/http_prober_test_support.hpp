#pragma once
// Test support for the HTTP prober tests: child processes (the python fault
// server and proxies of tests/support/), environment guards and a one-probe
// runner. Everything binds 127.0.0.1 with ports the kernel picks.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "detector/http_prober.hpp"
#include "tests/support/aws_test_support.hpp"

extern char** environ;  // NOLINT: posix_spawn needs it

namespace vigil::detector::testing {

/// A child process with a pipe on stdin (closed on destruction, which tells
/// the python helpers to exit) and one on stdout (read line by line).
class child_process {
 public:
  explicit child_process(const std::vector<std::string>& argv) {
    int in[2];
    int out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));  // NOLINT: spawn's C API
    args.push_back(nullptr);
    const int rc = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    if (rc != 0) throw std::runtime_error("posix_spawnp " + argv[0] + " failed");
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    ::close(stdin_);
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    ::close(stdout_);
  }

  /// Writes one line to the child's stdin.
  void write_line(const std::string& line) {
    const std::string l = line + "\n";
    if (::write(stdin_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) throw std::runtime_error("write");
  }

  /// One line of the child's stdout, or throws after `timeout_ms`.
  std::string read_line(int timeout_ms) {
    std::string line;
    char c = 0;
    while (true) {
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) throw std::runtime_error("child wrote no line in time");
      if (::read(stdout_, &c, 1) != 1) throw std::runtime_error("child closed stdout: " + line);
      if (c == '\n') return line;
      line += c;
    }
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
};

/// The helpers need only the standard library: prefer the system interpreter,
/// which starts far faster than a version-manager shim (VIGIL_PYTHON wins).
inline std::string stdlib_python() {
  if (std::getenv("VIGIL_PYTHON") == nullptr && std::filesystem::exists("/usr/bin/python3")) return "/usr/bin/python3";
  return test_support::python();
}

inline std::string support_script(const char* name) {
  return test_support::source_dir() + "/tests/support/" + name;
}

/// tests/support/fault_server.py; with `https`, its certificates live in a
/// fresh temp dir (making them takes about two seconds).
class fault_server {
 public:
  explicit fault_server(bool https = true) {
    char tmpl[] = "/tmp/vigil-fault-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    std::vector<std::string> argv{stdlib_python(), support_script("fault_server.py")};
    if (https) argv.insert(argv.end(), {"--certs", dir_});
    proc_.emplace(argv);
    ports_ = nlohmann::json::parse(proc_->read_line(30000));
  }
  fault_server(const fault_server&) = delete;
  fault_server& operator=(const fault_server&) = delete;
  ~fault_server() {
    proc_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  [[nodiscard]] int port(const char* name) const { return ports_.at(name).get<int>(); }
  [[nodiscard]] std::string http(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port("http")) + path;
  }
  /// which: "good", "expired" or "expiring".
  [[nodiscard]] std::string https(const std::string& which, const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port(("https_" + which).c_str())) + path;
  }
  [[nodiscard]] std::string ca_file() const { return ports_.at("ca_file").get<std::string>(); }

 private:
  std::string dir_;
  std::optional<child_process> proc_;
  nlohmann::json ports_;
};

/// tests/support/fault_proxy.py: forward, drop and silent proxies.
class fault_proxy {
 public:
  fault_proxy() : proc_({stdlib_python(), support_script("fault_proxy.py")}) {
    ports_ = nlohmann::json::parse(proc_.read_line(30000));
  }
  [[nodiscard]] std::string url(const char* mode) const {
    return "http://127.0.0.1:" + std::to_string(ports_.at(mode).get<int>());
  }

 private:
  child_process proc_;
  nlohmann::json ports_;
};

/// Sets (or unsets, with nullopt) an environment variable for a scope.
class env_guard {
 public:
  env_guard(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;
  ~env_guard() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

/// Clears every proxy variable libcurl reads, so an ambient proxy cannot
/// change what a loopback test sees.
class no_proxy_env {
 public:
  no_proxy_env() {
    for (const char* n :
         {"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"}) {
      guards_.push_back(std::make_unique<env_guard>(n, std::nullopt));
    }
  }

 private:
  std::vector<std::unique_ptr<env_guard>> guards_;
};

/// compile_check() of a test's config; a bad one throws.
inline compiled_check compile_or_throw(const common::check_config& cfg) {
  auto compiled = compile_check(cfg, common::probe_defaults_config{});
  if (auto* errors = std::get_if<std::vector<std::string>>(&compiled)) {
    throw std::runtime_error("bad test check: " + errors->front());
  }
  return std::get<compiled_check>(std::move(compiled));
}

/// A check with small timeouts, so that failing probes end quickly.
inline compiled_check make_check(const std::string& url, std::vector<std::string> expect = {},
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds(800)) {
  common::check_config cfg;
  cfg.id = "api@test-1";
  cfg.region = "test-1";
  cfg.timeout = timeout;
  common::http_check_config h;
  h.url = url;
  h.expect = std::move(expect);
  cfg.http = h;
  return compile_or_throw(cfg);
}

/// Runs one probe on a fresh io_context and returns its result.
template <typename Prober = http_prober>
probe_result probe_once(const compiled_check& check, probe_metrics* metrics = nullptr) {
  boost::asio::io_context io;
  common::real_clock clock;
  Prober prober(io, clock, metrics);
  std::optional<probe_result> out;
  prober.probe(check, [&out](probe_result r) { out = std::move(r); });
  io.run();
  if (!out) throw std::runtime_error("the probe never finished");
  return *out;
}

/// Runs one probe in a forked child that first enters a fresh network
/// namespace (only a down `lo`: no route anywhere) and a private mount
/// namespace in which /etc/resolv.conf is empty (glibc then asks 127.0.0.1).
/// For probes that need name resolution to fail: the machine's resolver is
/// never asked, so no packet leaves loopback and the result does not depend
/// on the network. Needs CAP_SYS_ADMIN (CI runs the tests as root); nullopt
/// when the namespace cannot be made, and the caller skips rather than send
/// a DNS query off the machine. Only `result` and `detail` come back.
inline std::optional<probe_result> probe_once_offline(const compiled_check& check) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    // Child: no gtest assertions, no destructors of the parent's objects (_exit).
    ::close(fds[0]);
    std::string msg;
    if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
      msg = std::string("S") + std::strerror(errno);
    } else {
      // Private mounts so the bind below stays in this namespace; /dev/null
      // as resolv.conf: no nameserver line, glibc's default is 127.0.0.1.
      // If either mount fails the network namespace alone still keeps every
      // packet on this host (connect() fails with ENETUNREACH).
      (void)::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
      (void)::mount("/dev/null", "/etc/resolv.conf", nullptr, MS_BIND, nullptr);
      try {
        const auto r = probe_once(check);
        msg = "R";
        msg += static_cast<char>(r.result);
        msg += r.detail;
      } catch (const std::exception& e) {
        msg = std::string("E") + e.what();
      }
    }
    const char* p = msg.data();
    std::size_t left = msg.size();
    while (left > 0) {
      const ssize_t n = ::write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  while (true) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 30000) <= 0) break;  // the child's probe has its own timeout
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    msg.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  ::kill(pid, SIGKILL);  // a no-op when it already exited
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (msg.empty()) throw std::runtime_error("the offline probe child reported nothing");
  if (msg[0] == 'S') return std::nullopt;
  if (msg[0] != 'R' || msg.size() < 2) throw std::runtime_error("offline probe child: " + msg.substr(1));
  probe_result r;
  r.result = static_cast<decision::outcome>(static_cast<unsigned char>(msg[1]));
  r.detail = msg.substr(2);
  return r;
}

}  // namespace vigil::detector::testing
