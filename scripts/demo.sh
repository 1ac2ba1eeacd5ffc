#!/usr/bin/env bash
# The README's main command: installs the build dependencies, builds the
# `vigil` binary and runs its main job on loopback. Extra arguments go to
# `vigil demo` (e.g. --serve to keep the status page up).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --no-servers
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "${VIGIL_JOBS:-$(nproc)}" --target vigil
exec build/app/vigil demo "$@"
