"""deploy/grafana/vigil-dashboard.json: valid JSON, unique ids, known metrics, valid PromQL."""
import json
import tempfile
import unittest

import yaml

from deploy_common import ALLOWED_SERIES, DEPLOY, run, tool

DASH = DEPLOY / "grafana" / "vigil-dashboard.json"

# What the dashboard must show: metric -> why.
MUST_SHOW = {
    "vigil_region_classification": "region classification state timeline",
    "vigil_check_state": "check states",
    "vigil_probe_success": "vantage x check",
    "vigil_probe_duration_seconds_bucket": "probe latency heatmap and percentiles",
    "vigil_batches_received_total": "batches received",
    "vigil_batches_rejected_total": "batches rejected",
    "vigil_replication_lag_seconds": "replication lag vs budget",
    "vigil_recommendation_state": "recommendation state",
    "vigil_gate_ok": "gates",
    "vigil_plan_step_duration_seconds_bucket": "plan step durations",
    "vigil_pages_total": "pages",
    "vigil_approvals_total": "approvals",
}


def all_panels(dash):
    for p in dash["panels"]:
        yield p
        yield from p.get("panels", [])  # collapsed rows


def all_targets(dash):
    for p in all_panels(dash):
        for t in p.get("targets", []):
            yield p, t


def concrete(expr: str) -> str:
    """Grafana's variables replaced by values so promtool can parse the query."""
    return (expr.replace("$__rate_interval", "1m").replace("$__interval", "1m")
            .replace("$__range", "1h").replace("${datasource}", ""))


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DASH, encoding="utf-8") as f:
            cls.dash = json.load(f)

    def test_top_level(self):
        self.assertTrue(self.dash.get("title"))
        self.assertTrue(self.dash.get("uid"))
        self.assertIsInstance(self.dash.get("schemaVersion"), int)
        self.assertTrue(self.dash["panels"])

    def test_unique_panel_ids_and_sane_grid(self):
        ids = [p["id"] for p in all_panels(self.dash)]
        self.assertEqual(len(ids), len(set(ids)), "duplicate panel ids")
        for p in all_panels(self.dash):
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, f"panel {p['id']} overflows the 24-column grid")

    def test_every_query_uses_known_metrics_only(self):
        from deploy_common import promql_series_names
        seen = set()
        n = 0
        for p, t in all_targets(self.dash):
            n += 1
            with self.subTest(panel=p["title"], ref=t.get("refId")):
                self.assertTrue(t.get("expr"), "empty query")
                names = promql_series_names(t["expr"])
                self.assertTrue(names, "query selects no series")
                self.assertFalse(names - ALLOWED_SERIES, "unknown metric names")
                seen |= names
        for a in self.dash.get("annotations", {}).get("list", []):
            if "expr" in a:
                self.assertFalse(promql_series_names(a["expr"]) - ALLOWED_SERIES)
        self.assertGreater(n, 10)
        missing = {m: why for m, why in MUST_SHOW.items() if m not in seen}
        self.assertFalse(missing, "the dashboard does not show these")

    def test_queries_parse_as_promql(self):
        """promtool parses every query (as a recording rule); a typo fails here."""
        promtool = tool(self, "promtool")
        rules = [{"record": f"vigil:dashboard:q{i}", "expr": concrete(t["expr"])}
                 for i, (_, t) in enumerate(all_targets(self.dash))]
        rules += [{"record": "vigil:dashboard:annotation", "expr": concrete(a["expr"])}
                  for a in self.dash.get("annotations", {}).get("list", []) if "expr" in a]
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
            f.flush()
            r = run([promtool, "check", "rules", f.name])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_datasource_is_a_variable(self):
        names = [v["name"] for v in self.dash["templating"]["list"]]
        self.assertIn("datasource", names)
        for p, t in all_targets(self.dash):
            self.assertEqual(t["datasource"]["uid"], "${datasource}", p["title"])


if __name__ == "__main__":
    unittest.main()
