// The approval verifier: every rejection asserted by its reason.
#include "approvals/approval.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "approvals/approval_hook.hpp"
#include "approvals/paseto.hpp"
#include "common/base64.hpp"

namespace vigil::approvals {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class approval_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-approval-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    cfg_.required = 2;
    cfg_.max_ttl = 15min;
    cfg_.max_skew = 1min;
    cfg_.approvers.push_back({"alice", "alice.pub", alice_->public_pem(), {}});
    cfg_.approvers.push_back({"bob", "bob.pub", bob_->public_pem(), {}});
    ledger_ = std::make_unique<file_jti_ledger>(dir_ / "jti.ledger");
    verifier_ = std::make_unique<approval_verifier>("prod", cfg_, *ledger_, &metrics_);
  }
  void TearDown() override {
    verifier_.reset();
    ledger_.reset();
    fs::remove_all(dir_);
  }

  approval_claims claims(std::string sub = "alice") const {
    approval_claims c;
    c.recommendation_id = "rec-42";
    c.recommendation_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    c.action = "failover";
    c.allow_data_loss = false;
    c.audience = "prod";
    c.subject = std::move(sub);
    c.issued_at = clock_.wall();
    c.expires_at = clock_.wall() + 10min;
    c.jti = new_jti();
    return c;
  }

  approval_binding binding() const {
    return {"rec-42", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "failover", true, "", false,
            {}};
  }

  verifier_reason verify_reason(std::string_view token, const approval_binding* b = nullptr) {
    const auto r = verifier_->verify(token, clock_.wall(), b);
    if (r.ok()) return verifier_reason::ok;
    EXPECT_FALSE(r.rejection.message.empty());
    return r.rejection.reason;
  }

  /// A restart: a new ledger and verifier over the same state directory.
  void restart() {
    verifier_.reset();
    ledger_.reset();
    ledger_ = std::make_unique<file_jti_ledger>(dir_ / "jti.ledger");
    verifier_ = std::make_unique<approval_verifier>("prod", cfg_, *ledger_, &metrics_);
  }

  double counted(std::string_view reason) {
    for (const auto& mf : registry_.Collect()) {
      for (const auto& m : mf.metric) {
        for (const auto& l : m.label) {
          if (l.name == "reason" && l.value == reason) return m.counter.value;
        }
      }
    }
    return -1;
  }

  fs::path dir_;
  common::manual_clock clock_;
  std::unique_ptr<ed25519_key> alice_ = ed25519_key::generate();
  std::unique_ptr<ed25519_key> bob_ = ed25519_key::generate();
  std::unique_ptr<ed25519_key> mallory_ = ed25519_key::generate();
  common::approvals_config cfg_;
  prometheus::Registry registry_;
  approval_metrics metrics_{approval_metrics::build_family(registry_)};
  std::unique_ptr<file_jti_ledger> ledger_;
  std::unique_ptr<approval_verifier> verifier_;
};

TEST_F(approval_test, accepts_a_valid_token_and_counts_it) {
  const auto c = claims();
  const auto r = verifier_->verify(sign_approval(*alice_, c), clock_.wall());
  ASSERT_TRUE(r.ok()) << r.rejection.message;
  EXPECT_EQ(r.approval->approver, "alice");
  EXPECT_EQ(r.approval->recommendation_id, "rec-42");
  EXPECT_EQ(r.approval->jti, c.jti);
  EXPECT_EQ(r.approval->expires_at, c.expires_at);
  EXPECT_EQ(counted("ok"), 1);
  EXPECT_EQ(counted("replay"), 0);
}

TEST_F(approval_test, claims_round_trip) {
  auto c = claims();
  c.not_before = c.issued_at;
  c.issuer = "laptop";
  const auto back = parse_claims(claims_to_json(c));
  ASSERT_TRUE(back.claims) << back.error;
  EXPECT_EQ(claims_to_json(*back.claims), claims_to_json(c));
}

