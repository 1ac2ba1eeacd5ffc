#!/bin/sh
# The long form of issue 8's soak: random engine kills and restarts for
# VIGIL_HA_SOAK_S seconds (default 600) against a real 3-member etcd, then
# the invariant checks of tests/integration/ha/test_ha.py (test_f_soak).
# Usage: bench/ha_soak.sh BUILD_DIR   (keeps its temporary directory - PagerDuty's
# record, engine logs, state - for a look afterwards; VIGIL_KEEP_HA=  to remove it)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build-dev}
VIGIL_KEEP_HA="${VIGIL_KEEP_HA-1}" VIGIL_BIN="$build/app/vigil" VIGIL_SOURCE_DIR="$here" VIGIL_HA_SOAK_S="${VIGIL_HA_SOAK_S:-600}" \
  exec python3 "$here/tests/integration/ha/test_ha.py" HA.test_f_soak
