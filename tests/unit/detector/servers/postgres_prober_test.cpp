// postgres checks against a REAL PostgreSQL 15 primary and streaming standby
// (tests/support/pg_pair.hpp) on free ports of 127.0.0.1. The writer check
// `SELECT NOT pg_is_in_recovery()` is ok on the primary, body_mismatch on the
// standby, and turns ok on the standby once it is promoted.

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>

#include "tests/support/pg_pair.hpp"
#include "tests/unit/detector/socket_probe_test_support.hpp"

namespace vigil::detector {
namespace {

using decision::outcome;
using testing::run_probe;
using testing::socket_check;

compiled_check pg_check(const std::string& dsn, const std::string& query, std::optional<std::string> expect,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  return socket_check(
      [&](common::check_config& c) {
        common::postgres_check_config p;
        p.dsn = dsn;
        p.query = query;
        p.expect = std::move(expect);
        c.postgres = p;
      },
      timeout);
}

const char* const writer_query = "SELECT NOT pg_is_in_recovery()";

class PostgresProber : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pg_ = new test_support::pg_pair(); }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(pg_->ok()) << pg_->error(); }
  static test_support::pg_pair* pg_;
};
test_support::pg_pair* PostgresProber::pg_ = nullptr;

TEST_F(PostgresProber, WriterCheckOkOnPrimaryWithPhases) {
  const auto r = run_probe(pg_check(pg_->dsn(false), writer_query, "t"));
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
  EXPECT_GT(r.phases.connect_ms, 0.0);
  EXPECT_GT(r.phases.first_byte_ms, 0.0);
  EXPECT_GE(r.phases.total_ms, r.phases.connect_ms + r.phases.first_byte_ms - 0.01);
}

TEST_F(PostgresProber, WriterCheckOnStandbyIsBodyMismatchNamingTheValue) {
  const auto r = run_probe(pg_check(pg_->dsn(true), writer_query, "t"));
  EXPECT_EQ(r.result, outcome::body_mismatch);
  EXPECT_NE(r.detail.find("returned \"f\", expected \"t\""), std::string::npos) << r.detail;
}

TEST_F(PostgresProber, QueryWithoutExpectOnlyNeedsToSucceed) {
  EXPECT_EQ(run_probe(pg_check(pg_->dsn(true), "SELECT 1", std::nullopt)).result, outcome::ok);
}

TEST_F(PostgresProber, SqlErrorIsBodyMismatchWithServerMessage) {
  const auto r = run_probe(pg_check(pg_->dsn(false), "SELECT * FROM no_such_table", "1"));
  EXPECT_EQ(r.result, outcome::body_mismatch);
  EXPECT_NE(r.detail.find("no_such_table"), std::string::npos) << r.detail;
}

TEST_F(PostgresProber, NoRowsAndNullAreMismatches) {
  EXPECT_NE(run_probe(pg_check(pg_->dsn(false), "SELECT 1 WHERE false", "1")).detail.find("no row"), std::string::npos);
  EXPECT_NE(run_probe(pg_check(pg_->dsn(false), "SELECT NULL", "1")).detail.find("NULL"), std::string::npos);
}

TEST_F(PostgresProber, UnknownDatabaseIsConnectError) {
  const auto r = run_probe(pg_check(pg_->dsn(false) + " dbname=no_such_db", "SELECT 1", std::nullopt));
  EXPECT_EQ(r.result, outcome::connect_error);
  EXPECT_NE(r.detail.find("no_such_db"), std::string::npos) << r.detail;
}

TEST_F(PostgresProber, ClosedPortIsConnectRefused) {
  const auto dsn = "host=127.0.0.1 port=" + std::to_string(test_support::free_port()) + " user=postgres";
  const auto r = run_probe(pg_check(dsn, "SELECT 1", std::nullopt));
  EXPECT_EQ(r.result, outcome::connect_refused) << r.detail;
}

TEST_F(PostgresProber, SlowQueryIsTimeoutAndTheLoopStaysFree) {
  // pg_sleep(5) against a 400 ms timeout: the probe ends at the deadline, and
  // a timer on the same io_context fires meanwhile (the loop is not blocked).
  boost::asio::io_context io;
  common::real_clock clock;
  check_prober prober(io, clock);
  const auto check = pg_check(pg_->dsn(false), "SELECT pg_sleep(5)", std::nullopt, std::chrono::milliseconds(400));
  std::optional<probe_result> out;
  int ticks = 0;
  boost::asio::steady_timer tick(io);
  std::function<void()> arm = [&] {
    tick.expires_after(std::chrono::milliseconds(20));
    tick.async_wait([&](const boost::system::error_code& ec) {
      if (ec || out) return;
      ++ticks;
      arm();
    });
  };
  arm();
  prober.probe(check, [&](probe_result r) {
    out = std::move(r);
    tick.cancel();
  });
  io.run();
  ASSERT_TRUE(out);
  EXPECT_EQ(out->result, outcome::timeout);
  EXPECT_NE(out->detail.find("running the query"), std::string::npos) << out->detail;
  EXPECT_LT(out->phases.total_ms, 3000.0);
  EXPECT_GE(ticks, 5) << "the 20 ms timer must keep firing while the query runs";
}

// Last in the file: it changes the standby for good.
TEST_F(PostgresProber, WriterCheckTurnsOkOnStandbyAfterPromotion) {
  const auto check = pg_check(pg_->dsn(true), writer_query, "t");
  ASSERT_EQ(run_probe(check).result, outcome::body_mismatch);
  ASSERT_TRUE(pg_->promote_standby());
  const auto r = run_probe(check);
  EXPECT_EQ(r.result, outcome::ok) << r.detail;
}

}  // namespace
}  // namespace vigil::detector
