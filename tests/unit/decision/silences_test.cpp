// Silence scopes (region, service, check), silenced pages and weekly
// maintenance windows computed from injected time.
#include "decision/silences.hpp"

#include <gtest/gtest.h>

#include "decision/gates.hpp"
#include "decision/time_format.hpp"

namespace vigil::decision {
namespace {

time_point at(const char* rfc3339) {
  return *parse_time(rfc3339);
}

const time_point now = at("2026-12-06T10:00:00Z");  // a Sunday

silence_spec silence(std::string scope, duration left = duration{3'600'000}) {
  return {"s-" + scope, std::move(scope), "carol", "planned work", now + left};
}

const std::vector<down_check> api_down{{"api@us-east-1", "api"}};
const std::vector<down_check> api_and_db_down{{"api@us-east-1", "api"}, {"db@us-east-1", "db"}};

}  // namespace

TEST(Silences, RegionScopeCoversTheRegionWhateverIsDown) {
  const std::vector<silence_spec> s{silence("region:us-east-1")};
  EXPECT_NE(covering_silence(s, now, "us-east-1", api_and_db_down), nullptr);
  EXPECT_NE(covering_silence(s, now, "us-east-1", {}), nullptr);
  EXPECT_EQ(covering_silence(s, now, "us-west-2", api_down), nullptr);
  const std::vector<silence_spec> bare{silence("us-east-1")};  // the simulator's spelling
  EXPECT_NE(covering_silence(bare, now, "us-east-1", {}), nullptr);
  const std::vector<silence_spec> all{silence("all")};
  EXPECT_NE(covering_silence(all, now, "us-west-2", {}), nullptr);
}

TEST(Silences, ServiceAndCheckScopesCoverOnlyWhenEverythingDownIsCovered) {
  const std::vector<silence_spec> svc{silence("service:api")};
  EXPECT_NE(covering_silence(svc, now, "us-east-1", api_down), nullptr);
  EXPECT_EQ(covering_silence(svc, now, "us-east-1", api_and_db_down), nullptr) << "db is not planned work";
  EXPECT_EQ(covering_silence(svc, now, "us-east-1", {}), nullptr) << "nothing down: nothing to cover";
  const std::vector<silence_spec> both{silence("service:api"), silence("check:db@us-east-1")};
  EXPECT_NE(covering_silence(both, now, "us-east-1", api_and_db_down), nullptr);
  const std::vector<silence_spec> other_check{silence("check:api@us-west-2")};
  EXPECT_EQ(covering_silence(other_check, now, "us-east-1", api_down), nullptr);
}

TEST(Silences, ExpiredSilencesCoverNothing) {
  const std::vector<silence_spec> s{silence("region:us-east-1", duration{0})};
  EXPECT_EQ(covering_silence(s, now, "us-east-1", api_down), nullptr);
}

TEST(Silences, ScopesAreValidated) {
  for (const char* ok : {"", "all", "region:us-east-1", "service:api", "check:api@us-east-1", "us-east-1"}) {
    EXPECT_TRUE(valid_silence_scope(ok)) << ok;
  }
  for (const char* bad : {"region:", "service:a b", "check:x\n"}) {
    EXPECT_FALSE(valid_silence_scope(bad)) << bad;
  }
}

TEST(Silences, PagesAreHeldOrDowngraded) {
  page p;
  p.region = "us-east-1";
  p.sev = severity::critical;
  p.summary = "us-east-1 regional outage";
  const std::vector<silence_spec> s{silence("service:api")};
  EXPECT_FALSE(apply_silences(p, s, now, api_down, silenced_pages::hold).has_value());
  const auto down = apply_silences(p, s, now, api_down, silenced_pages::downgrade);
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->sev, severity::info);
  EXPECT_NE(down->summary.find("silenced by carol"), std::string::npos);
  EXPECT_EQ(down->details["silenced"]["id"], "s-service:api");
  // Something else down as well: the page goes out unchanged.
  const auto real = apply_silences(p, s, now, api_and_db_down, silenced_pages::hold);
  ASSERT_TRUE(real.has_value());
  EXPECT_EQ(real->sev, severity::critical);
  // Vantage pages name no region and are never silenced.
  page v;
  v.vantage = "a";
  v.sev = severity::warning;
  const std::vector<silence_spec> all{silence("all")};
  EXPECT_TRUE(apply_silences(v, all, now, {}, silenced_pages::hold).has_value());
}

