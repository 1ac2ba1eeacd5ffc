"""Standing approvals on a real `vigil engine` (docs/approvals.md, "Standing approvals").

One approver (approvals.required 1) arms a policy with `vigil approve
--standing`; `vigil standing` and GET /v1/standing show it armed, the status
page data carries its banner, the metrics count it. A regional outage whose
replication lag is above the policy's bound is held (lag_too_high): the plan
never starts and the hold is audited. The policy survives a restart of the
engine; `vigil approve --revoke-standing` disarms it at once and a re-post of
its token is refused as revoked.

With readiness configured (the `dr_ready` gate, fed by real readiness runs of
the plan) and lag within the bound, the same regional outage starts the plan
with no human signature: once, paged critical with the abort command, the
use spent; a second outage after it finds nothing left to use.
"""

import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "status_page"))

from vigil_harness import Engine, Feeder, http, vigil_bin, wait_until  # noqa: E402


def vigil(*args, stdin=None):
    return subprocess.run([vigil_bin(), *args], capture_output=True, text=True, timeout=60, input=stdin)


class StandingTest(unittest.TestCase):
    def setUp(self):
        self.engine = Engine(with_approver=True)
        self.feeder = None

    def tearDown(self):
        if self.feeder:
            self.feeder.stop()
        self.engine.stop()
        self.engine.cleanup()

    def standing(self):
        return self.engine.get_json("/v1/standing")

    def arm(self, max_lag="2s"):
        r = vigil("approve", "--standing", "--action", "failover", "--from", "us-east-1", "--to", "us-west-2",
                  "--min-duration", "2s", "--min-vantages", "2", "--max-lag", max_lag, "--ttl", "7d", "--uses", "1",
                  "--yes", "--key", self.engine.approver_key, "--approver", "alice", "--engine", self.engine.url)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("armed: automatic failover us-east-1 -> us-west-2", r.stdout)
        policies = self.standing()["policies"]
        self.assertEqual(len(policies), 1, policies)
        return policies[0]

    def metrics(self):
        return http("GET", self.engine.url + "/metrics")[1].decode()

    def test_arm_hold_restart_revoke(self):
        p = self.arm()
        self.assertEqual(p["state"], "armed")
        self.assertEqual(p["signed_by"], ["alice"])
        self.assertEqual(p["policy"]["plan_hash"], self.standing()["plan_hash"])
        listed = vigil("standing", "--engine", self.engine.url)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn(p["id"] + "  armed", listed.stdout)
        self.assertEqual(self.engine.status()["standing"][0]["id"], p["id"])
        self.assertIn("vigil_standing_armed 1", self.metrics())
        mode = os.stat(os.path.join(self.engine.dir, "state", "standing.json")).st_mode & 0o777
        self.assertEqual(mode, 0o600)

        # A regional outage with 8 s of lag: above the policy's 2 s, so held.
        self.feeder = Feeder(self.engine, lag_ms=8000)
        self.feeder.set(["us-west-2", "eu-west-1"], {f"{s}@us-east-1" for s in ("api-web", "webapp", "notifications")})
        wait_until(lambda: (self.standing()["policies"][0].get("last_evaluation") or {}).get("hold") == "lag_too_high",
                   60, "the policy held by lag_too_high")
        time.sleep(1.0)
        s = self.engine.status()
        self.assertEqual(s["recommendation"]["state"], "pending_approval", s["recommendation"])
        self.assertIn('vigil_standing_held_total{reason="lag_too_high"} 1', self.metrics())
        events = self.engine.get_json("/v1/events?since=0")
        self.assertTrue(any(e.get("type") == "standing_held" and e.get("reason") == "lag_too_high" for e in events))
        self.assertFalse(any(e.get("type") == "standing_used" for e in events))
        # The on-call is told not to wait for it: one warning notice naming the hold.
        held = [n for n in s.get("notices", []) if n["key"] == f"standing-{p['id']}-held"]
        self.assertEqual(len(held), 1, s.get("notices"))
        self.assertIn("lag_too_high", held[0]["summary"])
        self.assertIn("approve by hand", held[0]["summary"])
        self.feeder.stop()
        self.feeder = None

        # A restart keeps it armed (state_dir/standing.json, verified again).
        self.engine.stop()
        self.engine._log = open(self.engine.log_path, "a")
        self.engine.proc = subprocess.Popen([vigil_bin(), "engine", "--config", self.engine.config],
                                            stdout=self.engine._log, stderr=subprocess.STDOUT)
        wait_until(lambda: http("GET", self.engine.url + "/healthz", timeout=1)[0] == 200, 30, "engine restarted")
        self.assertEqual(self.standing()["policies"][0]["state"], "armed")

        # Revocation by a signed command: disarmed at once, its token refused from then on.
        r = vigil("approve", "--revoke-standing", p["id"], "--reason", "window over", "--key",
                  self.engine.approver_key, "--approver", "alice", "--engine", self.engine.url)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.standing()["policies"], [])
        self.assertEqual(self.standing()["revoked"], [p["id"]])
        self.assertIn("vigil_standing_armed 0", self.metrics())
        again = vigil("approve", "--revoke-standing", p["id"], "--key", self.engine.approver_key, "--approver",
                      "alice", "--engine", self.engine.url)
        self.assertEqual(again.returncode, 1, again.stdout)
        self.assertIn("no pending or armed standing approval", again.stderr)

    def test_fires_once_when_every_condition_holds(self):
        self.engine.stop()
        self.engine.cleanup()
        self.engine = Engine(with_approver=True, extra_yaml="readiness: {interval: 1s}\n")
        self.feeder = Feeder(self.engine, lag_ms=420)
        self.feeder.set(["us-east-1", "us-west-2", "eu-west-1"])
        ready = wait_until(lambda: (self.engine.get_json("/v1/readiness")["plans"].get("failover") or {}).get("ok"),
                           60, "a readiness run finding the failover plan ready")
        self.assertTrue(ready)
        p = self.arm()
        self.assertEqual(p["state"], "armed")
        # The actuation brake holds it (an operator's choice: audited, not paged); released, it fires.
        brake = vigil("brake", "on", "--reason", "change freeze", "--key", self.engine.approver_key, "--engine",
                      self.engine.url)
        self.assertEqual(brake.returncode, 0, brake.stdout + brake.stderr)
        outage = {f"{s}@us-east-1" for s in ("api-web", "webapp", "notifications")}
        self.feeder.set(["us-west-2", "eu-west-1"], outage)
        wait_until(lambda: (self.standing()["policies"][0].get("last_evaluation") or {}).get("hold") == "brake",
                   60, "the policy held by the brake")
        time.sleep(1.0)
        self.assertEqual(self.engine.status()["recommendation"]["state"], "pending_approval")
        self.assertFalse([n for n in self.engine.status().get("notices", []) if n["key"].endswith("-held")])
        brake = vigil("brake", "off", "--reason", "freeze over", "--key", self.engine.approver_key, "--engine",
                      self.engine.url)
        self.assertEqual(brake.returncode, 0, brake.stdout + brake.stderr)

        def events():
            return self.engine.get_json("/v1/events?since=0")
        used = wait_until(lambda: [e for e in events() if e.get("type") == "standing_used"] or None, 60,
                          "the standing approval used")
        self.assertEqual(len(used), 1, used)
        self.assertEqual(used[0]["policy"], p["id"])
        self.assertEqual(used[0]["signed_by"], ["alice"])
        rec = wait_until(lambda: (lambda r: r if r.get("state") == "dry_run_complete" else None)(
            self.engine.status().get("recommendation") or {}), 60, "the plan run to its end")
        self.assertEqual(rec["id"], used[0]["recommendation_id"])
        notices = self.engine.status().get("notices", [])
        page = [n for n in notices if "executing under standing approval " + p["id"] in n.get("summary", "")]
        self.assertEqual(len(page), 1, notices)
        self.assertEqual(page[0]["severity"], "critical")
        # Holds it passed through on the way (too_short) are not paged.
        self.assertFalse([n for n in notices if n["key"].endswith("-held")], notices)
        self.assertIn("vigil plan abort --recommendation " + rec["id"], page[0]["summary"])
        self.assertEqual(self.standing()["policies"][0]["uses_left"], 0, self.standing())
        self.assertEqual(self.standing()["policies"][0]["state"], "used")
        self.assertIn("vigil_standing_uses_left 0", self.metrics())

        # Healed, then a second outage: the single use is spent, nothing starts by itself.
        self.feeder.set(["us-east-1", "us-west-2", "eu-west-1"])
        wait_until(lambda: self.engine.status()["regions"]["us-east-1"]["classification"] == "healthy", 60,
                   "us-east-1 healthy again")
        self.feeder.set(["us-west-2", "eu-west-1"], outage)
        time.sleep(6)
        self.assertEqual(len([e for e in events() if e.get("type") == "standing_used"]), 1)
        self.assertNotEqual((self.engine.status().get("recommendation") or {}).get("state"), "executing")

    def test_refusals_are_named(self):
        bad = vigil("approve", "--standing", "--from", "us-east-1", "--to", "us-west-2", "--hours", "8-20", "--yes",
                    "--key", self.engine.approver_key, "--engine", self.engine.url)
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn("--hours", bad.stderr)
        long_ttl = vigil("approve", "--standing", "--from", "us-east-1", "--to", "us-west-2", "--ttl", "60d",
                         "--yes", "--key", self.engine.approver_key, "--engine", self.engine.url)
        self.assertEqual(long_ttl.returncode, 2, long_ttl.stderr)
        self.assertIn("longer than the engine accepts", long_ttl.stderr)
        status, body = http("POST", self.engine.url + "/v1/standing", "v4.public.not-a-token")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["error"], "bad_format")
        self.assertIn('vigil_standing_refused_total{reason="bad_format"} 1', self.metrics())


if __name__ == "__main__":
    unittest.main(verbosity=2)
