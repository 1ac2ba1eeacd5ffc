#!/usr/bin/env python3
"""Objectives and scheduled drills against a real `vigil engine` (127.0.0.1).

The engine runs with `objectives: {rto: 1m, rpo: 5s}`, `drill: {schedule: 3s}`
and one webhook paging sink (a recorder in this process). Its plan has an exec
step and a verify step, never executed for real, so the estimate is the
detection bound + the 5 min default approval + both step timeouts, above
the 1 min objective:

  1. scheduled drills (dry run with pre-checks) are recorded in
     state_dir/timelines.jsonl (0600) and listed by GET /v1/objectives;
  2. the estimate's terms, the objective and the gauges agree;
  3. exactly one objectives-rto warning page is triggered;
  4. `vigil objectives` prints the breakdown and the trend, exit 1;
     a manual `vigil drill` joins the trend;
  5. the objective is raised to 1h and the engine reloaded (SIGHUP): the
     warning page is resolved, /v1/objectives says within.

Environment: VIGIL_BIN (the vigil binary). VIGIL_KEEP_TEST=1 keeps the files.
"""
import json
import math
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "status_page"))
from vigil_harness import Engine, http, vigil_bin, wait_until  # noqa: E402


class Sink(BaseHTTPRequestHandler):
    """POST /hook: every page the engine delivers, as JSON."""
    pages = []
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with Sink.lock:
            Sink.pages.append(json.loads(body)["page"])  # {"version", "idempotency_key", "page"}
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def notice_pages(action):
    """Distinct deliveries (by sequence) of the objectives-rto page with `action`."""
    with Sink.lock:
        return {p["sequence"] for p in Sink.pages
                if p["incident_id"].endswith("/notice/objectives-rto") and p["action"] == action}


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not exposed")


class Objectives(unittest.TestCase):
    def setUp(self):
        Sink.pages = []
        self.sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        self.sink.daemon_threads = True
        threading.Thread(target=self.sink.serve_forever, daemon=True).start()
        hook = f"http://127.0.0.1:{self.sink.server_address[1]}/hook"
        fd, self.secret = tempfile.mkstemp(prefix="vigil-objectives-hook-")
        os.write(fd, b"objectives-test-webhook-secret\n")
        os.close(fd)
        self.engine = Engine(extra_yaml="objectives: {rto: 1m, rpo: 5s}\ndrill: {schedule: 3s}\n",
                             paging=f"[{{kind: webhook, name: hook, url: '{hook}', secret_file: {self.secret}, "
                                    "timeout: 2s}]")

    def tearDown(self):
        self.engine.stop()
        self.sink.shutdown()
        self.sink.server_close()
        os.unlink(self.secret)
        if os.environ.get("VIGIL_KEEP_TEST"):
            print("kept", self.engine.dir)
        else:
            self.engine.cleanup()

    def objectives(self):
        return self.engine.get_json("/v1/objectives")

    def test_scheduled_drills_estimate_and_warning(self):
        e = self.engine
        # 1. Two scheduled drills recorded (3 s +-10 % apart, the first one period after start).
        doc = wait_until(lambda: (lambda d: d if len(d["drills"]["trend"]) >= 2 else None)(self.objectives()),
                         40, "two scheduled drills in /v1/objectives")
        for d in doc["drills"]["trend"]:
            self.assertTrue(d["scheduled"], d)
            self.assertEqual(d["result"], "done", d)
            self.assertEqual(d["steps"], 2, d)
            self.assertIsNotNone(d["plan_s"], d)
        self.assertEqual(doc["drills"]["schedule_s"], 3)
        path = os.path.join(e.dir, "state", "timelines.jsonl")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        self.assertGreaterEqual(len(lines), 2)
        self.assertTrue(all(t["kind"] == "drill" and t["scheduled"] and t["dry_run"] for t in lines))
        self.assertTrue(all(s["started"] and s["finished"] for t in lines for s in t["steps"]))

        # 2. The estimate: detection (fall 2 x 500ms + confirm_for 1s + 2 ticks of 250ms) + default
        # approval + both step timeouts (drills are dry runs: their durations never count).
        rto = doc["rto"]
        terms = {(t["term"], t.get("name")): t for t in rto["terms"]}
        self.assertAlmostEqual(terms[("detection", None)]["seconds"], 2.5)
        self.assertEqual(terms[("approval", None)]["source"], "default")
        self.assertEqual(terms[("approval", None)]["seconds"], 300)
        self.assertEqual(terms[("step", "announce")]["source"], "timeout")
        self.assertEqual(terms[("step", "announce")]["seconds"], 10)
        self.assertEqual(terms[("step", "verify-dr")]["source"], "timeout")
        self.assertAlmostEqual(rto["estimate_s"], sum(t["seconds"] for t in rto["terms"]))
        self.assertEqual(rto["objective_s"], 60)
        self.assertTrue(rto["exceeds"])
        self.assertIsNone(doc["rpo"]["exposure_s"])  # no lag sample
        self.assertEqual(doc["rpo"]["objective_s"], 5)
        _, body = http("GET", e.url + "/metrics")
        text = body.decode()
        self.assertAlmostEqual(metric(text, "vigil_rto_estimate_seconds"), rto["estimate_s"])
        self.assertEqual(metric(text, "vigil_rto_objective_seconds"), 60)
        self.assertEqual(metric(text, "vigil_rpo_objective_seconds"), 5)
        self.assertTrue(math.isnan(metric(text, "vigil_rpo_exposure_seconds")))

        # 3. One warning page while the estimate exceeds the objective, however often it is evaluated.
        wait_until(lambda: notice_pages("trigger"), 20, "the objectives-rto page at the webhook")
        self.assertEqual(len(notice_pages("trigger")), 1)
        self.assertEqual(notice_pages("resolve"), set())

        # 4. The CLI: breakdown, trend, exit 1 while exceeded; a manual drill joins the trend.
        r = subprocess.run([vigil_bin(), "objectives", "--engine", e.url], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("EXCEEDS", r.stdout)
        self.assertIn("step verify-dr", r.stdout)
        self.assertIn("scheduled", r.stdout)
        r = subprocess.run([vigil_bin(), "drill", "--config", e.config], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("timeline recorded in", r.stdout)
        wait_until(lambda: any(not d["scheduled"] for d in self.objectives()["drills"]["trend"]), 20,
                   "the manual drill in the trend")
        r = subprocess.run([vigil_bin(), "objectives", "--engine", e.url, "--json"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertTrue(json.loads(r.stdout)["rto"]["exceeds"])

        # 5. A raised objective, reloaded: the warning is resolved.
        with open(e.config) as f:
            config = f.read()
        with open(e.config, "w") as f:
            f.write(config.replace("objectives: {rto: 1m, rpo: 5s}", "objectives: {rto: 1h, rpo: 5s}"))
        e.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: notice_pages("resolve"), 20, "the objectives-rto page resolved")
        doc = self.objectives()
        self.assertFalse(doc["rto"]["exceeds"])
        self.assertEqual(doc["rto"]["objective_s"], 3600)
        self.assertEqual(len(notice_pages("trigger")), 1)
        _, body = http("GET", e.url + "/metrics")
        self.assertEqual(metric(body.decode(), "vigil_rto_objective_seconds"), 3600)
        r = subprocess.run([vigil_bin(), "objectives", "--engine", e.url], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("within", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
