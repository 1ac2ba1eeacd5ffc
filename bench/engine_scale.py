#!/usr/bin/env python3
"""Scale of one engine: a real `vigil engine` with N checks x 5 vantages.

    bench/engine_scale.py --vigil build/app/vigil [--checks 10000] [--duration 20] [--json FILE]

Generates a config of N checks (N/2 services, one check in each of two
regions), starts `vigil engine` on a free 127.0.0.1 port and feeds it signed
batches from five vantages (the wire format of common/batch.hpp: HMAC-SHA256
of the body with the agent key in X-Vigil-Signature, sent_at in
X-Vigil-Timestamp), one thread per vantage, as agents probing every check
every 2 s and flushing every second would: each batch carries half of the
checks. Then, while the feeders go on, it measures:

  start        process start -> first /healthz 200 (the listener is up, the
               config loaded and the core and metrics built), and the CPU
               time the engine used by then (on a shared machine the wall
               time includes waiting for a core)
  RSS          VmRSS and VmHWM of the engine from /proc/PID/status
  tick         vigil_tick_duration_seconds over the measuring window: mean
               (sum / count), the share of ticks <= 5 ms and the smallest
               bucket bound holding 99 % of them
  /v1/status   wall time and size of the full document, ?summary=1 and
               ?region=R&check=SUBSTR, each requested --status-reps times
  batches      POST /v1/observations wall time (202 expected) while the
               status requests run

Loopback only. Prints a markdown table; --json writes the raw figures.
Figures and the machine go to bench/RESULTS.md ("Scale of one engine").
Python 3 standard library only.
"""

import argparse
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

