#!/usr/bin/env bash
# Installs the Node.js packages the interoperability tests use (the independent
# `paseto` implementation) into a cache directory, once. Idempotent: a second
# run with the package already present does nothing and needs no network.
#
#   scripts/install-node-deps.sh [DIR]     default DIR: build/node-deps
#
# Prints DIR/node_modules on success (tests put it in NODE_PATH). Needs the
# machine's node and npm and, the first time, the npm registry.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$root/build/node-deps}"
pkg="paseto@3"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "install-node-deps: node and npm are needed (they come with the machine image)" >&2
  exit 2
fi

mkdir -p "$dir"
marker="$dir/node_modules/paseto/package.json"
if [[ ! -f "$marker" ]] || ! node -e "process.exit(require('$marker').version.startsWith('3.') ? 0 : 1)"; then
  # A lock directory keeps parallel test processes from installing at once.
  lock="$dir/.install.lock"
  for _ in $(seq 1 300); do
    if mkdir "$lock" 2>/dev/null; then break; fi
    sleep 1
  done
  trap 'rmdir "$lock" 2>/dev/null || true' EXIT
  if [[ ! -f "$marker" ]]; then
    npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "$pkg" >&2
  fi
fi
echo "$dir/node_modules"
