#pragma once
// The engine's audit trail as served by GET /v1/events?since=N: every output
// of the decision core (classification changes, pages, recommendations,
// approvals, plan steps, audit records) numbered from 1 in order. A bounded
// ring in memory (the newest `capacity` events); the durable record is the
// JSONL audit file the engine appends to in its state directory.
//
// Thread safety: all members are safe to call from several threads.

#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>

namespace vigil::app {

/// Logs a decision event (decision::to_json) on the "engine" logger, with
/// its incident_id, region, vantage, check, recommendation_id and step as
/// log fields (common/log.hpp) and a one-line message.
void log_decision_event(const nlohmann::json& event);

class event_log {
 public:
  explicit event_log(std::size_t capacity = 10000);

  /// Stores the event with the next sequence number ("seq") and returns it.
  std::uint64_t append(nlohmann::json event);

  /// Events with seq > since, oldest first, at most `max`.
  [[nodiscard]] nlohmann::json since(std::uint64_t since, std::size_t max = 1000) const;
  /// The newest `n` events, oldest first.
  [[nodiscard]] nlohmann::json tail(std::size_t n) const;
  [[nodiscard]] std::uint64_t last_seq() const;

 private:
  mutable std::mutex mutex_;
  std::size_t capacity_;
  std::uint64_t next_ = 1;
  std::deque<nlohmann::json> events_;
};

}  // namespace vigil::app
