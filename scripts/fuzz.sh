#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each one for
# N seconds (default 30) over its seed corpus in tests/fuzz/corpus/<name>/.
# New inputs are kept in build-fuzz/tests/fuzz/corpus/<name>/ (never in the
# sources); a crash leaves crash-* / leak-* / timeout-* in build-fuzz/artifacts/.
# For campaigns: CI (scripts/test.sh) only smoke-runs the fuzzers for 20 s each
# from its clang ASan tree (build-asan/, -O0) with ctest -L fuzz.
#
#   scripts/fuzz.sh [SECONDS] [NAME...]    NAME: scenario_yaml batch_record core_actions approval_token
# Exit 0 when every fuzzer ran clean, 1 when one found something, 2 on usage.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-30}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [NAME...]" >&2; exit 2; }
shift || true
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(scenario_yaml batch_record core_actions approval_token)
build="$root/build-fuzz"
jobs="${VIGIL_FUZZ_JOBS:-2}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DVIGIL_BUILD_FUZZ=ON -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target $(printf 'vigil_fuzz_%s ' "${names[@]}")

mkdir -p "$build/artifacts"
status=0
for n in "${names[@]}"; do
  work="$build/tests/fuzz/corpus/$n"
  mkdir -p "$work"
  echo "== $n: ${seconds}s"
  if ! "$build/tests/fuzz/vigil_fuzz_$n" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$build/artifacts/$n-" "$work" "$root/tests/fuzz/corpus/$n" \
       2> "$build/artifacts/$n.log"; then
    echo "!! $n found a problem: see $build/artifacts/$n.log and $build/artifacts/$n-*"
    tail -40 "$build/artifacts/$n.log"
    status=1
  else
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done' "$build/artifacts/$n.log" || true
  fi
done
exit "$status"
