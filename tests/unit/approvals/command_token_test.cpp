// Signed operator commands: a token binds exactly one command; every refusal
// is asserted by its reason, and a refused command never spends its jti.
#include "approvals/command_token.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <filesystem>

#include "approvals/paseto.hpp"

namespace vigil::approvals {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

class command_token_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vigil-command-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    cfg_.max_ttl = 15min;
    cfg_.max_skew = 1min;
    cfg_.approvers.push_back({"alice", "alice.pub", alice_->public_pem(), {}});
    ledger_ = std::make_unique<file_jti_ledger>(dir_ / "jti.ledger");
    approvals_ = std::make_unique<approval_verifier>("prod", cfg_, *ledger_);
    verifier_ = std::make_unique<command_verifier>(approvals_.get(), command_limits{24h});
  }
  void TearDown() override {
    verifier_.reset();
    approvals_.reset();
    ledger_.reset();
    fs::remove_all(dir_);
  }

  static json silence(std::string id = "s-1") {
    return {{"action", "silence"},
            {"id", std::move(id)},
            {"scope", "region:us-east-1"},
            {"duration_s", 3600},
            {"reason", "planned database maintenance"}};
  }

  json signed_request(const json& body, const ed25519_key& key, std::string signer = "alice",
                      std::string deployment = "prod") const {
    return sign_command(key, body, deployment, signer, clock_.wall(), 5min);
  }

  command_result verify(const json& request, std::string_view action = "silence",
                        const command_verifier::extra_check& extra = nullptr) {
    return verifier_->verify(request.dump(), action, clock_.wall(), extra);
  }

  fs::path dir_;
  common::manual_clock clock_;
  std::unique_ptr<ed25519_key> alice_ = ed25519_key::generate();
  std::unique_ptr<ed25519_key> mallory_ = ed25519_key::generate();
  common::approvals_config cfg_;
  std::unique_ptr<file_jti_ledger> ledger_;
  std::unique_ptr<approval_verifier> approvals_;
  std::unique_ptr<command_verifier> verifier_;
};

TEST_F(command_token_test, accepts_a_signed_command_once) {
  const json req = signed_request(silence(), *alice_);
  const auto r = verify(req);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.signer, "alice");
  EXPECT_EQ(r.command["id"], "s-1");
  EXPECT_EQ(r.http_status(), 202);
  const auto again = verify(req);
  EXPECT_EQ(again.reason, command_reason::token);
  EXPECT_EQ(again.label(), "replay");
  EXPECT_EQ(again.http_status(), 409);
}

TEST_F(command_token_test, the_token_binds_the_exact_body) {
  json req = signed_request(silence(), *alice_);
  req["command"]["duration_s"] = 86400;  // longer than signed
  const auto r = verify(req);
  EXPECT_EQ(r.reason, command_reason::wrong_command);
  EXPECT_EQ(r.http_status(), 409);
  // Not spent: the untouched request still verifies.
  req["command"]["duration_s"] = 3600;
  EXPECT_TRUE(verify(req).ok());
}

TEST_F(command_token_test, a_token_for_another_target_or_action_is_refused) {
  json req = signed_request(silence("s-1"), *alice_);
  req["command"]["id"] = "s-2";
  EXPECT_EQ(verify(req).reason, command_reason::wrong_command);
  // An unsilence token cannot be used to silence (the action is part of the binding).
  const json un{{"action", "unsilence"}, {"id", "s-1"}, {"reason", "done early"}};
  json mixed = signed_request(un, *alice_);
  mixed["command"] = silence("s-1");
  EXPECT_EQ(verify(mixed).reason, command_reason::wrong_command);
}

TEST_F(command_token_test, the_route_decides_the_action) {
  const json req = signed_request(silence(), *alice_);
  EXPECT_EQ(verify(req, "brake_on").reason, command_reason::bad_request);
}

TEST_F(command_token_test, an_unsigned_request_is_refused_as_unsigned) {
  const auto r = verifier_->verify(R"({"action":"failback","by":"someone"})", "propose", clock_.wall());
  EXPECT_EQ(r.reason, command_reason::unsigned_command);
  EXPECT_EQ(r.label(), "unsigned");
  EXPECT_EQ(r.http_status(), 401);
  EXPECT_EQ(verify(json{{"command", silence()}}).reason, command_reason::unsigned_command);
}

TEST_F(command_token_test, a_proposal_binds_its_kind) {
  const json failback{{"action", "propose"}, {"kind", "failback"}, {"reason", "primary healthy"}};
  EXPECT_EQ(command_target(failback), "failback");
  json req = signed_request(failback, *alice_);
  req["command"]["kind"] = "failover";  // the token was for a failback
  EXPECT_EQ(verify(req, "propose").reason, command_reason::wrong_command);
  json sideways = failback;
  sideways["kind"] = "sideways";
  EXPECT_EQ(verify(signed_request(sideways, *alice_), "propose").reason, command_reason::bad_command);
  const auto ok = verify(signed_request(failback, *alice_), "propose");
  ASSERT_TRUE(ok.ok()) << ok.message;
  EXPECT_EQ(ok.signer, "alice");
}

