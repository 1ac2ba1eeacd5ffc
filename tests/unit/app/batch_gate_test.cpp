#include "app/batch_gate.hpp"

#include <gtest/gtest.h>

namespace vigil::app {
namespace {

using common::batch_rejection;

class batch_gate_test : public ::testing::Test {
 protected:
  batch_gate_test() : gate_(make_options(), {"us-east-1", "us-west-2", "eu-west-1"}) {}

  static batch_gate_options make_options() {
    batch_gate_options o;
    o.key = "secret";
    o.max_body_bytes = std::size_t{64} * 1024;
    o.regions = {"us-east-1", "us-west-2"};
    return o;
  }

  std::string body(std::uint64_t seq, std::int64_t sent_at, std::string vantage = "eu-west-1",
                   std::string lag_region = "") {
    common::batch b;
    b.lag.push_back({sent_at - 5, 300, "", std::move(lag_region)});
    b.vantage = std::move(vantage);
    b.seq = seq;
    b.sent_at_ms = sent_at;
    b.observations.push_back({"api-web@us-east-1", sent_at - 5, decision::outcome::ok, 3, 200, std::nullopt, ""});
    return common::serialize_batch(b);
  }

  batch_verdict send(const std::string& b, std::int64_t ts, const std::string& key = "secret") {
    return gate_.check(b, common::sign_batch(key, b), std::to_string(ts), clock_.wall());
  }

  std::int64_t now_ms() const { return clock_.wall().time_since_epoch().count(); }

  common::manual_clock clock_;
  batch_gate gate_;
};

TEST_F(batch_gate_test, accepts_a_good_batch) {
  const auto v = send(body(10, now_ms()), now_ms());
  ASSERT_TRUE(v.value) << v.message;
  EXPECT_EQ(v.http_status, 202);
  EXPECT_EQ(gate_.last_seq("eu-west-1"), 10U);
}

TEST_F(batch_gate_test, refuses_each_fault_with_its_reason) {
  const auto b = body(10, now_ms());
  auto v = gate_.check(b, "", std::to_string(now_ms()), clock_.wall());
  EXPECT_EQ(v.reason, batch_rejection::missing_signature);
  EXPECT_EQ(v.http_status, 401);
  v = send(b, now_ms(), "wrong-key");
  EXPECT_EQ(v.reason, batch_rejection::bad_signature);
  v = gate_.check(b, common::sign_batch("secret", b), "yesterday", clock_.wall());
  EXPECT_EQ(v.reason, batch_rejection::bad_timestamp);
  const auto old = body(11, now_ms() - 31000);
  EXPECT_EQ(send(old, now_ms() - 31000).reason, batch_rejection::stale_timestamp);
  const auto future = body(12, now_ms() + 31000);
  EXPECT_EQ(send(future, now_ms() + 31000).reason, batch_rejection::future_timestamp);
  EXPECT_EQ(send(b, now_ms() + 1).reason, batch_rejection::bad_timestamp);  // header != sent_at
  EXPECT_EQ(send(body(13, now_ms(), "ap-south-1"), now_ms()).reason, batch_rejection::unknown_vantage);
  EXPECT_EQ(send("{\"v\":1}", now_ms()).reason, batch_rejection::bad_schema);
  EXPECT_EQ(send(std::string(std::size_t{70} * 1024, ' '), now_ms()).reason, batch_rejection::too_large);
  EXPECT_FALSE(gate_.last_seq("eu-west-1"));  // nothing was accepted
}

/// A signed batch whose own timestamp is fine but whose items are dated elsewhere.
TEST_F(batch_gate_test, holds_every_item_time_to_the_window) {
  constexpr std::int64_t year = std::int64_t{365} * 86'400'000;
  const auto with = [&](std::uint64_t seq, std::optional<std::int64_t> obs_at, std::optional<std::int64_t> lag_at) {
    common::batch b;
    b.vantage = "eu-west-1";
    b.seq = seq;
    b.sent_at_ms = now_ms();
    b.observations.push_back(
        {"api-web@us-east-1", obs_at.value_or(now_ms()), decision::outcome::ok, 3, 200, std::nullopt, ""});
    if (lag_at) b.lag.push_back({*lag_at, 0, "", ""});
    return send(common::serialize_batch(b), now_ms());
  };
  auto v = with(1, now_ms() + year, std::nullopt);
  EXPECT_EQ(v.reason, batch_rejection::future_timestamp);
  EXPECT_NE(v.message.find("$.observations[0].at is 31536000000 ms in the future"), std::string::npos) << v.message;
  v = with(2, std::nullopt, now_ms() + year);
  EXPECT_EQ(v.reason, batch_rejection::future_timestamp);
  EXPECT_NE(v.message.find("$.lag[0].at"), std::string::npos) << v.message;
  EXPECT_EQ(with(3, now_ms() + 31000, std::nullopt).reason, batch_rejection::future_timestamp);
  v = with(4, now_ms() - 31000, std::nullopt);
  EXPECT_EQ(v.reason, batch_rejection::stale_timestamp);
  EXPECT_NE(v.message.find("$.observations[0].at is 31000 ms old"), std::string::npos) << v.message;
  EXPECT_EQ(with(5, std::nullopt, now_ms() - 16 * 60000).reason, batch_rejection::stale_timestamp);
  EXPECT_FALSE(gate_.last_seq("eu-west-1"));  // none accepted, and the seq was not advanced
  // Inside the window: accepted. A lag sample may be minutes old (a CloudWatch datapoint).
  v = with(6, now_ms() - 29000, now_ms() - 5 * 60000);
  EXPECT_TRUE(v.value) << v.message;
  v = with(7, now_ms() + 29000, now_ms() + 29000);
  EXPECT_TRUE(v.value) << v.message;
}

TEST_F(batch_gate_test, a_lag_sample_must_name_a_configured_region) {
  auto v = send(body(10, now_ms(), "eu-west-1", "us-east-1"), now_ms());
  ASSERT_TRUE(v.value) << v.message;
  EXPECT_EQ(v.value->lag.at(0).region, "us-east-1");
  v = send(body(11, now_ms(), "eu-west-1", "eu-central-1"), now_ms());
  EXPECT_FALSE(v.value);
  EXPECT_EQ(v.reason, batch_rejection::unknown_region);
  EXPECT_EQ(v.http_status, 400);
  EXPECT_NE(v.message.find("eu-central-1"), std::string::npos) << v.message;
  EXPECT_EQ(gate_.last_seq("eu-west-1"), 10U);            // the refused batch did not advance the seq
  EXPECT_TRUE(send(body(12, now_ms()), now_ms()).value);  // untagged: the configured dr
}

TEST_F(batch_gate_test, refuses_replayed_and_reordered_seq) {
  const auto b = body(10, now_ms());
  ASSERT_TRUE(send(b, now_ms()).value);
  const auto replay = send(b, now_ms());
  EXPECT_EQ(replay.reason, batch_rejection::non_increasing_seq);
  EXPECT_EQ(replay.http_status, 409);
  EXPECT_EQ(send(body(9, now_ms()), now_ms()).reason, batch_rejection::non_increasing_seq);
  EXPECT_TRUE(send(body(11, now_ms()), now_ms()).value);
  // seq is tracked per vantage
  EXPECT_TRUE(send(body(1, now_ms(), "us-east-1"), now_ms()).value);
}

}  // namespace
}  // namespace vigil::app
