#!/bin/bash
# HEALTHCHECK of the vigil image: GET /healthz where this container's vigil
# serves it, which depends on the subcommand PID 1 runs:
#   engine, run  --listen ADDR, else 127.0.0.1:9470 (engine.listen's default)
#   agent        --metrics-listen ADDR; an agent without it serves no HTTP at
#                all, so it is healthy while it runs (PID 1 alive)
#   anything else (check-config, version, ...): healthy
# VIGIL_HEALTHCHECK_ADDR=host:port overrides the address (e.g. an engine whose
# engine.listen is not 9470 and that is started without --listen).
# bookworm-slim has no curl: bash's /dev/tcp speaks HTTP/1.0 by hand.
# VIGIL_HEALTHCHECK_CMDLINE (a file, NUL-separated like /proc/1/cmdline)
# exists for tests.
set -u
mapfile -d '' -t argv < "${VIGIL_HEALTHCHECK_CMDLINE:-/proc/1/cmdline}" || exit 1
sub="" listen="" metrics=""
for ((i = 1; i < ${#argv[@]}; i++)); do
  case "${argv[i]}" in
    --listen) listen="${argv[i + 1]:-}"; i=$((i + 1)) ;;
    --listen=*) listen="${argv[i]#--listen=}" ;;
    --metrics-listen) metrics="${argv[i + 1]:-}"; i=$((i + 1)) ;;
    --metrics-listen=*) metrics="${argv[i]#--metrics-listen=}" ;;
    --config | --vantage | --replica) i=$((i + 1)) ;;
    -*) ;;
    *) [ -z "$sub" ] && sub="${argv[i]}" ;;
  esac
done
case "$sub" in
  engine | run) addr="${listen:-127.0.0.1:9470}" ;;
  agent) [ -n "$metrics" ] || exit 0; addr="$metrics" ;;
  *) exit 0 ;;
esac
addr="${VIGIL_HEALTHCHECK_ADDR:-$addr}"
host="${addr%:*}" port="${addr##*:}"
case "$host" in "" | 0.0.0.0 | "[::]" | "::") host=127.0.0.1 ;; esac
host="${host#[}" host="${host%]}"
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
IFS= read -r -t 3 status <&3 || exit 1
[[ "$status" == *" 200 "* ]]
