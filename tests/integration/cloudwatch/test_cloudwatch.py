#!/usr/bin/env python3
"""CloudWatch checks end to end on 127.0.0.1 (python3 stdlib + boto3/botocore, moto_server, promtool):

  moto_server started with INITIAL_NO_AUTH_ACTION_COUNT=3 (the seeding requests
  that create vigil's IAM user and key), so every later request has its SigV4
  signature verified. A background thread puts a metric per region every
  second through botocore (PutMetricData, signed). `vigil run` samples both
  regions' metrics through `cloudwatch` region checks (one GetMetricData call
  per region per interval): the east check goes down when its metric breaches
  the condition and up when it recovers, seen through /v1/status. Restarted
  with a wrong secret, the checks fail with SignatureDoesNotMatch in
  /v1/status (checks[].last_failure) and in /metrics
  (vigil_aws_errors_total{code="SignatureDoesNotMatch"}); the exposition
  passes `promtool check metrics`. `vigil check-config --aws` prints each
  region's account and ARN from moto's STS, and fails with the AWS error when
  the secret is wrong.

Environment: VIGIL_BIN, VIGIL_SOURCE_DIR, VIGIL_MOTO_SERVER (default moto_server),
VIGIL_PYTHON (default this interpreter), VIGIL_PROMTOOL (default promtool).
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "status_page"))
from vigil_harness import free_port, http, wait_until  # noqa: E402

VIGIL = os.environ.get("VIGIL_BIN", "vigil")
SRC = os.environ.get("VIGIL_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
PYTHON = os.environ.get("VIGIL_PYTHON", sys.executable)
PROMTOOL = os.environ.get("VIGIL_PROMTOOL", "promtool")
SUPPORT = os.path.join(SRC, "tests", "support")
REGIONS = ("us-east-1", "us-west-2")
NAMESPACE = "Vigil/E2E"
METRIC = "HTTPCode_ELB_5XX_Count"


class Health(BaseHTTPRequestHandler):
    """The HTTP checks' target: always healthy (the CloudWatch checks are under test)."""

    def log_message(self, *a):
        pass

    def do_GET(self):
        body = b'{"status":"UP"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


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


class Publisher:
    """Puts the current value of each region's metric every second (a metric stream)."""

    def __init__(self, endpoint, key, secret):
        self.values = {r: 5.0 for r in REGIONS}
        self.clients = {r: boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=r)
                        .client("cloudwatch", endpoint_url=endpoint) for r in REGIONS}
        self.errors = []
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_flag.is_set():
            now = datetime.datetime.now(datetime.timezone.utc)
            for r in REGIONS:
                try:
                    self.clients[r].put_metric_data(Namespace=NAMESPACE, MetricData=[{
                        "MetricName": METRIC, "Dimensions": [{"Name": "LoadBalancer", "Value": f"app/shop-{r}"}],
                        "Value": self.values[r], "Timestamp": now}])
                except Exception as e:  # surfaced by the test
                    self.errors.append(repr(e))
            self.stop_flag.wait(1.0)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(10)


class CloudWatchEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="vigil-cloudwatch-e2e-")
        cls.moto_port = free_port()
        cls.moto_url = f"http://127.0.0.1:{cls.moto_port}"
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
        cls.moto = Proc([os.environ.get("VIGIL_MOTO_SERVER", "moto_server"), "-H", "127.0.0.1", "-p",
                         str(cls.moto_port)], os.path.join(cls.dir, "moto.log"), env=env)
        wait_until(lambda: http("GET", cls.moto_url + "/moto-api/", timeout=1)[0] < 500, 30, "moto_server")
        out = subprocess.run([PYTHON, os.path.join(SUPPORT, "aws_moto_seed.py"), cls.moto_url, "identity"],
                             check=True, capture_output=True, text=True).stdout
        ident = json.loads(out)
        cls.key, cls.secret = ident["access_key"], ident["secret_key"]
        cls.health = ThreadingHTTPServer(("127.0.0.1", 0), Health)
        cls.health.daemon_threads = True
        threading.Thread(target=cls.health.serve_forever, daemon=True).start()
        cls.publisher = Publisher(cls.moto_url, cls.key, cls.secret)
        cls.write_config()

    @classmethod
    def tearDownClass(cls):
        cls.publisher.stop()
        cls.health.shutdown()
        cls.moto.stop()
        if os.environ.get("VIGIL_KEEP_E2E"):
            print("kept", cls.dir)
        else:
            shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()

    @classmethod
    def write_config(cls):
        hp = cls.health.server_address[1]
        cls.engine_port = free_port()
        cls.engine_url = f"http://127.0.0.1:{cls.engine_port}"
        with open(os.path.join(cls.dir, "agent.key"), "w") as f:
            f.write("cloudwatch-e2e-agent-key\n")
        os.chmod(os.path.join(cls.dir, "agent.key"), 0o600)
        lines = [
            "deployment: cloudwatch-e2e",
            "regions:", "  - {name: us-east-1, role: primary}", "  - {name: us-west-2, role: dr}",
            "vantages: [local]",
            "decision: {tick: 250ms, quorum: 1, fall: 2, rise: 2, stale_after: 10s, confirm_for: 1s, clear_for: 2s}",
            "probe_defaults: {interval: 1s, timeout: 500ms}",
            "services:",
            "  - name: api",
            "    checks:",
        ]
        for r in REGIONS:
            lines.append(f"      - {{region: {r}, http: {{url: 'http://127.0.0.1:{hp}/health/{r}'}}}}")
        lines.append("region_checks:")
        for r in REGIONS:
            lines += [
                "  - name: elb-5xx",
                f"    region: {r}",
                "    interval: 1s",
                "    timeout: 500ms",
                "    cloudwatch:",
                f"      namespace: {NAMESPACE}",
                f"      metric: {METRIC}",
                f"      dimensions: {{LoadBalancer: app/shop-{r}}}",
                "      stat: Maximum",
                "      period: 5s",
                "      condition: '< 50'",
                "      missing_data: fail",
            ]
        lines += [
            "engine:",
            f"  listen: 127.0.0.1:{cls.engine_port}",
            f"  endpoints: [{cls.engine_url}]",
            "  agent_key_file: agent.key",
            f"  state_dir: {os.path.join(cls.dir, 'state')}",
            "coordination: {backend: file}",
            "aws:",
            f"  endpoints: {{cloudwatch: '{cls.moto_url}', sts: '{cls.moto_url}'}}",
            "  call_timeout: 5s",
            "logging: {level: info}",
        ]
        cls.config = os.path.join(cls.dir, "vigil.yaml")
        with open(cls.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def env(self, secret=None):
        return dict(os.environ, AWS_ACCESS_KEY_ID=self.key, AWS_SECRET_ACCESS_KEY=secret or self.secret,
                    AWS_EC2_METADATA_DISABLED="true", HOME=self.dir, AWS_CONFIG_FILE=os.path.join(self.dir, "none"),
                    AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.dir, "none"))

    def start_run(self, tag, secret=None):
        p = Proc([VIGIL, "run", "--config", self.config, "--vantage", "local"], os.path.join(self.dir, f"run-{tag}.log"),
                 env=self.env(secret), cwd=self.dir)
        self.procs.append(p)
        wait_until(lambda: http("GET", self.engine_url + "/readyz", timeout=1)[0] == 200, 30, "vigil run /readyz")
        return p

    def check(self, region):
        s = json.loads(http("GET", self.engine_url + "/v1/status")[1])
        return next(c for c in s["checks"] if c["id"] == f"elb-5xx@{region}")

    def metrics(self):
        return http("GET", self.engine_url + "/metrics")[1].decode()

    def sample(self, text, name, **labels):
        """The value of one series (all given labels must match), or None."""
        for line in text.splitlines():
            m = re.match(r"^(\w+)\{(.*)\} (\S+)$", line)
            if not m or m.group(1) != name:
                continue
            got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
            if all(got.get(k) == v for k, v in labels.items()):
                return float(m.group(3))
        return None

    def test_1_check_config_aws(self):
        r = subprocess.run([VIGIL, "check-config", self.config, "--aws"], capture_output=True, text=True,
                           env=self.env(), cwd=self.dir, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for region in REGIONS:
            line = next((x for x in r.stdout.splitlines() if x.strip().startswith(region + ": sts")), None)
            self.assertIsNotNone(line, r.stdout)
            self.assertIn(self.moto_url, line)
            self.assertIn("credentials from environment", line)
            self.assertRegex(line, r"account \d{12}, arn:aws:iam::\d{12}:user/vigil")
        j = subprocess.run([VIGIL, "check-config", self.config, "--aws", "--json"], capture_output=True, text=True,
                           env=self.env(), cwd=self.dir, timeout=60)
        self.assertEqual(j.returncode, 0, j.stdout + j.stderr)
        ids = json.loads(j.stdout)["aws"]
        self.assertEqual([x["region"] for x in ids], list(REGIONS))
        self.assertTrue(all(x["arn"].endswith(":user/vigil") and x["error"] is None for x in ids), ids)

        bad = subprocess.run([VIGIL, "check-config", self.config, "--aws"], capture_output=True, text=True,
                             env=self.env("wrong-secret"), cwd=self.dir, timeout=60)
        self.assertEqual(bad.returncode, 1, bad.stdout + bad.stderr)
        self.assertIn("SignatureDoesNotMatch", bad.stderr)
        self.assertIn("FAILED", bad.stdout)

    def test_2_breach_and_recover_then_wrong_secret(self):
        run = self.start_run("good")
        for region in REGIONS:
            wait_until(lambda: self.check(region)["state"] == "up", 40, f"elb-5xx@{region} up")

        self.publisher.values["us-east-1"] = 120.0  # breach: healthy when < 50
        c = wait_until(lambda: (lambda c: c if c["state"] == "down" else None)(self.check("us-east-1")), 40,
                       "elb-5xx@us-east-1 down after the breach")
        self.assertEqual(c["last_failure"]["local"]["outcome"], "condition_failed", c)
        self.assertIn("= 120", c["last_failure"]["local"]["detail"])
        self.assertEqual(self.check("us-west-2")["state"], "up")
        text = self.metrics()
        self.assertEqual(self.sample(text, "vigil_cloudwatch_value", check="elb-5xx@us-east-1"), 120.0)
        self.assertGreaterEqual(
            self.sample(text, "vigil_cloudwatch_outcomes_total", check="elb-5xx@us-east-1",
                        outcome="condition_failed"), 1)

        self.publisher.values["us-east-1"] = 3.0  # recovery
        c = wait_until(lambda: (lambda c: c if c["state"] == "up" else None)(self.check("us-east-1")), 60,
                       "elb-5xx@us-east-1 up after the recovery")
        self.assertEqual(c["last_failure"], {}, c)

        # Batching: one GetMetricData call per region per interval (1 s), not one per check.
        text = self.metrics()
        self.assertEqual(self.sample(text, "vigil_aws_errors_total", service="cloudwatch"), None, text)
        calls = {r: self.sample(text, "vigil_aws_calls_total", service="cloudwatch", region=r) for r in REGIONS}
        self.assertTrue(all(v and v > 3 for v in calls.values()), calls)
        self.check_exposition(text)
        run.stop()

        # A wrong secret: moto refuses every signature, the checks fail with the AWS error code.
        self.start_run("wrong-secret", secret="wrong-secret")
        for region in REGIONS:
            c = wait_until(lambda: (lambda c: c if c["state"] == "down" else None)(self.check(region)), 40,
                           f"elb-5xx@{region} down with a wrong secret")
            failure = c["last_failure"]["local"]
            self.assertEqual(failure["outcome"], "aws_error", c)
            self.assertIn("SignatureDoesNotMatch", failure["detail"])
        text = self.metrics()
        for region in REGIONS:
            n = self.sample(text, "vigil_aws_errors_total", service="cloudwatch", region=region,
                            code="SignatureDoesNotMatch")
            self.assertTrue(n is not None and n >= 1, text)
            self.assertGreaterEqual(self.sample(text, "vigil_cloudwatch_outcomes_total", check=f"elb-5xx@{region}",
                                                outcome="aws_error"), 1)
        self.check_exposition(text)
        self.assertEqual(self.publisher.errors, [])

    def check_exposition(self, text):
        path = os.path.join(self.dir, "metrics.txt")
        with open(path, "w") as f:
            f.write(text)
        with open(path) as f:
            r = subprocess.run([PROMTOOL, "check", "metrics"], stdin=f, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # The engine's lag gauge and the local agent's own are distinct families.
        self.assertEqual(len(re.findall(r"^# TYPE vigil_replication_lag_seconds ", text, re.M)), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