TEST_F(approval_test, wrong_key_is_bad_signature) {
  EXPECT_EQ(verify_reason(sign_approval(*mallory_, claims("alice"))), verifier_reason::bad_signature);
  EXPECT_EQ(counted("bad_signature"), 1);
}

TEST_F(approval_test, unknown_approver) {
  EXPECT_EQ(verify_reason(sign_approval(*mallory_, claims("mallory"))), verifier_reason::unknown_approver);
}

TEST_F(approval_test, sub_must_name_the_approver_whose_key_verified) {
  // Bob's key, Alice's name: bob cannot approve twice by impersonating alice.
  EXPECT_EQ(verify_reason(sign_approval(*bob_, claims("alice"))), verifier_reason::subject_mismatch);
}

TEST_F(approval_test, tampered_claims_are_bad_signature) {
  const auto token = sign_approval(*alice_, claims());
  auto parts = paseto_v4_parse(token).parts.value();
  auto c = parse_claims(parts.message).claims.value();
  c.allow_data_loss = true;  // the attacker wants data loss allowed
  const std::string forged =
      std::string(paseto_v4_public_header) + common::base64url_encode(claims_to_json(c) + parts.signature);
  EXPECT_EQ(verify_reason(forged), verifier_reason::bad_signature);
}

TEST_F(approval_test, every_single_bit_flip_is_rejected) {
  const auto token = sign_approval(*alice_, claims());
  for (std::size_t pos = 0; pos < token.size(); ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string t = token;
      t[pos] = static_cast<char>(static_cast<unsigned char>(t[pos]) ^ (1U << bit));
      const auto r = verify_reason(t);
      ASSERT_NE(r, verifier_reason::ok) << "bit " << bit << " at byte " << pos;
      ASSERT_TRUE(r == verifier_reason::bad_format || r == verifier_reason::unsupported_version ||
                  r == verifier_reason::bad_signature || r == verifier_reason::unknown_approver)
          << to_string(r) << " at byte " << pos;
    }
  }
  // ...and the untouched token still verifies (nothing above consumed its jti).
  EXPECT_EQ(verify_reason(token), verifier_reason::ok);
}

TEST_F(approval_test, other_versions_and_purposes) {
  const auto token = sign_approval(*alice_, claims());
  const auto body = token.substr(paseto_v4_public_header.size());
  for (const std::string prefix : {"v2.public.", "v3.public.", "v4.local.", "v1.local."}) {
    EXPECT_EQ(verify_reason(prefix + body), verifier_reason::unsupported_version) << prefix;
  }
  EXPECT_EQ(verify_reason("eyJhbGciOiJIUzI1NiJ9.e30.sig"), verifier_reason::bad_format);  // a JWT
  EXPECT_EQ(verify_reason(token + std::string(9000, 'A')), verifier_reason::too_large);
}

TEST_F(approval_test, expired_with_skew) {
  const auto token = sign_approval(*alice_, claims());
  clock_.advance(10min + 59s);  // within max_skew after exp
  auto c = claims();
  c.issued_at -= 11min - 1s;  // exp + max_skew is 1 s ahead: still valid
  c.expires_at = c.issued_at + 10min;
  EXPECT_EQ(verify_reason(sign_approval(*alice_, c)), verifier_reason::ok);
  clock_.advance(2s);
  EXPECT_EQ(verify_reason(token), verifier_reason::expired);
}

TEST_F(approval_test, not_yet_valid) {
  auto c = claims();
  c.not_before = clock_.wall() + 5min;
  EXPECT_EQ(verify_reason(sign_approval(*alice_, c)), verifier_reason::not_yet_valid);
  auto future = claims();
  future.issued_at = clock_.wall() + 2min;  // beyond the 1 min skew
  future.expires_at = future.issued_at + 5min;
  EXPECT_EQ(verify_reason(sign_approval(*alice_, future)), verifier_reason::not_yet_valid);
  auto within = claims();
  within.issued_at = clock_.wall() + 30s;  // a signer clock 30 s fast is fine
  within.expires_at = within.issued_at + 5min;
  EXPECT_EQ(verify_reason(sign_approval(*alice_, within)), verifier_reason::ok);
}

