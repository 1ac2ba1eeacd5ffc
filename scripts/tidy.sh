#!/usr/bin/env bash
# clang-tidy (14, the root .clang-tidy, warnings are errors) over the C++
# sources of the given folders, using a build tree's compile_commands.json.
#
#   scripts/tidy.sh [--build DIR] [FOLDER...]     default: build/, decision
#
# CI runs it over decision/ (the pure core); run it over any folder you touch.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
if [[ "${1:-}" == "--build" ]]; then build=$2; shift 2; fi
folders=("$@")
[[ ${#folders[@]} -gt 0 ]] || folders=(decision)
[[ -f "$build/compile_commands.json" ]] || { echo "tidy: no $build/compile_commands.json (configure first)" >&2; exit 2; }
mapfile -t files < <(git ls-files "${folders[@]/%//*.cpp}")
echo "tidy: ${#files[@]} files in ${folders[*]}"
# GCC-only warning flags from the build are unknown to clang: not our code's problem.
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet --extra-arg=-Wno-unknown-warning-option 2>/dev/null |
  tee /tmp/vigil-tidy.$$ | grep -E "(error|warning):" || true
if grep -qE "(error|warning):" /tmp/vigil-tidy.$$; then
  rm -f /tmp/vigil-tidy.$$
  echo "tidy: findings above" >&2
  exit 1
fi
rm -f /tmp/vigil-tidy.$$
echo "tidy: clean"
