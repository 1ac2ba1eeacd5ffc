#!/usr/bin/env bash
# The HTTP probe benchmark, side by side in one run: vigil's prober (under
# its scheduler), prometheus-blackbox-exporter 0.23 and a bare libcurl loop,
# all probing the same nginx on 127.0.0.1. Figures go to bench/RESULTS.md
# ("HTTP probing"). Loopback only; every load is bounded in count and time.
#
#   bench/probe_peer_bench.sh [--build DIR] [--reps 3] [--out FILE] [--quick]
#
# DIR is a Release build with vigil_bench_probe, vigil_bench_curl_loop and
# vigil (default: build-bench). Prints a markdown table (medians over the
# repetitions) and writes every raw JSON line to FILE.
#
# What is measured, per tool, at 100, 1,000 and 5,000 checks (1 s interval):
#   vigil      vigil_bench_probe: N checks on the same URL, scheduler + http_prober
#              on one io_context; CPU of that process (getrusage) / probes.
#   curl loop  vigil_bench_curl_loop --rate N: N requests/s, curl_multi, no vigil logic.
#   blackbox   the exporter on its own port, driven with N /probe requests per
#              second by vigil_bench_curl_loop (a separate process, keep-alive to the
#              exporter, probe_success 1 checked); only the exporter's CPU counts
#              (/proc/PID/stat utime+stime before/after), peak RSS = VmHWM of a
#              fresh exporter. blackbox_exporter opens a new target connection per
#              probe whatever the mode: its row is the same for both modes.
# Then: 2,000 checks at 1 s with vigil pinned to one core (nginx on the
# other): p99 scheduling lag; and `vigil agent` with 1,000 checks (batches
# POSTed to nginx): its peak RSS.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build="$here/build-bench"
reps=3
out=""
quick=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --quick) quick=1; reps=1; shift ;;
    -h|--help) sed -n 2,27p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

probe="$build/bench/vigil_bench_probe"
loop="$build/bench/vigil_bench_curl_loop"
vigil="$build/app/vigil"
bbx=/usr/bin/prometheus-blackbox-exporter
for b in "$probe" "$loop" "$vigil" "$bbx" /usr/sbin/nginx; do
  [[ -x "$b" ]] || { echo "missing $b (build: cmake --build DIR --target vigil_bench_probe vigil_bench_curl_loop vigil)" >&2; exit 2; }
done
py=/usr/bin/python3

# Checks and their durations (seconds): shorter for the large counts so the
# whole run stays under about 10 minutes on 2 cores.
counts=(100 1000 5000)
declare -A dur=([100]=12 [1000]=8 [5000]=5)
lag_checks=2000 lag_dur=12 agent_checks=1000 agent_dur=15
if [[ $quick == 1 ]]; then dur=([100]=3 [1000]=3 [5000]=2); lag_dur=3; agent_dur=4; fi

tmp=$(mktemp -d /tmp/vigil-probe-bench-XXXXXX)
[[ -n "$out" ]] || out="$tmp/results.jsonl"
: > "$out"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
# Proxies from the environment must not route loopback probes.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
ulimit -n 65536 2>/dev/null || true

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # url: up to 10 s
  for _ in $(seq 100); do
    curl -fs --noproxy '*' -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "nothing answers $1" >&2; exit 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# --- the target: nginx, one worker, pinned to the last core -----------------
ncpu=$(nproc)
last_cpu=$((ncpu - 1))
nginx_port=$(free_port)
mkdir -p "$tmp/nginx"
cat > "$tmp/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port backlog=4096;
    location /health { default_type application/json; return 200 '{"status":"UP"}'; }
    location /v1/observations { default_type application/json; return 200 '{"accepted":true}'; }
  }
}
EOF
taskset -c "$last_cpu" /usr/sbin/nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" &
pids+=($!)
target="http://127.0.0.1:$nginx_port/health"
wait_http "$target"

# --- blackbox_exporter ---------------------------------------------------------
cat > "$tmp/blackbox.yml" <<'EOF'
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      follow_redirects: false
      valid_status_codes: [200]
