#pragma once
// The durable page outbox (pages survive an engine restart — none
// lost, none triggered twice).
//
// A JSON-lines journal in the state directory (outbox_journal.hpp):
//   {"op":"page","seq":7,"key":"inc-1/trigger/0","sinks":["pd","slack"],"page":{...}}
//   {"op":"done","seq":7,"sink":"pd","result":"delivered"}
//   {"op":"seen","seq":7,"key":"inc-1/trigger/0","ts":1795000000000}   (after compaction)
// enqueue() returns only once the page line is fsync'd; mark_done() likewise.
// On open, every page with a sink that has no "done" line is pending again
// and is re-sent; a page with a "done" line for a sink is never sent to it
// again. The idempotency key (incident id, action, sequence) makes a second
// enqueue of the same page a no-op, also across restarts (kept `retention`
// after the page's timestamp).
//
// The one window left is a crash after a receiver accepted a page and before
// its "done" line reached the disk: that page is sent again on restart, with
// the same dedup key, which every sink treats as the same incident
// (PagerDuty dedup_key, Alertmanager label set, X-Vigil-Idempotency-Key).
//
// The journal also tells which incidents are open: those whose last recorded
// page is a trigger or an update. open_incidents() hands them to the engine at
// start so that the decision core continues them under the same dedup key
// instead of triggering a second incident; compaction keeps the last page of
// every open incident, however old.
//
// Thread-safe: an internal mutex guards every call.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/append_journal.hpp"
#include "paging/pager.hpp"

namespace vigil::paging {

/// The outbox's file name inside engine.state_dir.
inline constexpr std::string_view outbox_file_name = "pages.outbox";

struct outbox_entry {
  std::uint64_t seq = 0;  ///< position in the outbox, increasing
  page p;
  std::vector<std::string> pending;  ///< sinks not yet done, among the configured ones
};

class page_outbox {
 public:
  /// Opens or creates `file`. `sinks` are the configured sink names: new
  /// pages go to all of them; pending work for sinks no longer configured is
  /// ignored. Throws std::runtime_error on I/O errors or a corrupt journal.
  page_outbox(std::filesystem::path file, std::vector<std::string> sinks,
              std::chrono::hours retention = std::chrono::hours(24 * 7));

  /// Records `p` durably for every sink; false (nothing recorded) if a page
  /// with the same idempotency key was recorded before.
  bool enqueue(const page& p);
  /// Durably records that `sink` is finished with page `seq`
  /// (result: "delivered", "rejected" or "dropped").
  void mark_done(std::uint64_t seq, const std::string& sink, std::string_view result);
  /// Pending entries, oldest first.
  [[nodiscard]] std::vector<outbox_entry> pending() const;
  /// The last page of every incident whose last recorded page is not a
  /// resolve, oldest incident first.
  [[nodiscard]] std::vector<page> open_incidents() const;
  /// (entry, sink) pairs not yet done.
  [[nodiscard]] std::size_t pending_count() const;
  /// Rewrites the journal: pending pages in full, finished ones as "seen"
  /// keys, keys older than `retention` before `now` dropped.
  void compact(common::wall_time now);
  /// True once enough "done" lines accumulated that compact() is worth it.
  [[nodiscard]] bool needs_compaction() const;

 private:
  struct record {
    page p;
    std::string key;
    std::set<std::string> pending;  ///< sinks not done (any sink named when enqueued)
  };
  void load();
  void track_incident(std::uint64_t seq, const page& p);

  mutable std::mutex mu_;
  common::append_journal journal_;
  std::vector<std::string> sinks_;
  std::chrono::hours retention_;
  std::uint64_t next_seq_ = 1;
  std::map<std::uint64_t, record> open_;                                ///< pages with pending sinks
  std::map<std::string, std::pair<std::uint64_t, std::int64_t>> seen_;  ///< key -> (seq, page ts ms)
  std::map<std::string, std::pair<std::uint64_t, page>> incidents_;     ///< open incident -> (seq, last page)
  std::size_t done_since_compaction_ = 0;
};

}  // namespace vigil::paging
