#!/usr/bin/env python3
"""Pages survive an engine restart, none lost and none triggered twice.

Real processes on 127.0.0.1 (python3 stdlib only): `vigil engine`, three
`vigil agent`s probing a fault-injecting health server, and the strict fake
PagerDuty (tests/support/fake_pagerduty.py), which validates every event
against the Events v2 schema and counts triggers per dedup key.

  1. us-east-1 fails while PagerDuty answers 500: the trigger waits in the
     durable outbox. The engine is killed with SIGKILL, PagerDuty comes back,
     the engine restarts on the same state directory: the trigger is delivered
     exactly once, under the incident id of the first run.
  2. SIGKILL again mid-incident, the outage goes on: the restarted engine
     continues the incident (same id in /v1/status) and sends no second
     trigger, no new dedup key.
  3. SIGKILL, the region heals while the engine is down, restart: the incident
     is resolved exactly once under its id.

A second sink, the HMAC-signed webhook (received by the same fake on /hook),
is checked as a receiver would (signature over timestamp + "." + body) and
must have seen exactly one trigger and one resolve of the incident.

A second case: the recommendation and the cooldown
survive a restart. An approval token signed before a SIGKILL is accepted
after the restart (same recommendation id and hash, state_dir/shared/decision),
and the cooldown its plan started is still there after one more restart.

Environment: VIGIL_BIN (the vigil binary), VIGIL_SOURCE_DIR (the source tree),
VIGIL_PYTHON (default: this interpreter). VIGIL_KEEP_TEST=1 keeps the files.
"""
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "status_page"))
from vigil_harness import free_port, http, wait_until  # noqa: E402

