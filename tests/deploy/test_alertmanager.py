"""deploy/alertmanager: amtool check-config, routing by severity, inhibitions."""
import itertools
import re
import unittest

import yaml

from deploy_common import DEPLOY, SOURCE_DIR, run, tool

AM = DEPLOY / "alertmanager" / "alertmanager.yml"
RULES = DEPLOY / "prometheus" / "vigil.rules.yml"
EXPECTED_RECEIVER = {"critical": "pagerduty-critical", "warning": "slack-warnings", "info": "slack-status"}


class AlertmanagerTest(unittest.TestCase):
    def test_amtool_check_config(self):
        amtool = tool(self, "amtool")
        r = run([amtool, "check-config", str(AM)])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    def test_every_vigil_alert_routes_by_severity(self):
        amtool = tool(self, "amtool")
        rules = yaml.safe_load(RULES.read_text())
        for rule in (r for g in rules["groups"] for r in g["rules"]):
            sev = rule["labels"]["severity"]
            with self.subTest(alert=rule["alert"], severity=sev):
                r = run([amtool, "config", "routes", "test", f"--config.file={AM}",
                         f"--verify.receivers={EXPECTED_RECEIVER[sev]}",
                         f"alertname={rule['alert']}", f"severity={sev}", "region=us-east-1"])
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertEqual(r.stdout.strip(), EXPECTED_RECEIVER[sev])

    def test_route_test_can_fail(self):
        amtool = tool(self, "amtool")
        r = run([amtool, "config", "routes", "test", f"--config.file={AM}", "--verify.receivers=slack-status",
                 "alertname=VigilNoLeader", "severity=critical"])
        self.assertNotEqual(r.returncode, 0, "a critical alert must not go to the status channel")

    def test_regional_outage_inhibits_service_level(self):
        cfg = yaml.safe_load(AM.read_text())
        found = False
        for rule in cfg["inhibit_rules"]:
            src = " ".join(rule.get("source_matchers", []))
            dst = " ".join(rule.get("target_matchers", []))
            if "VigilRegionalOutage" in src and "VigilServiceDegraded" in dst:
                self.assertEqual(rule.get("equal"), ["region"], "inhibit only within the same region")
                found = True
        self.assertTrue(found, "no inhibition of VigilServiceDegraded by VigilRegionalOutage")

    def test_no_inline_secrets(self):
        cfg = yaml.safe_load(AM.read_text())
        self.assertNotIn("slack_api_url", cfg.get("global", {}))
        self.assertIn("slack_api_url_file", cfg.get("global", {}))
        for recv in cfg["receivers"]:
            for pd in recv.get("pagerduty_configs", []):
                self.assertNotIn("routing_key", pd)
                self.assertNotIn("service_key", pd)
                self.assertIn("routing_key_file", pd)



# --- Inhibition rules against the alerts that really exist -------------------
# An alert "shape" is {label: value}, where value is a string, a set of
# possible strings, or ANY (a label whose values come from the data, such as
# `region` of a `max by (region)`). Shapes come from the Prometheus rules
# (alertname, static labels, the labels the expression keeps) and from
# vigil's Alertmanager paging sink (alertname VigilIncident and the label keys
# the sink's source sets, one shape per page kind and severity).
ANY = object()
PAGE_KINDS = ["service_degraded", "regional_outage", "global_outage", "vantage_impaired", "vantage_absent",
              "coordination_lost"]
PAGE_SEVERITIES = ["critical", "error", "warning", "info"]


def rule_shapes():
    rules = yaml.safe_load(RULES.read_text())
    for rule in (r for g in rules["groups"] for r in g["rules"]):
        expr = rule["expr"]
        shape = {"alertname": rule["alert"], **rule.get("labels", {})}
        groupings = re.findall(r"\bby\s*\(([^)]*)\)", expr)
        if groupings:
            # The outermost aggregation decides; a `by` lists what survives.
            keep = {x.strip() for x in groupings[0].split(",") if x.strip()}
        else:
            keep = {"job", "instance"} | set(re.findall(r"([a-z_]+)\s*=~?", expr))
        for label in keep:
            m = re.search(label + r'\s*=\s*"([^"]*)"', expr)
            shape.setdefault(label, m.group(1) if m else ANY)
        yield shape


