// coordination::takeover: the replica protocol (docs/ha.md) on the single
// node's file coordinator and, where replicas share state, on an in-memory
// coordinator whose leadership and health the test sets.
#include "coordination/takeover.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace vigil::coordination {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

/// Shared state in a map; a write goes through only while `leader`.
class memory_coordinator final : public coordinator {
 public:
  bool leader = false;
  coordination_health state = coordination_health::healthy;
  std::string leader_id;
  std::map<std::string, std::string, std::less<>> kv;
  std::vector<std::string> advertised;

  void step(common::mono_time) override {}
  [[nodiscard]] std::chrono::milliseconds step_interval() const override { return 100ms; }
  [[nodiscard]] bool is_leader() const override { return leader; }
  [[nodiscard]] std::int64_t fencing_token() const override { return leader ? 3 : 0; }
  [[nodiscard]] coordination_health health() const override { return state; }
  [[nodiscard]] coordination_status status() const override {
    coordination_status s;
    s.backend = "memory";
    s.leader = leader;
    s.health = state;
    s.leader_id = leader_id;
    s.detail = state == coordination_health::lost ? "no quorum" : "ok";
    return s;
  }
  void resign() override { leader = false; }
  [[nodiscard]] write_result put_guarded(std::string_view key, std::string_view value, bool only_if_absent) override {
    if (!leader) return write_result::fenced;
    if (only_if_absent && kv.contains(key)) return write_result::exists;
    kv.insert_or_assign(std::string(key), std::string(value));
    return write_result::ok;
  }
  [[nodiscard]] write_result erase_guarded(std::string_view key) override {
    if (!leader) return write_result::fenced;
    kv.erase(std::string(key));
    return write_result::ok;
  }
  [[nodiscard]] std::optional<std::string> get(std::string_view key) override {
    const auto it = kv.find(key);
    if (it == kv.end()) return std::nullopt;
    return it->second;
  }
  [[nodiscard]] std::map<std::string, std::string> list(std::string_view prefix) override {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : kv)
      if (k.starts_with(prefix)) out.emplace(k, v);
    return out;
  }
  [[nodiscard]] approvals::jti_ledger& ledger() override { throw std::logic_error("no ledger in this test"); }
  [[nodiscard]] bool advertise(std::string_view url) override {
    advertised.emplace_back(url);
    return true;
  }
};

paging::page make_page(const std::string& incident, paging::page_action action, std::uint64_t seq,
                       const std::string& region = "us-east-1") {
  paging::page p;
  p.incident_id = incident;
  p.action = action;
  p.sequence = seq;
  p.kind = "regional_outage";
  p.summary = region + " regional outage";
  p.region = region;
  p.deployment = "t";
  p.timestamp = common::wall_time{std::chrono::milliseconds(seq)};
  return p;
}

json claim(const std::string& state, const paging::page& p) {
  return {{"state", state}, {"by", "r0"}, {"page", paging::to_json(p)}};
}

/// What the protocol did through its seams.
struct recorder {
  std::vector<paging::page> submitted;
  std::vector<json> adopted;
  std::set<std::string> open;
  std::vector<std::string> unpaged;
  int gained = 0;
  int wakes = 0;

  takeover_seams seams() {
    takeover_seams s;
    s.submit = [this](const paging::page& p) { submitted.push_back(p); };
    s.wake = [this] { ++wakes; };
    s.links = [] { return json::array({{{"href", "http://127.0.0.1:1/"}, {"text", "status"}}}); };
    s.leadership_gained = [this] { ++gained; };
    return s;
  }
  void attach(takeover& t) {
    t.attach_engine(
        [this](const json& state) {
          adopted.push_back(state);
          return true;
        },
        [this] { return open; },
        [this](const std::string& id) {
          unpaged.push_back(id);
          return true;
        });
  }
};

takeover_options shared_options() {
  takeover_options o;
  o.replica_id = "r1";
  o.shared = true;
  o.deployment = "t";
  o.lost_grace = 5000ms;
  return o;
}

std::vector<std::string> ids(const std::vector<paging::page>& pages) {
  std::vector<std::string> out;
  for (const auto& p : pages)
    out.push_back(p.incident_id + "/" + std::string(decision::to_string(p.action)));
  return out;
}

class TakeoverShared : public ::testing::Test {
 protected:
  memory_coordinator coord_;
  common::manual_clock clock_;
  recorder rec_;
};

