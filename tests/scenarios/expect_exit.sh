#!/usr/bin/env bash
# expect_exit.sh RC VIGIL ARGS...: runs vigil, passes when it exits with RC.
# For RC 2 the error must also name the file and a line ("file:N:").
set -uo pipefail
want=$1; shift
out=$("$@" 2>&1); rc=$?
echo "$out"
if [[ $rc -ne $want ]]; then
  echo "FAIL: exit $rc, expected $want" >&2
  exit 1
fi
if [[ $want -eq 2 ]] && ! grep -qE '\.yaml:[0-9]+:' <<<"$out"; then
  echo "FAIL: a bad-input error must name file:line" >&2
  exit 1
fi
exit 0
