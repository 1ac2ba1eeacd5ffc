#pragma once
// One moto_server per test process, started on first use on a free port with
// INITIAL_NO_AUTH_ACTION_COUNT=3 (the three requests that create vigil's IAM
// user and key), so every later request has its SigV4 signature verified.
// Stopped at process exit by the gtest environment below.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "tests/support/aws_test_support.hpp"

namespace vigil::test_support {

class moto {
 public:
  /// Verifies signatures after the seeding requests.
  static moto& instance() {
    started_flag() = true;
    static moto m(true);
    return m;
  }
  /// Verifies nothing: for what moto 5.2 cannot check (unsigned STS
  /// AssumeRoleWithWebIdentity answers 500 with auth on; a signed GET with
  /// no body fails its own verification, even from botocore).
  static moto& open_instance() {
    started_flag() = true;
    static moto m(false);
    return m;
  }
  static bool started() { return started_flag(); }
  [[nodiscard]] bool ok() const { return error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] const std::string& access_key() const { return key_; }
  [[nodiscard]] const std::string& secret_key() const { return secret_; }

  /// Runs a seeding step (aws_moto_seed.py) signed with vigil's key.
  nlohmann::json seed(const std::string& step, const nlohmann::json& args = nlohmann::json::object()) {
    std::string out;
    const std::string cmd = python() + " " + source_dir() + "/tests/support/aws_moto_seed.py " + endpoint() + " " +
                            key_ + " " + secret_ + " " + step + " '" + args.dump() + "'";
    if (run(cmd, &out) != 0) throw std::runtime_error("seed step failed: " + cmd + "\n" + out);
    return nlohmann::json::parse(out);
  }
  void stop() { proc_.reset(); }
  static void stop_all() {
    if (!started()) return;
    instance().stop();
    open_instance().stop();
  }

 private:
  explicit moto(bool auth) : dir_("moto") {
    port_ = free_port();
    proc_ = std::make_unique<child_process>(
        std::vector<std::string>{env_or("VIGIL_MOTO_SERVER", "moto_server"), "-H", "127.0.0.1", "-p",
                                 std::to_string(port_)},
        auth ? std::vector<std::string>{"INITIAL_NO_AUTH_ACTION_COUNT=3"} : std::vector<std::string>{},
        (dir_.path() / "moto.log").string());
    if (!wait_for_port(port_, std::chrono::seconds(30))) {
      error_ = "moto_server did not start: " + read_file(dir_.path() / "moto.log");
      return;
    }
    std::string out;
    const std::string cmd =
        python() + " " + source_dir() + "/tests/support/aws_moto_seed.py " + endpoint() + " identity";
    if (run(cmd, &out) != 0) {
      error_ = "seeding the IAM identity failed: " + out;
      return;
    }
    const auto j = nlohmann::json::parse(out);
    key_ = j.at("access_key").get<std::string>();
    secret_ = j.at("secret_key").get<std::string>();
  }

  static bool& started_flag() {
    static bool f = false;
    return f;
  }

  temp_dir dir_;
  int port_ = 0;
  std::unique_ptr<child_process> proc_;
  std::string error_;
  std::string key_;
  std::string secret_;
};

/// Stops moto, if a test started it, when the test program ends. Register
/// with ::testing::AddGlobalTestEnvironment(new moto_environment).
class moto_environment : public ::testing::Environment {
 public:
  void TearDown() override { moto::stop_all(); }
};

}  // namespace vigil::test_support
