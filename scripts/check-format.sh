#!/usr/bin/env bash
# Fails when any tracked C++ file differs from .clang-format's layout
# (clang-format 14, Debian bookworm). Fix with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if [[ "${1:-}" == "--fix" ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! out=$(clang-format --dry-run --Werror "${files[@]}" 2>&1); then
  printf '%s\n' "$out" | grep -E 'warning:|error:' | head -20 >&2
  echo "check-format: $(printf '%s\n' "$out" | grep -cE 'warning:|error:') lines differ from .clang-format; run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files clean"
