"""deploy/alertmanager: amtool check-config, routing by severity, inhibitions."""
import unittest

import yaml

from deploy_common import DEPLOY, run, tool

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


if __name__ == "__main__":
    unittest.main()
