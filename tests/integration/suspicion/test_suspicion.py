#!/usr/bin/env python3
"""Suspicion mode with a real agent (python3 stdlib only, everything on 127.0.0.1).

One `vigil agent` probes two checks of a local HTTP target every 3s; the
primary's has fast_interval 300ms (fall 3, rise 2), the dr's inherits nothing.
The same server stands in for the engine: it records every batch. The target
then fails the primary's path, and later heals it.

Asserted from what the server saw (counts and order, no wall-clock bounds:
that a re-probe never starts early is a unit test with the injected clock,
tests/unit/detector/scheduler_test.cpp):
  - failing: the first failed probe is a grid round, then exactly fall - 1 = 2
    re-probes marked "fast": true, then the interval again (no more fast);
  - healed: the first success is a grid round, then rise - 1 = 1 fast re-probe;
  - every request the target saw is one observation in the batches;
  - the dr check, always healthy, was never re-probed (steady state costs nothing).

Environment: VIGIL_BIN (the vigil binary); VIGIL_KEEP_E2E=1 keeps the logs.
"""
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

VIGIL = os.environ.get("VIGIL_BIN", "vigil")
FAST_MS = 300


class World:
    def __init__(self):
        self.lock = threading.Lock()
        self.failing = False
        self.requests = {"/primary": [], "/dr": []}  # (monotonic time, status answered)
        self.observations = []  # (check, outcome, fast) in arrival order

    def count(self, path):
        with self.lock:
            return len(self.requests[path])


def make_handler(world):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, body=b"ok"):
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            with world.lock:
                status = 503 if (self.path == "/primary" and world.failing) else 200
                if self.path in world.requests:
                    world.requests[self.path].append((time.monotonic(), status))
            self.answer(status)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            doc = json.loads(body)
            with world.lock:
                for o in doc.get("observations", []):
                    world.observations.append((o["check"], o["outcome"], o.get("fast", False)))
            self.answer(202, b'{"accepted":1}')

    return Handler


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Suspicion(unittest.TestCase):
    def setUp(self):
        self.world = World()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(self.world))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.tmp = tempfile.mkdtemp(prefix="vigil-suspicion-")
        self.agent = None
        self.log = None

    def tearDown(self):
        if self.agent and self.agent.poll() is None:
            self.agent.terminate()
            self.agent.wait(timeout=30)
        self.server.shutdown()
        self.server.server_close()
        if self.log:
            self.log.close()
        if os.environ.get("VIGIL_KEEP_E2E") == "1":
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def test_reprobes_at_fast_interval_until_the_verdict_settles(self):
        port = self.server.server_address[1]
        base = f"http://127.0.0.1:{port}"
        cfg = os.path.join(self.tmp, "vigil.yaml")
        with open(cfg, "w") as f:
            f.write(f"""deployment: suspicion
regions: [{{name: r1, role: primary}}, {{name: r2, role: dr}}]
vantages: [local]
decision: {{quorum: 1, fall: 3, rise: 2}}
engine: {{agent_key: k, endpoints: ['{base}']}}
probe_defaults: {{interval: 3s, timeout: 1s, jitter: 0}}
region_checks:
  - {{name: web, region: r1, fast_interval: {FAST_MS}ms, http: {{url: '{base}/primary'}}}}
  - {{name: web, region: r2, http: {{url: '{base}/dr'}}}}
""")
        self.log = log = open(os.path.join(self.tmp, "agent.log"), "w")
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        self.agent = subprocess.Popen([VIGIL, "agent", "--config", cfg, "--vantage", "local"], stdout=log,
                                      stderr=subprocess.STDOUT, env=env)
        w = self.world
        wait_until(lambda: w.count("/primary") >= 2, 60, "two healthy rounds")
        with w.lock:
            w.failing = True
            healthy = len(w.requests["/primary"])
        # One failed grid round, two re-probes (down), then two more grid rounds.
        wait_until(lambda: w.count("/primary") >= healthy + 5, 90, "the failure to be probed")
        with w.lock:
            w.failing = False
            failed = len(w.requests["/primary"]) - healthy
        # One grid success, one re-probe (rise 2: up), then one more grid round.
        wait_until(lambda: w.count("/primary") >= healthy + failed + 3, 90, "the recovery to be probed")
        self.agent.terminate()  # flushes what it observed
        self.assertEqual(self.agent.wait(timeout=60), 0)

        with w.lock:
            requests = list(w.requests["/primary"])
            self.assertEqual([status for _, status in requests],
                             [200] * healthy + [503] * failed + [200] * (len(requests) - healthy - failed))
            obs = [o for o in w.observations if o[0] == "web@r1"]
            dr_obs = [o for o in w.observations if o[0] == "web@r2"]
            dr_requests = len(w.requests["/dr"])
        # Every request the target saw reached the engine as one observation.
        self.assertEqual(len(obs), len(requests), obs)
        self.assertEqual(len(dr_obs), dr_requests)
        self.assertGreaterEqual(dr_requests, 3)
        self.assertFalse(any(fast for _, _, fast in dr_obs), "a healthy check was re-probed")

        fast = [f for _, _, f in obs]
        ok = [outcome == "ok" for _, outcome, _ in obs]
        self.assertEqual(ok[:healthy], [True] * healthy)
        self.assertEqual(fast[:healthy], [False] * healthy, "healthy rounds are grid rounds")
        # Failing: grid, fast, fast (down after fall = 3), then grid rounds only.
        self.assertEqual(ok[healthy:healthy + failed], [False] * failed)
        self.assertEqual(fast[healthy:healthy + failed], [False, True, True] + [False] * (failed - 3))
        # Healed: grid, fast (up after rise = 2), then grid rounds only.
        rest = fast[healthy + failed:]
        self.assertTrue(all(ok[healthy + failed:]))
        self.assertEqual(rest[:2], [False, True])
        self.assertEqual(rest[2:], [False] * (len(rest) - 2))


if __name__ == "__main__":
    unittest.main()
