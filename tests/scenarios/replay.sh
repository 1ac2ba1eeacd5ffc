#!/usr/bin/env bash
# replay.sh VIGIL CONFIG RECORD RC [PATTERN]: `vigil replay` exits RC and its
# output (stdout + stderr) matches PATTERN.
set -uo pipefail
out=$("$1" replay --config "$2" --record "$3" 2>&1); rc=$?
echo "$out"
[[ $rc -eq $4 ]] || { echo "FAIL: exit $rc, expected $4" >&2; exit 1; }
if [[ $# -ge 5 ]] && ! grep -qE "$5" <<<"$out"; then echo "FAIL: output does not match /$5/" >&2; exit 1; fi
exit 0