TEST_F(approval_test, lifetime_too_long) {
  auto c = claims();
  c.expires_at = c.issued_at + 15min + 1s;
  EXPECT_EQ(verify_reason(sign_approval(*alice_, c)), verifier_reason::lifetime_too_long);
  c.expires_at = c.issued_at + 15min;
  c.jti = new_jti();
  EXPECT_EQ(verify_reason(sign_approval(*alice_, c)), verifier_reason::ok);
}

TEST_F(approval_test, wrong_audience) {
  auto c = claims();
  c.audience = "staging";
  EXPECT_EQ(verify_reason(sign_approval(*alice_, c)), verifier_reason::wrong_audience);
}

TEST_F(approval_test, replay_is_refused_also_after_restart) {
  const auto token = sign_approval(*alice_, claims());
  EXPECT_EQ(verify_reason(token), verifier_reason::ok);
  EXPECT_EQ(verify_reason(token), verifier_reason::replay);
  restart();
  EXPECT_EQ(verify_reason(token), verifier_reason::replay);
  EXPECT_EQ(counted("replay"), 2);
}

TEST_F(approval_test, wrong_hash_does_not_burn_the_token) {
  const auto token = sign_approval(*alice_, claims());
  auto b = binding();
  b.recommendation_hash = "other";
  EXPECT_EQ(verify_reason(token, &b), verifier_reason::wrong_hash);
  const auto good = binding();
  EXPECT_EQ(verify_reason(token, &good), verifier_reason::ok);
}

// The decision core may still refuse a verified token (no_recommendation,
// withdrawn, blocked after a restart, ...): the engine then releases its jti,
// and the operator's retry of the same token is accepted, not a replay.
TEST_F(approval_test, a_released_token_is_accepted_on_retry_and_only_once) {
  const auto c = claims();
  const auto token = sign_approval(*alice_, c);
  for (int refusal = 0; refusal < 3; ++refusal) {
    const auto r = verifier_->verify(token, clock_.wall());
    ASSERT_TRUE(r.ok()) << r.rejection.message;
    EXPECT_TRUE(verifier_->release(r.approval->jti, r.approval->expires_at));  // the core refused it
  }
  EXPECT_EQ(verify_reason(token), verifier_reason::ok);  // accepted: stays spent
  EXPECT_EQ(verify_reason(token), verifier_reason::replay);
  // Released and spent survive a restart as they were.
  restart();
  EXPECT_EQ(verify_reason(token), verifier_reason::replay);
  const auto other = sign_approval(*alice_, claims());
  const auto r = verifier_->verify(other, clock_.wall());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(verifier_->release(r.approval->jti, r.approval->expires_at));
  restart();
  EXPECT_EQ(verify_reason(other), verifier_reason::ok);
}

