#!/usr/bin/env bash
# clang-tidy (14, the root .clang-tidy, warnings are errors) over the C++
# sources of the given folders, using a build tree's compile_commands.json.
#
#   scripts/tidy.sh [--build DIR] [--no-analyzer] [FOLDER...]
#       default: build/ and the library folders (decision common aws detector paging approvals coordination actuators app)
#
# CI (scripts/test.sh) runs it at nice 19 beside the test suite (which leaves
# most of the CPU idle): every check over the folders that decide and act,
# every check but the static analyzer (--no-analyzer) over the plumbing
# (common aws detector app). Every library folder is clean under the full set
# and stays so: run the default before a release. The 105 library files take 10 min 24 s on 2 idle cores (~21
# CPU-min); in CI, beside the test suite, 12 min 42 s (bench/RESULTS.md).
# tests/ and bench/ (63 files, gtest-heavy) are clean too, with
# their own .clang-tidy (root checks less cert-err58-cpp for TEST()/BENCHMARK()),
# but not in CI: they took another 12 min 53 s (20 min CPU, load ~2.5).
# Run them on demand from a clang-configured tree, the only one whose
# compile_commands.json also has the fuzzers (tests/fuzz needs clang, so a
# GCC tree has no compile command for those four files):
#   CC=clang CXX=clang++ cmake -S . -B build-clang -G Ninja -DVIGIL_BUILD_FUZZ=ON
#   scripts/tidy.sh --build build-clang tests bench
# Configuring is enough, nothing needs building. Any CMake build tree has a
# compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS is on).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
checks=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    # Every check but the clang static analyzer, which is ~60% of the time
    # (43 s of 72 CPU-s for one engine file).
    --no-analyzer) checks=(--checks=-clang-analyzer-*); shift ;;
    *) break ;;
  esac
done
folders=("$@")
[[ ${#folders[@]} -gt 0 ]] || folders=(decision common aws detector paging approvals coordination actuators app)
[[ -f "$build/compile_commands.json" ]] || { echo "tidy: no $build/compile_commands.json (configure first)" >&2; exit 2; }
mapfile -t files < <(git ls-files "${folders[@]/%//*.cpp}")
echo "tidy: ${#files[@]} files in ${folders[*]}${checks[*]:+ (${checks[*]})}"
# A file without a compile command would be parsed with guessed flags (or
# not at all, its error hidden below): refuse the tree instead.
missing=()
for f in "${files[@]}"; do
  grep -qF "/$f\"" "$build/compile_commands.json" || missing+=("$f")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "tidy: no compile command in $build for: ${missing[*]} (configure that tree with the options that build them)" >&2
  exit 2
fi
# GCC-only warning flags from the build are unknown to clang: not our code's problem.
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet --extra-arg=-Wno-unknown-warning-option "${checks[@]}" 2>/dev/null |
  tee /tmp/vigil-tidy.$$ | grep -E "(error|warning):" || true
if grep -qE "(error|warning):" /tmp/vigil-tidy.$$; then
  rm -f /tmp/vigil-tidy.$$
  echo "tidy: findings above" >&2
  exit 1
fi
rm -f /tmp/vigil-tidy.$$
echo "tidy: clean"
