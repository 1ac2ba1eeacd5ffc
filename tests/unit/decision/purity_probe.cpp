// Links vigil::decision alone, so that purity_check.sh can inspect what the
// decision core pulls into an executable.
#include "decision/outcome.hpp"

int main() {
  return vigil::decision::is_success(vigil::decision::outcome::ok) ? 0 : 1;
}
