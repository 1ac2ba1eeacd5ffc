"""What vigil's end-to-end tests share (python3 stdlib + boto3): processes on 127.0.0.1 with
free ports, a fault-injecting health server, a webhook page receiver that checks the HMAC,
moto_server with signature checks on, and the strict fakes of tests/support (ARC data plane,
RDS global database calls).

Used by tests/integration/plan_e2e and tests/integration/gameday. Environment: VIGIL_BIN (the
vigil binary), VIGIL_SOURCE_DIR (the source tree), VIGIL_MOTO_SERVER (default moto_server),
VIGIL_PYTHON (default python3), VIGIL_KEEP_E2E (keep the temporary directory).
"""
import hashlib
import hmac
import json
import os
import shutil
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
SUPPORT = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("VIGIL_SOURCE_DIR", os.path.abspath(os.path.join(SUPPORT, "..", "..")))
PYTHON = os.environ.get("VIGIL_PYTHON", sys.executable)
WEBHOOK_SECRET = "e2e-webhook-secret"
REGIONS = ("us-east-1", "us-west-2")


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
    """GET /health/<region>/<service>: 200, or 503 while the region (or "<region>/<service>") is failed."""
    failed = set()

    def log_message(self, *a):
        pass

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        down = len(parts) == 3 and (parts[1] in Health.failed or f"{parts[1]}/{parts[2]}" in Health.failed)
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


class AwsRig:
    """A mixin for unittest.TestCase: a temporary directory, moto_server (signature checks on after
    the three seeding requests), an IAM identity, the health server and the page receiver.
    Call rig_up() from setUp and rig_down() from tearDown."""

    def rig_up(self, prefix):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.procs = []
        self.servers = []
        self.moto_port = free_port()
        self.moto_url = f"http://127.0.0.1:{self.moto_port}"
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
        self.procs.append(Proc([os.environ.get("VIGIL_MOTO_SERVER", "moto_server"), "-H", "127.0.0.1", "-p",
                                str(self.moto_port)], os.path.join(self.dir, "moto.log"), env=env))
        wait_until(lambda: http("GET", self.moto_url + "/moto-api/", timeout=1)[0] < 500, 30, "moto_server")
        ident = self.seed("identity")
        self.key, self.secret = ident["access_key"], ident["secret_key"]
        Health.failed = set()
        Pages.received, Pages.bad = [], []
        self.health = serve(Health)
        self.pages = serve(Pages)
        self.servers += [self.health, self.pages]

    def rig_down(self):
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

    def start_fake(self, name, args):
        p, ports = start_fake(name, ["--key", self.key, "--secret", self.secret] + args, self.dir)
        self.procs.append(p)
        return ports

    @staticmethod
    def fake_state(url):
        return json.loads(http("GET", url + "/_fake/state")[1])

    def write_secrets(self):
        """agent.key, webhook.secret (0600) and alice's key pair in the temporary directory."""
        for name, text in (("agent.key", "e2e-agent-key"), ("webhook.secret", WEBHOOK_SECRET)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text + "\n")
            os.chmod(os.path.join(self.dir, name), 0o600)
        subprocess.run([VIGIL, "keygen", "--out", os.path.join(self.dir, "alice")], check=True,
                       stdout=subprocess.DEVNULL)

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

    def start_agents(self, vantages):
        for v in vantages:
            self.procs.append(Proc([VIGIL, "agent", "--config", self.config, "--vantage", v],
                                   os.path.join(self.dir, f"agent-{v}.log"), env=self.engine_env(), cwd=self.dir))

    def status(self):
        return json.loads(http("GET", self.engine_url + "/v1/status")[1])


def alive(pid):
    """A live (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


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
