// Secret files readable by group or others are refused (common/config_load.hpp,
// secret_file_exposure): on real files through load_config(), and every
// secret kind through an injected check.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/config_load.hpp"
#include "config_test_util.hpp"

namespace vigil::common {
namespace {

namespace fs = std::filesystem;
using test::base_yaml;
using test::has_error;

class secret_modes_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-secret-modes-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    conf_ = (dir_ / "vigil.yaml").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text, mode_t mode) {
    const auto p = dir_ / name;
    std::ofstream(p) << text;
    EXPECT_EQ(::chmod(p.c_str(), mode), 0);
    return p.string();
  }
  config_load_result load(const std::string& extra) {
    std::ofstream(conf_) << base_yaml << extra;
    return load_config(conf_);
  }

  fs::path dir_;
  std::string conf_;
};

TEST_F(secret_modes_test, the_rule_on_files_this_user_owns) {
  for (const mode_t ok : {mode_t{0600}, mode_t{0400}, mode_t{0700}}) {
    EXPECT_EQ(secret_file_exposure(write("k", "x", ok)), "") << std::oct << ok;
  }
  EXPECT_EQ(secret_file_exposure(write("k", "x", 0644)), "is readable by group/others (mode 0644)");
  EXPECT_EQ(secret_file_exposure(write("k", "x", 0640)), "is readable by group/others (mode 0640)");
  EXPECT_EQ(secret_file_exposure(write("k", "x", 0604)), "is readable by group/others (mode 0604)");
  EXPECT_EQ(secret_file_exposure(write("k", "x", 0660)), "is readable by group/others (mode 0660)");
  EXPECT_EQ(secret_file_exposure((dir_ / "missing").string()), "");  // the read reports it
}

TEST_F(secret_modes_test, a_file_of_another_account_may_be_shared_with_the_group_not_with_others) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another account";
  const std::string k = write("k", "x", 0640);
  ASSERT_EQ(::chown(k.c_str(), 65534, static_cast<gid_t>(-1)), 0);
  EXPECT_EQ(secret_file_exposure(k), "");  // root:vigil 0640 (systemd), root:fsGroup 0440 (Kubernetes)
  ASSERT_EQ(::chmod(k.c_str(), 0644), 0);
  EXPECT_EQ(secret_file_exposure(k), "is readable by group/others (mode 0644)");
}

TEST_F(secret_modes_test, load_config_refuses_an_exposed_agent_key_naming_key_path_and_mode) {
  const std::string key = write("agent.key", "s3cr3t\n", 0644);
  auto r = load(std::string("engine:\n  agent_key_file: agent.key\n"));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(test::all_diagnostics(r).find(conf_ + ":14:19: error: engine.agent_key_file: " + key +
                                          " is readable by group/others (mode 0644); chmod 600 it"),
            std::string::npos)
      << test::all_diagnostics(r);
  EXPECT_EQ(test::all_diagnostics(r).find("s3cr3t"), std::string::npos);
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  r = load(std::string("engine:\n  agent_key_file: agent.key\n"));
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_EQ(r.value->engine.agent_key, "s3cr3t");
}

TEST_F(secret_modes_test, public_keys_are_not_secrets) {
  write("agent.key", "s3cr3t\n", 0600);
  write("alice.pub",
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA7DZWP8xfGAkxwVsrYJjOLJLT5dsczYMmTtLB/VTFhR0=\n"
        "-----END PUBLIC KEY-----\n",
        0644);
  const auto r = load(
      "engine:\n  agent_key_file: agent.key\napprovals:\n  approvers:\n    - {id: alice, public_key_file: "
      "alice.pub}\n");
  EXPECT_TRUE(r.ok()) << test::all_diagnostics(r);
}

/// Every kind of secret file goes through the check (injected: only
/// "conf/exposed" is exposed).
TEST(secret_modes, every_secret_file_kind_is_checked) {
  test::fake_world w;
  const std::string pem = "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----\n";
  w.files["conf/exposed"] = "0123456789abcdef0123\n";
  w.files["conf/exposed.pem"] = pem;
  w.files["conf/ok.pem"] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const secret_mode_check modes = [](const std::string& path) {
    return path.starts_with("conf/exposed") ? std::string("is readable by group/others (mode 0644)") : std::string{};
  };
  const auto load = [&](const std::string& extra) {
    return load_config_text(base_yaml + extra, test::file_name, w.env_fn(), w.files_fn(), modes);
  };
  const std::string tail = " is readable by group/others (mode 0644); chmod 600 it";
  EXPECT_TRUE(
      has_error(load("engine: {agent_key_file: exposed}\n"), "13:26", "engine.agent_key_file", "conf/exposed" + tail));
  EXPECT_TRUE(has_error(load("engine: {read_tokens_file: exposed}\n"), "13:28", "engine.read_tokens_file",
                        "conf/exposed" + tail));
  EXPECT_TRUE(has_error(load("paging: [{kind: pagerduty, routing_key_file: exposed}]\n"), "13:46",
                        "paging[0].routing_key_file", "conf/exposed" + tail));
  EXPECT_TRUE(has_error(load("coordination:\n  backend: etcd\n  endpoints: ['https://127.0.0.1:2379']\n"
                             "  cert_file: ok.pem\n  key_file: exposed.pem\n"),
                        "17:13", "coordination.key_file", "conf/exposed.pem" + tail));
  // Without the check (files that are not on disk) nothing is refused.
  EXPECT_TRUE(w.load(base_yaml + "engine: {agent_key_file: exposed}\n").ok());
}

}  // namespace
}  // namespace vigil::common