TEST_F(approval_test, concurrent_uses_of_one_token_are_accepted_once) {
  const auto token = sign_approval(*alice_, claims());
  std::atomic<int> ok{0};
  std::atomic<int> replay{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      const auto r = verifier_->verify(token, clock_.wall());
      ++(r.ok() ? ok : replay);
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(replay.load(), 7);
}

// The skew is applied once: the verifier accepts until exp + max_skew
// (exclusive), and the expiry it hands on is that same instant.
TEST_F(approval_test, the_skew_is_applied_once) {
  auto c = claims();
  c.issued_at -= 10min + 30s;
  c.expires_at = c.issued_at + 10min;  // expired 30 s ago, inside the 1 min skew
  const auto check = make_token_verifier(*verifier_)(sign_approval(*alice_, c), clock_.wall(), std::nullopt, 1);
  ASSERT_TRUE(check.approval) << check.message;
  EXPECT_EQ(check.approval->expires_at.time_since_epoch(), (c.expires_at + 1min).time_since_epoch());
  EXPECT_GT(check.approval->expires_at.time_since_epoch(), clock_.wall().time_since_epoch());
  ASSERT_TRUE(check.release);
  auto at_edge = claims();
  at_edge.issued_at -= 11min;
  at_edge.expires_at = at_edge.issued_at + 10min;  // exp + max_skew == now
  EXPECT_EQ(verify_reason(sign_approval(*alice_, at_edge)), verifier_reason::expired);
}

TEST_F(approval_test, not_approvable) {
  auto b = binding();
  b.approvable = false;
  b.not_approvable_detail = "withdrawn: the primary recovered";
  const auto r = verifier_->verify(sign_approval(*alice_, claims()), clock_.wall(), &b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.rejection.reason, verifier_reason::not_approvable);
  EXPECT_NE(r.rejection.message.find("withdrawn"), std::string::npos);
}

TEST_F(approval_test, missing_allow_data_loss_when_required) {
  auto b = binding();
  b.allow_data_loss_required = true;
  const auto r = verifier_->verify(sign_approval(*alice_, claims()), clock_.wall(), &b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.rejection.reason, verifier_reason::data_loss_not_allowed);
  EXPECT_NE(r.rejection.message.find("--allow-data-loss"), std::string::npos);
  auto c = claims();
  c.allow_data_loss = true;
  EXPECT_EQ(verify_reason(sign_approval(*alice_, c), &b), verifier_reason::ok);
}

// action acknowledge_cooldown: bound to the recommendation by id and hash,
// accepted only while the cooldown gate blocks it, whatever its state, its
// data-loss requirement or who approved it; the jti is spent only then.
TEST_F(approval_test, acknowledge_cooldown_binds_to_a_recommendation_the_cooldown_blocks) {
  auto c = claims("bob");
  c.action = std::string(acknowledge_cooldown_action);
  const auto token = sign_approval(*bob_, c);
  auto b = binding();
  b.approvable = false;  // blocked
  b.allow_data_loss_required = true;
  b.approved_by = {"bob"};
  const auto r = verifier_->verify(token, clock_.wall(), &b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.rejection.reason, verifier_reason::not_approvable);
  EXPECT_NE(r.rejection.message.find("no cooldown to acknowledge"), std::string::npos) << r.rejection.message;
  b.cooldown_blocks = true;
  auto other = b;
  other.recommendation_hash = "other";
  EXPECT_EQ(verify_reason(token, &other), verifier_reason::wrong_hash);
  const auto ok = verifier_->verify(token, clock_.wall(), &b);
  ASSERT_TRUE(ok.ok()) << ok.rejection.message;
  EXPECT_EQ(ok.approval->action, acknowledge_cooldown_action);
  EXPECT_EQ(verify_reason(token, &b), verifier_reason::replay);
  // A failover token is not an acknowledgement, and an acknowledgement approves nothing.
  auto f = claims("bob");
  EXPECT_EQ(verify_reason(sign_approval(*bob_, f), &b), verifier_reason::not_approvable);
}

TEST_F(approval_test, same_approver_twice_towards_required_two) {
  approval_tally tally(binding().recommendation_hash, cfg_.required);
  const auto a1 = verifier_->verify(sign_approval(*alice_, claims()), clock_.wall());
  const auto a2 = verifier_->verify(sign_approval(*alice_, claims()), clock_.wall());  // a second, fresh token
  ASSERT_TRUE(a1.ok() && a2.ok());
  EXPECT_FALSE(tally.add(*a1.approval));
  const auto dup = tally.add(*a2.approval);
  ASSERT_TRUE(dup);
  EXPECT_EQ(dup->reason, verifier_reason::duplicate_approver);
  EXPECT_FALSE(tally.complete());
  const auto b1 = verifier_->verify(sign_approval(*bob_, claims("bob")), clock_.wall());
  ASSERT_TRUE(b1.ok());
  EXPECT_FALSE(tally.add(*b1.approval));
  EXPECT_TRUE(tally.complete());
  EXPECT_EQ(tally.approvers(), (std::vector<std::string>{"alice", "bob"}));
  // The engine-side binding check says the same before the jti is consumed.
  auto b = binding();
  b.approved_by = {"alice"};
  EXPECT_EQ(verify_reason(sign_approval(*alice_, claims()), &b), verifier_reason::duplicate_approver);
}

TEST_F(approval_test, oversized_claims) {
  auto c = claims();
  c.issuer = std::string(250, 'i');
  c.audience = std::string(3000, 'p');  // a signed, valid token whose claims exceed 4 KiB
  EXPECT_EQ(verify_reason(sign_approval(*alice_, c)), verifier_reason::bad_claims);
  auto long_id = claims();
  long_id.recommendation_id = std::string(129, 'r');
  EXPECT_EQ(verify_reason(sign_approval(*alice_, long_id)), verifier_reason::bad_claims);
}

TEST_F(approval_test, deeply_nested_claims) {
  std::string nested = R"({"rid":"rec-42","x":)";
  for (int i = 0; i < 200; ++i)
    nested += "[";
  for (int i = 0; i < 200; ++i)
    nested += "]";
  nested += "}";
  EXPECT_EQ(verify_reason(paseto_v4_sign(*alice_, nested)), verifier_reason::bad_claims);
  const auto shallow = paseto_v4_sign(*alice_, R"({"rid":{"a":"b"}})");
  EXPECT_EQ(verify_reason(shallow), verifier_reason::bad_claims);
}

TEST_F(approval_test, claims_schema_is_strict) {
  const auto base = nlohmann::json::parse(claims_to_json(claims()));
  auto with = [&](const std::string& key, const nlohmann::json& value) {
    auto j = base;
    if (value.is_null())
      j.erase(key);
    else
      j[key] = value;
    return paseto_v4_sign(*alice_, j.dump());
  };
  EXPECT_EQ(verify_reason(with("allow_data_loss", "true")), verifier_reason::bad_claims);
  EXPECT_EQ(verify_reason(with("allow_data_loss", nullptr)), verifier_reason::bad_claims);
  EXPECT_EQ(verify_reason(with("jti", nullptr)), verifier_reason::bad_claims);
  EXPECT_EQ(verify_reason(with("jti", "has space")), verifier_reason::bad_claims);
  EXPECT_EQ(verify_reason(with("exp", 1795000600)), verifier_reason::bad_claims);
  EXPECT_EQ(verify_reason(with("exp", "2026-11-22T03:00:00")), verifier_reason::bad_claims);  // no zone
  EXPECT_EQ(verify_reason(with("action", "delete-everything")), verifier_reason::bad_claims);
  EXPECT_EQ(verify_reason(with("action", "acknowledge")), verifier_reason::bad_claims);
  EXPECT_EQ(verify_reason(with("action", "acknowledge_cooldown")), verifier_reason::ok);
  EXPECT_EQ(verify_reason(with("role", "admin")), verifier_reason::bad_claims);
  EXPECT_EQ(verify_reason(paseto_v4_sign(*alice_, "[1,2]")), verifier_reason::bad_claims);
  EXPECT_EQ(verify_reason(paseto_v4_sign(*alice_, "not json")), verifier_reason::bad_claims);
  std::string dup = claims_to_json(claims());
  dup.insert(1, R"("aud":"staging",)");
  EXPECT_EQ(verify_reason(paseto_v4_sign(*alice_, dup)), verifier_reason::bad_claims);
}

// Every rejection is asserted by its reason and counted by reason in
// vigil_approvals_total{result="rejected",reason} (one increment each, nothing
// counted under another reason, nothing under ok).
TEST_F(approval_test, every_rejection_is_counted_by_its_reason) {
  const auto good = binding();
  const auto signed_with = [&](const ed25519_key& k, const approval_claims& c) { return sign_approval(k, c); };
  const auto with = [&](auto change) {
    auto c = claims();
    change(c);
    return sign_approval(*alice_, c);
  };
  const auto body = sign_approval(*alice_, claims()).substr(paseto_v4_public_header.size());
  auto flipped = sign_approval(*alice_, claims());
  flipped[flipped.size() - 20] = flipped[flipped.size() - 20] == 'A' ? 'B' : 'A';  // in the signature
  std::string nested = R"({"rid":)";
  for (int i = 0; i < 100; ++i)
    nested += "[";
  for (int i = 0; i < 100; ++i)
    nested += "]";
  nested += "}";
  auto wrong_hash = good;
  wrong_hash.recommendation_hash = std::string(64, 'a');
  auto loss_required = good;
  loss_required.allow_data_loss_required = true;
  auto approved_by_alice = good;
  approved_by_alice.approved_by = {"alice"};
  auto withdrawn = good;
  withdrawn.approvable = false;
  withdrawn.not_approvable_detail = "withdrawn";
  const std::string used = sign_approval(*alice_, claims());
  ASSERT_EQ(verify_reason(used, &good), verifier_reason::ok);

  struct row {
    std::string what;
    std::string token;
    const approval_binding* binding;
    verifier_reason want;
  };
  const std::vector<row> rows{
      {"wrong key", signed_with(*mallory_, claims("alice")), &good, verifier_reason::bad_signature},
      {"unknown approver", signed_with(*mallory_, claims("mallory")), &good, verifier_reason::unknown_approver},
      {"bit flip", flipped, &good, verifier_reason::bad_signature},
      {"v2", "v2.public." + body, &good, verifier_reason::unsupported_version},
      {"v3", "v3.public." + body, &good, verifier_reason::unsupported_version},
      {"v4.local", "v4.local." + body, &good, verifier_reason::unsupported_version},
      {"not a token", "hello", &good, verifier_reason::bad_format},
      {"too large", sign_approval(*alice_, claims()) + std::string(9000, 'A'), &good, verifier_reason::too_large},
      {"subject mismatch", signed_with(*bob_, claims("alice")), &good, verifier_reason::subject_mismatch},
      {"expired", with([&](approval_claims& c) {
         c.issued_at -= 20min;
         c.expires_at = c.issued_at + 10min;
       }),
       &good, verifier_reason::expired},
      {"not yet valid", with([&](approval_claims& c) { c.not_before = c.issued_at + 5min; }), &good,
       verifier_reason::not_yet_valid},
      {"lifetime too long", with([&](approval_claims& c) { c.expires_at = c.issued_at + 16min; }), &good,
       verifier_reason::lifetime_too_long},
      {"wrong audience", with([&](approval_claims& c) { c.audience = "staging"; }), &good,
       verifier_reason::wrong_audience},
      {"oversized claims", with([&](approval_claims& c) { c.audience = std::string(4200, 'p'); }), &good,
       verifier_reason::bad_claims},
      {"deeply nested claims", paseto_v4_sign(*alice_, nested), &good, verifier_reason::bad_claims},
      {"wrong hash", sign_approval(*alice_, claims()), &wrong_hash, verifier_reason::wrong_hash},
      {"missing allow_data_loss", sign_approval(*alice_, claims()), &loss_required,
       verifier_reason::data_loss_not_allowed},
      {"same approver twice", sign_approval(*alice_, claims()), &approved_by_alice,
       verifier_reason::duplicate_approver},
      {"withdrawn", sign_approval(*alice_, claims()), &withdrawn, verifier_reason::not_approvable},
      {"replay", used, &good, verifier_reason::replay},
  };
  std::map<std::string, double> before;
  for (std::size_t i = 0; i < verifier_reason_count; ++i) {
    const auto name = std::string(to_string(static_cast<verifier_reason>(i)));
    before[name] = counted(name);
    ASSERT_GE(before[name], 0) << "no counter child for " << name;
  }
  std::map<std::string, double> want = before;
  for (const auto& r : rows) {
    EXPECT_EQ(verify_reason(r.token, r.binding), r.want) << r.what;
    want[std::string(to_string(r.want))] += 1;
    EXPECT_EQ(counted(to_string(r.want)), want[std::string(to_string(r.want))]) << r.what;
  }
  for (const auto& [name, n] : want)
    EXPECT_EQ(counted(name), n) << name;
  // Replay also after a restart: a new ledger and verifier over the same file.
  verifier_.reset();
  ledger_.reset();
  ledger_ = std::make_unique<file_jti_ledger>(dir_ / "jti.ledger", forget_before_for(clock_.wall(), cfg_.max_skew));
  verifier_ = std::make_unique<approval_verifier>("prod", cfg_, *ledger_, &metrics_);
  EXPECT_EQ(verify_reason(used, &good), verifier_reason::replay);
  EXPECT_EQ(counted("replay"), want["replay"] + 1);
}

TEST(approval_time, rfc3339) {
  using common::format_rfc3339;
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2022-01-01T00:00:00+00:00")), "2022-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2026-11-22T05:30:00.25+02:30")), "2026-11-22T03:00:00.250Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2026-11-21T23:00:00.123456-04:00")), "2026-11-22T03:00:00.123Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2026-11-22T03:00:00.123456789z")), "2026-11-22T03:00:00.123Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2026-11-22T05:29:00+23:59")), "2026-11-21T05:30:00.000Z");
  for (const char* bad :
       {"2026-02-30T00:00:00Z", "2026-11-22 03:00:00Z", "2026-11-22T03:00:00", "2026-11-22T24:00:00Z",
        "2026-11-22T03:00:00.Z", "2026-11-22T03:00:00Zjunk", "2026-11-22T03:00:00+0200", "",
        "2026-11-22T03:00:00.1234567890Z", "2026-11-22T03:00:00+24:00", "2026-11-22T03:00:00+02:60"}) {
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  }
}

TEST(approval_reasons, names_remedies_and_statuses) {
  EXPECT_EQ(to_string(verifier_reason::replay), "replay");
  EXPECT_EQ(to_string(verifier_reason::data_loss_not_allowed), "data_loss_not_allowed");
  EXPECT_EQ(http_status(verifier_reason::ok), 202);
  EXPECT_EQ(http_status(verifier_reason::ledger_unavailable), 503);
  for (std::size_t i = 0; i < verifier_reason_count; ++i) {
    EXPECT_FALSE(remedy(static_cast<verifier_reason>(i)).empty());
  }
}

TEST(approval_verifier_config, a_bad_approver_key_fails_at_start) {
  common::approvals_config cfg;
  cfg.approvers.push_back({"carol", "/etc/vigil/carol.pub", "-----BEGIN PUBLIC KEY-----\nnope\n", {}});
  struct never : jti_ledger {
    bool try_consume(std::string_view, common::wall_time) override { return true; }
  } ledger;
  try {
    approval_verifier v("prod", cfg, ledger);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("carol"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("/etc/vigil/carol.pub"), std::string::npos);
  }
}

TEST(approval_verifier_config, rotation_two_keys_for_one_approver) {
  auto old_key = ed25519_key::generate();
  auto new_key = ed25519_key::generate();
  common::approvals_config cfg;
  cfg.approvers.push_back({"alice", "old.pub", old_key->public_pem(), {}});
  cfg.approvers.push_back({"alice", "new.pub", new_key->public_pem(), {}});
  struct memory : jti_ledger {
    std::set<std::string> seen;
    bool try_consume(std::string_view j, common::wall_time) override { return seen.insert(std::string(j)).second; }
  } ledger;
  approval_verifier v("prod", cfg, ledger);
  common::manual_clock clock;
  for (const auto* k : {old_key.get(), new_key.get()}) {
    approval_claims c{"rec-1",      "h", "failover",          false,     "prod", "alice",
                      clock.wall(), {},  clock.wall() + 5min, new_jti(), {}};
    EXPECT_TRUE(v.verify(sign_approval(*k, c), clock.wall()).ok());
  }
}

}  // namespace
}  // namespace vigil::approvals
