// coordination::page_claimer and coordination::unpaged_incidents: the leader's claims in the
// shared outbox (docs/ha.md, "Pages"), over the file coordinator with etcd's
// failure modes injected in front of it.
#include "coordination/page_claims.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace vigil::coordination {
namespace {

using coordination::write_result;

/// The file coordinator, with the answers etcd can give injected: `lose_answer`
/// applies the next write and answers `unavailable` (a txn that timed out
/// after it was applied); `refuse` answers without writing.
class flaky_coordinator final : public coordination::coordinator {
 public:
  explicit flaky_coordinator(const std::filesystem::path& dir) : inner_(dir / "shared", dir / "jti", "r0") {}

  bool leader = true;
  int lose_answer = 0;                 ///< next writes applied, answered unavailable
  std::optional<write_result> refuse;  ///< next writes answered this, not applied
  bool reads_fail = false;             ///< get() throws coordination_unavailable
  int writes = 0;

  void step(common::mono_time now) override { inner_.step(now); }
  [[nodiscard]] std::chrono::milliseconds step_interval() const override { return inner_.step_interval(); }
  [[nodiscard]] bool is_leader() const override { return leader; }
  [[nodiscard]] std::int64_t fencing_token() const override { return leader ? 7 : 0; }
  [[nodiscard]] coordination::coordination_health health() const override { return inner_.health(); }
  [[nodiscard]] coordination::coordination_status status() const override { return inner_.status(); }
  void resign() override {}
  [[nodiscard]] write_result put_guarded(std::string_view key, std::string_view value, bool only_if_absent) override {
    ++writes;
    if (!leader) return write_result::fenced;
    if (refuse) return *refuse;
    const auto r = inner_.put_guarded(key, value, only_if_absent);
    if (lose_answer > 0) {
      --lose_answer;
      return write_result::unavailable;
    }
    return r;
  }
  [[nodiscard]] write_result erase_guarded(std::string_view key) override { return inner_.erase_guarded(key); }
  [[nodiscard]] std::optional<std::string> get(std::string_view key) override {
    if (reads_fail) throw coordination::coordination_unavailable("injected");
    return inner_.get(key);
  }
  [[nodiscard]] std::map<std::string, std::string> list(std::string_view prefix) override {
    return inner_.list(prefix);
  }
  [[nodiscard]] approvals::jti_ledger& ledger() override { return inner_.ledger(); }
  coordination::file_coordinator& inner() { return inner_; }

 private:
  coordination::file_coordinator inner_;
};

paging::page make_page(const std::string& incident, paging::page_action action, std::uint64_t seq) {
  paging::page p;
  p.incident_id = incident;
  p.action = action;
  p.sequence = seq;
  p.kind = "regional_outage";
  p.summary = "us-east-1 regional outage";
  p.region = "us-east-1";
  p.deployment = "t";
  return p;
}

class page_claims_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil-claims-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    coord_ = std::make_unique<flaky_coordinator>(dir_);
    claimer_ = std::make_unique<page_claimer>(
        *coord_, "r0", [this](const paging::page& p) { submitted_.push_back(paging::idempotency_key(p)); });
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::unique_ptr<flaky_coordinator> coord_;
  std::unique_ptr<page_claimer> claimer_;
  std::vector<std::string> submitted_;
};

TEST_F(page_claims_test, AClaimedPageIsQueuedOnceAndRecordsWhoClaimedIt) {
  const auto p = make_page("t/us-east-1/1", paging::page_action::trigger, 1);
  EXPECT_EQ(claimer_->send(p), page_claimer::outcome::submitted);
  EXPECT_EQ(submitted_, std::vector<std::string>{"t/us-east-1/1/trigger/1"});
  const auto j = coord_->get_json("outbox/t/us-east-1/1/trigger/1");
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ((*j)["state"], "claimed");
  EXPECT_EQ((*j)["by"], "r0");
  EXPECT_EQ((*j)["token"], 7);
  EXPECT_EQ((*j)["page"]["incident_id"], "t/us-east-1/1");
}

TEST_F(page_claims_test, AnotherTermsClaimIsNotSentAgain) {
  const auto p = make_page("t/us-east-1/1", paging::page_action::trigger, 1);
  ASSERT_EQ(coord_->put_json_guarded("outbox/t/us-east-1/1/trigger/1", {{"state", "claimed"}, {"by", "r1"}}, true),
            write_result::ok);
  EXPECT_EQ(claimer_->send(p), page_claimer::outcome::already_claimed);
  EXPECT_TRUE(submitted_.empty());
  // Done by this replica in an earlier term: not sent again either.
  const auto q = make_page("t/us-east-1/1", paging::page_action::update, 2);
  ASSERT_EQ(coord_->put_json_guarded("outbox/t/us-east-1/1/update/2", {{"state", "done"}, {"by", "r0"}}, true),
            write_result::ok);
  EXPECT_EQ(claimer_->send(q), page_claimer::outcome::already_claimed);
  EXPECT_TRUE(submitted_.empty());
}

