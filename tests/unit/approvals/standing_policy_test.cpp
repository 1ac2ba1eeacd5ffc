// Standing approval tokens: claims round trip, and every refusal by reason.
#include "approvals/standing_policy.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "approvals/approval.hpp"
#include "approvals/paseto.hpp"
#include "common/clock.hpp"

namespace vigil::approvals {
namespace {

using namespace std::chrono_literals;

const std::string plan = std::string(64, 'a');
const common::wall_time now = *parse_rfc3339("2026-12-07T10:00:00Z");

class standing_policy_test : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.required = 2;
    cfg_.max_skew = 1min;
    cfg_.approvers.push_back({"alice", "alice.pub", alice_->public_pem(), {}});
    cfg_.approvers.push_back({"bob", "bob.pub", bob_->public_pem(), {}});
    verifier_ = std::make_unique<standing_verifier>("prod", cfg_, std::chrono::hours(24 * 30));
  }
  static standing_policy policy() {
    standing_policy p;
    p.id = "sp-0123456789abcdef";
    p.audience = "prod";
    p.conditions.from = "us-east-1";
    p.conditions.to = "us-west-2";
    p.conditions.min_duration = 2min;
    p.conditions.min_vantages = 2;
    p.conditions.max_lag = 5s;
    p.conditions.hours = decision::parse_standing_hours("08:00-20:00");
    p.plan_hash = plan;
    p.issued_at = now;
    p.expires_at = now + std::chrono::hours(24 * 7);
    p.uses = 1;
    return p;
  }
  standing_verified verify(const std::string& token, common::wall_time at = now) const {
    return verifier_->verify(token, at, plan);
  }

  std::unique_ptr<ed25519_key> alice_ = ed25519_key::generate();
  std::unique_ptr<ed25519_key> bob_ = ed25519_key::generate();
  std::unique_ptr<ed25519_key> mallory_ = ed25519_key::generate();
  common::approvals_config cfg_;
  std::unique_ptr<standing_verifier> verifier_;
};

}  // namespace

TEST_F(standing_policy_test, ClaimsRoundTripAndHashLeavesTheSignerOut) {
  const auto p = policy();
  const auto parsed = parse_policy(policy_json(p), false);
  ASSERT_TRUE(parsed.policy) << parsed.error;
  EXPECT_EQ(*parsed.policy, p);
  const auto v = verify(sign_standing(*alice_, p, "alice"));
  ASSERT_TRUE(v.ok()) << v.message;
  EXPECT_EQ(v.signer, "alice");
  EXPECT_EQ(policy_hash(*v.policy), policy_hash(p));
  EXPECT_EQ(policy_hash(*verify(sign_standing(*bob_, p, "bob")).policy), policy_hash(p));
  EXPECT_TRUE(new_policy_id().starts_with("sp-"));
  EXPECT_NE(new_policy_id(), new_policy_id());
}

TEST_F(standing_policy_test, SchemaRefusesUnknownKeysAndBadBounds) {
  auto j = policy_json(policy());
  j["extra"] = 1;
  EXPECT_NE(parse_policy(j, false).error.find("extra"), std::string::npos);
  j = policy_json(policy());
  j["conditions"]["min_vantages"] = 0;
  EXPECT_NE(parse_policy(j, false).error.find("min_vantages"), std::string::npos);
  j = policy_json(policy());
  j["uses"] = 101;
  EXPECT_NE(parse_policy(j, false).error.find("uses"), std::string::npos);
  j = policy_json(policy());
  j["action"] = "failback";
  EXPECT_NE(parse_policy(j, false).error.find("action"), std::string::npos);
  j = policy_json(policy());
  j["conditions"]["hours"] = "8-20";
  EXPECT_NE(parse_policy(j, false).error.find("hours"), std::string::npos);
  j = policy_json(policy());
  j["to"] = "us-east-1";
  EXPECT_FALSE(parse_policy(j, false).policy);
}

TEST_F(standing_policy_test, EachRefusalHasItsReason) {
  auto reason = [&](const std::string& token, common::wall_time at = now) { return verify(token, at).reason; };
  const auto p = policy();
  const auto good = sign_standing(*alice_, p, "alice");
  // tampered: flip one character of the signed payload
  auto tampered = good;
  tampered[paseto_v4_public_header.size() + 5] = tampered[paseto_v4_public_header.size() + 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(reason(tampered), standing_reason::bad_signature);
  EXPECT_EQ(reason(sign_standing(*mallory_, p, "alice")), standing_reason::bad_signature);
  EXPECT_EQ(reason("v4.public.garbage!"), standing_reason::bad_format);
  EXPECT_EQ(reason(sign_standing(*alice_, p, "bob")), standing_reason::subject_mismatch);
  auto other = p;
  other.audience = "staging";
  EXPECT_EQ(reason(sign_standing(*alice_, other, "alice")), standing_reason::wrong_audience);
  EXPECT_EQ(reason(good, p.expires_at + 1min), standing_reason::expired);
  EXPECT_EQ(reason(good, p.issued_at - 2min), standing_reason::not_yet_valid);
  other = p;
  other.expires_at = other.issued_at + std::chrono::hours(24 * 31);
  EXPECT_EQ(reason(sign_standing(*alice_, other, "alice")), standing_reason::lifetime_too_long);
  other = p;
  other.plan_hash = std::string(64, 'b');
  EXPECT_EQ(reason(sign_standing(*alice_, other, "alice")), standing_reason::wrong_plan_hash);
  EXPECT_EQ(reason(paseto_v4_sign(*alice_, R"({"purpose":"standing"})")), standing_reason::bad_claims);
  EXPECT_EQ(reason(good), standing_reason::ok);
}

TEST_F(standing_policy_test, ArmsOnlyWithRequiredDistinctSignersOfTheSameContent) {
  const auto p = policy();
  standing_collection col(p, 2);
  const auto a = verify(sign_standing(*alice_, p, "alice"));
  EXPECT_FALSE(col.add(a, "t1"));
  EXPECT_FALSE(col.armed()) << "under-signed: one of two";
  const auto again = col.add(verify(sign_standing(*alice_, p, "alice")), "t2");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->reason, standing_reason::duplicate_signer);
  auto changed = p;
  changed.uses = 5;
  const auto diff = col.add(verify(sign_standing(*bob_, changed, "bob")), "t3");
  ASSERT_TRUE(diff);
  EXPECT_EQ(diff->reason, standing_reason::different_content);
  EXPECT_FALSE(col.armed());
  EXPECT_FALSE(col.add(verify(sign_standing(*bob_, p, "bob")), "t4"));
  EXPECT_TRUE(col.armed());
  EXPECT_EQ(col.signers(), (std::vector<std::string>{"alice", "bob"}));
}

TEST(StandingRefusals, CountedByReason) {
  prometheus::Registry reg;
  standing_refusals m(reg);
  m.count(standing_reason::wrong_plan_hash);
  m.count(standing_reason::ok);
  const auto text = prometheus::TextSerializer().Serialize(reg.Collect());
  EXPECT_NE(text.find("vigil_standing_refused_total{reason=\"wrong_plan_hash\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("vigil_standing_refused_total{reason=\"under_signed\"} 0"), std::string::npos) << text;
  EXPECT_EQ(to_string(standing_reason::too_many), "too_many");
  EXPECT_EQ(http_status(standing_reason::bad_signature), 403);
}

}  // namespace vigil::approvals
