#pragma once
// Service state and region classification (docs/design.md, "Service state", "Region classification"),
// from the quorum states of the region's checks.
//
// A region "meets the outage condition" when the share of its services that
// are down is >= regional_fraction, or one of its `scope: region` classify
// checks is down. Worked numbers, regional_fraction 0.5: 4 services, 2 down
// -> outage; 1 down -> service_degraded; 3 services, 2 down -> outage.
//
// raw classification of region A (other region B):
//   A and B meet the condition            -> global_outage
//   A meets it                            -> regional_outage
//   some of A's checks are unknown and, if they all turned out down, A
//   could meet it (or nothing is down yet) -> unknown
//   some service down                     -> service_degraded
//   otherwise                             -> healthy

#include "decision/types.hpp"

namespace vigil::decision {

struct region_counts {
  int services = 0;          ///< services with a classify check in the region
  int services_down = 0;     ///< some classify check down
  int services_unknown = 0;  ///< none down, some unknown
  int region_checks_down = 0;
  int region_checks_unknown = 0;
};

/// A service from its classify checks: down if any is down, unknown if none
/// is down and any is unknown, else up.
[[nodiscard]] verdict combine_service(verdict so_far, verdict check);

[[nodiscard]] bool meets_outage(const region_counts& r, double regional_fraction);
/// The region meets the outage condition on its services alone, and with one
/// service fewer down it would not (no `scope: region` check is down): one
/// service outage plus one more service briefly down from a quorum is enough.
/// Worked numbers, regional_fraction 0.5: 4 services, 2 down -> thin; 3 down
/// -> not; 2 services, 1 down -> thin; 1 service, 1 down -> thin.
[[nodiscard]] bool thin_outage(const region_counts& r, double regional_fraction);
/// Could the unknowns make it an outage?
[[nodiscard]] bool could_meet_outage(const region_counts& r, double regional_fraction);
[[nodiscard]] classification classify_region(const region_counts& self, const region_counts& other,
                                             double regional_fraction);

}  // namespace vigil::decision
