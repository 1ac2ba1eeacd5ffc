#!/usr/bin/env bash
# docs/design.md, "Injected time": only one adapter reads std::chrono clocks; everything else takes
# `now` or a common::clock&. Fails listing every other place that reads one.
set -euo pipefail
root=$1
hits=$(grep -rnE '(steady_clock|system_clock|high_resolution_clock)::now|clock_gettime|gettimeofday' \
  "$root"/{common,aws,detector,decision,paging,approvals,coordination,actuators,app} --include='*.cpp' --include='*.hpp' \
  | grep -v "^$root/common/clock.cpp:" || true)
if [[ -n "$hits" ]]; then
  echo "FAIL: clock reads outside common/clock.cpp:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "only common/clock.cpp reads the system clocks"
