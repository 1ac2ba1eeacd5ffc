"""deploy/prometheus: alert rules, their promtool unit tests, scrape configs."""
import pathlib
import re
import shutil
import tempfile
import unittest

import yaml

from deploy_common import ALLOWED_SERIES, DEPLOY, load_yaml_docs, promql_series_names, run, tool

PROM = DEPLOY / "prometheus"
RULES = PROM / "vigil.rules.yml"
RULES_TEST = PROM / "tests" / "vigil.rules.test.yml"

# The alerts deploy/README.md lists; more may exist, none may go.
REQUIRED_ALERTS = {
    "VigilAgentDown", "VigilEngineDown", "VigilVantageAbsent", "VigilVantageImpaired",
    "VigilCoordinationLost", "VigilNoLeader", "VigilMultipleLeaders",
    "VigilRecommendationPendingApproval", "VigilPlanFailed", "VigilRegionalOutage",
    "VigilBatchesRejectedBadSignature", "VigilOutboxBacklog", "VigilReplicationLagOverBudget",
}
SEVERITIES = {"critical", "warning", "info"}


def alerts():
    doc = yaml.safe_load(RULES.read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


class RuleFileTest(unittest.TestCase):
    def test_promtool_check_rules(self):
        promtool = tool(self, "promtool")
        r = run([promtool, "check", "rules", str(RULES)])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout)

    def test_required_alerts_exist(self):
        names = [a["alert"] for a in alerts()]
        self.assertEqual(len(names), len(set(names)), "duplicate alert names")
        self.assertFalse(REQUIRED_ALERTS - set(names), "missing alerts")

    def test_every_alert_is_complete(self):
        for a in alerts():
            with self.subTest(alert=a["alert"]):
                self.assertIn("for", a, "every alert needs a for: duration")
                self.assertRegex(str(a["for"]), r"^\d+(ms|s|m|h)$")
                self.assertIn(a.get("labels", {}).get("severity"), SEVERITIES)
                ann = a.get("annotations", {})
                for key in ("summary", "description", "runbook_url"):
                    self.assertTrue(ann.get(key), f"annotation {key} missing")
                anchor = "#" + a["alert"].lower()
                self.assertRegex(ann["runbook_url"], r"^https?://\S+/docs/runbook\.md#[a-z0-9-]+$")
                self.assertTrue(ann["runbook_url"].endswith(anchor), f"runbook anchor should be {anchor}")

    def test_runbook_anchors_exist(self):
        """Each runbook_url anchor is a heading of docs/runbook.md (GitHub-style anchor)."""
        runbook = (DEPLOY.parent / "docs" / "runbook.md").read_text()
        anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
                   for h in re.findall(r"^#+ (.+)$", runbook, re.M)}
        for a in alerts():
            with self.subTest(alert=a["alert"]):
                self.assertIn(a["annotations"]["runbook_url"].rsplit("#", 1)[1], anchors)

    def test_alerts_use_only_known_metrics(self):
        for a in alerts():
            with self.subTest(alert=a["alert"]):
                names = promql_series_names(a["expr"])
                self.assertTrue(names, "expression selects no series")
                self.assertFalse(names - ALLOWED_SERIES, "unknown metric names")

    def test_readme_lists_every_alert(self):
        readme = (DEPLOY / "README.md").read_text()
        for a in alerts():
            self.assertRegex(readme, rf"\| {a['alert']} \| {a['labels']['severity']} \| {a['for']} \|",
                             "deploy/README.md alert table is out of date")

    def test_leader_alerts_cover_none_and_many(self):
        by = {a["alert"]: a for a in alerts()}
        self.assertRegex(by["VigilNoLeader"]["expr"], r"sum.*vigil_leader.*==\s*0")
        self.assertRegex(by["VigilMultipleLeaders"]["expr"], r"sum.*vigil_leader.*>\s*1")

    def test_pending_approval_waits_15m(self):
        a = {a["alert"]: a for a in alerts()}["VigilRecommendationPendingApproval"]
        self.assertIn('state="pending_approval"', a["expr"])
        self.assertEqual(a["for"], "15m")


