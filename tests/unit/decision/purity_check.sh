#!/usr/bin/env bash
# decision/ must be pure (docs/design.md, "Pure decision core"): no I/O library, no clock.
# $1: an executable linking only vigil::decision; $2: libvigil_decision.a
set -euo pipefail
probe=$1 lib=$2
fail=0
needed=$(readelf -d "$probe" | awk '/NEEDED/ {print $NF}')
echo "decision probe NEEDED: $(echo $needed | tr '\n' ' ')"
if echo "$needed" | grep -Ei 'curl|ssl|crypto|boost|spdlog|prometheus|pq|yaml'; then
  echo "FAIL: the decision core pulls an I/O library into its users" >&2; fail=1
fi
# Undefined symbols of the archive: a clock read, a socket, a file or a thread.
undef=$(nm -C --undefined-only "$lib" | awk '{ $1=""; print }' | sort -u)
bad=$(echo "$undef" | grep -E 'clock::now|clock_gettime|gettimeofday|\btime\b|socket|connect|fopen|open64|\bread\b|\bwrite\b|ifstream|ofstream|pthread_create|std::thread|random_device|getenv' || true)
if [[ -n "$bad" ]]; then
  echo "FAIL: libvigil_decision.a references I/O, clocks or threads:" >&2
  echo "$bad" >&2
  fail=1
fi
echo "checked $(echo "$undef" | wc -l) undefined symbols of $(basename "$lib")"
[[ $fail -eq 0 ]] && echo "decision core is pure"
exit $fail