TEST(TakeoverFile, SingleNodeLeadsAndSharesNothing) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("vigil-takeover-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::remove_all(dir);
  file_coordinator coord(dir / "shared", dir / "approvals.jti");
  common::manual_clock clock;
  recorder rec;
  takeover_options o;
  o.replica_id = "local";
  takeover t(coord, clock, o, rec.seams());
  rec.attach(t);
  ASSERT_EQ(coord.put_json_guarded(coordination_keys::decision_state, {{"incidents", json::array()}}),
            write_result::ok);

  const auto n = t.take_over();
  EXPECT_EQ(rec.gained, 1);          // plans resume
  EXPECT_TRUE(rec.adopted.empty());  // the core restored itself at start
  EXPECT_EQ(n.sent + n.dropped + n.requeued + n.repaged, 0U);
  EXPECT_TRUE(t.may_act("failover-1", "h", 0, "promote", 1));
  EXPECT_FALSE(coord.get(coordination_keys::plan_step("failover-1", 0)));  // no step claim on one node
  t.page(make_page("inc-1", paging::page_action::trigger, 1));
  EXPECT_EQ(ids(rec.submitted), std::vector<std::string>{"inc-1/trigger"});
  EXPECT_FALSE(coord.get(coordination_keys::outbox(paging::idempotency_key(rec.submitted[0]))));
  t.hold(make_page("inc-2", paging::page_action::trigger, 2));  // no follower on one node: dropped
  EXPECT_EQ(t.take_over().sent, 0U);
  EXPECT_FALSE(t.forward_to_leader(common::http_request{}));
  EXPECT_FALSE(t.follow_step());  // the leader reads no state to follow

  t.mirror_journal("abcd", 3, {{"type", "plan_begin"}});
  EXPECT_EQ(coord.list("journal/").begin()->first, "journal/abcd/000003");
  EXPECT_THROW(t.mirror_journal("abcd", 3, {{"type", "plan_begin"}}), std::runtime_error);  // never overwritten
  ASSERT_EQ(t.load_journal().size(), 1U);
  EXPECT_EQ(t.load_journal()[0]["type"], "plan_begin");
  std::filesystem::remove_all(dir);
}

TEST_F(TakeoverShared, AdoptsStateWithWhatClaimsShowAfterIt) {
  // The old leader stored A (us-east-1) and B (eu-west-1) open, then claimed
  // B's resolve and a trigger of C (ap-south-1), and crashed.
  const auto a = make_page("A", paging::page_action::trigger, 10);
  const auto b = make_page("B", paging::page_action::resolve, 20, "eu-west-1");
  const auto c = make_page("C", paging::page_action::trigger, 30, "ap-south-1");
  const auto c_older = make_page("C-old", paging::page_action::trigger, 5, "ap-south-1");
  const auto d = make_page("D", paging::page_action::trigger, 40);  // us-east-1 has A open
  coord_.kv[std::string(coordination_keys::decision_state)] =
      json{{"incidents",
            {{{"incident_id", "A"}, {"kind", "regional_outage"}, {"region", "us-east-1"}, {"vantage", ""}},
             {{"incident_id", "B"}, {"kind", "regional_outage"}, {"region", "eu-west-1"}, {"vantage", ""}}}}}
          .dump();
  for (const auto& p : {a, b, c, c_older, d})
    coord_.kv[coordination_keys::outbox(paging::idempotency_key(p))] = claim("done", p).dump();
  takeover t(coord_, clock_, shared_options(), rec_.seams());
  rec_.attach(t);

  rec_.open = {"A", "C"};
  coord_.leader = true;
  const auto n = t.take_over();
  ASSERT_EQ(rec_.adopted.size(), 1U);
  const auto& st = rec_.adopted[0];
  std::vector<std::string> open;
  for (const auto& i : st["incidents"])
    open.push_back(i["incident_id"]);
  EXPECT_EQ(open, (std::vector<std::string>{"A", "C"}));  // B resolved, C continued (newest), D under A
  EXPECT_EQ(st["resolved"], json::array({"B"}));
  EXPECT_EQ(st["incidents"][1]["region"], "ap-south-1");
  EXPECT_EQ(st["incidents"][1]["started_ms"], 30);
  EXPECT_EQ(n.repaged, 0U);  // A and C have pages in the shared outbox
  EXPECT_EQ(n.requeued, 0U);
  EXPECT_EQ(rec_.gained, 1);
}