TEST_F(command_token_test, token_refusals_keep_the_verifier_reason) {
  EXPECT_EQ(verify(signed_request(silence(), *mallory_, "mallory")).label(), "unknown_approver");
  EXPECT_EQ(verify(signed_request(silence(), *mallory_)).label(), "bad_signature");
  EXPECT_EQ(verify(signed_request(silence(), *alice_, "bob")).label(), "subject_mismatch");
  EXPECT_EQ(verify(signed_request(silence(), *alice_, "alice", "staging")).label(), "wrong_audience");
  const json req = signed_request(silence("s-9"), *alice_);
  clock_.advance(10min);
  const auto r = verify(req);
  EXPECT_EQ(r.label(), "expired");
  EXPECT_EQ(r.http_status(), 400);
}

TEST_F(command_token_test, bounds_are_enforced_before_the_token) {
  json body = silence();
  body["reason"] = std::string(max_reason_bytes + 1, 'x');
  EXPECT_EQ(verify(signed_request(body, *alice_)).reason, command_reason::bad_command);
  body = silence();
  body["duration_s"] = 24 * 3600 + 1;  // above limits.max_silence
  EXPECT_EQ(verify(signed_request(body, *alice_)).reason, command_reason::bad_command);
  body = silence();
  body["scope"] = "datacenter:x";
  EXPECT_EQ(verify(signed_request(body, *alice_)).reason, command_reason::bad_command);
  body = silence();
  body["reason"] = "line\nbreak";
  EXPECT_EQ(verify(signed_request(body, *alice_)).reason, command_reason::bad_command);
  body = silence();
  body["extra"] = "x";
  EXPECT_EQ(verify(signed_request(body, *alice_)).reason, command_reason::bad_command);
  EXPECT_EQ(verifier_->verify("not json", "silence", clock_.wall()).reason, command_reason::bad_request);
  EXPECT_EQ(verifier_->verify(std::string(20000, ' '), "silence", clock_.wall()).reason, command_reason::bad_request);
}

TEST_F(command_token_test, an_extra_refusal_does_not_spend_the_token) {
  const json req = signed_request(silence(), *alice_);
  const auto refused = verify(req, "silence", [](const json&) {
    command_result r;
    r.reason = command_reason::duplicate_silence;
    r.message = "s-1 is active";
    return std::optional<command_result>(r);
  });
  EXPECT_EQ(refused.reason, command_reason::duplicate_silence);
  EXPECT_TRUE(verify(req).ok());
}

TEST_F(command_token_test, every_command_kind_has_its_target) {
  EXPECT_EQ(command_target(json{{"action", "brake_on"}, {"reason", "x"}}), "brake");
  EXPECT_EQ(command_target(json{{"action", "plan_abort"}, {"recommendation_id", "rec-1"}, {"reason", "x"}}), "rec-1");
  for (const auto* action : {"plan_abort", "plan_pause", "plan_resume"}) {
    const json body{{"action", action}, {"recommendation_id", "rec-7"}, {"reason", "hold on"}};
    const auto r = verifier_->verify(signed_request(body, *alice_).dump(), action, clock_.wall());
    EXPECT_TRUE(r.ok()) << action << ": " << r.message;
  }
  const json brake{{"action", "brake_off"}, {"reason", "incident over"}};
  EXPECT_TRUE(verifier_->verify(signed_request(brake, *alice_).dump(), "brake_off", clock_.wall()).ok());
}

TEST_F(command_token_test, without_approvers_nothing_verifies) {
  command_verifier none(nullptr, {});
  EXPECT_EQ(none.verify(signed_request(silence(), *alice_).dump(), "silence", clock_.wall()).reason,
            command_reason::not_configured);
}

TEST_F(command_token_test, the_metric_counts_by_command_result_and_reason) {
  prometheus::Registry registry;
  command_metrics metrics(registry);
  metrics.count("silence", verify(signed_request(silence("s-3"), *alice_)));
  metrics.count("silence", verify(signed_request(silence(), *mallory_, "mallory")));
  double accepted = -1;
  double unknown = -1;
  for (const auto& mf : registry.Collect()) {
    for (const auto& m : mf.metric) {
      std::map<std::string, std::string> l;
      for (const auto& x : m.label)
        l[x.name] = x.value;
      if (l["command"] != "silence") continue;
      if (l["reason"] == "ok") accepted = m.counter.value;
      if (l["reason"] == "unknown_approver") unknown = m.counter.value;
    }
  }
  EXPECT_EQ(accepted, 1);
  EXPECT_EQ(unknown, 1);
}

}  // namespace
}  // namespace vigil::approvals