VIGIL = os.environ.get("VIGIL_BIN", "vigil")
SRC = os.environ.get("VIGIL_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
PYTHON = os.environ.get("VIGIL_PYTHON", sys.executable)
SERVICES = ("api-web", "checkout")
REGIONS = ("us-east-1", "us-west-2")
ROUTING_KEY = "R0123456789abcdef0123456789ABCDE"
WEBHOOK_SECRET = "paging-restart-webhook-secret"
DEPLOYMENT = "paging-restart"


def post(url, body):
    return http("POST", url, json.dumps(body), {"Content-Type": "application/json"}, timeout=5)


class Health(BaseHTTPRequestHandler):
    """GET /health/<region>/<service>: 200, or 503 while the region is failed."""
    failed = set()

    def log_message(self, *a):
        pass

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        down = len(parts) == 3 and parts[1] in Health.failed
        body = json.dumps({"status": "DOWN" if down else "UP"}).encode()
        self.send_response(503 if down else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Proc:
    def __init__(self, argv, log, cwd=None):
        self.log = log
        self._f = open(log, "a")
        self.p = subprocess.Popen(argv, stdout=self._f, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)

    def kill9(self):
        self.p.kill()  # SIGKILL: no shutdown path runs
        self.p.wait()
        self._f.close()

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if not self._f.closed:
            self._f.close()

    def text(self):
        with open(self.log) as f:
            return f.read()


class PagingRestart(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-paging-restart-")
        self.procs = []
        Health.failed = set()
        self.health = ThreadingHTTPServer(("127.0.0.1", 0), Health)
        self.health.daemon_threads = True
        threading.Thread(target=self.health.serve_forever, daemon=True).start()
        self.fake_log = open(os.path.join(self.dir, "fake_pagerduty.log"), "w")
        self.fake = subprocess.Popen([PYTHON, os.path.join(SRC, "tests", "support", "fake_pagerduty.py")],
                                     stdout=subprocess.PIPE, stderr=self.fake_log, text=True)
        line = self.fake.stdout.readline()
        self.assertTrue(line.startswith("PORT "), line)
        self.pd = f"http://127.0.0.1:{int(line.split()[1])}"
        self.engine = None

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()
        if self.engine:
            self.engine.stop()
        self.fake.terminate()
        self.fake.wait(10)
        self.fake.stdout.close()
        self.fake_log.close()
        self.health.shutdown()
        self.health.server_close()
        if os.environ.get("VIGIL_KEEP_TEST"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def write_config(self, approvals=False):
        hp = self.health.server_address[1]
        self.engine_port = free_port()
        self.engine_url = f"http://127.0.0.1:{self.engine_port}"
        self.state_dir = os.path.join(self.dir, "state")
        for name, text in (("agent.key", "paging-restart-agent-key"), ("webhook.secret", WEBHOOK_SECRET)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text + "\n")
            os.chmod(os.path.join(self.dir, name), 0o600)
        lines = [
            f"deployment: {DEPLOYMENT}",
            "regions:", "  - {name: us-east-1, role: primary}", "  - {name: us-west-2, role: dr}",
            "vantages: [us-east-1, us-west-2, eu-west-1]",
            "decision: {tick: 250ms, fall: 2, rise: 2, stale_after: 3s, confirm_for: 1s, clear_for: 2s,",
            "           service_page_grace: 1s, cooldown: 5m, recommendation_ttl: 10m}",
            "probe_defaults: {interval: 300ms, timeout: 250ms}",
            "services:",
        ]
        for s in SERVICES:
            lines += [f"  - name: {s}", "    checks:"]
            for r in REGIONS:
                lines.append(f"      - {{region: {r}, http: {{url: 'http://127.0.0.1:{hp}/health/{r}/{s}'}}}}")
        lines += [
            "engine:",
            f"  listen: 127.0.0.1:{self.engine_port}",
            f"  endpoints: [{self.engine_url}]",
            "  agent_key_file: agent.key",
            f"  state_dir: {self.state_dir}",
            "paging:",
            f"  - {{kind: pagerduty, name: pd, routing_key: {ROUTING_KEY}, url: '{self.pd}/v2/enqueue', timeout: 2s}}",
            f"  - {{kind: webhook, name: hook, url: '{self.pd}/hook', secret_file: webhook.secret, timeout: 2s}}",
            "logging: {level: info}",
        ]
        if approvals:
            subprocess.run([VIGIL, "keygen", "--out", os.path.join(self.dir, "alice")], check=True,
                           stdout=subprocess.DEVNULL)
            lines += ["approvals:", "  required: 1", "  max_ttl: 15m", "  approvers:",
                      "    - {id: alice, public_key_file: alice.pub}",
                      "plan:", "  failover:", "    dry_run: false", "    steps:",
                      "      - {name: note, kind: exec, command: [/bin/true], timeout: 10s}"]
        self.config = os.path.join(self.dir, "vigil.yaml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([VIGIL, "check-config", self.config], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def start_engine(self):
        self.engine = Proc([VIGIL, "engine", "--config", self.config], os.path.join(self.dir, "engine.log"),
                           cwd=self.dir)
        wait_until(lambda: http("GET", self.engine_url + "/healthz", timeout=1)[0] == 200, 30, "engine /healthz")

    def kill_engine(self):
        self.engine.kill9()
        self.engine = None

    def status(self):
        return json.loads(http("GET", self.engine_url + "/v1/status")[1])

    def classification(self, region):
        return self.status()["regions"][region]["classification"]

    def pd_stats(self):
        return json.loads(http("GET", self.pd + "/_stats")[1])

    def region_keys(self, st, region="us-east-1"):
        """Every dedup key PagerDuty saw for `region`."""
        prefix = f"{DEPLOYMENT}/{region}/"
        return sorted({e["dedup_key"] for e in st["events"] if e["dedup_key"].startswith(prefix)})

    def counts(self, st, key):
        trig = sum(1 for e in st["events"] if e["dedup_key"] == key and e["event_action"] == "trigger")
        res = sum(1 for e in st["events"] if e["dedup_key"] == key and e["event_action"] == "resolve")
        return trig, res

    def hook_pages(self, st, key):
        """The webhook sink's pages for incident `key`, each signature checked as a receiver would."""
        out = []
        for h in st["hooks"]:
            ts, body = h["headers"].get("x-vigil-timestamp", ""), h["body"]
            want = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), (ts + "." + body).encode(), hashlib.sha256).hexdigest()
            self.assertTrue(hmac.compare_digest(want, h["headers"].get("x-vigil-signature", "")), h)
            page = json.loads(body)
            self.assertEqual(h["headers"]["x-vigil-idempotency-key"], page["idempotency_key"])
            self.assertLess(abs(int(ts) - time.time()), 300, "X-Vigil-Timestamp is the page's time, in seconds")
            if page["page"]["incident_id"] == key:
                out.append(page["page"]["action"])
        return out

    def test_restarts_mid_incident_lose_nothing_and_trigger_nothing_twice(self):
        t_start = time.monotonic()
        self.write_config()
        self.start_engine()
        for v in ("us-east-1", "us-west-2", "eu-west-1"):
            self.procs.append(Proc([VIGIL, "agent", "--config", self.config, "--vantage", v],
                                   os.path.join(self.dir, f"agent-{v}.log"), cwd=self.dir))
        wait_until(lambda: all(self.classification(r) == "healthy" for r in REGIONS), 40, "both regions healthy")

        # 1. The outage while PagerDuty is failing: the trigger waits in the outbox.
        post(self.pd + "/_fail", {"status": 500, "count": 100000})
        Health.failed = {"us-east-1"}
        wait_until(lambda: self.classification("us-east-1") == "regional_outage", 30, "regional_outage")
        incident = wait_until(lambda: (self.status().get("incident") or {}).get("id"), 10, "the incident id")
        wait_until(lambda: self.pd_stats()["received"] >= 1, 20, "a delivery attempt at PagerDuty")
        self.assertEqual(self.pd_stats()["events"], [], "PagerDuty was failing: nothing may be recorded yet")
        self.kill_engine()
        post(self.pd + "/_fail", {"status": 500, "count": 0})
        self.start_engine()
        st = wait_until(lambda: (lambda s: s if self.counts(s, incident)[0] >= 1 else None)(self.pd_stats()), 30,
                        "the trigger from the outbox after the restart")
        self.assertEqual(self.region_keys(st), [incident])
        wait_until(lambda: self.classification("us-east-1") == "regional_outage", 30, "regional_outage again")
        self.assertEqual((self.status().get("incident") or {}).get("id"), incident)
        time.sleep(2)  # any page the restarted engine would send goes out in this time
        st = self.pd_stats()
        self.assertEqual(st["invalid"], 0, st["errors"])
        self.assertEqual(self.region_keys(st), [incident])
        self.assertEqual(st["incidents_opened"], {incident: 1})
        triggers_before, _ = self.counts(st, incident)
        self.assertEqual(triggers_before, 1, "the page from the outbox exactly once, no re-trigger after the restart")

        # 2. SIGKILL mid-incident, the outage goes on: no second trigger.
        self.kill_engine()
        self.start_engine()
        wait_until(lambda: self.classification("us-east-1") == "regional_outage", 30, "regional_outage after restart")
        self.assertEqual((self.status().get("incident") or {}).get("id"), incident)
        time.sleep(2)
        st = self.pd_stats()
        self.assertEqual(self.region_keys(st), [incident])
        self.assertEqual(st["incidents_opened"], {incident: 1})
        self.assertEqual(self.counts(st, incident), (triggers_before, 0), "no second trigger after a restart")

        # 3. SIGKILL, the region heals while the engine is down: resolved once after the restart.
        self.kill_engine()
        Health.failed = set()
        self.start_engine()
        st = wait_until(lambda: (lambda s: s if incident not in s["open"] else None)(self.pd_stats()), 40,
                        "the resolve of the incident that cleared while the engine was down")
        self.assertEqual(self.classification("us-east-1"), "healthy")
        self.assertIsNone(self.status().get("incident"))
        time.sleep(2)
        st = self.pd_stats()
        self.assertEqual(st["invalid"], 0, st["errors"])
        self.assertEqual(self.region_keys(st), [incident])
        self.assertEqual(self.counts(st, incident), (triggers_before, 1))
        self.assertEqual(st["open"], [])
        # The signed webhook saw the whole life of the incident across three
        # restarts: one trigger, one resolve, updates only in between.
        actions = self.hook_pages(st, incident)
        self.assertEqual(actions[0], "trigger", actions)
        self.assertEqual(actions[-1], "resolve", actions)
        self.assertEqual(actions.count("trigger"), 1, actions)
        self.assertEqual(actions.count("resolve"), 1, actions)
        # One more restart when all is well: nothing is sent again.
        self.kill_engine()
        self.start_engine()
        wait_until(lambda: all(self.classification(r) == "healthy" for r in REGIONS), 30, "healthy after restart")
        time.sleep(1)
        self.assertEqual(len(self.pd_stats()["events"]), len(st["events"]))
        print(f"paging_restart: {time.monotonic() - t_start:.1f}s", file=sys.stderr)

    def test_recommendation_and_cooldown_survive_a_restart(self):
        self.write_config(approvals=True)
        self.start_engine()
        for v in ("us-east-1", "us-west-2", "eu-west-1"):
            self.procs.append(Proc([VIGIL, "agent", "--config", self.config, "--vantage", v],
                                   os.path.join(self.dir, f"agent-{v}.log"), cwd=self.dir))
        wait_until(lambda: all(self.classification(r) == "healthy" for r in REGIONS), 40, "both regions healthy")
        Health.failed = {"us-east-1"}
        rec = wait_until(lambda: (lambda r: r if r and r.get("state") == "pending_approval" else None)(
            self.status().get("recommendation")), 30, "a recommendation pending approval")
        printed = subprocess.run([VIGIL, "approve", "--print", "--yes", "--allow-data-loss", "--key",
                                  os.path.join(self.dir, "alice.key"), "--approver", "alice", "--engine",
                                  self.engine_url], capture_output=True, text=True, timeout=60)
        self.assertEqual(printed.returncode, 0, printed.stdout + printed.stderr)
        token = next(w for w in printed.stdout.split() if w.startswith("v4.public."))

        # Restarted between the recommendation and the approval: same id, same hash, the token is accepted.
        self.kill_engine()
        self.start_engine()
        wait_until(lambda: self.classification("us-east-1") == "regional_outage", 30, "regional_outage after restart")
        after = self.status()["recommendation"]
        self.assertEqual((after["id"], after["hash"]), (rec["id"], rec["hash"]), after)
        self.assertEqual(after["state"], "pending_approval")
        st, body = http("POST", self.engine_url + "/v1/approvals", token, {"Content-Type": "text/plain"}, timeout=10)
        self.assertEqual(st, 202, body)
        cooldown = wait_until(lambda: self.status()["cooldown"]["last_failover_at"], 30, "the cooldown started")

        # Restarted again: the cooldown (and the finished recommendation) are still there.
        wait_until(lambda: self.status()["recommendation"]["state"] == "done", 30, "the plan done")
        self.kill_engine()
        self.start_engine()
        st = self.status()
        self.assertEqual(st["cooldown"]["last_failover_at"], cooldown, st["cooldown"])
        self.assertEqual(st["recommendation"]["id"], rec["id"])
        self.assertEqual(st["recommendation"]["state"], "done")
        wait_until(lambda: self.classification("us-east-1") == "regional_outage", 30, "regional_outage again")
        self.assertEqual(self.status()["cooldown"]["last_failover_at"], cooldown)
        # Nothing was triggered twice across the restarts.
        stats = self.pd_stats()
        self.assertEqual(stats["invalid"], 0, stats["errors"])
        self.assertTrue(all(n == 1 for n in stats["incidents_opened"].values()), stats["incidents_opened"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
