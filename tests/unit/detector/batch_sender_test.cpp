#include "detector/batch_sender.hpp"

#include <gtest/gtest.h>

#include <mutex>

namespace vigil::detector {
namespace {

struct fake_engines {
  std::mutex m;
  std::vector<std::pair<std::string, std::string>> received;  // url, body
  std::vector<std::string> signatures;
  std::vector<std::string> timestamps;
  int fail_remaining = 0;  // answer 0 (transport failure) this many times
  int reject_status = 0;   // if set, answer this status
  std::string down_url;    // this endpoint is always down

  http_post_fn fn() {
    return [this](const std::string& url, const std::string& body, const std::vector<std::string>& headers,
                  std::chrono::milliseconds, std::string& answer) {
      std::lock_guard lock(m);
      if (url == down_url) {
        answer = "Connection refused";
        return 0;
      }
      if (fail_remaining > 0) {
        --fail_remaining;
        answer = "timeout";
        return 0;
      }
      if (reject_status != 0) {
        answer = R"({"error":"bad_signature"})";
        return reject_status;
      }
      received.emplace_back(url, body);
      for (const auto& h : headers) {
        if (h.rfind("X-Vigil-Signature: ", 0) == 0) signatures.push_back(h.substr(19));
        if (h.rfind("X-Vigil-Timestamp: ", 0) == 0) timestamps.push_back(h.substr(19));
      }
      return 202;
    };
  }
};

batch_sender_options options(std::vector<std::string> endpoints) {
  batch_sender_options o;
  o.vantage = "eu-west-1";
  o.key = "k3y";
  o.endpoints = std::move(endpoints);
  o.max_pending_batches = 3;
  o.max_buffered_observations = 4;
  return o;
}

common::wire_observation obs(std::int64_t at) {
  return {"api-web@us-east-1", at, decision::outcome::ok, 5.0, 200, std::nullopt, ""};
}

TEST(batch_sender, signs_batches_and_sends_to_every_endpoint) {
  common::manual_clock clock;
  fake_engines engines;
  batch_sender s(options({"http://a:1", "http://b:2/"}), clock, engines.fn());
  s.add(obs(1));
  s.add(obs(2));
  s.flush_now();
  ASSERT_EQ(engines.received.size(), 2U);
  EXPECT_EQ(engines.received[0].first, "http://a:1/v1/observations");
  EXPECT_EQ(engines.received[1].first, "http://b:2/v1/observations");
  const auto parsed = common::parse_batch(engines.received[0].second);
  ASSERT_TRUE(parsed.value);
  EXPECT_EQ(parsed.value->vantage, "eu-west-1");
  EXPECT_EQ(parsed.value->observations.size(), 2U);
  EXPECT_TRUE(common::verify_batch_signature("k3y", engines.received[0].second, engines.signatures[0]));
  EXPECT_EQ(engines.timestamps[0], std::to_string(parsed.value->sent_at_ms));
  EXPECT_EQ(s.stats().sent, 2U);
}

TEST(batch_sender, heartbeats_with_empty_batches_and_seq_increases) {
  common::manual_clock clock;
  fake_engines engines;
  batch_sender s(options({"http://a:1"}), clock, engines.fn());
  s.flush_now();
  clock.advance(std::chrono::seconds(1));
  s.flush_now();
  ASSERT_EQ(engines.received.size(), 2U);
  const auto b1 = common::parse_batch(engines.received[0].second).value;
  const auto b2 = common::parse_batch(engines.received[1].second).value;
  ASSERT_TRUE(b1 && b2);
  EXPECT_TRUE(b1->observations.empty());
  EXPECT_GT(b2->seq, b1->seq);
  EXPECT_EQ(b2->sent_at_ms - b1->sent_at_ms, 1000);
}

TEST(batch_sender, a_down_endpoint_does_not_hold_back_the_others_and_drops_oldest) {
  common::manual_clock clock;
  fake_engines engines;
  engines.down_url = "http://down:1/v1/observations";
  batch_sender s(options({"http://down:1", "http://up:2"}), clock, engines.fn());
  for (int i = 0; i < 5; ++i) {
    s.add(obs(i));
    s.flush_now();
  }
  EXPECT_EQ(engines.received.size(), 5U);  // every batch reached the healthy engine
  const auto st = s.stats();
  EXPECT_EQ(st.dropped_batches, 2U);  // the down queue holds at most 3
  EXPECT_EQ(st.failed, 5U);
}

TEST(batch_sender, retries_after_transport_failures) {
  common::manual_clock clock;
  fake_engines engines;
  engines.fail_remaining = 1;
  batch_sender s(options({"http://a:1"}), clock, engines.fn());
  s.add(obs(1));
  s.flush_now();  // fails, stays queued
  EXPECT_TRUE(engines.received.empty());
  s.flush_now();  // retried: the old batch and a new heartbeat
  ASSERT_EQ(engines.received.size(), 2U);
  EXPECT_EQ(common::parse_batch(engines.received[0].second).value->observations.size(), 1U);
}

TEST(batch_sender, rejected_batches_are_not_retried) {
  common::manual_clock clock;
  fake_engines engines;
  engines.reject_status = 401;
  batch_sender s(options({"http://a:1"}), clock, engines.fn());
  s.flush_now();
  s.flush_now();
  EXPECT_EQ(s.stats().rejected, 2U);
  EXPECT_EQ(s.stats().failed, 0U);
}

TEST(batch_sender, full_buffer_drops_oldest_observations) {
  common::manual_clock clock;
  fake_engines engines;
  batch_sender s(options({"http://a:1"}), clock, engines.fn());
  for (int i = 0; i < 6; ++i)
    s.add(obs(i));
  s.flush_now();
  const auto b = common::parse_batch(engines.received.at(0).second).value;
  ASSERT_EQ(b->observations.size(), 4U);
  EXPECT_EQ(b->observations.front().at_ms, 2);  // 0 and 1 were dropped
  EXPECT_EQ(s.stats().dropped_observations, 2U);
}

}  // namespace
}  // namespace vigil::detector