AGENT_KEY = "engine-scale-bench-agent-key"
REGIONS = ("us-east-1", "us-west-2")
VANTAGES = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1")
# Observations per POST at most: agents cut one batch per flush; a bigger
# deployment's batches are split here so each stays under max_batch_bytes.
MAX_PER_BATCH = 10000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, body=None, headers=None, timeout=30):
    """(status, body bytes, seconds)."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            out = r.status, r.read()
    except urllib.error.HTTPError as e:
        out = e.code, e.read()
    return out[0], out[1], time.monotonic() - t0


def service_name(i):
    return f"svc-{i:06d}"


def config_yaml(n_checks, listen, state_dir, key_file):
    lines = [
        "deployment: engine-scale-bench",
        "regions:",
        f"  - {{name: {REGIONS[0]}, role: primary}}",
        f"  - {{name: {REGIONS[1]}, role: dr}}",
        f"vantages: [{', '.join(VANTAGES)}]",
        "decision: {tick: 1s, fall: 3, rise: 3}",
        "probe_defaults: {interval: 2s, timeout: 1s}",
        "services:",
    ]
    for i in range(n_checks // 2):
        lines.append(f"  - name: {service_name(i)}")
        lines.append("    checks:")
        for r in REGIONS:
            lines.append(f"      - {{region: {r}, http: {{url: 'http://127.0.0.1:1/{service_name(i)}'}}}}")
    lines += [
        "engine:",
        f"  listen: {listen}",
        f"  endpoints: [http://{listen}]",
        f"  agent_key_file: {key_file}",
        f"  state_dir: {state_dir}",
        "  max_batch_bytes: 8388608",
        "paging: [{kind: log}]",
        "logging: {level: warn, format: text}",
    ]
    return "\n".join(lines) + "\n"


def check_ids(n_checks):
    return [f"{service_name(i)}@{r}" for i in range(n_checks // 2) for r in REGIONS]


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) / 1024.0  # MiB
    return out


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tick_histogram(metrics_text):
    """{le: cumulative count}, sum, count of vigil_tick_duration_seconds."""
    buckets, total, count = {}, 0.0, 0
    for line in metrics_text.splitlines():
        if line.startswith("vigil_tick_duration_seconds_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if le == "+Inf" else float(le)] = int(float(line.rsplit(" ", 1)[1]))
        elif line.startswith("vigil_tick_duration_seconds_sum"):
            total = float(line.rsplit(" ", 1)[1])
        elif line.startswith("vigil_tick_duration_seconds_count"):
            count = int(float(line.rsplit(" ", 1)[1]))
    return buckets, total, count


def percentile(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


class Feeder(threading.Thread):
    """One vantage: every second, a signed batch of half of the checks
    (alternating halves: every check every 2 s), all ok."""

    def __init__(self, url, vantage, ids, stop):
        super().__init__(daemon=True)
        self.url, self.vantage, self.stop_event = url, vantage, stop
        # Pre-serialised observations ("at" filled per batch): the feeder's
        # own CPU stays small next to the engine's on a 2-core machine.
        self.halves = [ids[0::2], ids[1::2]]
        self.templates = [[json.dumps({"check": c, "at": 0, "outcome": "ok", "latency_ms": 12.5, "status": 200,
                                       "value": None, "detail": ""}, separators=(",", ":")).replace('"at":0', '"at":{at}')
                           for c in half] for half in self.halves]
        self.seq = 0
        self.latencies = []  # (monotonic time sent, seconds, observations)
        self.errors = []
        self.sent = 0

    def post(self, obs_json):
        now_ms = int(time.time() * 1000)
        self.seq = max(self.seq + 1, now_ms)
        body = (f'{{"v":1,"vantage":"{self.vantage}","seq":{self.seq},"sent_at":{now_ms},'
                f'"observations":[{",".join(obs_json)}]}}').replace("{at}", str(now_ms))
        sig = "sha256=" + hmac.new(AGENT_KEY.encode(), body.encode(), hashlib.sha256).hexdigest()
        t_sent = time.monotonic()
        status, resp, took = http("POST", self.url + "/v1/observations", body,
                                  {"Content-Type": "application/json", "X-Vigil-Signature": sig,
                                   "X-Vigil-Timestamp": str(now_ms)})
        if status != 202:
            self.errors.append(f"{status} {resp[:200]!r}")
        self.latencies.append((t_sent, took, len(obs_json)))
        self.sent += 1

    def run(self):
        half = 0
        next_at = time.monotonic()
        while not self.stop_event.is_set():
            items = self.templates[half]
            for i in range(0, len(items), MAX_PER_BATCH):
                try:
                    self.post(items[i:i + MAX_PER_BATCH])
                except Exception as e:  # counted, reported
                    self.errors.append(str(e))
            half ^= 1
            next_at += 1.0
            self.stop_event.wait(max(0.0, next_at - time.monotonic()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vigil", required=True, help="the vigil binary")
    ap.add_argument("--checks", type=int, default=10000)
    ap.add_argument("--warmup", type=float, default=8.0, help="seconds of feeding before measuring")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of the measuring window")
    ap.add_argument("--status-reps", type=int, default=5)
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--label", default="", help="a name for this run in the table")
    ap.add_argument("--no-feed", action="store_true",
                    help="no batches: start, RSS and /v1/status of an idle engine (checks unknown), for sizes "
                         "the feeders cannot keep up with")
    args = ap.parse_args()
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        os.environ.pop(k, None)

    tmp = tempfile.mkdtemp(prefix="vigil-engine-scale-")
    port = free_port()
    listen = f"127.0.0.1:{port}"
    url = f"http://{listen}"
    key_file = os.path.join(tmp, "agent.key")
    with open(key_file, "w") as f:
        f.write(AGENT_KEY + "\n")
    os.chmod(key_file, 0o600)
    config = os.path.join(tmp, "vigil.yaml")
    with open(config, "w") as f:
        f.write(config_yaml(args.checks, listen, os.path.join(tmp, "state"), key_file))
    ids = check_ids(args.checks)
    log = open(os.path.join(tmp, "engine.log"), "w")
    figures = {"checks": args.checks, "vantages": len(VANTAGES), "label": args.label,
               "config_bytes": os.path.getsize(config)}
    t0 = time.monotonic()
    proc = subprocess.Popen([args.vigil, "engine", "--config", config], stdout=log, stderr=subprocess.STDOUT)
    stop = threading.Event()
    feeders = []
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"engine exited {proc.returncode}: {open(log.name).read()[-2000:]}")
            try:
                if http("GET", url + "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() - t0 > 300:
                raise RuntimeError("engine did not answer /healthz within 300 s")
            time.sleep(0.01)
        figures["start_s"] = time.monotonic() - t0
        figures["start_cpu_s"] = proc_cpu_s(proc.pid)
        figures["rss_after_start_mib"] = proc_status(proc.pid)["VmRSS"]

        feeders = [] if args.no_feed else [Feeder(url, v, ids, stop) for v in VANTAGES]
        for fd in feeders:
            fd.start()
        time.sleep(args.warmup)
        status_doc = json.loads(http("GET", url + "/v1/status")[1])
        figures["checks_up_after_warmup"] = sum(1 for c in status_doc.get("checks", []) if c.get("state") == "up")

        before = tick_histogram(http("GET", url + "/metrics")[1].decode())
        cpu0, w0 = proc_cpu_s(proc.pid), time.monotonic()
        window_start = time.monotonic()
        # Status requests spread over the window, the feeders going on.
        queries = {"full": "/v1/status", "summary": "/v1/status?summary=1",
                   "filtered": f"/v1/status?region={REGIONS[0]}&check={service_name(123)}"}
        status_figs = {k: {"s": [], "bytes": 0, "status": 0} for k in queries}
        status_windows = []
        gap = args.duration / (args.status_reps * len(queries) + 1)
        for _ in range(args.status_reps):
            for name, path in queries.items():
                time.sleep(gap)
                t_req = time.monotonic()
                st, body, took = http("GET", url + path, timeout=60)
                status_windows.append((t_req, t_req + took))
                status_figs[name]["s"].append(took)
                status_figs[name]["bytes"] = len(body)
                status_figs[name]["status"] = st
        time.sleep(max(0.0, window_start + args.duration - time.monotonic()))
        after = tick_histogram(http("GET", url + "/metrics")[1].decode())
        cpu1, w1 = proc_cpu_s(proc.pid), time.monotonic()
        figures["loadavg_1m"] = os.getloadavg()[0]
        mem = proc_status(proc.pid)
        figures["rss_mib"], figures["hwm_mib"] = mem["VmRSS"], mem["VmHWM"]
        figures["engine_cpu_share"] = (cpu1 - cpu0) / (w1 - w0)

        n = after[2] - before[2]
        figures["ticks"] = n
        figures["tick_mean_ms"] = (after[1] - before[1]) / n * 1000 if n else float("nan")
        le5 = after[0].get(0.005, 0) - before[0].get(0.005, 0)
        figures["ticks_le_5ms_share"] = le5 / n if n else float("nan")
        p99_bound = None
        for le in sorted(after[0]):
            if n and (after[0][le] - before[0].get(le, 0)) >= 0.99 * n:
                p99_bound = le
                break
        figures["tick_p99_bucket_s"] = p99_bound
        for name, f in status_figs.items():
            figures[f"status_{name}_median_ms"] = statistics.median(f["s"]) * 1000
            figures[f"status_{name}_max_ms"] = max(f["s"]) * 1000
            figures[f"status_{name}_bytes"] = f["bytes"]
            figures[f"status_{name}_http"] = f["status"]
        lat = [(t, s) for fd in feeders for (t, s, _) in fd.latencies if t >= window_start]
        all_s = [s for _, s in lat]
        during = [s for t, s in lat if any(a - 0.05 <= t <= b for a, b in status_windows)]
        figures["batches"] = len(all_s)
        figures["batch_obs"] = len(ids) // 2 if len(ids) // 2 <= MAX_PER_BATCH else MAX_PER_BATCH
        if not all_s:
            all_s = [float("nan")]
        figures["batch_p50_ms"] = percentile(all_s, 50) * 1000
        figures["batch_p99_ms"] = percentile(all_s, 99) * 1000
        figures["batch_max_ms"] = max(all_s) * 1000 if all_s else float("nan")
        figures["batch_during_status_max_ms"] = max(during) * 1000 if during else None
        figures["batch_errors"] = sum(len(fd.errors) for fd in feeders)
        if figures["batch_errors"]:
            figures["first_error"] = next(fd.errors[0] for fd in feeders if fd.errors)
    finally:
        stop.set()
        for fd in feeders:
            fd.join(30)
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    f = figures
    print(f"| checks x vantages | start | RSS (HWM) | tick mean / <=5 ms / p99 bucket | status full | "
          f"summary | region+check | batch p50 / p99 / max (during status) | engine CPU | load 1m |")
    print("|---|---:|---:|---|---|---|---|---|---:|---:|")
    print(f"| {f['checks']:,} x {f['vantages']} {f['label']} | {f['start_s']:.2f} s ({f['start_cpu_s']:.2f} s CPU) | "
          f"{f['rss_mib']:.0f} ({f['hwm_mib']:.0f}) MiB | "
          f"{f['tick_mean_ms']:.2f} ms / {f['ticks_le_5ms_share'] * 100:.0f} % / <= {f['tick_p99_bucket_s']} s | "
          f"{f['status_full_median_ms']:.0f} ms, {f['status_full_bytes'] / 1e6:.1f} MB | "
          f"{f['status_summary_median_ms']:.1f} ms, {f['status_summary_bytes']:,} B (HTTP {f['status_summary_http']}) | "
          f"{f['status_filtered_median_ms']:.1f} ms, {f['status_filtered_bytes']:,} B | "
          f"{f['batch_p50_ms']:.0f} / {f['batch_p99_ms']:.0f} / {f['batch_max_ms']:.0f} "
          f"({f['batch_during_status_max_ms'] or 0:.0f}) ms | {f['engine_cpu_share'] * 100:.0f} % | "
          f"{f['loadavg_1m']:.1f} |")
    print(json.dumps(figures), file=sys.stderr)
    return 1 if figures["batch_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
