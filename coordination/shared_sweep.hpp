#pragma once
// Retention of the shared state the replicas write (docs/ha.md, "Shared
// keys"): a page's claim in the shared outbox and a plan's journal records
// and step claims are needed while a replica could still act on them, not
// for ever. The leader sweeps them now and then.

#include <chrono>
#include <cstddef>

#include "common/clock.hpp"
#include "coordination/coordination.hpp"

namespace vigil::coordination {

/// What is kept: a page's claim as long as a replica could still hold the
/// page pending in its local outbox (the pager gives up after a day), a
/// finished plan's journal and step claims as long. 25 h.
inline constexpr std::chrono::hours shared_retention{25};

struct sweep_result {
  std::size_t outbox = 0;   ///< page claims erased (state done, page older than the retention)
  std::size_t journal = 0;  ///< journal records erased (plans ended before the retention)
  std::size_t steps = 0;    ///< step claims erased (of those plans)
};

/// Erases, under the fencing token, the shared outbox entries recorded done
/// whose page is older than `now - retention`, and every journal record and
/// step claim of the plans whose plan_end is older than that. Stops at the
/// first write that is not ok (fenced: no longer the leader). Blocking: call
/// it from a worker thread. Throws coordination::coordination_unavailable when
/// the keys cannot be listed.
sweep_result sweep_shared(coordination::coordinator& coord, common::wall_time now,
                          std::chrono::milliseconds retention = shared_retention);

}  // namespace vigil::coordination
