// append_file (the audit log, the observation record): created 0600, and an
// existing file readable by group or others narrowed to 0600.
#include "common/descriptors.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace vigil::common {
namespace {

namespace fs = std::filesystem;

fs::perms mode_of(const fs::path& p) {
  return fs::status(p).permissions() & fs::perms::all;
}

TEST(append_file_test, creates_the_file_for_its_owner_only_and_narrows_a_wider_one) {
  const fs::path dir = fs::temp_directory_path() / ("vigil-append-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto owner = fs::perms::owner_read | fs::perms::owner_write;
  {
    append_file f;
    ASSERT_TRUE(f.open((dir / "audit.jsonl").string()));
    f.write_line("{}");
  }
  EXPECT_EQ(mode_of(dir / "audit.jsonl"), owner);

  std::ofstream(dir / "old.jsonl") << "{\"kept\":true}\n";
  fs::permissions(dir / "old.jsonl", owner | fs::perms::group_read | fs::perms::others_read);
  {
    append_file f;
    ASSERT_TRUE(f.open((dir / "old.jsonl").string()));
    f.write_line("{}");
  }
  EXPECT_EQ(mode_of(dir / "old.jsonl"), owner);
  std::ifstream in(dir / "old.jsonl");
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "{\"kept\":true}");  // appended to, not truncated
  EXPECT_FALSE(append_file{}.open((dir / "missing" / "x").string()));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vigil::common
