"""The alert rules and their promtool unit tests name only what vigil exports.

A rule over a metric, label or label value the binaries never export can
never fire (vigil_pages_total{result="failed"} did not, the code counts
delivered|retry|rejected|dropped), and its promtool unit test passes anyway
when it is fed made-up series. So this test starts the real thing and checks
the rules and the unit tests' input series against what it exports:

  - a one-member etcd (Debian's etcd-server) and a `vigil engine` coordinated
    through it (so the etcd coordinator's metrics exist), with an approver key,
    driven through healthy -> regional outage -> approved dry-run plan, plus
    one refused batch;
  - a `vigil agent --metrics-listen` on the same config plus a CloudWatch
    region check whose AWS endpoint is a closed 127.0.0.1 port (so
    vigil_aws_errors_total appears);
  - both /metrics scraped, the job and instance labels Prometheus adds put on.

Then, for every vector selector in every rule expression: the metric is
exported; every label it matches on is a label of that metric; every value an
`=` matcher names, and every alternative of an `=~` alternation, is a value
the metric has; `by (...)`/`on (...)` labels are labels of a metric the
expression selects. For every input series of deploy/prometheus/tests: the
metric is exported, its labels are the metric's labels, and values of the
closed vocabularies (everything except job, instance and the topology names:
region, vantage, check, sink, code, step) are exported values, `le` included.

    VIGIL_BIN=build/app/vigil python3 -m unittest -v test_rules_exported
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

from deploy_common import DEPLOY, SOURCE_DIR, run, tool

sys.path.insert(0, str(SOURCE_DIR / "tests" / "integration" / "status_page"))
import vigil_harness as h  # noqa: E402

RULES = DEPLOY / "prometheus" / "vigil.rules.yml"
RULES_TEST = DEPLOY / "prometheus" / "tests" / "vigil.rules.test.yml"
ETCD = os.environ.get("VIGIL_ETCD", shutil.which("etcd") or "/usr/bin/etcd")
JOBS = {"engine": "vigil-engine", "agent": "vigil-agent"}
# Labels whose values are names from the deployment's own config (or AWS's
# error codes), not a closed vocabulary of vigil's: any value will do.
TOPOLOGY_LABELS = {"job", "instance", "region", "vantage", "check", "sink", "code", "step"}
PROMQL_KEYWORDS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "and", "or",
    "unless", "inf", "nan",
}


def parse_exposition(text, job):
    """[(name, labels)] of every sample, with job and instance added."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s", line)
        if m:
            labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            labels.update(job=job, instance="127.0.0.1:9470")
            out.append((m.group(1), labels))
    return out


