#!/usr/bin/env bash
# The README's test command: installs every dependency, builds everything and
# runs the whole test suite — unit, golden scenarios and integration tests
# against real servers — then the unit tests again under ASan + UBSan.
#
#   scripts/test.sh            everything
#   VIGIL_TEST_LABEL=unit scripts/test.sh   only one ctest label (unit|scenario|integration)
set -euo pipefail
cd "$(dirname "$0")/.."

jobs=${VIGIL_JOBS:-$(nproc)}
label=${VIGIL_TEST_LABEL:-}

echo "== install dependencies"
bash scripts/install-deps.sh

echo "== format (clang-format, .clang-format at the root)"
bash scripts/check-format.sh

echo "== build (RelWithDebInfo) in build/"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_BUILD_BENCH=ON
cmake --build build -j "$jobs"

echo "== clang-tidy over the library folders (scripts/tidy.sh; tests/ and bench/ on demand)"
bash scripts/tidy.sh --build build decision common aws detector actuators app

echo "== test suite"
ctest --test-dir build --output-on-failure --timeout 900 -j "$jobs" ${label:+-L "$label"}

echo "== unit tests under ASan + UBSan in build-asan/"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=address,undefined \
  -DVIGIL_UNIT_ONLY=ON -DVIGIL_BUILD_BENCH=OFF
cmake --build build-asan -j "$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Every unit test except the few that start real servers (moto, PostgreSQL,
# etcd, Alertmanager, node): those ran above; under ASan they would only add
# minutes of server start-up, not coverage of vigil's own code.
ctest --test-dir build-asan --output-on-failure -L unit -j "$jobs" \
  -E "moto|Moto|lag_source|LagSource|alertmanager|Alertmanager|interop|Interop|etcd|Etcd"

echo "== fuzzers (libFuzzer, clang, ASan+UBSan): 10 s each over the seed corpus"
bash scripts/fuzz.sh "${VIGIL_FUZZ_SECONDS:-10}"

echo "== all tests passed"