// The gap the 600 s soak found: a claim whose txn timed out after etcd applied
// it used to be held until a next term, and answered "exists" when tried again.
TEST_F(page_claims_test, AClaimWhoseAnswerWasLostIsSettledInTheSameTerm) {
  const auto p = make_page("t/us-east-1/1", paging::page_action::trigger, 1);
  coord_->lose_answer = 1;
  EXPECT_EQ(claimer_->send(p), page_claimer::outcome::pending);
  EXPECT_TRUE(submitted_.empty());
  EXPECT_EQ(claimer_->pending(), 1U);
  claimer_->retry_pending();  // exists, and it is this replica's unfinished claim
  EXPECT_EQ(submitted_, std::vector<std::string>{"t/us-east-1/1/trigger/1"});
  EXPECT_EQ(claimer_->pending(), 0U);
  EXPECT_EQ(claimer_->held(), 0U);
  claimer_->retry_pending();
  EXPECT_EQ(submitted_.size(), 1U);  // nothing left to retry
}

TEST_F(page_claims_test, AClaimNotAppliedIsRetriedUntilItIsAndKeepsItsOrder) {
  const auto a = make_page("t/us-east-1/1", paging::page_action::trigger, 1);
  const auto b = make_page("t/us-east-1/1", paging::page_action::update, 2);
  coord_->refuse = write_result::unavailable;
  EXPECT_EQ(claimer_->send(a), page_claimer::outcome::pending);
  EXPECT_EQ(claimer_->send(b), page_claimer::outcome::pending);
  const int before = coord_->writes;
  claimer_->retry_pending();  // still unavailable: one request, then it waits for the next round
  EXPECT_EQ(coord_->writes, before + 1);
  EXPECT_EQ(claimer_->pending(), 2U);
  coord_->refuse.reset();
  claimer_->retry_pending();
  EXPECT_EQ(submitted_, (std::vector<std::string>{"t/us-east-1/1/trigger/1", "t/us-east-1/1/update/2"}));
}

TEST_F(page_claims_test, AnUnreadableExistingClaimStaysPending) {
  const auto p = make_page("t/us-east-1/1", paging::page_action::trigger, 1);
  coord_->lose_answer = 1;
  ASSERT_EQ(claimer_->send(p), page_claimer::outcome::pending);
  coord_->reads_fail = true;
  claimer_->retry_pending();
  EXPECT_TRUE(submitted_.empty());
  EXPECT_EQ(claimer_->pending(), 1U);
  coord_->reads_fail = false;
  claimer_->retry_pending();
  EXPECT_EQ(submitted_.size(), 1U);
}

TEST_F(page_claims_test, FencedOrDeposedPagesAreHeldForTheNextTerm) {
  coord_->refuse = write_result::fenced;
  EXPECT_EQ(claimer_->send(make_page("a", paging::page_action::trigger, 1)), page_claimer::outcome::held);
  coord_->refuse = write_result::unavailable;
  EXPECT_EQ(claimer_->send(make_page("b", paging::page_action::trigger, 1)), page_claimer::outcome::pending);
  coord_->leader = false;
  const int before = coord_->writes;
  claimer_->retry_pending();  // deposed: no request, the pending page is held
  EXPECT_EQ(coord_->writes, before);
  EXPECT_EQ(claimer_->pending(), 0U);
  const auto held = claimer_->take_held();
  ASSERT_EQ(held.size(), 2U);
  EXPECT_EQ(held[0].incident_id, "a");
  EXPECT_EQ(held[1].incident_id, "b");
  EXPECT_EQ(claimer_->held(), 0U);
  EXPECT_TRUE(submitted_.empty());
}

TEST_F(page_claims_test, HeldPagesKeepTheNewest256) {
  for (std::uint64_t i = 0; i < page_claimer::max_held + 10; ++i)
    claimer_->hold(make_page("a", paging::page_action::update, i));
  const auto held = claimer_->take_held();
  ASSERT_EQ(held.size(), page_claimer::max_held);
  EXPECT_EQ(held.front().sequence, 10U);
  EXPECT_EQ(held.back().sequence, page_claimer::max_held + 9);
}

TEST(UnpagedIncidents, OpenIncidentsWithoutATriggerOrUpdateClaimed) {
  const auto claim = [](const std::string& id, const std::string& action) {
    return nlohmann::json{{"state", "done"}, {"page", {{"incident_id", id}, {"action", action}}}}.dump();
  };
  const std::map<std::string, std::string> claimed{
      {"outbox/a/trigger/1", claim("a", "trigger")},  // paged
      {"outbox/b/update/5", claim("b", "update")},    // an update reaches PagerDuty as a trigger
      {"outbox/c/resolve/9", claim("c", "resolve")},  // only a resolve: not a page that opened it
      {"outbox/junk", "not json"},
  };
  const std::vector<paging::page> just{make_page("d", paging::page_action::trigger, 1),
                                       make_page("e", paging::page_action::resolve, 1)};
  EXPECT_EQ(unpaged_incidents({"a", "b", "c", "d", "e", "f"}, claimed, just), (std::set<std::string>{"c", "e", "f"}));
  EXPECT_TRUE(unpaged_incidents({}, claimed, just).empty());
}

}  // namespace
}  // namespace vigil::coordination
