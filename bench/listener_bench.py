#!/usr/bin/env python3
"""How many idle connections, and how many concurrent GET /v1/status, a real engine
takes while its three real agents are still served (bench/RESULTS.md, "Listener
isolation"). Uses the rig of tests/integration/listener (engine.metrics_listen set;
the API listener holds 1024 connections, 256 per address: every client here is
127.0.0.1). All traffic is on 127.0.0.1.

For each phase (--seconds long) it prints: batches accepted per second (vs the calm
rate before), the share of one-second samples with every vantage present and both
regions healthy, /healthz answers on the metrics listener, and the attacker's figures.

  VIGIL_BIN=build/app/vigil python3 bench/listener_bench.py --idle 1000,4000 --status 100,1000
"""
import argparse
import os
import sys
import time

SRC = os.environ.get("VIGIL_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
sys.path.insert(0, os.path.join(SRC, "tests", "support"))
sys.path.insert(0, os.path.join(SRC, "tests", "integration", "listener"))

import conn_flood  # noqa: E402
from test_listener import ListenerRig  # noqa: E402


def sample(rig, seconds):
    """(batches/s, share healthy, share /healthz ok) over `seconds` of one-second samples."""
    n = good = health = 0
    t0, b0 = time.monotonic(), rig.batches()
    while time.monotonic() - t0 < seconds:
        tick = time.monotonic()
        n += 1
        if conn_flood.get(rig.mbase + "/healthz", timeout=5)[0] == 200:
            health += 1
        text = rig.metrics()
        if text and rig.healthy(text):
            good += 1
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    return (rig.batches() - b0) / (time.monotonic() - t0), good / n, health / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", default="1000,2000,4000")
    ap.add_argument("--status", default="100,500,1000")
    ap.add_argument("--seconds", type=float, default=15)
    a = ap.parse_args()
    idles = [int(x) for x in a.idle.split(",") if x]
    statuses = [int(x) for x in a.status.split(",") if x]
    rig = ListenerRig(fd_need=max(idles + [0]) + 4096)
    try:
        rig.write_config()
        rig.start()
        calm, good, health = sample(rig, a.seconds)
        print(f"| calm | - | {calm:.2f} | {good:.0%} | {health:.0%} | - |", flush=True)
        for n in idles:
            holder = conn_flood.IdleHolder(rig.api_port, n).start()
            loris = conn_flood.Slowloris(rig.api_port).start()
            time.sleep(3)
            rate, good, health = sample(rig, a.seconds)
            loris.stop()
            holder.stop()
            print(f"| {n} idle + slowloris | held {holder.held}, connects {holder.opened}, connect errors "
                  f"{holder.failed} | {rate:.2f} | {good:.0%} | {health:.0%} | slowloris dropped "
                  f"{len(loris.lasted)}x |", flush=True)
            time.sleep(3)
        for c in statuses:
            flood = conn_flood.StatusFlood(f"http://127.0.0.1:{rig.api_port}/v1/status", c).start()
            t0 = time.monotonic()
            rate, good, health = sample(rig, a.seconds)
            flood.stop()
            took = time.monotonic() - t0
            print(f"| {c} concurrent GET /v1/status | {flood.ok / took:.0f} answered/s, {flood.failed} failed "
                  f"of {flood.ok + flood.failed} | {rate:.2f} | {good:.0%} | {health:.0%} | - |", flush=True)
            time.sleep(3)
        print("engine log:", rig.engine.log)
    finally:
        rig.down()


if __name__ == "__main__":
    main()
