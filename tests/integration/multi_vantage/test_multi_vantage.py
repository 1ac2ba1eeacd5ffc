#!/usr/bin/env python3
"""The multi-vantage test, with real processes on 127.0.0.1 (python3 stdlib only):

one `vigil engine` and three `vigil agent` processes (us-east-1, us-west-2,
eu-west-1) probe a fault-injecting HTTP/HTTPS target (tests/support/fault_server.py,
certificates made with openssl). eu-west-1 reaches the targets through its own
forward proxy (tests/support/fault_proxy.py, via https_proxy/http_proxy) while
its batches go to the engine directly (no_proxy). /v1/status must go through:

  a) one primary service failing           -> us-east-1 service_degraded, no recommendation
  b) every primary service failing and the
     us-east-1 agent process killed         -> us-east-1 regional_outage, failover pending_approval
  c) healed, agent back; then eu-west-1's
     proxy blackholes its traffic           -> eu-west-1 impaired, both regions stay healthy,
                                               no new recommendation

Environment: VIGIL_BIN (the vigil binary), VIGIL_SOURCE_DIR (the source tree),
VIGIL_KEEP_E2E=1 keeps the temporary directory with the logs.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

VIGIL = os.environ.get("VIGIL_BIN", "vigil")
SRC = os.environ.get("VIGIL_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
SUPPORT = os.path.join(SRC, "tests", "support")
PRIMARY, DR = "us-east-1", "us-west-2"
REGIONS = (PRIMARY, DR)
VANTAGES = ("us-east-1", "us-west-2", "eu-west-1")
PROXIED = "eu-west-1"
# service -> scheme of its checks: both listeners of the target server are exercised
SERVICES = {"api-web": "https", "checkout": "http", "search": "https"}
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
              "NO_PROXY")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def get(url, timeout=5):
    # urllib would honour the CI's proxy variables too: talk to 127.0.0.1 directly.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_until(pred, timeout, what, interval=0.2):
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


class Proc:
    def __init__(self, argv, log, env=None, cwd=None, stdin=None):
        self.log = log
        self._f = open(log, "w")
        self.p = subprocess.Popen(argv, stdout=self._f, stderr=subprocess.STDOUT, env=env, cwd=cwd, stdin=stdin,
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


class Helper:
    """A tests/support server that prints its ports as one JSON line and lives until its stdin closes."""

    def __init__(self, script, args, env):
        self.p = subprocess.Popen([sys.executable, os.path.join(SUPPORT, script), *args], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        line = self.p.stdout.readline()
        if not line:
            raise AssertionError(f"{script} did not start: {self.p.stderr.read()}")
        self.ports = json.loads(line)

    def stop(self):
        self.p.stdin.close()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.p.stdout.close()
        self.p.stderr.close()


class MultiVantage(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vigil-multi-vantage-")
        self.clean_env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
        self.helpers = []
        self.procs = {}
        self.target = Helper("fault_server.py", ["--certs", os.path.join(self.dir, "certs")], self.clean_env)
        self.helpers.append(self.target)
        self.proxy = Helper("fault_proxy.py", [], self.clean_env)
        self.helpers.append(self.proxy)
        self.control_url = f"http://127.0.0.1:{self.target.ports['http']}/control"
        self.proxy_url = f"http://127.0.0.1:{self.proxy.ports['forward']}"

    def tearDown(self):
        for p in self.procs.values():
            p.stop()
        for h in reversed(self.helpers):
            h.stop()
        if os.environ.get("VIGIL_KEEP_E2E"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- setup -------------------------------------------------------------

    def write_config(self):
        self.engine_port = free_port()
        self.engine_url = f"http://127.0.0.1:{self.engine_port}"
        with open(os.path.join(self.dir, "agent.key"), "w") as f:
            f.write("multi-vantage-agent-key\n")
        os.chmod(os.path.join(self.dir, "agent.key"), 0o600)
        ports = {"http": self.target.ports["http"], "https": self.target.ports["https_good"]}
        lines = [
            "deployment: multi-vantage",
            f"regions: [{{name: {PRIMARY}, role: primary}}, {{name: {DR}, role: dr}}]",
            f"vantages: [{', '.join(VANTAGES)}]",
            "decision: {tick: 250ms, fall: 2, rise: 2, stale_after: 4s, confirm_for: 1s, clear_for: 3s,",
            "           service_page_grace: 1s, cooldown: 5m, recommendation_ttl: 10m}",
            # 1 s probes with 800 ms to answer: the python target answers slowly on a busy machine.
            "probe_defaults: {interval: 1s, timeout: 800ms, jitter: 0.1}",
            "services:",
        ]
        for svc, scheme in SERVICES.items():
            lines += [f"  - name: {svc}", "    checks:"]
            for r in REGIONS:
                # Targets are addressed as localhost (the certificates name it): eu-west-1's
                # proxy carries them while no_proxy=127.0.0.1 keeps its batches direct.
                url = f"{scheme}://localhost:{ports[scheme]}/health/{r}/{svc}"
                extra = f", ca_file: '{self.target.ports['ca_file']}'" if scheme == "https" else ""
                lines += [f"      - region: {r}",
                          f"        http: {{url: '{url}'{extra},",
                          "               expect: ['status == 200', 'body.json(\"/status\") == \"UP\"']}"]
        lines += [
            "engine:",
            f"  listen: 127.0.0.1:{self.engine_port}",
            f"  endpoints: [{self.engine_url}]",
            "  agent_key_file: agent.key",
            f"  state_dir: {os.path.join(self.dir, 'state')}",
            "coordination: {backend: file}",
            "logging: {level: info}",
        ]
        self.config = os.path.join(self.dir, "vigil.yaml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([VIGIL, "check-config", self.config], capture_output=True, text=True, env=self.clean_env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def start_agent(self, vantage):
        env = dict(self.clean_env)
        if vantage == PROXIED:
            env.update(http_proxy=self.proxy_url, https_proxy=self.proxy_url, no_proxy="127.0.0.1")
        if vantage in self.procs:
            self.procs[vantage].stop()
        log = os.path.join(self.dir, f"agent-{vantage}-{int(time.monotonic() * 1000)}.log")
        self.procs[vantage] = Proc([VIGIL, "agent", "--config", self.config, "--vantage", vantage], log, env=env,
                                   cwd=self.dir)

    # --- observation ---------------------------------------------------------

    def status(self):
        code, body = get(self.engine_url + "/v1/status")
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def control(self, **query):
        q = "&".join(f"{k}={v}" for k, v in query.items())
        code, body = get(f"{self.control_url}?{q}")
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def set_proxy(self, mode):
        code, body = get(f"{self.proxy_url}/control?mode={mode}")
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def classes(self, s=None):
        s = s or self.status()
        return {r: s["regions"][r]["classification"] for r in REGIONS}

    def wait_status(self, pred, timeout, what):
        """Waits for pred(status); on timeout shows the last status and the engine's log tail."""
        try:
            return wait_until(lambda: (lambda s: s if pred(s) else None)(self.status()), timeout, what)
        except AssertionError:
            s = self.status()
            brief = {"regions": s["regions"], "vantages": s["vantages"], "recommendation": s["recommendation"]}
            raise AssertionError(f"timed out waiting for {what}; last status {json.dumps(brief, indent=1)}\n"
                                 f"engine log tail:\n{self.procs['engine'].text()[-3000:]}") from None

    def hold(self, pred, seconds, what):
        """pred(status) must stay true for `seconds` (every 250 ms)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            s = self.status()
            self.assertTrue(pred(s), f"{what} broke: {json.dumps({k: s[k] for k in ('regions', 'vantages', 'recommendation')}, indent=1)}")
            time.sleep(0.25)

    # --- the test --------------------------------------------------------------

    def test_service_regional_and_impaired_vantage(self):
        self.write_config()
        self.procs["engine"] = Proc([VIGIL, "engine", "--config", self.config],
                                    os.path.join(self.dir, "engine.log"), env=self.clean_env, cwd=self.dir)
        wait_until(lambda: get(self.engine_url + "/healthz", timeout=1)[0] == 200, 30, "engine /healthz")
        for v in VANTAGES:
            self.start_agent(v)
        s = self.wait_status(lambda s: self.classes(s) == {PRIMARY: "healthy", DR: "healthy"} and all(
            s["vantages"][v]["state"] == "present" for v in VANTAGES) and all(
            c["state"] == "up" and set(c["by_vantage"].values()) == {"up"} for c in s["checks"]), 90,
            "both regions healthy with every check up from every vantage")
        self.assertEqual(len(s["checks"]), 2 * len(SERVICES))
        self.assertIsNone(s["recommendation"])
        before = self.set_proxy("forward")
        self.assertGreater(before["tunnels"], 0, "eu-west-1's HTTPS probes did not go through its proxy")
        self.assertGreater(before["forwarded"], 0, "eu-west-1's HTTP probes did not go through its proxy")

        # a) one primary service fails -> service_degraded, no recommendation.
        self.control(fail=f"{PRIMARY}/checkout", mode="503")
        s = self.wait_status(lambda s: self.classes(s)[PRIMARY] == "service_degraded", 40,
                             "us-east-1 service_degraded")
        self.assertEqual(self.classes(s)[DR], "healthy")
        self.assertEqual(s["regions"][PRIMARY]["down_services"], ["checkout"])
        self.assertIsNone(s["recommendation"])
        down = {c["id"] for c in s["checks"] if c["state"] == "down"}
        self.assertEqual(down, {f"checkout@{PRIMARY}"})
        self.hold(lambda s: self.classes(s)[PRIMARY] == "service_degraded" and s["recommendation"] is None, 2,
                  "service_degraded without recommendation")

        # b) every primary service fails, in three ways, and the primary's own agent dies.
        self.control(fail=f"{PRIMARY}/api-web", mode="hang")
        self.control(fail=f"{PRIMARY}/search", mode="json")
        self.procs[PRIMARY].p.send_signal(signal.SIGKILL)
        self.procs[PRIMARY].p.wait(10)
        s = self.wait_status(lambda s: self.classes(s)[PRIMARY] == "regional_outage" and s["recommendation"] and
                             s["recommendation"]["state"] == "pending_approval", 60,
                             "us-east-1 regional_outage with a failover recommendation pending approval")
        self.assertEqual(self.classes(s)[DR], "healthy")
        self.assertEqual(s["vantages"][PRIMARY]["state"], "absent")
        self.assertEqual({v: s["vantages"][v]["state"] for v in VANTAGES if v != PRIMARY},
                         {"us-west-2": "present", "eu-west-1": "present"})
        rec = s["recommendation"]
        self.assertEqual((rec["action"], rec["from"], rec["to"]), ("failover", PRIMARY, DR), rec)
        for c in s["checks"]:
            want = "down" if c["region"] == PRIMARY else "up"
            self.assertEqual(c["state"], want, c)
            if c["region"] == PRIMARY:
                self.assertEqual(c["votes"]["down"], 2, c)  # the two surviving vantages agree
        outage_rec = rec["id"]

        # c) heal, bring the primary's agent back, then blackhole eu-west-1 through its proxy.
        self.control(heal="all")
        self.start_agent(PRIMARY)
        s = self.wait_status(lambda s: self.classes(s) == {PRIMARY: "healthy", DR: "healthy"} and all(
            s["vantages"][v]["state"] == "present" for v in VANTAGES), 60, "healed: both regions healthy")
        self.assertIsNone(s["recommendation"])  # the incident closed; the events say what became of it
        recs = [e["recommendation"] for e in json.loads(get(self.engine_url + "/v1/events")[1])
                if e.get("type") == "recommendation"]
        self.assertEqual([(r["id"], r["state"]) for r in recs], [(outage_rec, "pending_approval"),
                                                                 (outage_rec, "withdrawn")], recs)

        self.set_proxy("silent")
        s = self.wait_status(lambda s: s["vantages"][PROXIED]["state"] == "impaired", 40, "eu-west-1 impaired")
        self.assertLess(s["vantages"][PROXIED]["last_report_age_s"], 4.0, "impaired, not absent: it still reports")
        self.assertGreater(self.set_proxy("silent")["blackholed"], 0)
        cells = {c["id"]: c["by_vantage"][PROXIED] for c in s["checks"]}
        self.assertEqual(set(cells.values()), {"impaired"}, cells)  # it abstains on every check

        def quiet(s):
            return (self.classes(s) == {PRIMARY: "healthy", DR: "healthy"} and
                    all(s["regions"][r]["raw"] == "healthy" for r in REGIONS) and
                    s["vantages"][PROXIED]["state"] == "impaired" and
                    s["recommendation"] is None and
                    all(c["state"] == "up" for c in s["checks"]))

        # Longer than confirm_for (1s) several times over: nothing regional may even start.
        self.hold(quiet, 4, "healthy regions while eu-west-1 is impaired")
        events = json.loads(get(self.engine_url + "/v1/events")[1])
        pages = [(e["kind"], e.get("vantage"), e["action"]) for e in events if e["type"] == "page"]
        self.assertIn(("vantage_impaired", PROXIED, "trigger"), pages, pages)
        recs = [e for e in events if e["type"] == "recommendation"]
        self.assertEqual(len(recs), 2, "a recommendation appeared while eu-west-1 was impaired")
        for name, p in self.procs.items():
            self.assertIsNone(p.p.poll(), f"{name} exited: {p.text()[-2000:]}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
