#!/bin/sh
# The long form of the HA soak test: random engine kills and restarts for
# VIGIL_HA_SOAK_S seconds (default 600) against a real 3-member etcd, then
# the invariant checks of tests/integration/ha/test_ha.py (test_f_soak).
# Usage: bench/ha_soak.sh BUILD_DIR   (keeps its temporary directory - PagerDuty's
# record, engine logs, state - for a look afterwards; VIGIL_KEEP_HA=  to remove it)
# It also pauses one etcd member now and then for 1-3 s (requests to it time
# out: guarded writes with an unknown outcome); VIGIL_HA_SOAK_ETCD_STALLS=  for
# engine kills alone, as the 60 s form in CI (ctest integration.ha_soak) runs.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-dev}
VIGIL_HA_SOAK_ETCD_STALLS="${VIGIL_HA_SOAK_ETCD_STALLS-1}" VIGIL_KEEP_HA="${VIGIL_KEEP_HA-1}" \
  VIGIL_BIN="$build/app/vigil" VIGIL_SOURCE_DIR="$here" VIGIL_HA_SOAK_S="${VIGIL_HA_SOAK_S:-600}" \
  exec python3 "$here/tests/integration/ha/test_ha.py" HA.test_f_soak