TEST_F(TakeoverShared, RepagesAnAdoptedIncidentNobodyPaged) {
  // The old leader's claim of E's trigger failed, it stored E open, then died.
  coord_.kv[std::string(coordination_keys::decision_state)] =
      json{{"incidents", {{{"incident_id", "E"}, {"kind", "regional_outage"}, {"region", "us-east-1"}}}}}.dump();
  const auto f = make_page("F", paging::page_action::trigger, 7, "eu-west-1");
  coord_.kv[coordination_keys::outbox(paging::idempotency_key(f))] = claim("claimed", f).dump();  // never finished
  takeover t(coord_, clock_, shared_options(), rec_.seams());
  rec_.attach(t);
  rec_.open = {"E", "F"};
  coord_.leader = true;
  const auto n = t.take_over();
  EXPECT_EQ(rec_.unpaged, std::vector<std::string>{"E"});
  EXPECT_EQ(n.repaged, 1U);
  EXPECT_EQ(n.requeued, 1U);  // F's claim left unfinished: queued again here
  EXPECT_EQ(ids(rec_.submitted), std::vector<std::string>{"F/trigger"});
  EXPECT_EQ(rec_.wakes, 1);
}

TEST_F(TakeoverShared, HeldPagesGoOutOnlyIfTheyFitTheAdoptedIncidents) {
  takeover t(coord_, clock_, shared_options(), rec_.seams());
  rec_.attach(t);
  coord_.kv[std::string(coordination_keys::decision_state)] =
      json{{"incidents", {{{"incident_id", "A"}, {"kind", "regional_outage"}, {"region", "us-east-1"}}}}}.dump();
  // Following: pages are held, nothing is queued or claimed.
  t.page(make_page("A", paging::page_action::update, 11));
  t.hold(make_page("mine", paging::page_action::trigger, 12));  // this replica's own id for A's outage
  t.page(make_page("gone", paging::page_action::resolve, 13));  // not open: its resolve fits
  EXPECT_TRUE(rec_.submitted.empty());
  EXPECT_TRUE(coord_.list("outbox/").empty());

  rec_.open = {"A"};
  coord_.leader = true;
  const auto n = t.take_over();
  EXPECT_EQ(n.sent, 2U);
  EXPECT_EQ(n.dropped, 1U);
  EXPECT_EQ(ids(rec_.submitted), (std::vector<std::string>{"A/update", "gone/resolve"}));
  EXPECT_EQ(coord_.list("outbox/").size(), 2U);  // claimed under this term
  EXPECT_EQ(n.repaged, 0U);                      // A's update was just claimed
}

TEST_F(TakeoverShared, GuardsRefuseWhileNotLeader) {
  takeover t(coord_, clock_, shared_options(), rec_.seams());
  rec_.attach(t);
  const auto g = t.delivery_guard();
  const auto p = make_page("A", paging::page_action::trigger, 1);
  auto lost = p;
  lost.kind = "coordination_lost";

  EXPECT_EQ(t.take_over().sent, 0U);
  EXPECT_EQ(rec_.gained, 0);  // not leading: nothing resumes
  EXPECT_FALSE(t.may_act("failover-1", "h", 0, "promote", 1));
  EXPECT_FALSE(g.may_deliver(p));
  EXPECT_TRUE(g.may_deliver(lost));  // every replica may warn that nobody can act
  EXPECT_THROW(t.mirror_journal("abcd", 0, {{"type", "plan_begin"}}), std::runtime_error);
  EXPECT_TRUE(coord_.kv.empty());

  coord_.leader = true;
  EXPECT_TRUE(t.may_act("failover-1", "h", 0, "promote", 1));
  const auto step = coord_.get_json(coordination_keys::plan_step("failover-1", 0));
  ASSERT_TRUE(step);
  EXPECT_EQ((*step)["replica"], "r1");
  EXPECT_EQ((*step)["attempt"], 1);
  EXPECT_TRUE(g.may_deliver(p));
  EXPECT_FALSE(g.delivered_elsewhere(p, "pagerduty"));
  g.done(p, "pagerduty", "delivered");
  EXPECT_TRUE(g.delivered_elsewhere(p, "pagerduty"));
  EXPECT_FALSE(g.delivered_elsewhere(p, "slack"));
  coord_.leader = false;  // deposed between the check and the next step
  EXPECT_FALSE(t.may_act("failover-1", "h", 1, "switch", 1));
  EXPECT_FALSE(coord_.get(coordination_keys::plan_step("failover-1", 1)));
}

