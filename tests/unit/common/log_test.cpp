// common/log: level and format set-up, JSON lines, named loggers.
#include "common/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace vigil::common {
namespace {

struct captured {
  std::ostringstream out;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
};

TEST(log, json_lines_have_ts_level_logger_msg) {
  captured c;
  ASSERT_FALSE(setup_logging({"debug", "json"}, std::nullopt, c.sink));
  logger("engine")->info("hello \"world\" {}", 42);
  logger("engine")->warn("second");
  logger("engine")->flush();
  const auto line = c.out.str();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  const auto j = nlohmann::json::parse(line.substr(0, line.find('\n')));
  EXPECT_EQ(nlohmann::json::parse(line.substr(line.find('\n') + 1)).at("level"), "warn");  // the config's names
  EXPECT_EQ(j.at("level"), "info");
  EXPECT_EQ(j.at("logger"), "engine");
  EXPECT_EQ(j.at("msg"), "hello \"world\" 42");
  const std::string ts = j.at("ts");
  ASSERT_EQ(ts.size(), 24U) << ts;
  EXPECT_EQ(ts.back(), 'Z');
  EXPECT_EQ(ts[10], 'T');
}

TEST(log, fields_are_separate_json_keys_while_in_scope) {
  captured c;
  ASSERT_FALSE(setup_logging({"info", "json"}, std::nullopt, c.sink));
  {
    const log_fields outer{{"incident_id", "inc-7"}, {"region", "us-east-1"}, {"vantage", ""}};
    const log_fields inner{{"step", "promote-db"}, {"msg", "must not replace msg"}};
    logger("engine")->info("plan step done");
  }
  logger("engine")->info("no fields");
  logger("engine")->flush();
  std::istringstream lines(c.out.str());
  std::string first;
  std::string second;
  ASSERT_TRUE(std::getline(lines, first));
  ASSERT_TRUE(std::getline(lines, second));
  const auto j = nlohmann::json::parse(first);
  EXPECT_EQ(j.at("msg"), "plan step done");
  EXPECT_EQ(j.at("incident_id"), "inc-7");
  EXPECT_EQ(j.at("region"), "us-east-1");
  EXPECT_EQ(j.at("step"), "promote-db");
  EXPECT_FALSE(j.contains("vantage")) << "empty values are left out";
  const auto k = nlohmann::json::parse(second);
  EXPECT_FALSE(k.contains("incident_id")) << second;
  EXPECT_TRUE(current_log_fields().empty());
}

TEST(log, fields_follow_the_message_in_text) {
  captured c;
  ASSERT_FALSE(setup_logging({"info", "text"}, std::nullopt, c.sink));
  EXPECT_FALSE(logging_json());
  {
    const log_fields f{{"check", "api@us-east-1"}, {"vantage", "eu-west-1"}};
    logger("agent")->warn("check down");
  }
  logger("agent")->flush();
  const auto text = c.out.str();
  EXPECT_NE(text.find("[agent] check down check=api@us-east-1 vantage=eu-west-1\n"), std::string::npos) << text;
}

TEST(log, level_filters_and_override_wins) {
  captured c;
  ASSERT_FALSE(setup_logging({"debug", "text"}, std::string("warn"), c.sink));
  auto l = logger("agent");
  l->info("quiet");
  l->warn("loud");
  l->flush();
  const auto text = c.out.str();
  EXPECT_EQ(text.find("quiet"), std::string::npos) << text;
  EXPECT_NE(text.find("warning [agent] loud"), std::string::npos) << text;
}

TEST(log, setup_applies_to_loggers_made_before_it) {
  auto early = logger("early-bird");
  captured c;
  ASSERT_FALSE(setup_logging({"trace", "json"}, std::nullopt, c.sink));
  early->debug("seen");
  early->flush();
  EXPECT_NE(c.out.str().find("\"msg\":\"seen\""), std::string::npos) << c.out.str();
}

TEST(log, bad_level_is_an_error_naming_it) {
  const auto err = setup_logging({"info", "text"}, std::string("verbose"), nullptr);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("--log-level"), std::string::npos);
  EXPECT_NE(err->find("\"verbose\""), std::string::npos);
  const auto err2 = setup_logging({"loud", "text"}, std::nullopt, nullptr);
  ASSERT_TRUE(err2);
  EXPECT_NE(err2->find("logging.level"), std::string::npos);
  const auto err3 = setup_logging({"info", "xml"}, std::nullopt, nullptr);
  ASSERT_TRUE(err3);
  EXPECT_NE(err3->find("logging.format"), std::string::npos);
}

TEST(log, same_name_gives_the_same_logger) {
  EXPECT_EQ(logger("detector").get(), logger("detector").get());
}

}  // namespace
}  // namespace vigil::common
