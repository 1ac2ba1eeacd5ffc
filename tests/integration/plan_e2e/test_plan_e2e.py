#!/usr/bin/env python3
"""The failover plan's acceptance test, end to end on 127.0.0.1 (python3 stdlib + boto3):

  injected regional outage (a fault-injecting health server, probed by three
  `vigil agent` processes) -> classification and page (a webhook paging sink
  with a local receiver) -> `vigil approve --print`, then `--yes` with a key
  from `vigil keygen` -> the failover plan executed against moto_server
  (signature checks on: ECS, SSM, Route 53) and the strict fakes (ARC data
  plane with one of three endpoints down, RDS FailoverGlobalCluster) ->
  verify step passes -> the RTO report in /v1/status and the journal.
  Then `vigil drill` on the same config changes nothing, and a restarted
  engine does not run the plan again (one execution per approval).
OrphanedStep: kill -9 of the engine mid exec step (the step left a background
  child): the restarted engine listens at once and kills the orphaned process
  group, journaled, before the step re-runs.
ReloadOnSighup: SIGHUP keeps the engine serving and reloads approver keys.

Environment: VIGIL_BIN (the vigil binary), VIGIL_SOURCE_DIR (the source tree),
VIGIL_MOTO_SERVER (default moto_server), VIGIL_PYTHON (default python3).
"""
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VIGIL = os.environ.get("VIGIL_BIN", "vigil")
SRC = os.environ.get("VIGIL_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
PYTHON = os.environ.get("VIGIL_PYTHON", sys.executable)
SUPPORT = os.path.join(SRC, "tests", "support")
RC_A = "arn:aws:route53-recovery-control::123456789012:controlpanel/abc123/routingcontrol/east01"
RC_B = "arn:aws:route53-recovery-control::123456789012:controlpanel/abc123/routingcontrol/west01"
EAST = "arn:aws:rds:us-east-1:123456789012:cluster:shop-east"
WEST = "arn:aws:rds:us-west-2:123456789012:cluster:shop-west"
SERVICES = ("api-web", "checkout", "search")
REGIONS = ("us-east-1", "us-west-2")
WEBHOOK_SECRET = "e2e-webhook-secret"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http(method, url, body=None, headers=None, timeout=10):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until(pred, timeout, what, interval=0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except Exception as e:  # not up yet
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


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


class Pages(BaseHTTPRequestHandler):
    """The webhook paging sink's receiver: checks the HMAC, keeps the pages."""
    received = []
    bad = []

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ts = self.headers.get("X-Vigil-Timestamp", "")
        want = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), (ts + ".").encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, self.headers.get("X-Vigil-Signature", "")):
            Pages.bad.append(body)
        else:
            Pages.received.append(json.loads(body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def serve(handler):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class Proc:
    def __init__(self, argv, log, env=None, cwd=None):
        self.log = log
        self._f = open(log, "w")
        self.p = subprocess.Popen(argv, stdout=self._f, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                  start_new_session=True)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self._f.close()

    def text(self):
        with open(self.log) as f:
            return f.read()


def start_fake(name, args, d):
    ready = os.path.join(d, f"{name}.ready")
    p = Proc([PYTHON, os.path.join(SUPPORT, f"fake_{name}.py"), "--ready-file", ready] + args,
             os.path.join(d, f"fake_{name}.log"))
    wait_until(lambda: os.path.exists(ready), 20, f"fake {name}")
    with open(ready) as f:
        return p, json.load(f)["ports"]


def config_head(deployment):
    """The config up to `services:`: two regions, three vantages, fast decisions."""
    return [
        f"deployment: {deployment}",
        "regions:", "  - {name: us-east-1, role: primary}", "  - {name: us-west-2, role: dr}",
        "vantages: [us-east-1, us-west-2, eu-west-1]",
        "decision: {tick: 250ms, fall: 2, rise: 2, stale_after: 3s, confirm_for: 1s, clear_for: 10s,",
        "           service_page_grace: 1s, cooldown: 5m, recommendation_ttl: 10m}",
        "probe_defaults: {interval: 400ms, timeout: 300ms}",
        "services:",
    ]


def write_checked_config(test, path, lines):
    """Writes the config and asserts that `vigil check-config` accepts it."""
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run([VIGIL, "check-config", path], capture_output=True, text=True)
    test.assertEqual(r.returncode, 0, r.stdout + r.stderr)
    return path


class PlanEndToEnd(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-plan-e2e-")
        self.procs = []
        self.servers = []
        # moto with signature checks after the 3 seeding requests
        self.moto_port = free_port()
        self.moto_url = f"http://127.0.0.1:{self.moto_port}"
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
        self.procs.append(Proc([os.environ.get("VIGIL_MOTO_SERVER", "moto_server"), "-H", "127.0.0.1", "-p",
                                str(self.moto_port)], os.path.join(self.dir, "moto.log"), env=env))
        wait_until(lambda: http("GET", self.moto_url + "/moto-api/", timeout=1)[0] < 500, 30, "moto_server")
        ident = self.seed("identity")
        self.key, self.secret = ident["access_key"], ident["secret_key"]
        self.seed("ecs", {"cluster": "shop", "service": "api", "desired": 1, "region": "us-west-2"})
        self.zone = self.seed("route53_zone", {"name": "shop.example."})["zone_id"]
        # strict fakes, verifying signatures made with the same key
        p, self.arc_ports = start_fake("arc", ["--key", self.key, "--secret", self.secret, "--port", "0", "--port", "0",
                                               "--controls", json.dumps({RC_A: "On", RC_B: "Off"})], self.dir)
        self.procs.append(p)
        state = {"global": "shop-global", "members": [{"arn": EAST, "writer": True}, {"arn": WEST, "writer": False}]}
        p, ports = start_fake("rds", ["--key", self.key, "--secret", self.secret, "--state", json.dumps(state),
                                      "--settle", "2"], self.dir)
        self.procs.append(p)
        self.rds_url = f"http://127.0.0.1:{ports[0]}"
        self.arc_urls = [f"http://127.0.0.1:{free_port()}"] + [f"http://127.0.0.1:{p}" for p in self.arc_ports]
        Health.failed = set()
        Pages.received, Pages.bad = [], []
        self.health = serve(Health)
        self.pages = serve(Pages)
        self.servers += [self.health, self.pages]

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()
        for s in self.servers:
            s.shutdown()
        if os.environ.get("VIGIL_KEEP_E2E"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def seed(self, step, args=None):
        argv = [PYTHON, os.path.join(SUPPORT, "aws_moto_seed.py"), self.moto_url]
        argv += ["identity"] if step == "identity" else [self.key, self.secret, step, json.dumps(args or {})]
        return json.loads(subprocess.run(argv, check=True, capture_output=True, text=True).stdout)

    def fake_state(self, url):
        return json.loads(http("GET", url + "/_fake/state")[1])

    def write_config(self):
        hp = self.health.server_address[1]
        self.engine_port = free_port()
        self.engine_url = f"http://127.0.0.1:{self.engine_port}"
        self.state_dir = os.path.join(self.dir, "state")
        for name, text in (("agent.key", "e2e-agent-key"), ("webhook.secret", WEBHOOK_SECRET)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text + "\n")
            os.chmod(os.path.join(self.dir, name), 0o600)
        subprocess.run([VIGIL, "keygen", "--out", os.path.join(self.dir, "alice")], check=True,
                       stdout=subprocess.DEVNULL)
        self.announced = os.path.join(self.dir, "announced.txt")
        arc = ", ".join(self.arc_urls)
        lines = config_head("shop-e2e")
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
            "coordination: {backend: file}",
            "paging:",
            f"  - {{kind: webhook, url: 'http://127.0.0.1:{self.pages.server_address[1]}/page', secret_file: webhook.secret}}",
            "approvals:",
            "  required: 1",
            "  max_ttl: 15m",
            "  approvers:",
            "    - {id: alice, public_key_file: alice.pub}",
            "aws:",
            f"  endpoints: {{rds: '{self.rds_url}', ecs: '{self.moto_url}', ssm: '{self.moto_url}', route53: '{self.moto_url}'}}",
            "  call_timeout: 10s",
            "plan:",
            "  failover:",
            "    dry_run: false",
            "    steps:",
            f"      - {{name: fence-primary, kind: arc_routing_control, routing_control_arn: '{RC_A}', state: 'Off',"
            f" cluster_endpoints: [{arc}], region: us-west-2, timeout: 20s}}",
            "      - {name: promote-db, kind: aurora_global_failover, global_cluster: shop-global,"
            f" target_cluster_arn: '{WEST}', region: us-west-2, timeout: 20s}}",
            "      - {name: wait-db, kind: wait_db_cluster, cluster: shop-west, region: us-west-2, poll_interval: 200ms,"
            " timeout: 30s}",
            "      - {name: activate, kind: ecs_scale, cluster: shop, service: api, desired_count: 4, region: us-west-2,"
            " timeout: 30s}",
            "      - {name: flag, kind: ssm_parameter, parameter: /shop/active-region, value: us-west-2, region: us-west-2}",
            f"      - {{name: dns, kind: route53_upsert, hosted_zone_id: '{self.zone}', record_name: api.shop.example.,"
            " record_type: CNAME, value: api.usw2.shop.example., ttl: 60}",
            f"      - {{name: shift-traffic, kind: arc_routing_control, routing_control_arn: '{RC_B}', state: 'On',"
            f" cluster_endpoints: [{arc}], region: us-west-2}}",
            "      - {name: verify-dr, kind: verify, region: us-west-2, within: 30s, timeout: 40s}",
            "      - {name: announce, kind: exec, command: [/bin/sh, -c, 'echo $VIGIL_ACTION $VIGIL_TO"
            f" $VIGIL_ALLOW_DATA_LOSS $VIGIL_RECOMMENDATION_HASH >> {self.announced}'], timeout: 10s}}",
            "logging: {level: info}",
        ]
        self.config = write_checked_config(self, os.path.join(self.dir, "vigil.yaml"), lines)

    def engine_env(self):
        return dict(os.environ, AWS_ACCESS_KEY_ID=self.key, AWS_SECRET_ACCESS_KEY=self.secret,
                    AWS_EC2_METADATA_DISABLED="true", HOME=self.dir, AWS_CONFIG_FILE=os.path.join(self.dir, "none"),
                    AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.dir, "none"))

    def start_engine(self, tag):
        p = Proc([VIGIL, "engine", "--config", self.config], os.path.join(self.dir, f"engine-{tag}.log"),
                 env=self.engine_env(), cwd=self.dir)
        self.procs.append(p)
        wait_until(lambda: http("GET", self.engine_url + "/healthz", timeout=1)[0] == 200, 30, "engine /healthz")
        return p

    def status(self):
        return json.loads(http("GET", self.engine_url + "/v1/status")[1])

    def test_outage_page_approve_execute_verify_rto(self):
        self.write_config()
        engine = self.start_engine("1")
        for v in ("us-east-1", "us-west-2", "eu-west-1"):
            self.procs.append(Proc([VIGIL, "agent", "--config", self.config, "--vantage", v],
                                   os.path.join(self.dir, f"agent-{v}.log"), cwd=self.dir))
        wait_until(lambda: all(self.status()["regions"][r]["classification"] == "healthy" for r in REGIONS), 60,
                   "both regions healthy")

        # The drill on the live config changes nothing.
        drill = subprocess.run([VIGIL, "drill", "--config", self.config, "--prechecks"], capture_output=True,
                               text=True, env=self.engine_env(), cwd=self.dir, timeout=120)
        self.assertEqual(drill.returncode, 0, drill.stdout + drill.stderr)
        self.assertIn("would call rds:FailoverGlobalCluster", drill.stdout)
        self.assertIn("pre-check result", drill.stdout)
        self.assertEqual(self.fake_state(self.rds_url)["calls"].get("FailoverGlobalCluster", 0), 0)
        self.assertEqual(self.fake_state(f"http://127.0.0.1:{self.arc_ports[0]}")["calls"]
                         .get("UpdateRoutingControlState", 0), 0)

        Health.failed = {"us-east-1"}  # the regional outage
        wait_until(lambda: self.status()["regions"]["us-east-1"]["classification"] == "regional_outage", 60,
                   "regional_outage of us-east-1")
        page = wait_until(lambda: next((p for p in Pages.received if p["page"].get("kind") == "regional_outage"),
                                       None), 60, "the regional_outage page at the webhook")
        self.assertEqual(Pages.bad, [])
        rec = wait_until(lambda: (lambda r: r if r and r.get("state") == "pending_approval" else None)(
            self.status().get("recommendation")), 60, "a failover recommendation pending approval")
        self.assertEqual(rec["action"], "failover")

        key = os.path.join(self.dir, "alice.key")
        printed = subprocess.run([VIGIL, "approve", "--print", "--yes", "--allow-data-loss", "--key", key, "--approver",
                                  "alice", "--engine", self.engine_url], capture_output=True, text=True, timeout=60)
        self.assertEqual(printed.returncode, 0, printed.stdout + printed.stderr)
        self.assertIn("v4.public.", printed.stdout)
        self.assertIsNone(self.status()["plan"], "--print must not submit")
        approved = subprocess.run([VIGIL, "approve", "--yes", "--allow-data-loss", "--key", key, "--approver",
                                   "alice", "--engine", self.engine_url], capture_output=True, text=True, timeout=60)
        self.assertEqual(approved.returncode, 0, approved.stdout + approved.stderr)

        plan = wait_until(lambda: (lambda p: p if p and p.get("state") != "executing" else None)(
            self.status().get("plan")), 120, "the plan to finish")
        self.assertEqual(plan["result"], "done", json.dumps(plan, indent=1) + engine.text()[-4000:])
        self.assertFalse(plan["dry_run"])
        outcomes = {s["name"]: s["status"] for s in plan["steps"]}
        self.assertEqual(outcomes["verify-dr"], "done", plan)
        self.assertTrue(all(v == "done" for v in outcomes.values()), outcomes)
        rto = plan["rto"]
        for k in ("first_evidence", "classified", "paged", "approved", "plan_started", "plan_finished"):
            self.assertIsNotNone(rto[k], k)
        self.assertGreater(rto["total_s"], rto["plan_s"])
        self.assertEqual([s["name"] for s in rto["steps"]], list(outcomes))

        # Each mutating call reached its receiver exactly once, validated and signed.
        arc = self.fake_state(f"http://127.0.0.1:{self.arc_ports[0]}")
        self.assertEqual(arc["calls"].get("UpdateRoutingControlState"), 2, arc)
        self.assertEqual(arc["states"], {RC_A: "Off", RC_B: "On"})
        self.assertEqual(arc["rejected"], [])
        rds = self.fake_state(self.rds_url)
        self.assertEqual(rds["calls"].get("FailoverGlobalCluster"), 1, rds)
        fo = [q for q in rds["requests"] if q["action"] == "FailoverGlobalCluster"][0]["params"]
        self.assertEqual(fo.get("AllowDataLoss"), "true")  # the approval carried it
        self.assertEqual(rds["rejected"], [])
        import boto3
        sess = boto3.session.Session(aws_access_key_id=self.key, aws_secret_access_key=self.secret,
                                     region_name="us-west-2")
        svc = sess.client("ecs", endpoint_url=self.moto_url).describe_services(cluster="shop", services=["api"])
        self.assertEqual(svc["services"][0]["desiredCount"], 4)
        ssm = sess.client("ssm", endpoint_url=self.moto_url).get_parameter(Name="/shop/active-region")
        self.assertEqual(ssm["Parameter"]["Value"], "us-west-2")
        with open(self.announced) as f:
            self.assertEqual(f.read().split(), ["failover", "us-west-2", "true", rec["hash"]])

        # The journal: intent before each mutating call, the RTO report at the end.
        with open(os.path.join(self.state_dir, "plan.jsonl")) as f:
            journal = [json.loads(l) for l in f]
        self.assertEqual(journal[0]["type"], "plan_begin")
        self.assertEqual(journal[-1]["type"], "plan_end")
        self.assertEqual(journal[-1]["rto"]["total_s"], rto["total_s"])
        metrics = http("GET", self.engine_url + "/metrics")[1].decode()
        self.assertIn('vigil_plan_runs_total{action="failover",result="done"} 1', metrics)
        self.assertIn('vigil_plan_step_duration_seconds_count{result="done",step="promote-db"} 1', metrics)

        # A restart does not execute the approval again.
        engine.stop()
        self.procs.remove(engine)
        self.start_engine("2")
        time.sleep(2)
        self.assertEqual(self.fake_state(self.rds_url)["calls"].get("FailoverGlobalCluster"), 1)
        with open(self.announced) as f:
            self.assertEqual(len(f.read().splitlines()), 1)

        # Failback goes through the engine: proposed, then gated like any recommendation.
        Health.failed = set()
        wait_until(lambda: self.status()["regions"]["us-east-1"]["classification"] == "healthy", 60,
                   "us-east-1 healthy again")
        bad = subprocess.run([VIGIL, "propose", "sideways", "--engine", self.engine_url], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(bad.returncode, 2, bad.stderr)
        proposed = subprocess.run([VIGIL, "propose", "failback", "--engine", self.engine_url, "--by", "alice"],
                                  capture_output=True, text=True, timeout=30)
        self.assertEqual(proposed.returncode, 0, proposed.stdout + proposed.stderr)
        rec = self.status()["recommendation"]
        self.assertEqual((rec["action"], rec["from"], rec["to"]), ("failback", "us-west-2", "us-east-1"))


class LiveEngine(unittest.TestCase):
    """A real engine and three agents on one service; no AWS. Subclasses give
    the failover plan's steps (plan_steps) and `dry_run`."""
    dry_run = False

    def plan_steps(self):
        raise NotImplementedError

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-live-engine-")
        self.procs = []
        Health.failed = set()
        self.health = serve(Health)
        self.bg_pid = None

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()
        self.health.shutdown()
        if self.bg_pid and alive(self.bg_pid):  # the test failed: take the whole orphaned group down
            try:
                os.killpg(os.getpgid(self.bg_pid), 9)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_config(self):
        hp = self.health.server_address[1]
        self.engine_url = f"http://127.0.0.1:{free_port()}"
        self.state_dir = os.path.join(self.dir, "state")
        with open(os.path.join(self.dir, "agent.key"), "w") as f:
            f.write("orphan-agent-key\n")
        os.chmod(os.path.join(self.dir, "agent.key"), 0o600)
        subprocess.run([VIGIL, "keygen", "--out", os.path.join(self.dir, "alice")], check=True,
                       stdout=subprocess.DEVNULL)
        lines = config_head("live-e2e") + ["  - name: api", "    checks:"]
        for r in REGIONS:
            lines.append(f"      - {{region: {r}, http: {{url: 'http://127.0.0.1:{hp}/health/{r}/api'}}}}")
        lines += [
            "engine:",
            f"  listen: {self.engine_url[len('http://'):]}",
            f"  endpoints: [{self.engine_url}]",
            "  agent_key_file: agent.key",
            f"  state_dir: {self.state_dir}",
            "coordination: {backend: file}",
            "approvals:",
            "  required: 1",
            "  max_ttl: 15m",
            "  approvers:",
            "    - {id: alice, public_key_file: alice.pub}",
            "plan:",
            "  failover:",
            f"    dry_run: {'true' if self.dry_run else 'false'}",
            "    steps:",
        ] + self.plan_steps() + ["logging: {level: info}"]
        self.config = write_checked_config(self, os.path.join(self.dir, "vigil.yaml"), lines)

    def start_engine(self, tag, within):
        p = Proc([VIGIL, "engine", "--config", self.config], os.path.join(self.dir, f"engine-{tag}.log"),
                 cwd=self.dir)
        self.procs.append(p)
        wait_until(lambda: p.p.poll() is None and http("GET", self.engine_url + "/healthz", timeout=1)[0] == 200,
                   within, f"engine {tag} /healthz (log: {p.log})")
        return p

    def status(self):
        return json.loads(http("GET", self.engine_url + "/v1/status")[1])

    def outage_pending_approval(self):
        """Agents up, both regions healthy, then us-east-1 down until a failover waits for approval."""
        for v in ("us-east-1", "us-west-2", "eu-west-1"):
            self.procs.append(Proc([VIGIL, "agent", "--config", self.config, "--vantage", v],
                                   os.path.join(self.dir, f"agent-{v}.log"), cwd=self.dir))
        wait_until(lambda: all(self.status()["regions"][r]["classification"] == "healthy" for r in REGIONS), 60,
                   "both regions healthy")
        Health.failed = {"us-east-1"}
        wait_until(lambda: (lambda r: r and r.get("state") == "pending_approval")(self.status().get("recommendation")),
                   60, "a failover recommendation pending approval")

    def approve(self):
        return subprocess.run([VIGIL, "approve", "--yes", "--allow-data-loss", "--key",
                               os.path.join(self.dir, "alice.key"), "--approver", "alice", "--engine",
                               self.engine_url], capture_output=True, text=True, timeout=60)


class OrphanedStep(LiveEngine):
    """kill -9 of the engine while an exec step runs, the step having started a
    background child: the restarted engine listens at once (the orphans hold
    no engine descriptor) and kills the orphaned process group, journaling it,
    before the resumed plan re-runs the step (the two never run side by side)."""

    def plan_steps(self):
        self.bg_file = os.path.join(self.dir, "bg.pid")
        self.runs = os.path.join(self.dir, "runs")
        script = (f"echo $VIGIL_RESUMED >> {self.runs}; if [ $VIGIL_RESUMED = 0 ]; then sleep 300 & "
                  f"echo $! > {self.bg_file}; sleep 300; fi")
        return [f"      - {{name: hold, kind: exec, command: [/bin/sh, -c, '{script}'], timeout: 10m}}"]

    def test_kill_9_mid_step_restart_listens_and_kills_the_orphan_group_first(self):
        self.write_config()
        engine = self.start_engine("1", 30)
        self.outage_pending_approval()
        approved = self.approve()
        self.assertEqual(approved.returncode, 0, approved.stdout + approved.stderr)
        self.bg_pid = int(wait_until(lambda: read_text(self.bg_file).strip(), 60, "the step's background child"))
        engine.p.kill()  # kill -9 mid-step
        engine.p.wait()
        engine.stop()
        self.procs.remove(engine)
        self.assertTrue(alive(self.bg_pid), "the orphan outlives the engine (else this test proves nothing)")
        with open(f"/proc/{self.bg_pid}/stat") as f:
            pgid = int(f.read().rsplit(")", 1)[1].split()[2])  # state ppid pgrp

        # No orphan holds the listening socket: the new engine binds at once.
        engine2 = self.start_engine("2", 15)
        plan = wait_until(lambda: (lambda p: p if p and p.get("state") != "executing" else None)(
            self.status().get("plan")), 60, "the resumed plan to finish")
        self.assertEqual(plan["result"], "done", json.dumps(plan) + engine2.text()[-3000:])
        self.assertTrue(plan["resumed"])
        self.assertNotIn("Address already in use", engine2.text())
        self.assertFalse(alive(self.bg_pid), "the orphaned group was not killed")
        with open(self.runs) as f:
            self.assertEqual(f.read().split(), ["0", "1"])
        with open(os.path.join(self.state_dir, "plan.jsonl")) as f:
            journal = [json.loads(l) for l in f]
        types = [r["type"] for r in journal]
        self.assertEqual(types, ["plan_begin", "intent", "process", "process_kill", "intent", "process", "result",
                                 "plan_end"])
        self.assertEqual(journal[2]["pgid"], pgid)
        self.assertEqual(journal[3]["pgid"], pgid)
        self.assertIn("killed", journal[3]["detail"])


class ReloadOnSighup(LiveEngine):
    """SIGHUP (systemctl reload) never stops the engine: it keeps serving,
    logs the reload, and a changed approver public key file takes effect."""
    dry_run = True

    def plan_steps(self):
        return ["      - {name: announce, kind: exec, command: [/bin/true]}"]

    def test_sighup_keeps_serving_and_reloads_the_approver_keys(self):
        self.write_config()
        engine = self.start_engine("1", 30)
        self.outage_pending_approval()
        # alice's key changes on disk (rotation): the running engine still has the old one.
        subprocess.run([VIGIL, "keygen", "--force", "--out", os.path.join(self.dir, "alice")], check=True,
                       stdout=subprocess.DEVNULL)
        refused = self.approve()
        self.assertNotEqual(refused.returncode, 0, refused.stdout)
        for n in (1, 2):  # a second SIGHUP too: the handler re-arms
            engine.p.send_signal(signal.SIGHUP)
            wait_until(lambda: engine.text().count("approver keys reloaded: 1 key(s) (alice)") >= n, 20,
                       f"reload {n} logged")
        self.assertIsNone(engine.p.poll(), "SIGHUP stopped the engine")
        agent = next(p for p in self.procs if "agent-" in p.log)
        agent.p.send_signal(signal.SIGHUP)
        wait_until(lambda: "configuration changes take effect at the next restart" in agent.text(), 20,
                   "the agent's SIGHUP logged")
        self.assertIsNone(agent.p.poll(), "SIGHUP stopped the agent")
        self.assertEqual(http("GET", self.engine_url + "/healthz")[0], 200)
        self.assertIn("takes effect at the next restart", engine.text())
        approved = self.approve()
        self.assertEqual(approved.returncode, 0, approved.stdout + approved.stderr)
        plan = wait_until(lambda: (lambda p: p if p and p.get("state") != "executing" else None)(
            self.status().get("plan")), 60, "the dry-run plan to finish")
        self.assertEqual(plan["result"], "done", plan)
        # A broken config on SIGHUP is logged and changes nothing.
        with open(self.config, "a") as f:
            f.write("bogus_key: 1\n")
        engine.p.send_signal(signal.SIGHUP)
        wait_until(lambda: "nothing reloaded, the running configuration stays" in engine.text(), 20,
                   "the refused reload logged")
        self.assertIsNone(engine.p.poll())
        self.assertEqual(http("GET", self.engine_url + "/healthz")[0], 200)


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def alive(pid):
    """A live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


if __name__ == "__main__":
    unittest.main(verbosity=2)