TEST_F(TakeoverShared, FollowerForwardsOrExplainsWhyNot) {
  takeover t(coord_, clock_, shared_options(), rec_.seams());
  common::http_request r;
  r.method = "POST";
  r.path = "/v1/approvals";
  EXPECT_EQ(t.forward_to_leader(r)->body.find("no_leader") != std::string::npos, true);
  coord_.leader_id = "r0";
  EXPECT_NE(t.forward_to_leader(r)->body.find("leader_unknown"), std::string::npos);  // r0 advertised nothing
  coord_.state = coordination_health::lost;
  EXPECT_NE(t.forward_to_leader(r)->body.find("coordination_lost"), std::string::npos);
  r.headers["x-vigil-forwarded-by"] = "r2";
  EXPECT_EQ(t.forward_to_leader(r)->status, 503);
  EXPECT_NE(t.forward_to_leader(r)->body.find("not_leader"), std::string::npos);  // no forwarding loop
  coord_.leader = true;
  EXPECT_FALSE(t.forward_to_leader(r));
}

TEST_F(TakeoverShared, FollowerReadsEachNewLeaderState) {
  takeover t(coord_, clock_, shared_options(), rec_.seams());
  EXPECT_FALSE(t.follow_step());  // no state yet
  coord_.kv[std::string(coordination_keys::decision_state)] = R"({"incidents":[],"n":1})";
  const auto first = t.follow_step();
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["n"], 1);
  EXPECT_FALSE(t.follow_step());  // unchanged
  coord_.kv[std::string(coordination_keys::decision_state)] = R"({"incidents":[],"n":2})";
  EXPECT_EQ((*t.follow_step())["n"], 2);
  coord_.leader = true;
  EXPECT_FALSE(t.follow_step());  // the leader writes it
}

TEST_F(TakeoverShared, LostCoordinationPagesAfterTheGraceTime) {
  takeover t(coord_, clock_, shared_options(), rec_.seams());
  t.set_advertise_url("http://127.0.0.1:1");
  coord_.state = coordination_health::lost;
  t.check_health();
  clock_.advance(4999ms);
  t.check_health();
  EXPECT_TRUE(rec_.submitted.empty());  // one failed request does not page
  EXPECT_TRUE(coord_.advertised.empty());
  clock_.advance(1ms);
  t.check_health();
  ASSERT_EQ(rec_.submitted.size(), 1U);
  const auto p = rec_.submitted[0];
  EXPECT_EQ(p.incident_id, "t/coordination-lost");
  EXPECT_EQ(p.kind, "coordination_lost");
  EXPECT_EQ(p.action, paging::page_action::trigger);
  EXPECT_NE(p.summary.find("no quorum"), std::string::npos);
  EXPECT_EQ(p.links.size(), 1U);
  EXPECT_TRUE(t.lost_paged());
  clock_.advance(60s);
  t.check_health();
  EXPECT_EQ(rec_.submitted.size(), 1U);  // once per outage

  coord_.state = coordination_health::degraded;
  t.check_health();
  ASSERT_EQ(rec_.submitted.size(), 2U);
  EXPECT_EQ(rec_.submitted[1].action, paging::page_action::resolve);
  EXPECT_EQ(rec_.submitted[1].incident_id, p.incident_id);
  EXPECT_FALSE(t.lost_paged());
  EXPECT_EQ(coord_.advertised, std::vector<std::string>{"http://127.0.0.1:1"});
  t.check_health();
  EXPECT_EQ(coord_.advertised.size(), 1U);  // advertised once
  EXPECT_EQ(rec_.submitted.size(), 2U);

  // A short loss, healed within the grace time, pages nothing.
  coord_.state = coordination_health::lost;
  t.check_health();
  clock_.advance(4s);
  coord_.state = coordination_health::healthy;
  t.check_health();
  coord_.state = coordination_health::lost;
  clock_.advance(4s);
  t.check_health();
  EXPECT_EQ(rec_.submitted.size(), 2U);
}

}  // namespace
}  // namespace vigil::coordination
