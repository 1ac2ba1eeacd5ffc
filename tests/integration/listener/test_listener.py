#!/usr/bin/env python3
"""Listener isolation, with real processes on 127.0.0.1 (python3 stdlib only).

One `vigil engine` (engine.metrics_listen set; the API listener holds 1024
connections, 256 per address, and wants the request head within 5 s) and three
`vigil agent` processes probing a local health server. Then the test holds 640 idle connections on the API
listener (re-opened as the engine drops them) and runs a slowloris (one byte
of a request head per second). Throughout:

  - /healthz on the metrics listener answers,
  - the agents' batches keep arriving: every vantage stays present and both
    regions stay classified healthy (read from /metrics on the metrics listener),
  - the slowloris is dropped within the 5 s head deadline (plus slack),
  - GET /v1/status on the API listener is still served.

Bounds are generous (a busy 2-core machine): 90% of the one-second samples.
Environment: VIGIL_BIN, VIGIL_SOURCE_DIR, VIGIL_KEEP_E2E=1 keeps the logs.
"""
import os
import re
import shutil
import sys
import tempfile
import time
import unittest

SRC = os.environ.get("VIGIL_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
sys.path.insert(0, os.path.join(SRC, "tests", "support"))

import conn_flood  # noqa: E402
from e2e_rig import REGIONS, VIGIL, Health, Proc, free_port, serve, wait_until, write_checked_config  # noqa: E402

VANTAGES = ("us-east-1", "us-west-2", "eu-west-1")
IDLE = 640
ATTACK_S = 40
HEADER_TIMEOUT_S = 5   # app/listeners.hpp
PER_ADDRESS = 256      # app/listeners.hpp: every client here is 127.0.0.1


def metric_lines(text, name):
    """{frozenset of (label, value): value} of one metric family in a text exposition."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if m:
            out[frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(1)))] = float(m.group(2))
    return out


def labels(**kv):
    return frozenset(kv.items())


class ListenerRig:
    """A temporary directory, the health server, one engine and three agents (also used by
    bench/listener_bench.py)."""

    def __init__(self, fd_need=IDLE + 512):
        self.dir = tempfile.mkdtemp(prefix="vigil-listener-")
        self.procs = []
        Health.failed = set()
        self.health = serve(Health)
        conn_flood.raise_fd_limit(fd_need)

    def down(self):
        for p in reversed(self.procs):
            p.stop()
        self.health.shutdown()
        if os.environ.get("VIGIL_KEEP_E2E"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def write_config(self, test=None):
        hp = self.health.server_address[1]
        self.api_port, self.metrics_port = free_port(), free_port()
        self.mbase = f"http://127.0.0.1:{self.metrics_port}"
        with open(os.path.join(self.dir, "agent.key"), "w") as f:
            f.write("listener-agent-key\n")
        os.chmod(os.path.join(self.dir, "agent.key"), 0o600)
        lines = [
            "deployment: listener",
            "regions:", "  - {name: us-east-1, role: primary}", "  - {name: us-west-2, role: dr}",
            f"vantages: [{', '.join(VANTAGES)}]",
            # stale_after 6s: a vantage goes absent after ~6 lost batches, not one late one
            "decision: {tick: 250ms, fall: 2, rise: 2, stale_after: 6s, confirm_for: 1s, clear_for: 10s}",
            "probe_defaults: {interval: 500ms, timeout: 400ms}",
            "services:", "  - name: api", "    checks:",
        ]
        for r in REGIONS:
            lines.append(f"      - {{region: {r}, http: {{url: 'http://127.0.0.1:{hp}/health/{r}/api'}}}}")
        lines += [
            "engine:",
            f"  listen: 127.0.0.1:{self.api_port}",
            f"  metrics_listen: 127.0.0.1:{self.metrics_port}",
            f"  endpoints: [http://127.0.0.1:{self.api_port}]",
            "  agent_key_file: agent.key",
            f"  state_dir: {os.path.join(self.dir, 'state')}",
            "coordination: {backend: file}",
            "logging: {level: info}",
        ]
        path = os.path.join(self.dir, "vigil.yaml")
        if test is not None:
            self.config = write_checked_config(test, path, lines)
        else:
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            self.config = path

    def start(self):
        """The engine, then the agents; returns once every vantage is present and both regions healthy."""
        self.engine = Proc([VIGIL, "engine", "--config", self.config], os.path.join(self.dir, "engine.log"),
                           cwd=self.dir)
        self.procs.append(self.engine)
        wait_until(lambda: conn_flood.get(self.mbase + "/healthz", timeout=1)[0] == 200, 30, "metrics /healthz")
        for v in VANTAGES:
            self.procs.append(Proc([VIGIL, "agent", "--config", self.config, "--vantage", v],
                                   os.path.join(self.dir, f"agent-{v}.log"), cwd=self.dir))
        wait_until(lambda: (lambda t: t and self.healthy(t))(self.metrics()), 60, "vantages present, regions healthy")

    def metrics(self):
        status, body = conn_flood.get(self.mbase + "/metrics", timeout=5)
        return body.decode() if status == 200 else None

    @staticmethod
    def healthy(text):
        """Every vantage present and both regions healthy in one exposition."""
        vs = metric_lines(text, "vigil_vantage_state")
        rs = metric_lines(text, "vigil_region_classification")
        return (all(vs.get(labels(vantage=v, state="present")) == 1 for v in VANTAGES)
                and all(rs.get(labels(region=r, classification="healthy")) == 1 for r in REGIONS))

    def batches(self):
        return sum(metric_lines(self.metrics() or "", "vigil_batches_received_total").values())

    def batch_rate(self, seconds):
        t0, b0 = time.monotonic(), self.batches()
        time.sleep(seconds)
        return (self.batches() - b0) / (time.monotonic() - t0)


class ListenerIsolation(unittest.TestCase):
    def setUp(self):
        self.rig = ListenerRig()

    def tearDown(self):
        self.rig.down()

    def test_agents_and_health_are_served_under_idle_and_slow_clients(self):
        rig = self.rig
        rig.write_config(self)
        rig.start()
        engine, mbase = rig.engine, rig.mbase
        # The metrics listener serves only health and metrics.
        self.assertEqual(conn_flood.get(mbase + "/v1/status")[0], 404)
        calm_rate = rig.batch_rate(8)  # batches per second before the attack
        self.assertGreater(calm_rate, 1.0)

        holder = conn_flood.IdleHolder(rig.api_port, IDLE).start()
        loris = conn_flood.Slowloris(rig.api_port).start()
        try:
            wait_until(lambda: holder.opened >= IDLE, 30, f"{IDLE} idle connections opened")
            samples = health_ok = good = 0
            peak_open = 0
            status_ok = 0
            a0, b1 = time.monotonic(), rig.batches()
            end = a0 + ATTACK_S
            while time.monotonic() < end:
                tick = time.monotonic()
                samples += 1
                if conn_flood.get(mbase + "/healthz", timeout=5)[0] == 200:
                    health_ok += 1
                text = rig.metrics()
                if text and rig.healthy(text):
                    good += 1
                if text:
                    peak_open = max(peak_open, metric_lines(text, "vigil_http_connections").get(labels(listener="api"), 0))
                if samples % 5 == 0 and conn_flood.get(f"http://127.0.0.1:{rig.api_port}/v1/status",
                                                       timeout=10)[0] == 200:
                    status_ok += 1
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
            attack_rate = (rig.batches() - b1) / (time.monotonic() - a0)
            final = rig.metrics() or ""
        finally:
            loris.stop()
            holder.stop()
        closed = metric_lines(final, "vigil_http_connections_closed_total")
        report = (f"samples {samples}: /healthz ok {health_ok}, all present+healthy {good}; batches/s calm "
                  f"{calm_rate:.2f}, attack {attack_rate:.2f}; api connections peak {peak_open}; opened "
                  f"{holder.opened}, dropped {holder.dropped}; slowloris dropped {len(loris.lasted)}x, longest {max(loris.lasted, default=0):.1f} s; "
                  f"/v1/status ok {status_ok}; closed {closed}; engine log {engine.log}")
        print(report)
        self.assertGreaterEqual(peak_open, PER_ADDRESS, report)  # the listener really was held at its caps
        self.assertGreater(closed.get(labels(listener="api", reason="evicted"), 0), 0, report)
        self.assertGreaterEqual(health_ok, 0.9 * samples, report)
        self.assertGreaterEqual(good, 0.9 * samples, report)
        self.assertTrue(rig.healthy(final), report)
        self.assertGreaterEqual(attack_rate, 0.5 * calm_rate, report)
        self.assertGreaterEqual(status_ok, 1, report)
        self.assertTrue(loris.lasted, report)  # dropped at least once
        self.assertLess(min(loris.lasted), HEADER_TIMEOUT_S + 10, report)
        self.assertEqual(engine.p.poll(), None, "the engine is still running")


if __name__ == "__main__":
    unittest.main(verbosity=2)
