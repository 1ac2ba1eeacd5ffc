"""GET /v1/status query parameters on a real `vigil engine` (docs/design.md, "GET /v1/status").

The engine runs as a process on a free 127.0.0.1 port and is fed signed
batches in which webapp@us-east-1 fails; the filtered, summarised and refused
forms of /v1/status are read over HTTP.
"""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "status_page"))

from vigil_harness import Engine, Feeder, http, wait_until  # noqa: E402


class StatusQueryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.engine = Engine()
        cls.feeder = Feeder(cls.engine)
        cls.feeder.set(["us-east-1", "us-west-2", "eu-west-1"], {"webapp@us-east-1"})
        wait_until(lambda: cls.get("/v1/status?check=webapp@us-east-1")["checks"][0]["state"] == "down", 30,
                   "webapp@us-east-1 down")

    @classmethod
    def tearDownClass(cls):
        cls.feeder.stop()
        cls.engine.stop()
        cls.engine.cleanup()

    @classmethod
    def get(cls, path):
        status, body = http("GET", cls.engine.url + path)
        if status != 200:
            raise AssertionError(f"GET {path}: {status} {body[:300]!r}")
        return json.loads(body)

    def test_full_document_lists_every_check_and_counts(self):
        s = self.get("/v1/status")
        self.assertEqual(len(s["checks"]), 6)
        self.assertEqual(s["checks_total"], 6)
        self.assertEqual(s["check_counts"]["us-east-1"]["down"], 1)
        self.assertEqual(s["query"], {"region": None, "check": None, "summary": False})

    def test_region_and_check_filter(self):
        s = self.get("/v1/status?region=us-east-1&check=web")
        self.assertEqual([c["id"] for c in s["checks"]], ["api-web@us-east-1", "webapp@us-east-1"])
        failed = s["checks"][1]["last_failure"]
        self.assertEqual(failed["eu-west-1"]["outcome"], "http_status", failed)
        self.assertEqual(list(s["check_counts"]), ["us-east-1"])
        self.assertEqual(s["check_counts"]["us-east-1"], {"total": 2, "up": 1, "down": 1, "unknown": 0})
        self.assertEqual(s["checks_total"], 6)

    def test_summary_has_no_check_list(self):
        s = self.get("/v1/status?summary=1")
        self.assertNotIn("checks", s)
        self.assertEqual(s["check_counts"]["us-west-2"]["total"], 3)
        self.assertEqual(s["regions"]["us-east-1"]["down_services"], ["webapp"])
        self.assertEqual(s["vantages"]["eu-west-1"]["state"], "present")

    def test_unknown_or_bad_parameters_are_refused(self):
        for path in ("/v1/status?regoin=us-east-1", "/v1/status?region=mars", "/v1/status?summary=yes",
                     "/v1/status?check=" + "a" * 257, "/v1/status?check=%22"):
            status, body = http("GET", self.engine.url + path)
            self.assertEqual(status, 400, path)
            self.assertEqual(json.loads(body)["error"], "bad_query", path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
