#include "decision/classifier.hpp"

namespace vigil::decision {

verdict combine_service(verdict so_far, verdict check) {
  if (so_far == verdict::down || check == verdict::down) return verdict::down;
  if (so_far == verdict::unknown || check == verdict::unknown) return verdict::unknown;
  return verdict::up;
}

bool meets_outage(const region_counts& r, double regional_fraction) {
  if (r.region_checks_down > 0) return true;
  if (r.services == 0 || r.services_down == 0) return false;
  return static_cast<double>(r.services_down) >= regional_fraction * static_cast<double>(r.services);
}

bool thin_outage(const region_counts& r, double regional_fraction) {
  if (r.region_checks_down > 0 || !meets_outage(r, regional_fraction)) return false;
  region_counts one_fewer = r;
  --one_fewer.services_down;
  return !meets_outage(one_fewer, regional_fraction);
}

bool could_meet_outage(const region_counts& r, double regional_fraction) {
  if (r.region_checks_down > 0 || r.region_checks_unknown > 0) return true;
  const int worst = r.services_down + r.services_unknown;
  if (r.services == 0 || worst == 0) return false;
  return static_cast<double>(worst) >= regional_fraction * static_cast<double>(r.services);
}

classification classify_region(const region_counts& self, const region_counts& other, double regional_fraction) {
  const bool self_out = meets_outage(self, regional_fraction);
  if (self_out) {
    return meets_outage(other, regional_fraction) ? classification::global_outage : classification::regional_outage;
  }
  const bool some_unknown = self.services_unknown > 0 || self.region_checks_unknown > 0;
  if (some_unknown && (self.services_down == 0 || could_meet_outage(self, regional_fraction))) {
    return classification::unknown;
  }
  if (self.services_down > 0) return classification::service_degraded;
  return classification::healthy;
}

}  // namespace vigil::decision
