#pragma once
// Shared by the plan tests: the strict python fakes (ARC data plane, RDS
// global failover), an AWS client pointed at them and/or moto, and config
// snippets for plan steps.

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "aws/client.hpp"
#include "aws/credentials.hpp"
#include "aws/http.hpp"
#include "common/config.hpp"
#include "common/http_client.hpp"
#include "tests/support/aws_test_support.hpp"

namespace vigil::test_support {

inline constexpr const char* rc_arn_a =
    "arn:aws:route53-recovery-control::123456789012:controlpanel/abc123/routingcontrol/east01";
inline constexpr const char* rc_arn_b =
    "arn:aws:route53-recovery-control::123456789012:controlpanel/abc123/routingcontrol/west01";
inline constexpr const char* east_arn = "arn:aws:rds:us-east-1:123456789012:cluster:shop-east";
inline constexpr const char* west_arn = "arn:aws:rds:us-west-2:123456789012:cluster:shop-west";
inline constexpr const char* third_arn = "arn:aws:rds:eu-west-1:123456789012:cluster:shop-eu";

/// One python fake (tests/support/fake_<name>.py) on 127.0.0.1.
class python_fake {
 public:
  python_fake(const std::string& name, std::vector<std::string> args) : dir_("fake-" + name) {
    const auto ready = dir_.path() / "ready.json";
    std::vector<std::string> argv{python(), source_dir() + "/tests/support/fake_" + name + ".py", "--ready-file",
                                  ready.string()};
    for (auto& a : args)
      argv.push_back(std::move(a));
    proc_ = std::make_unique<child_process>(argv, std::vector<std::string>{}, (dir_.path() / "log.txt").string());
    for (int i = 0; i < 150 && !std::filesystem::exists(ready); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!std::filesystem::exists(ready)) throw std::runtime_error("fake " + name + " did not start: " + log());
    const auto doc = nlohmann::json::parse(read_file(ready));
    for (const auto& p : doc.at("ports"))
      ports_.push_back(p.get<int>());
  }
  [[nodiscard]] std::string url(std::size_t i = 0) const { return "http://127.0.0.1:" + std::to_string(ports_.at(i)); }
  [[nodiscard]] std::size_t endpoints() const { return ports_.size(); }
  [[nodiscard]] nlohmann::json state() const {
    common::http_call c;
    c.url = url() + "/_fake/state";
    const auto r = common::http_perform(c);
    return r.success() ? nlohmann::json::parse(r.body) : nlohmann::json(nullptr);
  }
  void post(const std::string& path, const nlohmann::json& body) const {
    common::http_call c;
    c.method = "POST";
    c.url = url() + path;
    c.body = body.dump();
    (void)common::http_perform(c);
  }
  [[nodiscard]] int calls(const std::string& action) const { return state()["calls"].value(action, 0); }
  [[nodiscard]] std::string log() const { return read_file(dir_.path() / "log.txt"); }

 private:
  temp_dir dir_;
  std::unique_ptr<child_process> proc_;
  std::vector<int> ports_;
};

inline const std::string fake_key = "AKIDPLANTEST00000001";
inline const std::string fake_secret = "plan-test-secret";

/// An ARC cluster of `n` listening endpoints (the test adds dead ones).
inline std::unique_ptr<python_fake> start_fake_arc(int n = 2, const std::string& key = fake_key,
                                                   const std::string& secret = fake_secret) {
  std::vector<std::string> args{"--key", key,          "--secret",
                                secret,  "--controls", nlohmann::json{{rc_arn_a, "On"}, {rc_arn_b, "Off"}}.dump()};
  for (int i = 0; i < n; ++i) {
    args.emplace_back("--port");
    args.emplace_back("0");
  }
  return std::make_unique<python_fake>("arc", args);
}

/// A global cluster shop-global: east (writer, us-east-1), west (us-west-2).
inline std::unique_ptr<python_fake> start_fake_rds(const std::string& key = fake_key,
                                                   const std::string& secret = fake_secret) {
  const nlohmann::json st{{"global", "shop-global"},
                          {"members", {{{"arn", east_arn}, {"writer", true}}, {{"arn", west_arn}, {"writer", false}}}}};
  return std::make_unique<python_fake>(
      "rds", std::vector<std::string>{"--key", key, "--secret", secret, "--state", st.dump(), "--settle", "1"});
}

/// A URL nothing listens on (an ARC endpoint in a region that is down).
inline std::string dead_url() {
  return "http://127.0.0.1:" + std::to_string(free_port());
}

/// An AWS client with static credentials whose services go to `endpoints`
/// (service key -> URL) and everything else to `fallback` (moto), no sleeping.
struct plan_aws {
  common::real_clock clock;
  std::unique_ptr<aws::http_transport> http = aws::make_curl_transport();
  std::unique_ptr<aws::credentials_provider> creds;
  std::unique_ptr<aws::client> client;

  plan_aws(const std::string& key, const std::string& secret, std::map<std::string, std::string> endpoints,
           const std::string& fallback = {}) {
    creds = aws::make_static_provider(aws::credentials{key, secret, "", {}, "test"});
    aws::client_options o;
    o.env = aws::map_env(fallback.empty() ? std::map<std::string, std::string>{}
                                          : std::map<std::string, std::string>{{"AWS_ENDPOINT_URL", fallback}});
    o.aws.endpoints = std::move(endpoints);
    o.aws.call_timeout = std::chrono::seconds(20);
    o.aws.max_attempts = 2;
    o.sleep = [](std::chrono::milliseconds) {};
    client = std::make_unique<aws::client>(o, *creds, *http, clock);
  }
};

inline common::plan_step_config step(std::string name, std::string kind, nlohmann::json params,
                                     common::on_failure f = common::on_failure::abort, int retries = 0,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  common::plan_step_config s;
  s.name = std::move(name);
  s.kind = std::move(kind);
  s.params = std::move(params);
  s.failure = f;
  s.retries = retries;
  s.timeout = timeout;
  return s;
}

}  // namespace vigil::test_support
