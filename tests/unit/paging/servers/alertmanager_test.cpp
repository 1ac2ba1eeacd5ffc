// The Alertmanager sink against a real Alertmanager 0.25, started here on
// 127.0.0.1 with clustering off and storage in a temporary directory.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "common/http_client.hpp"
#include "paging/pager.hpp"
#include "tests/support/test_process.hpp"

namespace vigil::paging {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* alertmanager_bin = "/usr/bin/prometheus-alertmanager";

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("free_port: socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!bound) throw std::runtime_error("free_port: bind");
  return ntohs(a.sin_port);
}

class alertmanager_test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(alertmanager_bin)) << "install prometheus-alertmanager (scripts/install-deps.sh)";
    dir_ = fs::temp_directory_path() / ("vigil-am-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    std::ofstream(dir_ / "am.yml")
        << "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n";
    for (int attempt = 0; attempt < 3 && !ready_; ++attempt) {
      port_ = free_port();
      am_ = std::make_unique<testing::child_process>(
          std::vector<std::string>{alertmanager_bin, "--config.file=" + (dir_ / "am.yml").string(),
                                   "--storage.path=" + (dir_ / "data").string(),
                                   "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                   "--cluster.listen-address=", "--log.level=warn"},
          false);
      for (int i = 0; i < 100 && !ready_; ++i) {
        ready_ = common::http_perform({"GET", base() + "/-/ready", {}, {}, 1s, 1s}).status == 200;
        if (!ready_) std::this_thread::sleep_for(100ms);
      }
    }
    ASSERT_TRUE(ready_) << "Alertmanager did not become ready on 127.0.0.1:" << port_;
  }
  void TearDown() override {
    am_.reset();
    fs::remove_all(dir_);
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// Alerts of incident `id` that Alertmanager reports (active ones: resolved ones are filtered out).
  json alerts_of(const std::string& id) const {
    const auto r = common::http_perform(
        {"GET", base() + "/api/v2/alerts?filter=" + "incident%3D%22" + id + "%22", {}, {}, 5s, 2s});
    EXPECT_EQ(r.status, 200) << r.error << r.body;
    return json::parse(r.body);
  }

  page make(page_action action, std::uint64_t seq, page_severity sev) const {
    page p;
    p.incident_id = "inc-am-1";
    p.action = action;
    p.sequence = seq;
    p.kind = "regional_outage";
    p.severity = sev;
    p.summary = "us-east-1 regional outage: 4/4 services down from 2/3 vantages";
    p.region = "us-east-1";
    p.deployment = "prod";
    p.details = {{"lag_ms", 420}};
    p.links = {{"http://vigil.example/status", "status page"}};
    p.timestamp = clock_.wall();  // Alertmanager compares with its own (real) clock
    return p;
  }

  fs::path dir_;
  int port_ = 0;
  bool ready_ = false;
  std::unique_ptr<testing::child_process> am_;
  common::real_clock clock_;
};

TEST_F(alertmanager_test, receives_the_alert_its_update_and_its_resolution) {
  common::paging_sink_config cfg;
  cfg.kind = common::sink_kind::alertmanager;
  cfg.url = base() + "/";
  auto sink = make_alertmanager_sink(cfg);

  auto r = sink->deliver(make(page_action::trigger, 0, page_severity::error));
  ASSERT_EQ(r.status, delivery_status::delivered) << r.detail;
  auto alerts = alerts_of("inc-am-1");
  ASSERT_EQ(alerts.size(), 1U) << alerts.dump();
  EXPECT_EQ(alerts[0]["labels"]["alertname"], "VigilIncident");
  EXPECT_EQ(alerts[0]["labels"]["severity"], "error");
  EXPECT_EQ(alerts[0]["labels"]["region"], "us-east-1");
  EXPECT_EQ(alerts[0]["status"]["state"], "active");
  EXPECT_EQ(alerts[0]["annotations"]["summary"], "us-east-1 regional outage: 4/4 services down from 2/3 vantages");
  EXPECT_EQ(alerts[0]["generatorURL"], "http://vigil.example/status");

  // The update raises the severity: a new label set, and the old one ends.
  r = sink->deliver(make(page_action::update, 1, page_severity::critical));
  ASSERT_EQ(r.status, delivery_status::delivered) << r.detail;
  alerts = alerts_of("inc-am-1");
  ASSERT_EQ(alerts.size(), 1U) << alerts.dump();
  EXPECT_EQ(alerts[0]["labels"]["severity"], "critical");

  std::this_thread::sleep_for(20ms);  // endsAt strictly before Alertmanager's now
  r = sink->deliver(make(page_action::resolve, 2, page_severity::critical));
  ASSERT_EQ(r.status, delivery_status::delivered) << r.detail;
  EXPECT_TRUE(alerts_of("inc-am-1").empty()) << alerts_of("inc-am-1").dump();
}

TEST_F(alertmanager_test, a_malformed_alert_is_rejected_not_retried) {
  const auto reply = common::http_perform(
      {"POST", base() + "/api/v2/alerts", {{"Content-Type", "application/json"}}, R"([{"labels":{}}])", 5s, 2s});
  const auto r = classify_http(reply.status, reply.error, reply.body);
  EXPECT_EQ(r.status, delivery_status::rejected) << reply.status << " " << reply.body;
}

}  // namespace
}  // namespace vigil::paging
