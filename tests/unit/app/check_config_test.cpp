// `vigil check-config` end to end through run_command() with string streams.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/commands.hpp"

namespace vigil::app {
namespace {

struct run_result {
  int code;
  std::string out;
  std::string err;
};

run_result run(const std::vector<std::string>& argv) {
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  command_io io{in, out, err};
  const int code = run_command(argv, io);
  return {code, out.str(), err.str()};
}

/// examples/NAME in a copy of examples/ whose secret is mode 0600, as a
/// deployment installs it (git keeps no modes: a checkout's copy is 0644 or
/// 0664 and check-config refuses a secret others can read).
std::string example(const std::string& name) {
  static const std::filesystem::path copy = [] {
    const auto dir =
        std::filesystem::temp_directory_path() / ("vigil-check-config-examples-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::copy(std::string(VIGIL_SOURCE_DIR) + "/examples", dir, std::filesystem::copy_options::recursive);
    std::filesystem::permissions(dir / "secrets" / "agent.key",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return dir;
  }();
  return (copy / name).string();
}

/// A config file in a fresh temporary directory, removed afterwards.
class temp_config {
 public:
  explicit temp_config(const std::string& text) {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil-check-config-" + std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir_);
    std::ofstream(path()) << text;
  }
  ~temp_config() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  temp_config(const temp_config&) = delete;
  temp_config& operator=(const temp_config&) = delete;
  [[nodiscard]] std::string path() const { return (dir_ / "vigil.yaml").string(); }

 private:
  std::filesystem::path dir_;
};

TEST(check_config, aws_example_passes_with_a_summary) {
  const auto r = run({"check-config", example("aws-active-passive.yaml")});
  EXPECT_EQ(r.code, exit_ok) << r.err;
  EXPECT_NE(r.out.find("deployment:      shop-prod"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("us-east-1 (primary), us-west-2 (dr)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("quorum:          2 of 3 vantages"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fence-primary (arc_routing_control) -> promote-db"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("switchover-db (aurora_switchover)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("paging:          pagerduty, slack"), std::string::npos) << r.out;
}

TEST(check_config, local_example_passes_quietly) {
  const auto r = run({"check-config", example("local.yaml"), "--quiet"});
  EXPECT_EQ(r.code, exit_ok) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(check_config, json_summary) {
  const auto r = run({"check-config", example("aws-active-passive.yaml"), "--json"});
  ASSERT_EQ(r.code, exit_ok) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("deployment"), "shop-prod");
  EXPECT_EQ(j.at("quorum"), 2);
  EXPECT_EQ(j.at("checks").size(), 10U);
  EXPECT_EQ(j.at("plan").at("failover").at("steps").size(), 7U);
}

TEST(check_config, a_secret_file_others_can_read_is_refused_with_its_path_and_mode) {
  const std::filesystem::path key = std::filesystem::path(example("secrets")) / "agent.key";
  std::filesystem::permissions(key, std::filesystem::perms::group_read | std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  const auto r = run({"check-config", example("local.yaml")});
  std::filesystem::permissions(key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_EQ(r.code, exit_usage);
  EXPECT_NE(r.err.find(example("local.yaml") + ":58:19: error: engine.agent_key_file: " + key.string() +
                       " is readable by group/others (mode 0644); chmod 600 it"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(run({"check-config", example("local.yaml"), "--quiet"}).code, exit_ok);
}

TEST(check_config, bad_file_prints_every_error_and_exits_2) {
  const temp_config f(
      "deployment: t\n"
      "regions: [{name: us-east-1, role: primary}, {name: us-west-2, role: primary}]\n"
      "vantages: [a, b, c]\n"
      "decision: {fall: 0, tick: 10x}\n"
      "services: [{name: api, checks: [{region: us-east-1, http: {url: 'http://x:1/'}}]}]\n");
  const auto r = run({"check-config", f.path()});
  EXPECT_EQ(r.code, exit_usage);
  EXPECT_NE(r.err.find(f.path() + ":2:69: error: regions[1].role: a second primary region"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(f.path() + ":4:18: error: decision.fall: expected an integer in [1, 100]"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(f.path() + ":4:27: error: decision.tick: expected a duration"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(f.path() + ": 4 errors, "), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(check_config, bad_expect_expression_is_reported) {
  const temp_config f(
      "deployment: t\n"
      "regions: [{name: us-east-1, role: primary}, {name: us-west-2, role: dr}]\n"
      "vantages: [a, b, c]\n"
      "services:\n"
      "  - name: api\n"
      "    checks:\n"
      "      - {region: us-east-1, http: {url: 'http://x:1/', expect: ['status = 200']}}\n"
      "      - {region: us-west-2, http: {url: 'http://x:2/'}}\n");
  const auto r = run({"check-config", f.path()});
  EXPECT_EQ(r.code, exit_usage) << r.out;
  EXPECT_NE(r.err.find(f.path() + ":7:65: error: services[0].checks[0].http.expect[0]: bad expect expression"),
            std::string::npos)
      << r.err;
}

// One validation path: what check-config refuses, engine, agent and run refuse
// the same way (exit 2, the same diagnostic) before starting anything.
TEST(check_config, engine_agent_and_run_refuse_what_check_config_refuses) {
  const temp_config f(
      "deployment: t\n"
      "regions: [{name: us-east-1, role: primary}, {name: us-west-2, role: dr}]\n"
      "vantages: [a, b, c]\n"
      // Not an address of this host: started by mistake, the engine would fail to bind, not hang.
      "engine: {listen: '192.0.2.1:9', state_dir: '-'}\n"
      "services:\n"
      "  - name: api\n"
      "    checks:\n"
      "      - {region: us-east-1, http: {url: 'http://127.0.0.1:1/', expect: ['status = 200']}}\n"
      "      - {region: us-west-2, http: {url: 'http://127.0.0.1:2/'}}\n");
  const std::string diag = f.path() + ":8:73: error: services[0].checks[0].http.expect[0]: bad expect expression";
  for (const auto& argv : std::vector<std::vector<std::string>>{{"check-config", f.path()},
                                                                {"engine", "--config", f.path()},
                                                                {"agent", "--config", f.path(), "--vantage", "a"},
                                                                {"run", "--config", f.path(), "--vantage", "a"}}) {
    const auto r = run(argv);
    EXPECT_EQ(r.code, exit_usage) << argv[0] << ": " << r.err;
    EXPECT_NE(r.err.find(diag), std::string::npos) << argv[0] << ": " << r.err;
  }
}

TEST(check_config, agent_exits_2_on_any_config_error) {
  const temp_config f("deployment: t\nservces: []\n");
  const auto r = run({"agent", "--config", f.path(), "--vantage", "a"});
  EXPECT_EQ(r.code, exit_usage) << r.err;
  EXPECT_NE(r.err.find("servces"), std::string::npos) << r.err;
}

TEST(check_config, a_state_dir_under_a_file_is_reported_at_its_key) {
  const temp_config f(
      "deployment: t\n"
      "regions: [{name: us-east-1, role: primary}, {name: us-west-2, role: dr}]\n"
      "vantages: [a, b, c]\n"
      "engine: {state_dir: '/dev/null/state'}\n"
      "services:\n"
      "  - name: api\n"
      "    checks:\n"
      "      - {region: us-east-1, http: {url: 'http://x:1/'}}\n"
      "      - {region: us-west-2, http: {url: 'http://x:2/'}}\n");
  const auto r = run({"check-config", f.path()});
  EXPECT_EQ(r.code, exit_usage);
  EXPECT_NE(r.err.find(f.path() + ":4:21: error: engine.state_dir: \"/dev/null/state\" cannot be created: "
                                  "\"/dev/null\" is not a directory"),
            std::string::npos)
      << r.err;
}

TEST(check_config, json_diagnostics_on_failure) {
  const temp_config f("deployment: t\nservces: []\n");
  const auto r = run({"check-config", f.path(), "--json"});
  EXPECT_EQ(r.code, exit_usage);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("ok"), false);
  bool found = false;
  for (const auto& d : j.at("diagnostics")) {
    found = found || (d.at("key_path") == "servces" && d.at("line") == 2 && d.at("column") == 1);
  }
  EXPECT_TRUE(found) << r.out;
}

TEST(check_config, missing_file_and_usage_errors_exit_2) {
  EXPECT_EQ(run({"check-config", "/nonexistent/vigil.yaml"}).code, exit_usage);
  EXPECT_EQ(run({"check-config"}).code, exit_usage);
  EXPECT_EQ(run({"check-config", "a", "b"}).code, exit_usage);
  EXPECT_EQ(run({"check-config", "--bogus", "a"}).code, exit_usage);
  const auto help = run({"check-config", "--help"});
  EXPECT_EQ(help.code, exit_ok);
  EXPECT_NE(help.out.find("Usage: vigil check-config FILE"), std::string::npos);
}

}  // namespace
}  // namespace vigil::app