TEST(Silences, TheGateBlocksAFailoverForPlannedWorkOnly) {
  const params p;
  gate_inputs in;
  in.p = &p;
  in.now = now;
  in.primary = "us-east-1";
  in.dr = "us-west-2";
  in.primary_declared = classification::regional_outage;
  in.dr_declared = classification::healthy;
  in.leader = true;
  const std::vector<silence_spec> s{silence("service:api")};
  in.silences = s;
  const auto not_silenced = [&] {
    for (const auto& g : evaluate_gates(in).gates) {
      if (g.name == gate_name::not_silenced) return g;
    }
    throw std::runtime_error("no not_silenced gate");
  };
  in.primary_down = api_down;
  EXPECT_FALSE(not_silenced().ok);
  EXPECT_NE(not_silenced().detail.find("service:api"), std::string::npos);
  in.primary_down = api_and_db_down;
  EXPECT_TRUE(not_silenced().ok);
}

TEST(MaintenanceWindows, ParsedWithClearErrors) {
  std::string err;
  const auto w = parse_maintenance_window("db", "service:db", "Sun 02:00-04:00", "UTC", err);
  ASSERT_TRUE(w) << err;
  EXPECT_EQ(w->days, 1U);
  EXPECT_EQ(w->start_min, 120);
  EXPECT_EQ(w->length_min, 120);
  for (const char* bad : {"Sunday 02:00-04:00", "Sun 2:00-04:00", "Sun 02:00-02:00", "Sun 25:00-04:00", "Sun"}) {
    err.clear();
    EXPECT_FALSE(parse_maintenance_window("x", "all", bad, "UTC", err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
  EXPECT_FALSE(parse_maintenance_window("x", "all", "Sun 02:00-04:00", "Europe/Paris", err));
  EXPECT_FALSE(parse_maintenance_window("x", "planet:mars", "Sun 02:00-04:00", "UTC", err));
}

TEST(MaintenanceWindows, ActiveFromInjectedTime) {
  std::string err;
  const auto w = *parse_maintenance_window("db", "service:db", "Sun 02:00-04:00", "UTC", err);
  EXPECT_FALSE(window_active_until(w, at("2026-12-06T01:59:59Z")));
  EXPECT_EQ(window_active_until(w, at("2026-12-06T02:00:00Z")), at("2026-12-06T04:00:00Z"));
  EXPECT_EQ(window_active_until(w, at("2026-12-06T03:59:59Z")), at("2026-12-06T04:00:00Z"));
  EXPECT_FALSE(window_active_until(w, at("2026-12-06T04:00:00Z")));
  EXPECT_FALSE(window_active_until(w, at("2026-12-07T03:00:00Z"))) << "Monday";
  // Across midnight, and in another offset: Sat 23:00-01:00 at UTC+02:00 is Sat 21:00Z - 23:00Z.
  const auto late = *parse_maintenance_window("late", "all", "Sat 23:00-01:00", "UTC+02:00", err);
  EXPECT_EQ(window_active_until(late, at("2026-12-05T22:30:00Z")), at("2026-12-05T23:00:00Z"));
  EXPECT_FALSE(window_active_until(late, at("2026-12-05T23:00:00Z")));
  const auto overnight = *parse_maintenance_window("n", "all", "Sat 23:00-01:00", "UTC", err);
  EXPECT_EQ(window_active_until(overnight, at("2026-12-06T00:30:00Z")), at("2026-12-06T01:00:00Z"));
  const std::vector<maintenance_window> ws{w, overnight};
  const auto s = window_silences(ws, at("2026-12-06T00:30:00Z"));
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].id, "window:n");
  EXPECT_EQ(s[0].by, "maintenance_window");
}

}  // namespace vigil::decision
