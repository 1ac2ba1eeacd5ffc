#pragma once
// The leader's claims of pages in the shared outbox (docs/ha.md, "Pages"):
// one page is sent by one replica, and a claim whose outcome etcd left
// unknown is settled while the term lasts instead of waiting for the next.

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "coordination/coordination.hpp"
#include "paging/pager.hpp"

namespace vigil::coordination {

class page_claimer {
 public:
  /// Queues a claimed page in the local outbox (the delivery worker sends it).
  using submit_fn = std::function<void(const paging::page&)>;

  enum class outcome : std::uint8_t {
    submitted,        ///< claimed by this replica (now, or by a write whose answer was lost) and queued
    already_claimed,  ///< another term claimed it: not sent again
    pending,          ///< the claim's outcome is unknown (etcd timed out): settled again at the next retry
    held,             ///< not the leader (fenced): kept for this replica's next term
  };

  /// Pages kept while following or after a fenced claim: the newest 256.
  static constexpr std::size_t max_held = 256;

  page_claimer(coordination::coordinator& coord, std::string replica_id, submit_fn submit);

  /// Claims `p` under `outbox/<incident>/<action>/<sequence>` (only if
  /// absent, under the fencing token) and queues it once claimed. A key that
  /// exists and is this replica's unfinished claim was written by an earlier
  /// attempt whose answer was lost (etcd applied a txn that timed out): the
  /// page is queued, not dropped.
  outcome send(const paging::page& p);
  /// Keeps a page for the next term (a follower's page, or a fenced claim).
  void hold(paging::page p);
  /// Every coordination step: the leader claims its pending pages again; a
  /// replica that no longer leads moves them to the held pages.
  void retry_pending();
  /// The held pages, oldest first; the claimer keeps none.
  [[nodiscard]] std::deque<paging::page> take_held();
  [[nodiscard]] std::size_t pending() const { return pending_.size(); }
  [[nodiscard]] std::size_t held() const { return held_.size(); }

 private:
  coordination::coordinator& coord_;
  std::string replica_id_;
  submit_fn submit_;
  std::deque<paging::page> pending_;
  std::deque<paging::page> held_;
};

/// New leader: the open incidents (of the adopted decision state) of which
/// the shared outbox holds no trigger or update at all, given its entries
/// (key -> claim record) and the pages this replica itself has just claimed.
/// Nobody paged them: the old leader's claim failed and it died before
/// another term, so its stored state lists an incident PagerDuty never saw.
[[nodiscard]] std::set<std::string> unpaged_incidents(const std::set<std::string>& open,
                                                      const std::map<std::string, std::string>& claimed,
                                                      const std::vector<paging::page>& just_claimed);

}  // namespace vigil::coordination
