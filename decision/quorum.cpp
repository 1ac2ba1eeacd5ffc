#include "decision/quorum.hpp"

#include <algorithm>

namespace vigil::decision {

verdict quorum_verdict(const vote_tally& t, int quorum) {
  if (t.down >= quorum) return verdict::down;
  if (t.up >= quorum) return verdict::up;
  return verdict::unknown;
}

void find_impaired(const impairment_input& in, std::span<int> up, std::span<int> down, std::span<agreement> agree,
                   std::span<std::uint8_t> impaired) {
  std::fill(up.begin(), up.end(), 0);
  std::fill(down.begin(), down.end(), 0);
  std::fill(agree.begin(), agree.end(), agreement{});
  std::fill(impaired.begin(), impaired.end(), std::uint8_t{0});
  for (std::size_t v = 0; v < in.vantages; ++v) {
    if (in.present[v] == 0) continue;
    const verdict* row = in.verdicts.data() + v * in.checks;
    for (std::size_t c = 0; c < in.checks; ++c) {
      if (row[c] == verdict::up) ++up[c];
      if (row[c] == verdict::down) ++down[c];
    }
  }
  for (std::size_t v = 0; v < in.vantages; ++v) {
    if (in.present[v] == 0) continue;
    const verdict* row = in.verdicts.data() + v * in.checks;
    for (std::size_t c = 0; c < in.checks; ++c) {
      const verdict mine = row[c];
      if (mine == verdict::unknown) continue;
      const int others_up = up[c] - (mine == verdict::up ? 1 : 0);
      const int others_down = down[c] - (mine == verdict::down ? 1 : 0);
      if (others_up == others_down) continue;  // no majority among the others: not comparable
      // One other vantage is no majority: with two present vantages that
      // disagree nobody can tell which one is broken.
      if (std::max(others_up, others_down) < 2) continue;
      const verdict majority = others_up > others_down ? verdict::up : verdict::down;
      agreement& a = agree[v * in.regions + in.check_region[c]];
      ++a.compared;
      if (majority != mine) ++a.disagreed;
    }
    bool everywhere = in.regions > 0;
    for (std::size_t r = 0; r < in.regions; ++r) {
      const agreement& a = agree[v * in.regions + r];
      if (a.compared == 0 || static_cast<double>(a.disagreed) < in.fraction * static_cast<double>(a.compared)) {
        everywhere = false;
        break;
      }
    }
    impaired[v] = everywhere ? 1 : 0;
  }
}

}  // namespace vigil::decision
