// GET /v1/status query parameters and the streamed check list (app/status_view.hpp).
#include "app/status_view.hpp"

#include <gtest/gtest.h>

#include "decision/snapshot.hpp"
#include "tests/unit/decision/harness.hpp"

namespace vigil::app {
namespace {

using nlohmann::json;

class status_view_test : public ::testing::Test {
 protected:
  status_view_test() : h_(decision::testing::make_test_topology(3)) {
    // checkout@us-east-1 fails everywhere: down.
    h_.probe = [](decision::vantage_index, decision::check_index k, decision::time_point) {
      return std::optional<decision::outcome>(k == 1 ? decision::outcome::timeout : decision::outcome::ok);
    };
    h_.run(decision::duration{12000});
    failures_["checkout@us-east-1"] = {{"use1", {{"outcome", "timeout"}, {"detail", "no answer"}, {"at", "t"}}}};
    warnings_[h_.c.topo().checks[0].id] = {{"usw2", "cert_expiring"}};
  }

  status_query parse(const std::map<std::string, std::string>& q) {
    auto r = parse_status_query(q, h_.c.topo());
    EXPECT_TRUE(r.value) << r.message;
    return r.value.value_or(status_query{});
  }

  std::string refusal(const std::map<std::string, std::string>& q) {
    auto r = parse_status_query(q, h_.c.topo());
    EXPECT_FALSE(r.value);
    return r.message;
  }

  json render(const std::map<std::string, std::string>& q) {
    decision::check_selection none;
    none.none = true;
    const json head = decision::to_json(h_.c.status(none));
    return json::parse(render_status(head, h_.c, failures_, warnings_, parse(q)));
  }

  static std::vector<std::string> ids(const json& s) {
    std::vector<std::string> out;
    for (const auto& c : s.at("checks"))
      out.push_back(c.at("id").get<std::string>());
    return out;
  }

  decision::testing::harness h_;
  std::map<std::string, json> failures_;
  std::map<std::string, std::map<std::string, std::string>> warnings_;
};

TEST_F(status_view_test, the_full_list_is_the_snapshot_json_plus_last_failure_and_warn) {
  const json s = render({});
  json expected = decision::to_json(h_.c.status())["checks"];
  for (auto& c : expected) {
    const auto it = failures_.find(c["id"].get<std::string>());
    c["last_failure"] = it == failures_.end() ? json::object() : it->second;
    const auto w = warnings_.find(c["id"].get<std::string>());
    c["warn"] = w == warnings_.end() ? json::object() : json(w->second);
  }
  EXPECT_EQ(s.at("checks"), expected);
  EXPECT_EQ(s.at("checks")[1].at("state"), "down");
  EXPECT_EQ(s.at("checks")[1].at("last_failure").at("use1").at("detail"), "no answer");
  EXPECT_EQ(s.at("checks")[0].at("warn"), json({{"usw2", "cert_expiring"}}));
  EXPECT_EQ(s.at("checks_total"), 6);
  EXPECT_EQ(s.at("query"), json({{"region", nullptr}, {"check", nullptr}, {"summary", false}}));
  EXPECT_EQ(s.at("check_counts").at("us-east-1"), json({{"total", 3}, {"up", 2}, {"down", 1}, {"unknown", 0}}));
  EXPECT_EQ(s.at("check_counts").at("us-west-2"), json({{"total", 3}, {"up", 3}, {"down", 0}, {"unknown", 0}}));
  // The rest of the document is the head's.
  EXPECT_EQ(s.at("regions"), decision::to_json(h_.c.status()).at("regions"));
}

TEST_F(status_view_test, region_and_check_filter_the_list_and_the_counts) {
  const json r = render({{"region", "us-west-2"}});
  EXPECT_EQ(ids(r), (std::vector<std::string>{"api-web@us-west-2", "checkout@us-west-2", "search@us-west-2"}));
  EXPECT_EQ(r.at("check_counts").size(), 1U);
  EXPECT_EQ(r.at("check_counts").at("us-west-2").at("total"), 3);
  EXPECT_EQ(r.at("query").at("region"), "us-west-2");
  EXPECT_EQ(r.at("checks_total"), 6);

  const json c = render({{"check", "checkout"}});
  EXPECT_EQ(ids(c), (std::vector<std::string>{"checkout@us-east-1", "checkout@us-west-2"}));
  EXPECT_EQ(c.at("check_counts").at("us-east-1"), json({{"total", 1}, {"up", 0}, {"down", 1}, {"unknown", 0}}));

  const json both = render({{"region", "us-east-1"}, {"check", "out@us"}});
  EXPECT_EQ(ids(both), std::vector<std::string>{"checkout@us-east-1"});
  EXPECT_TRUE(render({{"check", "absent"}}).at("checks").empty());
  // Empty values: the parameter is absent.
  EXPECT_EQ(ids(render({{"region", ""}, {"check", ""}, {"summary", ""}})).size(), 6U);
}

TEST_F(status_view_test, summary_drops_the_check_list_keeps_counts_and_the_rest) {
  const json s = render({{"summary", "1"}});
  EXPECT_FALSE(s.contains("checks"));
  EXPECT_EQ(s.at("query").at("summary"), true);
  EXPECT_EQ(s.at("check_counts").at("us-east-1").at("down"), 1);
  EXPECT_EQ(s.at("regions").size(), 2U);
  EXPECT_EQ(s.at("vantages").size(), 3U);
  EXPECT_TRUE(s.contains("recommendation"));
  const json f = render({{"summary", "true"}, {"region", "us-east-1"}, {"check", "api"}});
  EXPECT_FALSE(f.contains("checks"));
  EXPECT_EQ(f.at("check_counts"), json({{"us-east-1", {{"total", 1}, {"up", 1}, {"down", 0}, {"unknown", 0}}}}));
  EXPECT_TRUE(render({{"summary", "0"}}).contains("checks"));
  EXPECT_TRUE(render({{"summary", "false"}}).contains("checks"));
}

TEST_F(status_view_test, bad_parameters_are_refused_with_what_is_expected) {
  EXPECT_NE(refusal({{"regoin", "us-east-1"}}).find("unknown query parameter 'regoin'"), std::string::npos);
  EXPECT_NE(refusal({{"x\ny", "1"}}).find("an unknown query parameter"), std::string::npos);
  EXPECT_NE(refusal({{"region", "eu-west-9"}}).find("us-east-1, us-west-2"), std::string::npos);
  EXPECT_NE(refusal({{"region", std::string(300, 'a')}}).find("not a configured region"), std::string::npos);
  EXPECT_NE(refusal({{"check", std::string(max_status_check_filter + 1, 'a')}}).find("at most 256 bytes"),
            std::string::npos);
  EXPECT_NE(refusal({{"check", "a\"b"}}).find("letters, digits"), std::string::npos);
  EXPECT_NE(refusal({{"summary", "yes"}}).find("expected 1, true, 0 or false"), std::string::npos);
  EXPECT_TRUE(parse_status_query({{"check", std::string(max_status_check_filter, 'a')}}, h_.c.topo()).value);
}

TEST_F(status_view_test, failure_details_cut_mid_character_do_not_fail_the_answer) {
  failures_["api-web@us-east-1"] = {{"use1", {{"detail", std::string("caf\xc3", 4)}}}};
  const json s = render({{"check", "api-web@us-east-1"}});
  ASSERT_EQ(s.at("checks").size(), 1U);
  EXPECT_TRUE(s.at("checks")[0].at("last_failure").at("use1").at("detail").get<std::string>().starts_with("caf"));
}

}  // namespace
}  // namespace vigil::app
