#pragma once
// The replica protocol of an engine (docs/ha.md): what a replica does when it
// wins leadership (adopt the last leader's decision state and what its claims
// show it paged since, send the pages held while following, re-queue claimed
// but unfinished ones, page again an incident nobody paged), what a follower
// does (read the leader's decision state, forward operator requests), the
// guards that keep a deposed leader from acting (plan step claims, page
// deliveries), the shared plan journal, and the coordination-lost page.
//
// The engine, the local page outbox and the plan runner are reached through
// the function seams below only; the app wires them.
//
// Threading: take_over, page, hold and check_health on the engine's io thread;
// may_act and the journal calls on the plan executor's thread; the delivery
// guard on the page worker's thread; follow_step on a worker thread (it reads
// the shared state, which blocks).

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/http_server.hpp"
#include "coordination/coordination.hpp"
#include "coordination/page_claims.hpp"
#include "paging/pager.hpp"
#include "paging/pager_worker.hpp"

namespace vigil::coordination {

struct takeover_options {
  std::string replica_id;
  /// etcd: several replicas share the state; false: the single node (file
  /// backend), which always leads and shares nothing.
  bool shared = false;
  std::string deployment;  ///< for the coordination-lost page's incident id
  /// How long health stays `lost` before the coordination-lost page (one
  /// failed request does not page): lease_ttl / 2.
  std::chrono::milliseconds lost_grace{5000};
  /// How often follow_step() runs the leader's retention sweep.
  std::chrono::milliseconds sweep_every{std::chrono::minutes(10)};
};

/// What the protocol needs from the engine and the local outbox. Unset engine
/// seams (before the engine is attached) skip adoption and re-paging.
struct takeover_seams {
  // engine (io thread)
  std::function<bool(const nlohmann::json&)> adopt_continuity;  ///< engine::adopt_continuity
  std::function<std::set<std::string>()> open_incident_ids;     ///< engine::open_incident_ids
  std::function<bool(const std::string&)> mark_unpaged;         ///< engine::mark_unpaged
  // local page outbox
  std::function<void(const paging::page&)> submit;  ///< queues a page (never throws)
  std::function<void()> wake;                       ///< wakes the delivery worker
  std::function<nlohmann::json()> links;            ///< the coordination-lost page's links
  // plan runner
  std::function<void()> leadership_gained;  ///< plans begun earlier resume
};

class takeover {
 public:
  /// The shared plan journal: journal/<hash>/<record, 6 digits>.
  static constexpr std::string_view journal_prefix = "journal/";

  struct take_over_counts {
    std::size_t sent = 0;      ///< held pages claimed and queued
    std::size_t dropped = 0;   ///< held pages that do not fit the adopted incidents
    std::size_t requeued = 0;  ///< claimed but unfinished pages queued again
    std::size_t repaged = 0;   ///< open incidents nobody paged, marked unpaged
  };

  takeover(coordinator& coord, const common::clock& clock, takeover_options options, takeover_seams seams);

  /// Sets the engine seams (adopt_continuity, open_incident_ids, mark_unpaged)
  /// once the engine exists.
  void attach_engine(std::function<bool(const nlohmann::json&)> adopt_continuity,
                     std::function<std::set<std::string>()> open_incident_ids,
                     std::function<bool(const std::string&)> mark_unpaged);
  void set_advertise_url(std::string url) { advertise_url_ = std::move(url); }

  [[nodiscard]] bool shared() const { return options_.shared; }

  /// This replica just won (a no-op unless it leads now): resumes the plans
  /// begun before; with shared state, adopts the last leader's decision state
  /// and what its claims show, sends what the previous leader never claimed
  /// (held pages that fit the adopted incidents), re-queues what it claimed
  /// but never finished, and pages again the open incidents nobody paged.
  take_over_counts take_over();
  /// New leader: adopts the shared decision state, with the incidents the
  /// shared outbox entries `claimed` (key -> claim record) show were paged
  /// after it was stored (per region or vantage without an open incident, the
  /// newest claimed one whose last page is not a resolve) and without those
  /// whose resolve was claimed.
  void adopt(const std::map<std::string, std::string>& claimed);

  /// The engine's page: claimed and queued by the leader, held by a follower.
  void page(paging::page p);
  /// A follower's page, held for its next term (single node: dropped).
  void hold(paging::page p);

  /// Every coordination step (io thread): the coordination-lost page after
  /// lost_grace of `lost` (and its resolve once healthy again), advertising
  /// this replica's URL, retrying pending claims.
  void check_health();

  /// One round of the follower loop: the leader's decision state when it
  /// changed since the last round (nullopt otherwise, and while leading: the
  /// leader runs the retention sweep every sweep_every instead).
  std::optional<nlohmann::json> follow_step();

  /// Right before a plan step's mutating calls: only the leader, and with
  /// shared state only once its claim of the step went through under its
  /// fencing token (a paused ex-leader's claim comes back fenced).
  bool may_act(const std::string& recommendation_id, const std::string& recommendation_hash, std::size_t index,
               const std::string& step, int attempt);
  /// The shared plan journal: record `n` of plan `hash` (throws when not stored).
  void mirror_journal(const std::string& hash, std::size_t n, const nlohmann::json& record);
  /// Every record of the shared plan journal, by plan then record.
  std::vector<nlohmann::json> load_journal();

  /// Checked right before each delivery: a deposed or paused leader sends
  /// nothing; a delivery is recorded done in the shared outbox; a page another
  /// replica delivered to a sink is not sent there again.
  [[nodiscard]] paging::delivery_guard delivery_guard();

  /// POST /v1/approvals or /v1/propose on a follower: forwarded to the leader
  /// (same path and body), whose answer is returned as is. nullopt: this
  /// replica leads (or is the single node), handle here.
  std::optional<common::http_response> forward_to_leader(const common::http_request& r);

  /// Whether the coordination-lost page is out (not resolved yet).
  [[nodiscard]] bool lost_paged() const { return lost_paged_; }
  [[nodiscard]] page_claimer* claims() { return claims_.get(); }

 private:
  void lost_page(paging::page_action action);
  void sweep();

  coordinator& coord_;
  const common::clock& clock_;
  takeover_options options_;
  takeover_seams seams_;
  std::unique_ptr<page_claimer> claims_;  ///< shared only
  std::string advertise_url_;
  bool advertised_ = false;
  std::optional<common::mono_time> lost_since_;
  bool lost_paged_ = false;
  // follow_step's thread
  std::string seen_;
  std::optional<common::mono_time> next_sweep_;
};

}  // namespace vigil::coordination
