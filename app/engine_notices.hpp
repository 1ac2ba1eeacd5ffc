#pragma once
// Operational notices: conditions found outside the decision core (a readiness
// item failing, the RTO estimate above its objective, a standing approval
// disarmed or about to expire) that an operator must hear about once. Each key
// is one incident, `<deployment>/notice/<key>`, kind `notice`: a trigger when
// it is first set, an update when its summary changes, a resolve when it is
// cleared. The board only decides which page to send; the engine sends it
// (leader only) through the same path as the core's pages.
//
// Bounds: at most max_notices open keys (a new key beyond that is refused and
// counted); keys are 1..128 characters of [A-Za-z0-9._:-]; summaries are cut
// to 1024 bytes like every page's.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "decision/events.hpp"

namespace vigil::app {

class notice_board {
 public:
  static constexpr std::size_t max_notices = 1024;

  explicit notice_board(std::string deployment) : deployment_(std::move(deployment)) {}

  /// The page to send, if any: a trigger for a new key, an update when the
  /// summary or severity changed, nothing when it is unchanged. nullopt too
  /// when the key is malformed or the board is full (refused() counts them).
  std::optional<decision::page> set(const std::string& key, decision::severity sev, const std::string& summary,
                                    const nlohmann::json& details, decision::time_point now);
  /// The resolve page when the key was open, else nothing.
  std::optional<decision::page> clear(const std::string& key, decision::time_point now);
  /// An incident of kind `notice` a previous run left open (the page outbox):
  /// known as open, so that clearing its key resolves it.
  bool restore(const std::string& incident_id, decision::time_point started);
  /// Forget every open notice without resolving it (this replica stopped
  /// leading: the new leader's checks raise or clear the same incident ids).
  void forget_all() { open_.clear(); }

  [[nodiscard]] std::string incident_id(const std::string& key) const;
  [[nodiscard]] static bool valid_key(const std::string& key);
  [[nodiscard]] std::size_t open_count() const { return open_.size(); }
  [[nodiscard]] std::uint64_t refused() const { return refused_; }
  /// [{key, severity, summary, since}] for /v1/status.
  [[nodiscard]] nlohmann::json to_json() const;

 private:
  struct open_notice {
    decision::severity sev = decision::severity::warning;
    std::string summary;
    decision::time_point since{};
  };
  std::string deployment_;
  std::map<std::string, open_notice> open_;
  std::uint64_t refused_ = 0;
};

}  // namespace vigil::app
