#!/usr/bin/env bash
# deterministic.sh VIGIL CONFIG SCENARIO: two runs, same seed, same JSON timeline.
set -euo pipefail
a=$("$1" simulate --config "$2" --scenario "$3" --json)
b=$("$1" simulate --config "$2" --scenario "$3" --json)
[[ "$a" == "$b" ]] || { echo "FAIL: two runs with the same seed differ" >&2; exit 1; }
echo "deterministic: $(grep -c '"type"' <<<"$a") timeline entries identical"