class RuleUnitTest(unittest.TestCase):
    def test_promtool_test_rules(self):
        promtool = tool(self, "promtool")
        r = run([promtool, "test", "rules", str(RULES_TEST)], cwd=RULES_TEST.parent)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout + r.stderr)

    def test_every_alert_has_firing_and_quiet_cases(self):
        doc = yaml.safe_load(RULES_TEST.read_text())
        self.assertEqual(doc["rule_files"], ["../vigil.rules.yml"])
        firing, quiet = set(), set()
        for t in doc["tests"]:
            for case in t.get("alert_rule_test", []):
                (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
        names = {a["alert"] for a in alerts()}
        self.assertFalse(names - firing, "alerts without a case where they fire")
        self.assertFalse(names - quiet, "alerts without a case where they must not fire")
        self.assertFalse((firing | quiet) - names, "tests name alerts that do not exist")

    def test_firing_cases_check_severity_and_annotations(self):
        doc = yaml.safe_load(RULES_TEST.read_text())
        for t in doc["tests"]:
            for case in t.get("alert_rule_test", []):
                for exp in case.get("exp_alerts") or []:
                    with self.subTest(alert=case["alertname"], at=case["eval_time"]):
                        self.assertIn("severity", exp["exp_labels"])
                        self.assertIn("runbook_url", exp.get("exp_annotations", {}))

    def test_promtool_test_catches_a_broken_rule(self):
        """The unit tests must be able to fail: weaken one alert and expect promtool to notice."""
        promtool = tool(self, "promtool")
        with tempfile.TemporaryDirectory() as tmp:
            tmp = pathlib.Path(tmp)
            (tmp / "tests").mkdir()
            shutil.copy(RULES_TEST, tmp / "tests" / RULES_TEST.name)
            broken = RULES.read_text().replace("(vigil_leader) > 1", "(vigil_leader) > 2", 1)
            self.assertNotEqual(broken, RULES.read_text(), "mutation did not apply")
            (tmp / RULES.name).write_text(broken)
            r = run([promtool, "test", "rules", str(tmp / "tests" / RULES_TEST.name)], cwd=tmp / "tests")
            self.assertNotEqual(r.returncode, 0, "promtool test rules passed with a broken VigilMultipleLeaders")
            self.assertIn("VigilMultipleLeaders", r.stdout + r.stderr)


class ScrapeConfigTest(unittest.TestCase):
    def test_static_config_passes_promtool(self):
        promtool = tool(self, "promtool")
        r = run([promtool, "check", "config", str(PROM / "prometheus.yml")], cwd=PROM)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def _jobs(self, name):
        doc = load_yaml_docs(PROM / name)[0]
        return {j["job_name"]: j for j in doc["scrape_configs"]}

    def test_job_names_match_the_rules(self):
        rules_text = RULES.read_text()
        for name in ("prometheus.yml", "prometheus-kubernetes.yml"):
            jobs = self._jobs(name)
            with self.subTest(file=name):
                self.assertIn("vigil-engine", jobs)
                self.assertIn("vigil-agent", jobs)
        for job in ("vigil-engine", "vigil-agent"):
            self.assertIn(f'job="{job}"', rules_text)

    def test_kubernetes_sd_jobs_keep_the_right_pods(self):
        # Debian's promtool is built without kubernetes_sd, so check structure here.
        jobs = self._jobs("prometheus-kubernetes.yml")
        for job, app in (("vigil-engine", "vigil-engine"), ("vigil-agent", "vigil-agent")):
            with self.subTest(job=job):
                j = jobs[job]
                self.assertEqual(j["kubernetes_sd_configs"][0]["role"], "pod")
                keeps = [r for r in j["relabel_configs"] if r.get("action") == "keep"]
                self.assertTrue(any(r["source_labels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
                                    and r["regex"] == app for r in keeps))
                self.assertTrue(any("__meta_kubernetes_pod_annotation_prometheus_io_scrape" in r["source_labels"]
                                    for r in keeps))
                for r in j["relabel_configs"]:
                    if "regex" in r:
                        re.compile(r["regex"])
                    if r.get("action", "replace") == "replace":
                        self.assertIn("target_label", r)


if __name__ == "__main__":
    unittest.main()