def sink_label_keys():
    """The label keys vigil's Alertmanager sink sets, read from its source."""
    for path in SOURCE_DIR.glob("*/*.cpp"):
        text = path.read_text(encoding="utf-8", errors="replace")
        m = re.search(r'json labels\{\{"alertname", "VigilIncident"\}(.*?)\n\s*std::string links', text, re.S)
        if m:
            return {"alertname"} | set(re.findall(r'(?:\{"|labels\[")([a-z_]+)"', m.group(1)))
    raise AssertionError("no source builds the VigilIncident label set")


def sink_shapes():
    keys = sink_label_keys()
    for kind, sev in itertools.product(PAGE_KINDS, PAGE_SEVERITIES):
        shape = {k: ANY for k in keys}
        shape.update({"alertname": "VigilIncident", "kind": kind, "severity": sev})
        yield shape


def matcher_ok(matcher, shape):
    m = re.fullmatch(r'\s*([a-zA-Z_]+)\s*(=~|!~|!=|=)\s*"(.*)"\s*', matcher)
    assert m, matcher
    label, op, value = m.groups()
    have = shape.get(label, "")
    candidates = [have] if isinstance(have, str) else (sorted(have) if have is not ANY else None)
    if candidates is None:  # any non-empty value the data brings
        return op in ("=", "=~") and value != "" or op in ("!=", "!~")
    test = {"=": lambda v: v == value, "!=": lambda v: v != value,
            "=~": lambda v: re.fullmatch(value, v) is not None, "!~": lambda v: re.fullmatch(value, v) is None}[op]
    return any(test(v) for v in candidates)


def can_be_equal(a, b, label):
    va, vb = a.get(label, ""), b.get(label, "")
    if va is ANY or vb is ANY:  # equal is possible only if both carry the label
        return va != "" and vb != ""
    return va == vb


class InhibitionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cfg = yaml.safe_load(AM.read_text())
        cls.shapes = list(rule_shapes()) + list(sink_shapes())

    def pairs(self, rule):
        out = []
        for src in self.shapes:
            if not all(matcher_ok(m, src) for m in rule.get("source_matchers", [])):
                continue
            for dst in self.shapes:
                if dst is src:
                    continue  # an alert does not inhibit itself
                if (all(matcher_ok(m, dst) for m in rule.get("target_matchers", []))
                        and all(can_be_equal(src, dst, lbl) for lbl in rule.get("equal", []))):
                    out.append((src["alertname"], dst["alertname"]))
        return out

    def test_the_sink_labels_are_found(self):
        self.assertTrue({"alertname", "kind", "severity", "region", "deployment"} <= sink_label_keys())

    def test_every_inhibit_rule_can_match(self):
        for i, rule in enumerate(self.cfg["inhibit_rules"]):
            with self.subTest(rule=i, source=rule.get("source_matchers"), target=rule.get("target_matchers")):
                self.assertTrue(self.pairs(rule), "no source/target pair of real vigil alerts matches this rule")

    def test_a_dead_rule_is_caught(self):
        """The check can fail: a label no alert carries (the sink sends `kind`, not
        `classification`), a critical/warning pair of one Prometheus alert name
        (each has one severity), an `equal` label only one side has."""
        dead = [{"source_matchers": ['classification="regional_outage"'],
                 "target_matchers": ['classification="service_degraded"'], "equal": ["region"]},
                {"source_matchers": ['alertname=~"Vigil[A-Z].+"', 'alertname!="VigilIncident"', 'severity="critical"'],
                 "target_matchers": ['severity="warning"'], "equal": ["alertname"]},
                {"source_matchers": ['alertname="VigilNoLeader"'], "target_matchers": ['alertname="VigilEngineDown"'],
                 "equal": ["instance"]}]
        for rule in dead:
            self.assertEqual(self.pairs(rule), [], rule)

    def test_vigil_pages_regional_outage_inhibits_service_degraded(self):
        rules = [r for r in self.cfg["inhibit_rules"]
                 if 'kind="regional_outage"' in r.get("source_matchers", [])]
        self.assertEqual(len(rules), 1)
        self.assertIn(("VigilIncident", "VigilIncident"), self.pairs(rules[0]))
        self.assertIn("region", rules[0]["equal"])


if __name__ == "__main__":
    unittest.main()