def selectors(expr):
    """[(metric name, [(label, op, value)])] of the vector selectors in a PromQL expression."""
    out = []
    for m in re.finditer(r'(?<![\w."])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\})?', expr):
        name, body = m.group(1), m.group(2)
        rest = expr[m.end():].lstrip()
        if rest.startswith("(") or name.lower() in PROMQL_KEYWORDS or re.fullmatch(r"\d+[smhdwy]?", name):
            continue
        before = expr[:m.start()].rstrip()
        if re.search(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*$", before):
            continue  # a label name inside a grouping list
        matchers = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"', body or "")
        out.append((name, matchers))
    return out


def grouping_labels(expr):
    return {x.strip() for g in re.findall(r"\b(?:by|on|ignoring)\s*\(([^)]*)\)", expr)
            for x in g.split(",") if x.strip()}


def parse_series(text):
    m = re.fullmatch(r'\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*', text)
    assert m, text
    return m.group(1), dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"', m.group(2) or ""))


class Exported:
    """Per metric name: its label names and, per label, the values seen."""

    def __init__(self, samples):
        self.labels = {}
        self.values = {}
        for name, labels in samples:
            self.labels.setdefault(name, set()).update(labels)
            for k, v in labels.items():
                self.values.setdefault((name, k), set()).add(v)
        # Prometheus makes `up` per target.
        self.labels["up"] = {"job", "instance"}
        self.values[("up", "job")] = set(JOBS.values())
        self.samples = samples + [("up", {"job": j, "instance": "127.0.0.1:9470"}) for j in JOBS.values()]

    def problems_of_selector(self, name, matchers):
        if name not in self.labels:
            return [f"{name}: not exported"]
        out = []
        for label, op, value in matchers:
            if label not in self.labels[name]:
                out.append(f"{name}: has no label {label!r}")
                continue
            have = self.values[(name, label)]
            if op == "=" and value not in have:
                out.append(f"{name}{{{label}={value!r}}}: never exported (values: {sorted(have)})")
            elif op == "=~":
                alts = value.split("|") if re.fullmatch(r"[\w-]+(\|[\w-]+)*", value) else None
                for alt in alts or []:
                    if alt not in have:
                        out.append(f"{name}{{{label}=~...{alt}...}}: {alt!r} never exported (values: {sorted(have)})")
                if alts is None and not any(re.fullmatch(value, v) for v in have):
                    out.append(f"{name}{{{label}=~{value!r}}}: matches no exported value")
        if not out:
            positive = [(lb, op, v) for lb, op, v in matchers if op in ("=", "=~")]
            if not any(n == name and all(
                    (lab.get(lb) == v if op == "=" else re.fullmatch(v, lab.get(lb, "")) is not None)
                    for lb, op, v in positive) for n, lab in self.samples):
                out.append(f"{name}{matchers}: no exported series matches all matchers together")
        return out

    def problems_of_input_series(self, name, labels):
        if name not in self.labels:
            return [f"{name}: not exported"]
        out = []
        for k, v in labels.items():
            if k not in self.labels[name]:
                out.append(f"{name}: has no label {k!r}")
            elif k not in TOPOLOGY_LABELS and v not in self.values[(name, k)]:
                out.append(f"{name}{{{k}={v!r}}}: never exported (values: {sorted(self.values[(name, k)])})")
        return out


def rules():
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


class RulesAgainstExpositionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="vigil-rules-exported-")
        cls.etcd = cls.engine = cls.agent = None
        try:
            cls._start()
        except BaseException:
            if cls.engine:
                print(cls.engine.log()[-4000:], file=sys.stderr)
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        if not os.access(ETCD, os.X_OK):
            raise AssertionError(f"{ETCD} is missing: scripts/install-deps.sh installs etcd-server")
        client, peer = h.free_port(), h.free_port()
        url = f"http://127.0.0.1:{client}"
        cls.etcd_log = open(os.path.join(cls.dir, "etcd.log"), "w")
        cls.etcd = subprocess.Popen(
            [ETCD, "--name", "m0", "--data-dir", os.path.join(cls.dir, "etcd"),
             "--listen-client-urls", url, "--advertise-client-urls", url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"m0=http://127.0.0.1:{peer}"],
            stdout=cls.etcd_log, stderr=subprocess.STDOUT)
        h.wait_until(lambda: h.http("GET", url + "/health", timeout=1)[0] == 200, 30, "etcd healthy")
        closed = h.free_port()  # nothing listens here: every AWS call fails with a transport error
        extra = ("region_checks:\n"
                 "  - {name: elb-5xx, region: us-east-1, interval: 1s, timeout: 500ms,\n"
                 "     cloudwatch: {namespace: AWS/ApplicationELB, metric: HTTPCode_ELB_5XX_Count,\n"
                 "                  dimensions: {LoadBalancer: app/shop}, stat: Sum, period: 60s,\n"
                 "                  condition: '< 50', missing_data: ignore}}\n"
                 f"aws: {{endpoints: {{cloudwatch: 'http://127.0.0.1:{closed}', sts: 'http://127.0.0.1:{closed}'}},"
                 " call_timeout: 1s}\n")
        cls.engine = h.Engine(with_approver=True, coordination=f"{{backend: etcd, endpoints: [{url}]}}")
        # Only the agent has the CloudWatch check: the engine's regions stay
        # classifiable from the batches the test feeds it.
        agent_config = os.path.join(cls.dir, "agent.yaml")
        with open(cls.engine.config) as f, open(agent_config, "w") as out:
            out.write(f.read() + extra)
        # The agent inherits these: its calls are signed, then fail on the closed port.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "example-secret")
        cls.agent, expositions = h.drive_and_scrape(cls.engine,
                                                    lambda: h.Agent(cls.engine, "us-east-1", agent_config))
        h.wait_until(lambda: "vigil_aws_errors_total{" in h.http("GET", cls.agent.metrics_url + "/metrics")[1].decode(),
                     30, "an AWS error counted")
        expositions["agent"] = h.http("GET", cls.agent.metrics_url + "/metrics")[1].decode()
        cls.expositions = expositions
        samples = []
        for which, text in expositions.items():
            samples += parse_exposition(text, JOBS[which])
        cls.exported = Exported(samples)

    @classmethod
    def tearDownClass(cls):
        if cls.agent:
            cls.agent.stop()
        if cls.engine:
            cls.engine.stop()
            cls.engine.cleanup()
        if cls.etcd and cls.etcd.poll() is None:
            cls.etcd.terminate()
            cls.etcd.wait(20)
        if getattr(cls, "etcd_log", None):
            cls.etcd_log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_the_setup_exports_what_the_rules_need(self):
        for name in ("vigil_leader", "vigil_coordination_healthy", "vigil_plan_runs_total", "vigil_aws_errors_total",
                     "vigil_pages_total", "vigil_agent_batches_total", "vigil_last_tick_timestamp_seconds"):
            self.assertIn(name, self.exported.labels, f"{name} missing from the driven expositions")

    def test_selector_parsing(self):
        # Guards the parser: a selector in a function, in an aggregation and a grouping list.
        got = selectors('sum by (sink) (rate(vigil_pages_total{result=~"a|b",sink!="x"}[5m])) > 0 '
                        'unless on (sink) max(up{job="j"})')
        self.assertEqual(got, [("vigil_pages_total", [("result", "=~", "a|b"), ("sink", "!=", "x")]),
                               ("up", [("job", "=", "j")])])

    def test_every_rule_selects_exported_series(self):
        for rule in rules():
            with self.subTest(alert=rule["alert"]):
                found = selectors(rule["expr"])
                self.assertTrue(found, "no selector found")
                problems = [p for name, m in found for p in self.exported.problems_of_selector(name, m)]
                self.assertEqual(problems, [])
                names = {n for n, _ in found}
                carried = set().union(*(self.exported.labels.get(n, set()) for n in names))
                self.assertFalse(grouping_labels(rule["expr"]) - carried, "grouping by labels no selected metric has")

    def test_every_unit_test_input_is_exported(self):
        doc = yaml.safe_load(RULES_TEST.read_text())
        for t in doc["tests"]:
            for s in t.get("input_series", []):
                with self.subTest(test=t.get("name"), series=s["series"]):
                    name, labels = parse_series(s["series"])
                    self.assertEqual(self.exported.problems_of_input_series(name, labels), [])

    def test_the_checks_can_fail(self):
        """What the rules shipped before would be caught."""
        ex = self.exported
        self.assertTrue(ex.problems_of_selector("vigil_pages_total", [("result", "=", "failed")]))
        self.assertTrue(ex.problems_of_selector("vigil_agent_batches_total", [("result", "=~", "failed|bogus")]))
        self.assertTrue(ex.problems_of_selector("vigil_no_such_metric", []))
        self.assertTrue(ex.problems_of_selector("vigil_leader", [("region", "=", "us-east-1")]))
        self.assertTrue(ex.problems_of_input_series("vigil_tick_duration_seconds_bucket", {"le": "0.33"}))
        self.assertTrue(ex.problems_of_input_series("vigil_batches_rejected_total", {"reason": "bad_seq"}))

    def test_promtool_unit_tests_still_pass(self):
        promtool = tool(self, "promtool")
        r = run([promtool, "test", "rules", str(RULES_TEST)], cwd=RULES_TEST.parent)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
