#!/usr/bin/env python3
"""A real Prometheus (Debian's 2.42) scrapes a running engine and agent.

Starts `vigil engine` (fed signed batches so its series carry values) and
`vigil agent --metrics-listen`, then `prometheus` with a generated config that
scrapes both every second on 127.0.0.1; waits until /api/v1/targets shows both
targets up and `up == 1` for both jobs, then queries a few vigil series.

    VIGIL_BIN=build/app/vigil python3 tests/integration/prometheus_scrape/test_prometheus_scrape.py
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "status_page"))

import vigil_harness as h  # noqa: E402

PROMETHEUS = os.environ.get("VIGIL_PROMETHEUS", shutil.which("prometheus") or "/usr/bin/prometheus")


class PrometheusScrape(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(PROMETHEUS, os.X_OK):
            raise AssertionError(f"{PROMETHEUS} is missing: scripts/install-deps.sh installs prometheus")
        cls.engine = h.Engine()
        cls.feeder = h.Feeder(cls.engine)
        cls.feeder.set(["us-west-2", "eu-west-1"])  # the agent below is the us-east-1 vantage
        cls.agent = None
        cls.prom = None
        cls.dir = tempfile.mkdtemp(prefix="vigil-prom-")
        try:
            cls.agent = h.Agent(cls.engine, "us-east-1")
            cls.port = h.free_port()
            cls.url = f"http://127.0.0.1:{cls.port}"
            config = os.path.join(cls.dir, "prometheus.yml")
            with open(config, "w") as f:
                f.write(
                    "global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}\n"
                    "scrape_configs:\n"
                    f"  - job_name: vigil-engine\n    static_configs: [{{targets: ['{cls.engine.listen}']}}]\n"
                    f"  - job_name: vigil-agent\n"
                    f"    static_configs: [{{targets: ['127.0.0.1:{cls.agent.metrics_port}'], "
                    "labels: {vantage_host: us-east-1}}]\n")
            cls.log = open(os.path.join(cls.dir, "prometheus.log"), "w")
            cls.prom = subprocess.Popen(
                [PROMETHEUS, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{cls.port}",
                 f"--storage.tsdb.path={os.path.join(cls.dir, 'data')}", "--storage.tsdb.retention.time=1h",
                 "--web.enable-lifecycle"], stdout=cls.log, stderr=subprocess.STDOUT)
            h.wait_until(lambda: h.http("GET", cls.url + "/-/ready", timeout=1)[0] == 200, 60, "prometheus ready")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.prom and cls.prom.poll() is None:
            cls.prom.terminate()
            try:
                cls.prom.wait(20)
            except subprocess.TimeoutExpired:
                cls.prom.kill()
                cls.prom.wait()
        if getattr(cls, "log", None):
            cls.log.close()
        if cls.agent:
            cls.agent.stop()
        cls.feeder.stop()
        cls.engine.stop()
        cls.engine.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def api(self, path, **params):
        status, body = h.http("GET", self.url + path + ("?" + urllib.parse.urlencode(params) if params else ""))
        self.assertEqual(status, 200, body[:300])
        j = json.loads(body)
        self.assertEqual(j["status"], "success", j)
        return j["data"]

    def query(self, expr):
        return self.api("/api/v1/query", query=expr)["result"]

    def test_both_targets_up_and_vigil_series_queryable(self):
        def targets_up():
            active = self.api("/api/v1/targets")["activeTargets"]
            return len(active) == 2 and all(t["health"] == "up" for t in active) and active
        try:
            active = h.wait_until(targets_up, 60, "both targets healthy in /api/v1/targets", 0.5)
        except AssertionError:
            print(json.dumps(self.api("/api/v1/targets"), indent=1)[:3000], file=sys.stderr)
            raise
        self.assertEqual({t["labels"]["job"] for t in active}, {"vigil-engine", "vigil-agent"})
        up = h.wait_until(lambda: len(self.query("up == 1")) == 2 and self.query("up == 1"), 30, "up == 1 for both")
        self.assertEqual({r["metric"]["job"] for r in up}, {"vigil-engine", "vigil-agent"})

        # Engine series: the decision state as numbers.
        rows = h.wait_until(lambda: self.query('vigil_region_classification{job="vigil-engine",'
                                               'region="us-east-1",classification="healthy"} == 1'),
                            30, "us-east-1 healthy in vigil_region_classification")
        self.assertEqual(len(rows), 1)
        quorum = self.query('vigil_quorum{job="vigil-engine"}')
        self.assertEqual([r["value"][1] for r in quorum], ["2"])
        leader = self.query('vigil_leader{job="vigil-engine"}')
        self.assertEqual([r["value"][1] for r in leader], ["1"])
        states = self.query('sum by (vantage) (vigil_vantage_state{job="vigil-engine"})')
        self.assertEqual({r["metric"]["vantage"] for r in states}, set(h.VANTAGES))
        received = h.wait_until(lambda: self.query('increase(vigil_batches_received_total{job="vigil-engine"}[10s]) > 0'),
                                30, "batches received rising")
        self.assertTrue({r["metric"]["vantage"] for r in received} >= {"us-west-2", "eu-west-1"})
        # Agent series: probes by outcome (every test check points at a closed port on 127.0.0.1).
        outcomes = h.wait_until(lambda: self.query('sum by (outcome) (vigil_probe_outcomes_total{job="vigil-agent"}) > 0'),
                                30, "agent probe outcomes")
        self.assertTrue(outcomes, outcomes)
        self.assertTrue(all(r["metric"]["outcome"] != "ok" for r in outcomes), outcomes)
        sent = h.wait_until(lambda: self.query('vigil_agent_batches_total{job="vigil-agent",result="sent"} > 0'),
                            30, "agent batches sent")
        self.assertEqual(len(sent), 1)
        # Histograms work end to end.
        self.assertTrue(self.query('histogram_quantile(0.5, sum by (le) (rate(vigil_tick_duration_seconds_bucket[30s])))'))
        # The engine's decision loop moves its last-tick timestamp.
        stalled = self.query('time() - vigil_last_tick_timestamp_seconds{job="vigil-engine"}')
        self.assertEqual(len(stalled), 1)
        self.assertLess(float(stalled[0]["value"][1]), 10)

    def test_build_info_and_process_metrics_on_both_jobs(self):
        h.wait_until(lambda: len(self.query("vigil_build_info == 1")) == 2, 60, "vigil_build_info from both jobs")
        info = self.query("vigil_build_info")
        self.assertEqual({r["metric"]["job"] for r in info}, {"vigil-engine", "vigil-agent"})
        for r in info:
            self.assertTrue(r["metric"]["version"], r)
            self.assertIn("revision", r["metric"])
        for name in PROCESS_METRICS:
            with self.subTest(metric=name):
                rows = self.query(name)
                self.assertEqual({r["metric"]["job"] for r in rows}, {"vigil-engine", "vigil-agent"}, name)
                for r in rows:
                    check_process_value(self, name, float(r["value"][1]))


PROCESS_METRICS = ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                   "process_open_fds", "process_max_fds", "process_start_time_seconds")


def check_process_value(test, name, v):
    """Plausible values, not just presence: a started process, some memory, a few fds."""
    import time
    if name == "process_start_time_seconds":
        test.assertLess(abs(time.time() - v), 3600, "start time is not about now")
    elif name == "process_cpu_seconds_total":
        test.assertGreaterEqual(v, 0)
    elif name == "process_open_fds":
        test.assertGreaterEqual(v, 3)
    else:
        test.assertGreater(v, 1 if name == "process_max_fds" else 1 << 20, name)


class RunProcessMetrics(unittest.TestCase):
    """`vigil run` (engine and agent in one process) exports them once, too."""

    def test_vigil_run_exports_build_info_and_process_metrics(self):
        d = tempfile.mkdtemp(prefix="vigil-run-metrics-")
        proc = None
        try:
            port = h.free_port()
            key = os.path.join(d, "agent.key")
            with open(key, "w") as f:
                f.write(h.AGENT_KEY + "\n")
            os.chmod(key, 0o600)
            config = os.path.join(d, "vigil.yaml")
            with open(config, "w") as f:
                f.write(h.config_yaml(f"127.0.0.1:{port}", os.path.join(d, "state"), key))
            log = open(os.path.join(d, "run.log"), "w")
            proc = subprocess.Popen([h.vigil_bin(), "run", "--config", config, "--vantage", "us-east-1"],
                                    stdout=log, stderr=subprocess.STDOUT)
            text = h.wait_until(lambda: h.http("GET", f"http://127.0.0.1:{port}/metrics", timeout=1)[1].decode(),
                                30, "vigil run /metrics")
            self.assertEqual(len([x for x in text.splitlines() if x.startswith("vigil_build_info{")]), 1, text[:500])
            for name in PROCESS_METRICS:
                with self.subTest(metric=name):
                    (line,) = [x for x in text.splitlines() if x.startswith(name + " ")]
                    check_process_value(self, name, float(line.split()[1]))
        finally:
            if proc and proc.poll() is None:
                proc.terminate()
                proc.wait(20)
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
