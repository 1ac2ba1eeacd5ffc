#!/usr/bin/env bash
# Installs every Debian package vigil needs to build, test and benchmark.
# Idempotent: safe to run again; apt-get skips what is already installed.
# Usage: scripts/install-deps.sh [--no-servers]   (--no-servers: build deps only)
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive

build_pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl
  clang clang-format clang-tidy libclang-rt-14-dev
  libcurl4-openssl-dev libssl-dev libboost-dev
  libspdlog-dev libfmt-dev prometheus-cpp-dev nlohmann-json3-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libpq-dev
)
# Real servers the integration tests and benchmarks start on 127.0.0.1
# (dnsmasq-base: the dns check's resolver; python3-grpcio: the grpc check's server).
server_pkgs=(
  postgresql-15 postgresql-client-15
  etcd-server etcd-client
  prometheus prometheus-alertmanager prometheus-blackbox-exporter
  nginx-light
  chromium chromium-driver
  iproute2 procps psmisc curl python3 python3-yaml
  dnsmasq-base python3-grpcio
)

pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" != "--no-servers" ]]; then pkgs+=("${server_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all ${#pkgs[@]} packages present"
fi

# Debian's packaged servers start themselves as system services on install;
# vigil's tests start their own instances on free ports, so stop the system ones
# (there is no init system in CI containers, so this is best effort).
for svc in nginx etcd prometheus prometheus-alertmanager prometheus-blackbox-exporter postgresql; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl stop "$svc" || true
  fi
done
# Node.js and npm (for the PASETO interoperability test) come with the machine image
# (NodeSource build); Debian's nodejs conflicts with it, so it is not installed here.
command -v node >/dev/null || echo "install-deps: warning: node not found; the PASETO interop test will fail" >&2
exit 0
