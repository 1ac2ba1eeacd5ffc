#include "app/objectives_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "decision/time_format.hpp"

namespace vigil::app {
namespace {

namespace fs = std::filesystem;

class timeline_dir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vigil-timelines-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  [[nodiscard]] std::string path() const { return timelines_path(dir_.string()); }
  fs::path dir_;
};

decision::recorded_timeline drill(int n) {
  decision::recorded_timeline t;
  t.id = "drill-failover-" + std::to_string(n);
  t.kind = "drill";
  t.action = "failover";
  t.result = "done";
  t.plan_started = decision::parse_time("2026-12-01T00:00:00Z");
  t.plan_finished = *t.plan_started + std::chrono::seconds(n);
  t.steps.push_back({"announce", "dry_run", 0.25, std::nullopt, std::nullopt});
  return t;
}

TEST_F(timeline_dir, appends_0600_and_reads_other_writers) {
  timeline_store store(path());
  EXPECT_TRUE(store.entries().empty());
  EXPECT_EQ(store.append(drill(1)), "");
  struct stat st {};
  ASSERT_EQ(::stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  // `vigil drill` appends from another process: seen at the next read.
  EXPECT_EQ(append_timeline(path(), drill(2)), "");
  ASSERT_EQ(store.entries().size(), 2U);
  EXPECT_EQ(store.entries()[1].id, "drill-failover-2");
  EXPECT_DOUBLE_EQ(store.entries()[1].steps[0].duration_s, 0.25);
  // A fresh store (a restart) reads the same history.
  timeline_store again(path());
  EXPECT_EQ(again.entries().size(), 2U);
}

TEST_F(timeline_dir, skips_lines_that_do_not_parse) {
  {
    std::ofstream out(path());
    out << decision::to_json(drill(1)).dump() << "\nnot json\n{\"id\": 3}\n"
        << decision::to_json(drill(4)).dump() << "\n";
  }
  timeline_store store(path());
  ASSERT_EQ(store.entries().size(), 2U);
  EXPECT_EQ(store.skipped(), 2U);
  EXPECT_EQ(store.entries()[1].id, "drill-failover-4");
}

TEST_F(timeline_dir, keeps_the_newest_and_compacts_the_file) {
  timeline_store store(path());
  const auto n = static_cast<int>(2 * timeline_store::keep + 1);
  for (int i = 1; i <= n; ++i)
    ASSERT_EQ(store.append(drill(i)), "");
  ASSERT_EQ(store.entries().size(), timeline_store::keep);
  EXPECT_EQ(store.entries().back().id, "drill-failover-" + std::to_string(n));
  EXPECT_EQ(store.entries().front().id,
            "drill-failover-" + std::to_string(n - static_cast<int>(timeline_store::keep) + 1));
  std::ifstream in(path());
  std::size_t lines = 0;
  for (std::string l; std::getline(in, l);)
    ++lines;
  EXPECT_EQ(lines, timeline_store::keep);  // compacted when it passed twice `keep`
  struct stat st {};
  ASSERT_EQ(::stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
}

TEST_F(timeline_dir, merge_adds_only_unknown_records) {
  timeline_store store(path());
  ASSERT_EQ(store.append(drill(1)), "");
  EXPECT_EQ(store.merge({drill(1), drill(2), drill(3)}), 2U);
  EXPECT_EQ(store.entries().size(), 3U);
  EXPECT_EQ(store.merge({drill(2)}), 0U);
}

TEST(timeline_report, converts_an_rto_report) {
  const nlohmann::json rto{{"dry_run", false},
                           {"first_evidence", "2026-12-01T00:00:00.000Z"},
                           {"classified", "2026-12-01T00:00:08.000Z"},
                           {"paged", "2026-12-01T00:00:09.000Z"},
                           {"approved", "2026-12-01T00:03:00.000Z"},
                           {"plan_started", "2026-12-01T00:03:01.000Z"},
                           {"plan_finished", "2026-12-01T00:04:01.000Z"},
                           {"steps", {{{"name", "promote"}, {"outcome", "done"}, {"duration_s", 60.0}}}}};
  const auto t = timeline_from_report(rto, "rec-1", "plan", "failover", "done");
  EXPECT_FALSE(t.dry_run);
  ASSERT_TRUE(t.plan_s());
  EXPECT_DOUBLE_EQ(*t.plan_s(), 60.0);
  EXPECT_FALSE(t.approval_s());  // pending_approval comes from the recommendation, not the report
  ASSERT_EQ(t.steps.size(), 1U);
  EXPECT_EQ(t.steps[0].outcome, "done");
  EXPECT_TRUE(t.ok());
}

}  // namespace
}  // namespace vigil::app
