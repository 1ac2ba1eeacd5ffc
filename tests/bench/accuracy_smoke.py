#!/usr/bin/env python3
"""A small accuracy corpus (1 noise run, 2 runs of each fault class, 3 of
each regional variant) for each of several seeds through
bench/vigil_bench_accuracy, asserting what the full corpus in
bench/RESULTS.md shows class by class on every seed: vigil makes no false
failover and misses no regional outage within the bound, while each baseline
makes the mistake its vote rule invites. Deterministic for the seeds.

Usage: accuracy_smoke.py PATH/TO/vigil_bench_accuracy
"""
import json
import subprocess
import sys
import unittest

BENCH = sys.argv.pop(1) if len(sys.argv) > 1 else "vigil_bench_accuracy"
SEEDS = [1, 2, 3, 4, 5, 6, 777]


class AccuracySmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        out = subprocess.run([BENCH, "--noise-hours", "20", "--fault-hours", "20", "--regional-runs", "3",
                              "--seeds", ",".join(map(str, SEEDS)), "--threads", "2", "--json"],
                             check=True, capture_output=True, text=True, timeout=600)
        cls.report = json.loads(out.stdout)
        cls.by_name = {d["detector"].split(" ")[0]: d for d in cls.report["detectors"]}

    def detector(self, prefix):
        self.assertIn(prefix, self.by_name, list(self.by_name))
        return self.by_name[prefix]

    def test_every_seed_ran(self):
        self.assertEqual(self.report["seeds"], SEEDS)
        for d in self.report["detectors"]:
            self.assertEqual([s["seed"] for s in d["per_seed"]], SEEDS, d["detector"])

    def test_vigil_no_false_failover_no_missed_outage_within_bound(self):
        v = self.detector("vigil")
        self.assertEqual(v["false_failovers"], 0)
        for name, c in v["by_class"].items():
            self.assertEqual(c["false_failovers"], 0, name)
            self.assertEqual(c["missed"], 0, name)
            self.assertEqual(c["worst_seed"]["false_failovers"], 0, name)
        self.assertEqual(v["detections"], 9 * len(SEEDS))  # 3 regional variants x 3 runs per seed
        self.assertLessEqual(v["recommendation_s"]["p99"], self.report["bound_s"])
        self.assertLessEqual(v["worst_seed_recommendation_p99_s"], self.report["bound_s"])
        for s in v["per_seed"]:
            self.assertEqual((s["false_failovers"], s["missed"]), (0, 0), s)
            self.assertLessEqual(s["recommendation_p99_s"], self.report["bound_s"], s)

    def test_single_vantage_fails_over_for_one_service(self):
        c = self.detector("single")["by_class"]["service_outage"]
        self.assertEqual(c["false_failovers"], c["runs"])
        self.assertGreater(c["worst_seed"]["false_failovers"], 0)

    def test_route53_rule_trusts_a_lone_reporter_and_misses_partitioned_outages(self):
        r = self.detector("Route")["by_class"]
        self.assertEqual(r["lone_blackholed"]["false_failovers"], r["lone_blackholed"]["runs"])
        self.assertGreater(r["regional_partitioned"]["missed"], 0)

    def test_k_of_n_counts_an_isolated_vantage(self):
        c = self.detector("k-of-n")["by_class"]["isolated_plus_service"]
        self.assertEqual(c["false_failovers"], c["runs"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
