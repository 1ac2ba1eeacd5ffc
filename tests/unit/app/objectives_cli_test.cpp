// `vigil objectives` against a canned GET /v1/objectives on 127.0.0.1.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "app/commands.hpp"
#include "common/http_server.hpp"

namespace vigil::app {
namespace {

using nlohmann::json;

const json exceeded_doc = json::parse(R"({
  "deployment": "cli-test",
  "rto": {"estimate_s": 612.5, "objective_s": 60, "exceeds": true, "approval_observed": false,
          "terms": [{"term": "detection", "seconds": 2.5, "source": "configured", "samples": 0, "detail": "bound"},
                    {"term": "approval", "seconds": 300, "source": "default", "samples": 0, "detail": "unknown"},
                    {"term": "step", "name": "promote-db", "seconds": 48, "source": "measured", "samples": 3,
                     "detail": "p90 of 3"}]},
  "rpo": {"exposure_s": 0.8, "objective_s": 5, "exceeds": false},
  "drills": {"schedule_s": 86400, "next_at": "2026-12-08T03:00:00.000Z", "running": false,
             "trend": [{"id": "d2", "at": "2026-12-07T03:00:00.000Z", "scheduled": true, "result": "done",
                        "plan_s": 0.4, "steps": 2},
                       {"id": "d1", "at": "2026-12-06T03:00:00.000Z", "scheduled": false,
                        "result": "unexpected_state", "plan_s": 1.2, "steps": 2}]}})");

class objectives_cli : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<common::http_server>(io_, "127.0.0.1:0", [this](const common::http_request& r) {
      seen_auth_ = r.headers.count("authorization") != 0U ? r.headers.at("authorization") : "";
      if (r.path != "/v1/objectives") return common::http_response::error(404, "not_found", r.path);
      return common::http_response::json(200, doc_.dump());
    });
    server_->start();
    thread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(io_);
      io_.run();
    });
  }
  void TearDown() override {
    std::promise<void> stopped;
    boost::asio::post(io_, [&] {
      server_->stop();
      stopped.set_value();
    });
    stopped.get_future().wait();
    io_.stop();
    thread_.join();
  }

  int run(std::vector<std::string> args) {
    args.insert(args.begin(), "objectives");
    std::istringstream in;
    command_io io{in, out_, err_};
    return run_command(args, io);
  }

  boost::asio::io_context io_;
  std::unique_ptr<common::http_server> server_;
  std::thread thread_;
  json doc_ = exceeded_doc;
  std::string seen_auth_;
  std::ostringstream out_, err_;
};

TEST_F(objectives_cli, prints_terms_and_trend_and_exits_1_when_exceeded) {
  EXPECT_EQ(run({"--engine", server_->base_url(), "--engine-token", "T0"}), exit_failed) << err_.str();
  const std::string text = out_.str();
  EXPECT_NE(text.find("RTO estimate 612.5s against objectives.rto 60s: EXCEEDS the objective"), std::string::npos)
      << text;
  EXPECT_NE(text.find("step promote-db"), std::string::npos) << text;
  EXPECT_NE(text.find("measured (3)"), std::string::npos) << text;
  EXPECT_NE(text.find("RPO exposure 0.8s against objectives.rpo 5s: within"), std::string::npos) << text;
  EXPECT_NE(text.find("scheduled every 86400s"), std::string::npos) << text;
  // newest first, scheduled and manual told apart
  const auto d2 = text.find("2026-12-07T03:00:00.000Z");
  const auto d1 = text.find("2026-12-06T03:00:00.000Z");
  ASSERT_NE(d2, std::string::npos);
  ASSERT_NE(d1, std::string::npos);
  EXPECT_LT(d2, d1);
  EXPECT_NE(text.find("manual"), std::string::npos);
  EXPECT_NE(text.find("unexpected_state"), std::string::npos);
  EXPECT_EQ(seen_auth_, "Bearer T0");
}

TEST_F(objectives_cli, exits_0_within_and_prints_json) {
  doc_["rto"]["exceeds"] = false;
  EXPECT_EQ(run({"--engine", server_->base_url(), "--json"}), exit_ok) << err_.str();
  EXPECT_EQ(json::parse(out_.str())["deployment"], "cli-test");
}

TEST_F(objectives_cli, an_unreachable_engine_is_an_error) {
  EXPECT_EQ(run({"--engine", "http://127.0.0.1:1", "--timeout", "2s"}), exit_usage);
  EXPECT_NE(err_.str().find("GET http://127.0.0.1:1/v1/objectives"), std::string::npos) << err_.str();
  EXPECT_EQ(run({"--bogus"}), exit_usage);
}

}  // namespace
}  // namespace vigil::app
