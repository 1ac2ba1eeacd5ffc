#pragma once
// Quorum and vantage impairment (docs/design.md, "Check quorum", "Quorum answers unknown",
// "Vantage presence and impairment").
//
// A check's state has three answers: `down` if at least `quorum`
// non-abstaining vantages say down, `up` if at least `quorum` say up,
// otherwise `unknown` — and unknown never acts. When quorum is configured
// below a strict majority both could hold: `down` wins (the operator chose a
// sensitive detector; action is still gated).
//
// Impairment: a vantage is impaired when, in EVERY region, it disagrees with
// the majority of the other present vantages on at least `impaired_fraction`
// of the checks it can be compared on there (a check is comparable when the
// vantage has a verdict and at least two other vantages form a strict
// majority: with two present vantages that disagree nobody can tell which one
// is broken, so neither is called impaired). Why "every
// region":
//  - an isolated vantage (its own network is broken) sees everything fail,
//    in both regions, while the others see both up: it disagrees everywhere;
//  - a vantage that sees one region's outage before the others (or alone)
//    agrees about the other region: it is a witness, not impaired;
//  - a vantage inside a failed primary region typically vanishes (absent); if
//    it keeps reporting it sees its own region either down (agreeing) or up
//    via an internal path (disagreeing) and the DR region down (cross-region
//    links cut, disagreeing): impaired only in the second case, which is
//    exactly when its votes would be wrong about both regions. In the first
//    case its single wrong opinion (DR down) is outvoted by the quorum.
// A vantage with no comparable check in some region is not impaired.

#include <cstdint>
#include <span>

#include "decision/types.hpp"

namespace vigil::decision {

struct vote_tally {
  int up = 0;
  int down = 0;
  int unknown = 0;
};

[[nodiscard]] verdict quorum_verdict(const vote_tally& t, int quorum);

/// Per (vantage, region): checks compared and how many disagreed.
struct agreement {
  std::uint32_t compared = 0;
  std::uint32_t disagreed = 0;
};

/// Inputs as flat spans so the core can run this every tick without allocating.
struct impairment_input {
  std::span<const verdict> verdicts;           ///< [vantage * checks + check]; unknown for abstaining cells
  std::span<const std::uint8_t> present;       ///< [vantage] 1 = present (absent ones neither vote nor get judged)
  std::span<const region_index> check_region;  ///< [check]
  std::size_t vantages = 0;
  std::size_t checks = 0;
  std::size_t regions = 2;
  double fraction = 0.5;
};

/// Fills impaired[v] (1 = impaired). `up`/`down` ([check]) and `agree`
/// ([vantage * regions]) are scratch buffers of the right size.
void find_impaired(const impairment_input& in, std::span<int> up, std::span<int> down, std::span<agreement> agree,
                   std::span<std::uint8_t> impaired);

}  // namespace vigil::decision