EOF
run_blackbox() {  # checks seconds rep
  local n=$1 secs=$2 rep=$3 port pid t0 t1 load
  port=$(free_port)
  "$bbx" --config.file="$tmp/blackbox.yml" --web.listen-address="127.0.0.1:$port" \
    --log.level=warn > "$tmp/blackbox.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$port/-/healthy"
  t0=$(cpu_ticks "$pid")
  load=$("$loop" --url "http://127.0.0.1:$port/probe?module=http_2xx&target=$target" \
    --rate "$n" --duration "${secs}s" --keep-alive on --timeout 10s \
    --max-in-flight 2048 --must-contain "probe_success 1" || true)
  t1=$(cpu_ticks "$pid")
  local hwm
  hwm=$(hwm_kb "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  "$py" - "$n" "$rep" "$((t1 - t0))" "$(getconf CLK_TCK)" "$hwm" "$load" >> "$out" <<'EOF'
import json, sys
n, rep, ticks, hz, hwm, load = sys.argv[1:]
l = json.loads(load)
cpu = int(ticks) / int(hz)
ok = l["requests"] - l["failed"]
print(json.dumps({"tool": "blackbox", "checks": int(n), "rep": int(rep), "keep_alive": None,
                  "probes": l["requests"], "not_ok": l["failed"], "wall_s": l["wall_s"],
                  "cpu_s": cpu, "cpu_per_probe_us": cpu * 1e6 / max(1, l["requests"]),
                  "peak_rss_kb": int(hwm)}))
EOF
}

tag() {  # add rep (and checks) to a tool's JSON line
  "$py" -c 'import json,sys; d=json.loads(sys.argv[1]); d["rep"]=int(sys.argv[2]); d.setdefault("checks", d.get("rate")); d.setdefault("probes", d.get("requests")); d.setdefault("not_ok", d.get("failed")); d.setdefault("cpu_per_probe_us", d.get("cpu_per_request_us")); print(json.dumps(d))' "$1" "$2"
}

echo "probe benchmark: nginx on 127.0.0.1:$nginx_port (cpu $last_cpu), $reps repetition(s), raw results in $out" >&2
for rep in $(seq "$reps"); do
  for n in "${counts[@]}"; do
    secs=${dur[$n]}
    echo "rep $rep: $n checks, ${secs}s each" >&2
    for ka in off on; do
      tag "$("$probe" --url "$target" --checks "$n" --interval 1s --duration "${secs}s" --keep-alive "$ka")" "$rep" >> "$out"
      tag "$("$loop" --url "$target" --rate "$n" --duration "${secs}s" --keep-alive "$ka" || true)" "$rep" >> "$out"
    done
    run_blackbox "$n" "$secs" "$rep"
  done
done

# --- 2,000 checks on one core: scheduling lag --------------------------------------
for rep in $(seq "$reps"); do
  echo "rep $rep: lag at $lag_checks checks, one core" >&2
  line=$(taskset -c 0 "$probe" --url "$target" --checks "$lag_checks" --interval 1s \
    --duration "${lag_dur}s" --keep-alive off)
  "$py" -c 'import json,sys; d=json.loads(sys.argv[1]); d["tool"]="vigil_one_core"; d["rep"]=int(sys.argv[2]); print(json.dumps(d))' "$line" "$rep" >> "$out"
done

# --- vigil agent with 1,000 checks: RSS ---------------------------------------------
echo "probe-bench-agent-key-0123456789abcdef" > "$tmp/agent.key"
chmod 600 "$tmp/agent.key"   # vigil refuses a secret others can read
"$py" - "$agent_checks" "$nginx_port" "$tmp/agent.key" > "$tmp/agent.yaml" <<'EOF'
import sys
n, port, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
print("deployment: probe-bench")
print("regions:\n  - {name: us-east-1, role: primary}\n  - {name: us-west-2, role: dr}")
print("vantages: [us-east-1, us-west-2, eu-west-1]")
print("probe_defaults:\n  interval: 1s\n  timeout: 800ms")
print("services:")
for i in range(n // 2):
    print(f"  - name: svc-{i}\n    checks:")
    for region in ("us-east-1", "us-west-2"):
        print(f"      - region: {region}\n        http:\n          url: http://127.0.0.1:{port}/health")
        print("          expect: ['status == 200', 'body.json(\"/status\") == \"UP\"']")
print("engine:")
print(f"  endpoints: [http://127.0.0.1:{port}]")
print(f"  agent_key_file: {key}")
EOF
for rep in $(seq "$reps"); do
  echo "rep $rep: vigil agent, $agent_checks checks, ${agent_dur}s" >&2
  "$vigil" agent --config "$tmp/agent.yaml" --vantage us-east-1 > "$tmp/agent.log" 2>&1 &
  apid=$!
  pids+=("$apid")
  sleep 1
  kill -0 "$apid" 2>/dev/null || { cat "$tmp/agent.log" >&2; exit 1; }
  t0=$(cpu_ticks "$apid")
  sleep "$agent_dur"
  t1=$(cpu_ticks "$apid")
  hwm=$(hwm_kb "$apid")
  kill -TERM "$apid"; wait "$apid" 2>/dev/null || true
  echo "{\"tool\":\"vigil_agent\",\"checks\":$agent_checks,\"rep\":$rep,\"peak_rss_kb\":$hwm,\"cpu_s\":$(( t1 - t0 ))e-2,\"wall_s\":$agent_dur}" >> "$out"
done

# --- the table -------------------------------------------------------------------------
"$py" - "$out" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(tool, n, ka, key):
    v = [r[key] for r in rows if r["tool"] == tool and r.get("checks") == n
         and (ka is None or r.get("keep_alive") == ka)]
    return statistics.median(v) if v else float("nan")
print("| checks | connections | vigil µs/probe | curl loop µs/req | blackbox µs/probe | vigil/blackbox | vigil/curl | vigil RSS MB | curl RSS MB | blackbox RSS MB | vigil probes / not ok |")
print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for n in sorted({r["checks"] for r in rows if r["tool"] == "vigil"}):
    for ka in (False, True):
        v = med("vigil", n, ka, "cpu_per_probe_us")
        c = med("curl_loop", n, ka, "cpu_per_probe_us")
        b = med("blackbox", n, None, "cpu_per_probe_us")
        print(f"| {n:,} | {'keep-alive' if ka else 'new per probe'} | {v:.0f} | {c:.0f} | {b:.0f} | "
              f"{v / b:.2f}x | {v / c:.2f}x | {med('vigil', n, ka, 'peak_rss_kb') / 1024:.1f} | "
              f"{med('curl_loop', n, ka, 'peak_rss_kb') / 1024:.1f} | {med('blackbox', n, None, 'peak_rss_kb') / 1024:.1f} | "
              f"{med('vigil', n, ka, 'probes'):.0f} / {med('vigil', n, ka, 'not_ok'):.0f} |")
bb_fail = [(r["checks"], r["probes"], r["not_ok"]) for r in rows if r["tool"] == "blackbox"]
print("\nblackbox load (checks, requests, not probe_success 1):", bb_fail)
lag = [r for r in rows if r["tool"] == "vigil_one_core"]
if lag:
    print(f"\n{lag[0]['checks']:,} checks at 1 s on one core: lag p50 {statistics.median(r['lag_p50_ms'] for r in lag):.1f} ms, "
          f"p99 {statistics.median(r['lag_p99_ms'] for r in lag):.1f} ms (runs: {[r['lag_p99_ms'] for r in lag]}), "
          f"max {statistics.median(r['lag_max_ms'] for r in lag):.1f} ms, "
          f"CPU {statistics.median(r['cpu_per_probe_us'] for r in lag):.0f} µs/probe, skipped {[r['skipped'] for r in lag]}")
ag = [r for r in rows if r["tool"] == "vigil_agent"]
if ag:
    print(f"\nvigil agent, {ag[0]['checks']:,} checks: peak RSS {statistics.median(r['peak_rss_kb'] for r in ag) / 1024:.1f} MB "
          f"(runs: {[round(r['peak_rss_kb'] / 1024, 1) for r in ag]}), CPU {statistics.median(r['cpu_s'] for r in ag) / ag[0]['wall_s'] * 100:.0f} % of a core")
EOF
