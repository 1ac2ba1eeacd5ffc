#include "common/batch.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace vigil::common {
namespace {

batch sample() {
  batch b;
  b.vantage = "eu-west-1";
  b.seq = 1795000000001;
  b.sent_at_ms = 1795000000123;
  b.observations.push_back({"api-web@us-east-1", 1795000000100, decision::outcome::ok, 12.5, 200, std::nullopt, ""});
  b.observations.push_back(
      {"alb-5xx@us-east-1", 1795000000101, decision::outcome::condition_failed, 80, 0, 73.0, "Sum=73 !< 50"});
  b.lag.push_back({1795000000050, 420, "", "us-west-2"});
  b.lag.push_back({1795000000051, std::nullopt, "connection refused", ""});
  return b;
}

TEST(batch, round_trips_through_json) {
  const auto body = serialize_batch(sample());
  const auto parsed = parse_batch(body);
  ASSERT_TRUE(parsed.value) << parsed.message;
  const batch& b = *parsed.value;
  EXPECT_EQ(b.vantage, "eu-west-1");
  EXPECT_EQ(b.seq, 1795000000001U);
  EXPECT_EQ(b.sent_at_ms, 1795000000123);
  ASSERT_EQ(b.observations.size(), 2U);
  EXPECT_EQ(b.observations[1].result, decision::outcome::condition_failed);
  EXPECT_EQ(b.observations[1].value, 73.0);
  EXPECT_EQ(b.observations[0].http_status, 200);
  ASSERT_EQ(b.lag.size(), 2U);
  EXPECT_EQ(b.lag[0].lag_ms, 420);
  EXPECT_FALSE(b.lag[1].lag_ms.has_value());
  EXPECT_EQ(b.lag[1].error, "connection refused");
}

TEST(batch, a_lag_sample_names_its_region_only_when_tagged) {
  const auto body = serialize_batch(sample());
  const auto doc = nlohmann::json::parse(body);
  EXPECT_EQ(doc["lag"][0]["region"], "us-west-2");
  EXPECT_FALSE(doc["lag"][1].contains("region"));  // untagged, as older agents send it
  const auto parsed = parse_batch(body);
  ASSERT_TRUE(parsed.value) << parsed.message;
  EXPECT_EQ(parsed.value->lag[0].region, "us-west-2");
  EXPECT_EQ(parsed.value->lag[1].region, "");
  for (const nlohmann::json& bad_region :
       {nlohmann::json(7), nlohmann::json(""), nlohmann::json(std::string(300, 'r'))}) {
    auto d = doc;
    d["lag"][0]["region"] = bad_region;
    const auto bad = parse_batch(d.dump());
    EXPECT_FALSE(bad.value) << bad_region;
    EXPECT_EQ(bad.reason, batch_rejection::bad_schema);
    EXPECT_NE(bad.message.find("$.lag[0].region: expected a region name"), std::string::npos) << bad.message;
  }
}

TEST(batch, a_warning_travels_only_when_there_is_one) {
  auto b = sample();
  b.observations[0].result = decision::outcome::degraded;
  b.observations[0].warning = decision::outcome::cert_expiring;
  const auto body = serialize_batch(b);
  EXPECT_EQ(nlohmann::json::parse(body)["observations"][0]["warning"], "cert_expiring");
  EXPECT_FALSE(nlohmann::json::parse(body)["observations"][1].contains("warning"));
  const auto parsed = parse_batch(body);
  ASSERT_TRUE(parsed.value) << parsed.message;
  EXPECT_EQ(parsed.value->observations[0].warning, decision::outcome::cert_expiring);
  EXPECT_EQ(parsed.value->observations[1].warning, decision::outcome::ok);

  auto doc = nlohmann::json::parse(body);
  doc["observations"][0]["warning"] = "soon";
  const auto bad = parse_batch(doc.dump());
  EXPECT_FALSE(bad.value);
  EXPECT_NE(bad.message.find(".warning: expected an outcome name"), std::string::npos) << bad.message;
}

TEST(batch, a_reprobe_says_fast_and_only_a_boolean_is_accepted) {
  auto b = sample();
  b.observations[1].fast = true;
  const auto body = serialize_batch(b);
  EXPECT_FALSE(nlohmann::json::parse(body)["observations"][0].contains("fast"));
  EXPECT_EQ(nlohmann::json::parse(body)["observations"][1]["fast"], true);
  const auto parsed = parse_batch(body);
  ASSERT_TRUE(parsed.value) << parsed.message;
  EXPECT_FALSE(parsed.value->observations[0].fast);
  EXPECT_TRUE(parsed.value->observations[1].fast);

  for (const auto& wrong : {nlohmann::json("yes"), nlohmann::json(1), nlohmann::json::array()}) {
    auto doc = nlohmann::json::parse(body);
    doc["observations"][1]["fast"] = wrong;
    const auto bad = parse_batch(doc.dump());
    EXPECT_FALSE(bad.value) << wrong;
    EXPECT_EQ(bad.reason, batch_rejection::bad_schema);
    EXPECT_NE(bad.message.find("$.observations[1].fast: expected true or false"), std::string::npos) << bad.message;
  }
}

// serialize_batch writes item by item; the bytes must stay those of the whole
// document dumped at once (the signature covers them, agents and engines of
// different versions exchange them).
TEST(batch, streamed_bytes_equal_the_document_dump) {
  auto b = sample();
  b.observations.push_back({"quote\"and\\slash@us-east-1", 1795000000102, decision::outcome::timeout, 0.125, 0,
                            std::nullopt, "caf\u00e9 \x01 \u2028 timed out"});
  batch empty;
  empty.vantage = "us-west-2";
  for (const batch* x : {&b, &empty}) {
    nlohmann::json obs = nlohmann::json::array();
    for (const auto& o : x->observations) {
      obs.push_back({{"check", o.check},
                     {"at", o.at_ms},
                     {"outcome", decision::to_string(o.result)},
                     {"latency_ms", o.latency_ms},
                     {"status", o.http_status},
                     {"value", o.value ? nlohmann::json(*o.value) : nlohmann::json(nullptr)},
                     {"detail", o.detail}});
    }
    nlohmann::json lag = nlohmann::json::array();
    for (const auto& l : x->lag) {
      lag.push_back({{"at", l.at_ms},
                     {"lag_ms", l.lag_ms ? nlohmann::json(*l.lag_ms) : nlohmann::json(nullptr)},
                     {"error", l.error}});
      if (!l.region.empty()) lag.back()["region"] = l.region;
    }
    const nlohmann::json doc{
        {"v", 1},    {"vantage", x->vantage}, {"seq", x->seq}, {"sent_at", x->sent_at_ms}, {"observations", obs},
        {"lag", lag}};
    EXPECT_EQ(serialize_batch(*x), doc.dump());
  }
}

struct bad_case {
  const char* body;
  batch_rejection reason;
  const char* message_part;
};

class batch_rejects : public ::testing::TestWithParam<bad_case> {};

TEST_P(batch_rejects, with_reason_and_path) {
  const auto& c = GetParam();
  const auto r = parse_batch(c.body);
  EXPECT_FALSE(r.value);
  EXPECT_EQ(r.reason, c.reason);
  EXPECT_NE(r.message.find(c.message_part), std::string::npos) << r.message;
}

INSTANTIATE_TEST_SUITE_P(
    cases, batch_rejects,
    ::testing::Values(
        bad_case{"{nope", batch_rejection::bad_json, "not valid JSON"},
        bad_case{"[]", batch_rejection::bad_schema, "$: expected an object"},
        bad_case{R"({"v":2,"vantage":"a","seq":1,"sent_at":1,"observations":[]})", batch_rejection::bad_schema, "$.v"},
        bad_case{R"({"v":1,"seq":1,"sent_at":1,"observations":[]})", batch_rejection::bad_schema, "$.vantage: missing"},
        bad_case{R"({"v":1,"vantage":"a","seq":-1,"sent_at":1,"observations":[]})", batch_rejection::bad_schema,
                 "$.seq"},
        bad_case{R"({"v":1,"vantage":"a","seq":1,"sent_at":"x","observations":[]})", batch_rejection::bad_schema,
                 "$.sent_at: expected an integer"},
        bad_case{R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":{}})", batch_rejection::bad_schema,
                 "$.observations: expected an array"},
        bad_case{
            R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":[{"check":"c","at":1,"outcome":"fine","latency_ms":1}]})",
            batch_rejection::bad_schema, "$.observations[0].outcome: unknown outcome 'fine'"},
        bad_case{
            R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":[{"check":"c","at":1,"outcome":"ok","latency_ms":-3}]})",
            batch_rejection::bad_schema, "$.observations[0].latency_ms"},
        bad_case{R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":[],"lag":[{"at":1,"lag_ms":-5}]})",
                 batch_rejection::bad_schema, "$.lag[0].lag_ms"},
        // duplicate keys: at the top, inside an observation, inside a lag sample
        bad_case{R"({"v":1,"vantage":"a","vantage":"b","seq":1,"sent_at":1,"observations":[]})",
                 batch_rejection::bad_json, "duplicate key \"vantage\""},
        bad_case{
            R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":[{"check":"c","at":1,"at":9,"outcome":"ok","latency_ms":1}]})",
            batch_rejection::bad_json, "duplicate key \"at\""},
        bad_case{
            R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":[],"lag":[{"at":1,"lag_ms":5,"lag_ms":0}]})",
            batch_rejection::bad_json, "duplicate key \"lag_ms\""},
        // absurd values
        bad_case{
            R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":[{"check":"c","at":1,"outcome":"ok","latency_ms":1e12}]})",
            batch_rejection::bad_schema, "$.observations[0].latency_ms: expected a finite number in [0, 86400000]"},
        bad_case{
            R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":[{"check":"c","at":1,"outcome":"ok","latency_ms":1,"status":-200}]})",
            batch_rejection::bad_schema, "$.observations[0].status"},
        bad_case{
            R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":[{"check":"c","at":1,"outcome":"ok","latency_ms":1,"status":42}]})",
            batch_rejection::bad_schema, "$.observations[0].status"},
        bad_case{
            R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":[{"check":"c","at":1,"outcome":"ok","latency_ms":1,"status":70000}]})",
            batch_rejection::bad_schema, "$.observations[0].status"},
        bad_case{
            R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":[],"lag":[{"at":1,"lag_ms":9000000000000}]})",
            batch_rejection::bad_schema, "$.lag[0].lag_ms"}));

TEST(batch, the_same_key_in_different_objects_is_fine) {
  const auto r = parse_batch(
      R"({"v":1,"vantage":"a","seq":1,"sent_at":1,"observations":[{"check":"c","at":1,"outcome":"ok","latency_ms":1,"status":0},)"
      R"({"check":"c","at":2,"outcome":"ok","latency_ms":2,"status":599}],"lag":[{"at":1,"lag_ms":1}]})");
  ASSERT_TRUE(r.value) << r.message;
  EXPECT_EQ(r.value->observations.size(), 2U);
  EXPECT_EQ(r.value->observations[1].http_status, 599);
}

TEST(batch, too_many_observations_is_too_large) {
  batch b = sample();
  batch_limits limits;
  limits.max_observations = 1;
  const auto r = parse_batch(serialize_batch(b), limits);
  EXPECT_FALSE(r.value);
  EXPECT_EQ(r.reason, batch_rejection::too_large);
}

TEST(batch, signature_covers_every_byte) {
  const std::string key = "agent-secret";
  const auto body = serialize_batch(sample());
  const auto sig = sign_batch(key, body);
  EXPECT_EQ(sig.rfind("sha256=", 0), 0U);
  EXPECT_EQ(sig.size(), 7U + 64U);
  EXPECT_TRUE(verify_batch_signature(key, body, sig));
  EXPECT_FALSE(verify_batch_signature("other-key", body, sig));
  for (std::size_t i = 0; i < body.size(); i += 7) {
    std::string tampered = body;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    EXPECT_FALSE(verify_batch_signature(key, tampered, sig)) << "byte " << i;
  }
}

TEST(batch, hmac_matches_rfc4231_case_2) {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
  EXPECT_EQ(sign_batch("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace vigil::common
