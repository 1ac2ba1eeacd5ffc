// Replication lag against a REAL PostgreSQL 15 primary and streaming standby
// started here (initdb, pg_basebackup -R) as the `postgres` system user on
// free ports with sockets in a temp dir: replay paused on the standby while
// the primary writes makes the lag grow and vigil's samples track it within
// 1 s; resumed, it falls under 1 s. aurora_sql reads a stand-in
// aurora_global_db_status() with the real function's name and columns.
// The cloudwatch source: lag_cloudwatch_test.cpp, one folder up.

#include "detector/lag_source.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "tests/support/aws_test_support.hpp"
#include "tests/support/pg_pair.hpp"

namespace vigil::detector {
namespace {

using namespace std::chrono_literals;
using test_support::run;

using test_support::pg_pair;

pg_pair& pair() {
  static pg_pair p;
  return p;
}

double ms(const lag_sample& s) {
  return s.lag ? static_cast<double>(s.lag->count()) : -1;
}

TEST(lag_postgres, standby_lag_grows_while_replay_is_paused_and_recovers) {
  auto& pg = pair();
  ASSERT_TRUE(pg.ok()) << pg.error();
  common::real_clock clock;
  common::replication_lag_config cfg;
  cfg.source = common::lag_source::postgres_standby;
  cfg.dsn = pg.dsn(true);
  cfg.timeout = 2s;
  auto src = make_postgres_standby_lag_source(cfg, clock);

  pg.sql(false, "create table if not exists beat(at timestamptz default now())");
  pg.sql(false, "insert into beat default values");
  std::this_thread::sleep_for(500ms);
  auto s0 = src->sample();
  ASSERT_TRUE(s0.lag) << s0.error;
  EXPECT_LT(ms(s0), 1000);

  ASSERT_EQ(pg.sql(true, "select pg_wal_replay_pause()"), "");
  // The last transaction the standby replayed is the one committed before the pause.
  const auto replayed_commit = clock.wall();
  pg.sql(false, "insert into beat default values");
  std::this_thread::sleep_for(300ms);
  std::vector<std::pair<double, double>> measured_vs_real;
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(500ms);
    pg.sql(false, "insert into beat default values");  // keep WAL arriving: receive != replay
    const auto s = src->sample();
    ASSERT_TRUE(s.lag) << s.error;
    // Real lag: time since the newest transaction the standby has replayed.
    const auto replayed =
        pg.sql(true, "select (extract(epoch from (now() - pg_last_xact_replay_timestamp())) * 1000)::bigint");
    measured_vs_real.emplace_back(ms(s), std::stod(replayed));
  }
  for (std::size_t i = 1; i < measured_vs_real.size(); ++i) {
    EXPECT_GT(measured_vs_real[i].first, measured_vs_real[i - 1].first);  // grows
  }
  for (const auto& [m, real] : measured_vs_real)
    EXPECT_NEAR(m, real, 1000.0);
  const auto last = measured_vs_real.back().first;
  EXPECT_GE(last, 2500.0);
  const double since_pause_ms = std::chrono::duration<double, std::milli>(clock.wall() - replayed_commit).count();
  EXPECT_NEAR(last, since_pause_ms, 1000.0);

  pg.sql(true, "select pg_wal_replay_resume()");
  lag_sample after;
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(250ms);
    after = src->sample();
    if (after.lag && *after.lag < 1s) break;
  }
  ASSERT_TRUE(after.lag) << after.error;
  EXPECT_LT(ms(after), 1000);
}

TEST(lag_postgres, primary_is_not_a_standby_and_bad_dsn_is_an_error_value) {
  auto& pg = pair();
  ASSERT_TRUE(pg.ok()) << pg.error();
  common::real_clock clock;
  common::replication_lag_config cfg;
  cfg.dsn = pg.dsn(false);
  auto s = make_postgres_standby_lag_source(cfg, clock)->sample();
  EXPECT_FALSE(s.lag);
  EXPECT_NE(s.error.find("not a standby"), std::string::npos) << s.error;
  cfg.dsn = "host=127.0.0.1 port=" + std::to_string(test_support::free_port()) + " user=postgres";
  cfg.timeout = 1s;
  s = make_postgres_standby_lag_source(cfg, clock)->sample();
  EXPECT_FALSE(s.lag);
  EXPECT_NE(s.error.find("connect"), std::string::npos) << s.error;
}

TEST(lag_aurora_sql, reads_the_secondary_region_row_of_aurora_global_db_status) {
  auto& pg = pair();
  ASSERT_TRUE(pg.ok()) << pg.error();
  const auto created =
      pg.sql(false,
             "create or replace function aurora_global_db_status() returns table(aws_region text, highest_lsn_written "
             "bigint, durability_lag_in_msec bigint, rpo_lag_in_msec bigint, last_lag_calculation_time timestamptz, "
             "feedback_epoch integer, feedback_xmin integer, visibility_lag_in_msec bigint) language sql as "
             "\\$\\$ values ('us-east-1'::text, 100::bigint, null::bigint, null::bigint, now(), 0, 0, null::bigint), "
             "('us-west-2', 90, 380, 420, now(), 0, 0, 450), ('eu-west-1', 80, null, null, now(), 0, 0, 700) \\$\\$");
  ASSERT_EQ(created, "") << created;
  common::real_clock clock;
  common::replication_lag_config cfg;
  cfg.source = common::lag_source::aurora_sql;
  cfg.dsn = pg.dsn(false);
  cfg.region = "us-west-2";
  auto src = make_lag_source(cfg, clock, nullptr);
  ASSERT_NE(src, nullptr);
  auto s = src->sample();
  ASSERT_TRUE(s.lag) << s.error;
  EXPECT_EQ(s.lag->count(), 420);  // rpo_lag_in_msec
  cfg.region = "eu-west-1";
  s = make_aurora_sql_lag_source(cfg, clock)->sample();
  EXPECT_EQ(s.lag->count(), 700);  // visibility lag when the RPO lag is null
  cfg.region = "ap-south-1";
  s = make_aurora_sql_lag_source(cfg, clock)->sample();
  EXPECT_FALSE(s.lag);
  EXPECT_NE(s.error.find("no row"), std::string::npos);
}

}  // namespace
}  // namespace vigil::detector
