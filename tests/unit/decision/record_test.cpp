#include "decision/record.hpp"

#include <gtest/gtest.h>

#include "harness.hpp"

namespace vigil::decision::testing {

TEST(Record, ParsesEveryLineKindAndRoundTrips) {
  const auto topo = make_test_topology();
  auto r = parse_record_line(
      R"({"t":"2026-11-22T03:00:00.250Z","vantage":"euw1","check":"api-web@us-east-1","outcome":"timeout","latency_ms":2000,"value":null})",
      topo);
  ASSERT_TRUE(r.value) << r.error;
  const auto& o = std::get<observation>(*r.value);
  EXPECT_EQ(o.vantage, 2);
  EXPECT_EQ(o.result, outcome::timeout);
  EXPECT_EQ(to_record_line(o, topo).find("\"check\":\"api-web@us-east-1\"") != std::string::npos, true);
  const auto back = parse_record_line(to_record_line(o, topo), topo);
  ASSERT_TRUE(back.value);
  EXPECT_EQ(record_time(*back.value), o.at);

  r = parse_record_line(R"({"type":"report","t":1795000000000,"vantage":"use1"})", topo);
  ASSERT_TRUE(r.value);
  EXPECT_EQ(std::get<report_record>(*r.value).at, t0);
  r = parse_record_line(R"({"type":"lag","t":1795000000000,"lag_ms":null})", topo);
  ASSERT_TRUE(r.value);
  EXPECT_FALSE(std::get<lag_sample>(*r.value).lag);
  EXPECT_EQ(to_record_line(lag_sample{t0, duration{420}, std::nullopt}),
            R"({"lag_ms":420,"t":"2026-11-18T11:06:40.000Z","type":"lag"})");
}

TEST(Record, ObservationLineIsTheEnginesRecordFormat) {
  const auto topo = make_test_topology();
  observation o;
  o.vantage = 2;
  o.check = 0;
  o.at = t0 + duration{250};
  o.result = outcome::ok;
  o.warning = outcome::degraded;
  o.latency_ms = 41.53F;
  o.value = 3.25;
  const auto line = to_record_line(o, topo);
  EXPECT_EQ(
      line,
      R"({"check":")" + topo.checks.at(0).id +
          R"(","latency_ms":41.53,"outcome":"ok","t":"2026-11-18T11:06:40.250Z","value":3.25,"vantage":"euw1","warning":"degraded"})");
  const auto back = parse_record_line(line, topo);
  ASSERT_TRUE(back.value) << back.error;
  const auto& b = std::get<observation>(*back.value);
  EXPECT_EQ(b.latency_ms, o.latency_ms);
  EXPECT_EQ(b.value, o.value);
  EXPECT_EQ(b.warning, o.warning);
  EXPECT_EQ(to_record_line(report_record{2, t0}, topo),
            R"({"t":"2026-11-18T11:06:40.000Z","type":"report","vantage":"euw1"})");
}

TEST(Record, AReprobeKeepsItsFastFlag) {
  const auto topo = make_test_topology();
  const std::string line =
      R"({"t":"2026-11-22T03:00:00.250Z","vantage":"euw1","check":"api-web@us-east-1","outcome":"timeout","fast":true})";
  const auto r = parse_record_line(line, topo);
  ASSERT_TRUE(r.value) << r.error;
  const auto& o = std::get<observation>(*r.value);
  EXPECT_TRUE(o.fast);
  EXPECT_NE(to_record_line(o, topo).find("\"fast\":true"), std::string::npos);
  observation grid = o;
  grid.fast = false;
  EXPECT_EQ(to_record_line(grid, topo).find("fast"), std::string::npos);  // absent unless set
  EXPECT_NE(
      parse_record_line(R"({"t":1,"vantage":"euw1","check":"api-web@us-east-1","outcome":"ok","fast":"yes"})", topo)
          .error.find("\"fast\" must be true or false"),
      std::string::npos);
}

TEST(Record, RefusesBadLinesWithAReason) {
  const auto topo = make_test_topology();
  EXPECT_EQ(parse_record_line("not json", topo).error, "not a JSON object");
  EXPECT_NE(parse_record_line(R"({"vantage":"euw1"})", topo).error.find("\"t\""), std::string::npos);
  EXPECT_NE(parse_record_line(R"({"t":1,"vantage":"mars","check":"x","outcome":"ok"})", topo).error.find("mars"),
            std::string::npos);
  EXPECT_NE(parse_record_line(R"({"t":1,"vantage":"euw1","check":"api-web@us-east-1","outcome":"meh"})", topo)
                .error.find("meh"),
            std::string::npos);
  // Found by the batch_record fuzzer: an integer time the RFC 3339 writer
  // cannot express was accepted, and its written line did not read back.
  EXPECT_NE(
      parse_record_line(R"({"type":"report","t":-620000000000000,"vantage":"use1"})", topo).error.find("1970 to 9999"),
      std::string::npos);
  EXPECT_NE(
      parse_record_line(R"({"type":"report","t":18446744073709551615,"vantage":"use1"})", topo).error.find("\"t\""),
      std::string::npos);
  EXPECT_TRUE(parse_record_line(R"({"type":"report","t":253402300799999,"vantage":"use1"})", topo).value);
  EXPECT_NE(parse_record_line(R"({"type":"lag","t":1,"lag_ms":1e300})", topo).error.find("lag_ms"), std::string::npos);
  EXPECT_NE(parse_record_line(R"({"type":"lag","t":1,"lag_ms":-5})", topo).error.find("lag_ms"), std::string::npos);
  const auto blank = parse_record_line("   ", topo);
  EXPECT_FALSE(blank.value);
  EXPECT_TRUE(blank.error.empty());
}

}  // namespace vigil::decision::testing
