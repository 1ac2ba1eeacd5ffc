#pragma once
// The timeline history (docs/runbook.md, "Objectives"): every drill and every
// plan an approved recommendation ran, one JSON line each in
// <engine.state_dir>/timelines.jsonl (mode 0600, append-only). The engine and
// `vigil drill` (a separate process) both append; the engine reads the file
// again when its size changed and compacts it to the newest `keep` entries
// once it holds twice that many.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "decision/objectives.hpp"

namespace vigil::app {

/// A plan's RTO report (actuators::rto_report) as a history record.
[[nodiscard]] decision::recorded_timeline timeline_from_report(const nlohmann::json& rto, const std::string& id,
                                                               const std::string& kind, const std::string& action,
                                                               const std::string& result);

/// <state_dir>/timelines.jsonl; "" when state_dir is empty.
[[nodiscard]] std::string timelines_path(const std::string& state_dir);

/// Appends one record to the file (creating it 0600). "" when done, else why not.
[[nodiscard]] std::string append_timeline(const std::string& path, const decision::recorded_timeline& t);

class timeline_store {
 public:
  static constexpr std::size_t keep = 200;

  /// `path` empty: in memory only.
  explicit timeline_store(std::string path);

  /// Appends (file and memory); "" when stored, else why not (kept in memory).
  std::string append(const decision::recorded_timeline& t);
  /// Records another replica stored that this one does not have (HA), by id
  /// and finish time; the number added.
  std::size_t merge(const std::vector<decision::recorded_timeline>& others);
  /// The history, oldest first (the file read again when it changed).
  [[nodiscard]] const std::vector<decision::recorded_timeline>& entries();
  /// Lines of the file that did not parse (skipped, logged once each load).
  [[nodiscard]] std::size_t skipped() const { return skipped_; }

 private:
  void reload();
  void compact();

  std::string path_;
  std::vector<decision::recorded_timeline> entries_;
  std::uintmax_t seen_size_ = 0;
  bool loaded_ = false;
  std::size_t lines_ = 0;
  std::size_t skipped_ = 0;
};

}  // namespace vigil::app
