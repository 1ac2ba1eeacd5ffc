#pragma once
// A durable, append-only journal of text lines: the storage under the page
// outbox and the file-backed jti ledger.
//
// - Each append() writes one line plus '\n' with a single write(2) and
//   fsync(2)s before returning: once append() returned, the line survives a
//   crash or power loss.
// - Opening reads every complete line and cuts off a torn tail (a line whose
//   append never returned), so the next append starts on a line boundary.
// - An exclusive flock(2) on the file: a second process opening the same
//   journal fails at once instead of interleaving writes.
// - rewrite() compacts: it writes a temporary file, fsyncs it, renames it
//   over the journal and fsyncs the directory.
//
// Errors throw std::runtime_error naming the file. Not thread-safe: callers
// hold their own lock.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::common {

class append_journal {
 public:
  /// Opens or creates `file`; its directory must exist.
  explicit append_journal(std::filesystem::path file);
  ~append_journal();
  append_journal(const append_journal&) = delete;
  append_journal& operator=(const append_journal&) = delete;

  /// The complete lines found when the journal was opened (without '\n').
  [[nodiscard]] const std::vector<std::string>& initial_lines() const { return initial_; }
  /// Bytes cut off as a torn tail when opening (0 normally).
  [[nodiscard]] std::size_t torn_bytes() const { return torn_; }
  /// `line` must not contain '\n'.
  void append(std::string_view line);
  /// Replaces the whole journal with `lines` atomically.
  void rewrite(const std::vector<std::string>& lines);
  [[nodiscard]] const std::filesystem::path& path() const { return file_; }

 private:
  void open_locked();
  std::filesystem::path file_;
  int fd_ = -1;
  std::vector<std::string> initial_;
  std::size_t torn_ = 0;
};

}  // namespace vigil::common
