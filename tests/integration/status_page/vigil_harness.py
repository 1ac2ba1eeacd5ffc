"""Run a real `vigil engine` (and agents) on 127.0.0.1 and feed it signed batches.

Shared by the integration tests under tests/integration/ (status_page,
docs_check, prometheus_scrape): they add this folder to sys.path. Python 3
standard library only.

The wire format is common/batch.hpp: body JSON, X-Vigil-Timestamp = sent_at
(epoch ms), X-Vigil-Signature = "sha256=" + hex HMAC-SHA256(agent key, body),
`seq` increasing per vantage.
"""

import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

AGENT_KEY = "status-page-test-agent-key"
REGIONS = ("us-east-1", "us-west-2")
VANTAGES = ("us-east-1", "us-west-2", "eu-west-1")
SERVICES = ("api-web", "webapp", "notifications")


def vigil_bin():
    """The vigil binary: $VIGIL_BIN, else <build>/app/vigil next to this source tree."""
    env = os.environ.get("VIGIL_BIN")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", "..", ".."))
    for candidate in (os.path.join(root, "build", "app", "vigil"),):
        if os.path.exists(candidate):
            return candidate
    raise RuntimeError("set VIGIL_BIN to the vigil binary")


def build_dir():
    """Where tests write what outlives them (screenshots, npm caches): $VIGIL_BINARY_DIR or a temp dir."""
    return os.environ.get("VIGIL_BINARY_DIR") or tempfile.gettempdir()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, body=None, headers=None, timeout=10):
    """(status, body bytes); never raises on an HTTP error status."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until(predicate, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # the server may not be up yet
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def check_ids(services=SERVICES):
    return [f"{s}@{r}" for s in services for r in REGIONS]


def config_yaml(listen, state_dir, key_file, approver_pub=None, extra="", dsn_file=None,
                coordination="{backend: file}", engine_extra=(), paging="[{kind: log}]", services=SERVICES):
    """A loopback config: three services in two regions, three vantages, fast timing.

    With `dsn_file`, a replication-lag source sampled from eu-west-1 is
    configured (the tests send its samples themselves, in eu-west-1's batches),
    so the replication_lag gate judges real numbers."""
    lines = [
        "deployment: status-page-test",
        "regions:",
        "  - {name: us-east-1, role: primary}",
        "  - {name: us-west-2, role: dr}",
        "vantages: [us-east-1, us-west-2, eu-west-1]",
        "decision: {tick: 250ms, fall: 2, rise: 2, stale_after: 2s, confirm_for: 1s, clear_for: 5s,",
        "           service_page_grace: 1s, max_lag: 5s, lag_max_age: 30s, cooldown: 5m, recommendation_ttl: 10m}",
        "probe_defaults: {interval: 500ms, timeout: 400ms}",
        "services:",
    ]
    port = 1
    for s in services:
        lines.append(f"  - name: {s}")
        lines.append("    checks:")
        for r in REGIONS:
            lines.append(f"      - {{region: {r}, http: {{url: 'http://127.0.0.1:{port}/health'}}}}")
            port += 1
    if dsn_file:
        lines.append("replication_lag: {source: postgres_standby, dsn_file: %s, region: us-west-2, "
                     "vantage: eu-west-1, interval: 1s}" % dsn_file)
    lines += [
        "engine:",
        f"  listen: {listen}",
        f"  endpoints: [http://{listen}]",
        f"  agent_key_file: {key_file}",
        f"  state_dir: {state_dir}",
        *(f"  {line}" for line in engine_extra),
        f"coordination: {coordination}",
        f"paging: {paging}",
    ]
    if approver_pub:
        lines += [
            "approvals:",
            "  required: 1",
            "  max_ttl: 15m",
            "  approvers:",
            f"    - {{id: alice, public_key_file: {approver_pub}}}",
        ]
    lines += [
        "plan:",
        "  failover:",
        "    dry_run: true",
        "    steps:",
        "      - {name: announce, kind: exec, command: [/bin/echo, failover], timeout: 10s}",
        "      - {name: verify-dr, kind: verify, region: us-west-2, within: 30s}",
        "logging: {level: info, format: text}",
    ]
    return "\n".join(lines) + "\n" + extra


class Engine:
    """A `vigil engine` process on a free 127.0.0.1 port with its own config and state dir."""

    def __init__(self, with_approver=False, extra_yaml="", coordination="{backend: file}", engine_extra=(),
                 paging="[{kind: log}]", services=SERVICES):
        self.services = tuple(services)
        self.dir = tempfile.mkdtemp(prefix="vigil-it-")
        self.port = free_port()
        self.listen = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.listen}"
        self.key_file = os.path.join(self.dir, "agent.key")
        with open(self.key_file, "w") as f:
            f.write(AGENT_KEY + "\n")
        os.chmod(self.key_file, 0o600)
        self.approver_key = None
        pub = None
        if with_approver:
            prefix = os.path.join(self.dir, "alice")
            subprocess.run([vigil_bin(), "keygen", "--out", prefix], check=True, stdout=subprocess.DEVNULL)
            self.approver_key = prefix + ".key"
            pub = prefix + ".pub"
        dsn_file = os.path.join(self.dir, "lag.dsn")
        with open(dsn_file, "w") as f:
            f.write("host=127.0.0.1 port=1 dbname=postgres connect_timeout=1\n")
        os.chmod(dsn_file, 0o600)
        self.config = os.path.join(self.dir, "vigil.yaml")
        with open(self.config, "w") as f:
            f.write(config_yaml(self.listen, os.path.join(self.dir, "state"), self.key_file, pub, extra_yaml,
                                dsn_file, coordination, engine_extra, paging, self.services))
        self.log_path = os.path.join(self.dir, "engine.log")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([vigil_bin(), "engine", "--config", self.config], stdout=self._log,
                                     stderr=subprocess.STDOUT)
        self.seq = {}
        try:
            wait_until(lambda: http("GET", self.url + "/healthz", timeout=1)[0] == 200, 30, "engine /healthz")
        except AssertionError:
            self.stop()
            raise AssertionError("engine did not start:\n" + self.log())

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def get_json(self, path):
        status, body = http("GET", self.url + path)
        if status != 200:
            raise AssertionError(f"GET {path}: {status} {body[:300]!r}")
        return json.loads(body)

    def status(self):
        return self.get_json("/v1/status")

    def post_batch(self, vantage, failing=(), lag_ms=None, warning=()):
        """`warning`: checks reported up but degraded by a failed `warn` condition (cert_expiring)."""
        now_ms = int(time.time() * 1000)
        seq = max(self.seq.get(vantage, 0) + 1, now_ms)
        self.seq[vantage] = seq
        obs = []
        for c in check_ids(self.services):
            ok = c not in failing
            obs.append({"check": c, "at": now_ms, "outcome": "ok" if ok else "http_status",
                        "latency_ms": 12.5 if ok else 3.0, "status": 200 if ok else 503, "value": None,
                        "detail": "" if ok else "HTTP 503"})
            if ok and c in warning:
                obs[-1].update({"outcome": "degraded", "warning": "cert_expiring"})
        body = {"v": 1, "vantage": vantage, "seq": seq, "sent_at": now_ms, "observations": obs}
        if lag_ms is not None:
            body["lag"] = [{"at": now_ms, "lag_ms": lag_ms}]
        raw = json.dumps(body, separators=(",", ":"))
        sig = "sha256=" + hmac.new(AGENT_KEY.encode(), raw.encode(), hashlib.sha256).hexdigest()
        status, resp = http("POST", self.url + "/v1/observations", raw,
                            {"Content-Type": "application/json", "X-Vigil-Signature": sig,
                             "X-Vigil-Timestamp": str(now_ms)})
        if status != 202:
            raise AssertionError(f"batch from {vantage} refused: {status} {resp[:300]!r}")


class Feeder:
    """Posts a batch per reporting vantage every `period` seconds from a thread.

    set(vantages, failing) changes what the next rounds report."""

    def __init__(self, engine, period=0.3, lag_ms=420):
        self.engine = engine
        self.period = period
        self.lag_ms = lag_ms
        self.vantages = list(VANTAGES)
        self.failing = set()
        self.warning = set()
        self.errors = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def set(self, vantages, failing=(), warning=()):
        with self._lock:
            self.vantages = list(vantages)
            self.failing = set(failing)
            self.warning = set(warning)

    def _run(self):
        while not self._stop.is_set():
            with self._lock:
                vantages, failing, warning = list(self.vantages), set(self.failing), set(self.warning)
            for v in vantages:
                try:
                    # The neutral vantage carries the replication-lag samples.
                    self.engine.post_batch(v, failing, self.lag_ms if v == "eu-west-1" else None, warning)
                except Exception as e:  # reported by the test, not swallowed
                    self.errors.append(str(e))
            self._stop.wait(self.period)

    def stop(self):
        self._stop.set()
        self._thread.join(5)


def approve(engine):
    """`vigil approve --yes --allow-data-loss` with the engine's approver key; returns the CompletedProcess."""
    return subprocess.run([vigil_bin(), "approve", "--yes", "--allow-data-loss", "--key", engine.approver_key,
                           "--approver", "alice", "--engine", engine.url],
                          capture_output=True, text=True, timeout=60)


def drive_and_scrape(engine, agent_factory):
    """Drives `engine` (made with_approver) through healthy -> regional outage
    of us-east-1 -> approved dry-run plan done, plus one refused batch; then
    starts the agent `agent_factory()` returns and waits until it probes and
    sends. Returns {"engine": exposition, "agent": exposition} (both /metrics
    texts), the agent still running (the caller stops it)."""
    feeder = Feeder(engine)
    try:
        wait_until(lambda: all(r["classification"] == "healthy" for r in engine.status()["regions"].values()),
                   30, "healthy")
        feeder.set(["us-west-2", "eu-west-1"], {f"{s}@us-east-1" for s in SERVICES})
        wait_until(lambda: (engine.status().get("recommendation") or {}).get("state") == "pending_approval",
                   45, "a failover recommendation")
        r = approve(engine)
        assert r.returncode == 0, r.stdout + r.stderr
        wait_until(lambda: engine.status()["recommendation"]["state"] == "dry_run_complete", 60,
                   "the dry-run plan complete")
        # One refused batch, so the rejection counters have moved too.
        http("POST", engine.url + "/v1/observations", "{}", {"X-Vigil-Signature": "sha256=00",
                                                             "X-Vigil-Timestamp": "1"})
    finally:
        feeder.stop()
    agent = agent_factory()

    def agent_text():
        return http("GET", agent.metrics_url + "/metrics")[1].decode()
    try:
        wait_until(lambda: 'vigil_agent_batches_total{result="sent"} 0' not in agent_text()
                   and "vigil_probe_success" in agent_text(), 30, "the agent probing and sending")
        return agent, {"engine": http("GET", engine.url + "/metrics")[1].decode(), "agent": agent_text()}
    except BaseException:
        agent.stop()
        raise


class Agent:
    """A `vigil agent` process with --metrics-listen on a free port, sending to `engine`."""

    def __init__(self, engine, vantage="eu-west-1", config=None):
        """`config`: a config file of its own (default: the engine's)."""
        self.metrics_port = free_port()
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}"
        self.log_path = os.path.join(engine.dir, f"agent-{vantage}.log")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([vigil_bin(), "agent", "--config", config or engine.config, "--vantage", vantage,
                                      "--metrics-listen", f"127.0.0.1:{self.metrics_port}"],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: http("GET", self.metrics_url + "/healthz", timeout=1)[0] == 200, 30, "agent /healthz")
        except AssertionError:
            self.stop()
            with open(self.log_path) as f:
                raise AssertionError("agent did not start:\n" + f.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
