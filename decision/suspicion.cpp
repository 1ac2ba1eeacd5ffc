#include "decision/suspicion.hpp"

namespace vigil::decision {

bool suspicion::observe(bool success, int fall, int rise) {
  (void)h_.observe(success, fall, rise);
  const verdict v = h_.state();
  // Against the settled verdict: a failure while not (yet) down, a success
  // while down. Agreeing with it (or reaching a threshold) settles the doubt.
  doubt_ = success ? v == verdict::down : v != verdict::down;
  return doubt_;
}

}  // namespace vigil::decision
