#!/usr/bin/env python3
"""A game day on real processes: the whole cycle of a regional failover and the day after.

One engine, three `vigil agent` processes, a fault-injecting health server, moto_server
(signature checks on: ECS, Application Auto Scaling, CloudWatch) and the strict fakes (ARC data
plane, RDS global database calls), with a real plan (not a dry run):

  healthy -> the primary region goes dark (its checks fail, its Aurora cluster is unavailable)
  -> regional outage, page, failover recommendation (unplanned) -> signed approval without
  --allow-data-loss (lag inside the RPO budget) -> the plan runs: FailoverGlobalCluster with
  AllowDataLoss=true (the only call AWS accepts with the primary down), the DR cluster writer,
  traffic shifted, the scalable target's minimum raised -> vigil reports the DR region active
  -> the old primary recovers and is re-added as a secondary -> planned work in the new primary
  under a signed silence: its outage pages nothing critical and the failback it triggers is held
  by the not_silenced gate -> the silence is expired -> `vigil propose failback` -> approval ->
  SwitchoverGlobalCluster (planned, no data loss) -> the original roles, minimum restored.
Classification, gates, pages and the journal are asserted at each stage.

Brakes: a real plan of exec steps aborted midway with `vigil plan abort` (the running step is
cancelled, the rest not run, the active region left "split"), and another paused before its next
step with `vigil plan pause`, held, then finished with `vigil plan resume`.
"""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from e2e_rig import VIGIL, AwsRig, Health, LiveEngine, Pages, free_port, http, wait_until  # noqa: E402

RC_EAST = "arn:aws:route53-recovery-control::123456789012:controlpanel/gd/routingcontrol/east01"
RC_WEST = "arn:aws:route53-recovery-control::123456789012:controlpanel/gd/routingcontrol/west01"
EAST = "arn:aws:rds:us-east-1:123456789012:cluster:shop-east"
WEST = "arn:aws:rds:us-west-2:123456789012:cluster:shop-west"
SERVICES = ("api-web", "checkout")
REGIONS = ("us-east-1", "us-west-2")
VANTAGES = ("us-east-1", "us-west-2", "eu-west-1")


class GameDay(AwsRig, unittest.TestCase):
    def setUp(self):
        self.rig_up("vigil-gameday-")
        for region in REGIONS:
            self.seed("ecs", {"cluster": "shop", "service": "api", "desired": 1, "region": region})
            self.seed("ecs_scalable_target", {"cluster": "shop", "service": "api", "min": 1, "max": 10,
                                          "region": region})
        self.put_lag("shop-west", "us-west-2")
        self.put_lag("shop-east", "us-east-1")
        arc_ports = self.start_fake("arc", ["--port", "0", "--port", "0",
                                            "--controls", json.dumps({RC_EAST: "On", RC_WEST: "Off"})])
        self.arc_url = f"http://127.0.0.1:{arc_ports[0]}"
        self.arc_endpoints = ", ".join(f"http://127.0.0.1:{p}" for p in arc_ports)
        state = {"global": "shop-global", "members": [{"arn": EAST, "writer": True}, {"arn": WEST, "writer": False}]}
        ports = self.start_fake("rds", ["--state", json.dumps(state), "--settle", "2"])
        self.rds_url = f"http://127.0.0.1:{ports[0]}"

    def tearDown(self):
        self.rig_down()

    def put_lag(self, cluster, region):
        """An RPO lag of 200 ms, well inside the 5 s budget, for the last few minutes."""
        self.seed("put_metric", {"namespace": "AWS/RDS", "metric": "AuroraGlobalDBRPOLag", "region": region,
                                 "dimensions": {"DBClusterIdentifier": cluster}, "value": 200, "count": 12})

    def write_config(self):
        hp = self.health.server_address[1]
        self.engine_port = free_port()
        self.engine_url = f"http://127.0.0.1:{self.engine_port}"
        self.state_dir = os.path.join(self.dir, "state")
        self.write_secrets()
        arc = self.arc_endpoints
        lines = [
            "deployment: shop-gameday",
            "regions:", "  - {name: us-east-1, role: primary}", "  - {name: us-west-2, role: dr}",
            f"vantages: [{', '.join(VANTAGES)}]",
            "decision: {tick: 250ms, fall: 2, rise: 2, stale_after: 3s, confirm_for: 1s, clear_for: 4s,",
            "           service_page_grace: 1s, max_lag: 5s, lag_max_age: 5m, cooldown: 1s, recommendation_ttl: 10m}",
            "probe_defaults: {interval: 400ms, timeout: 300ms}",
            "services:",
        ]
        for s in SERVICES:
            lines += [f"  - name: {s}", "    checks:"]
            for r in REGIONS:
                lines.append(f"      - {{region: {r}, http: {{url: 'http://127.0.0.1:{hp}/health/{r}/{s}'}}}}")
        lines += [
            "replication_lag:",
            "  {source: cloudwatch, region: us-west-2, cluster: shop-west, interval: 1s, timeout: 5s, vantage: eu-west-1,",
            "   failback: {region: us-east-1, cluster: shop-east}}",
            "engine:",
            f"  listen: 127.0.0.1:{self.engine_port}",
            f"  endpoints: [{self.engine_url}]",
            "  agent_key_file: agent.key",
            f"  state_dir: {self.state_dir}",
            "coordination: {backend: file}",
            "paging:",
            f"  - {{kind: webhook, url: 'http://127.0.0.1:{self.pages.server_address[1]}/page', secret_file: webhook.secret}}",
            "approvals:",
            "  required: 1",
            "  max_ttl: 15m",
            "  approvers:",
            "    - {id: alice, public_key_file: alice.pub}",
            "aws:",
            f"  endpoints: {{rds: '{self.rds_url}', ecs: '{self.moto_url}', application-autoscaling: '{self.moto_url}',"
            f" cloudwatch: '{self.moto_url}'}}",
            "  call_timeout: 10s",
            "plan:",
            "  failover:",
            "    dry_run: false",
            "    steps:",
            f"      - {{name: fence-primary, kind: arc_routing_control, routing_control_arn: '{RC_EAST}', state: 'Off',"
            f" cluster_endpoints: [{arc}], region: us-west-2, timeout: 20s}}",
            "      - {name: promote-db, kind: aurora_global_failover, mode: auto, global_cluster: shop-global,"
            f" target_cluster_arn: '{WEST}', region: us-west-2, timeout: 20s}}",
            "      - {name: wait-db, kind: wait_db_cluster, cluster: shop-west, region: us-west-2, poll_interval: 200ms,"
            " timeout: 30s}",
            "      - {name: activate, kind: ecs_scale, cluster: shop, service: api, desired_count: 4, region: us-west-2,"
            " timeout: 30s}",
            f"      - {{name: shift-traffic, kind: arc_routing_control, routing_control_arn: '{RC_WEST}', state: 'On',"
            f" cluster_endpoints: [{arc}], region: us-west-2}}",
            "      - {name: verify-dr, kind: verify, region: us-west-2, within: 30s, timeout: 40s}",
            "  failback:",
            "    dry_run: false",
            "    steps:",
            "      - {name: activate-home, kind: ecs_scale, cluster: shop, service: api, desired_count: 4,"
            " region: us-east-1, timeout: 30s}",
            "      - {name: promote-home, kind: aurora_global_failover, mode: auto, global_cluster: shop-global,"
            f" target_cluster_arn: '{EAST}', region: us-east-1, timeout: 20s}}",
            "      - {name: wait-home, kind: wait_db_cluster, cluster: shop-east, region: us-east-1,"
            " poll_interval: 200ms, timeout: 30s}",
            f"      - {{name: shift-home, kind: arc_routing_control, routing_control_arn: '{RC_EAST}', state: 'On',"
            f" cluster_endpoints: [{arc}], region: us-east-1}}",
            f"      - {{name: drain-dr, kind: arc_routing_control, routing_control_arn: '{RC_WEST}', state: 'Off',"
            f" cluster_endpoints: [{arc}], region: us-east-1}}",
            "      - {name: standby-dr, kind: ecs_scale, cluster: shop, service: api, desired_count: 1,"
            " region: us-west-2, timeout: 30s}",
            "      - {name: verify-home, kind: verify, region: us-east-1, within: 30s, timeout: 40s}",
            "logging: {level: info}",
        ]
        self.config = os.path.join(self.dir, "vigil.yaml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([VIGIL, "check-config", self.config], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    # --- helpers -------------------------------------------------------------------------------

    def vigil(self, *args, ok=True):
        r = subprocess.run([VIGIL, *args], capture_output=True, text=True, timeout=60, cwd=self.dir)
        if ok:
            self.assertEqual(r.returncode, 0, f"vigil {' '.join(args)}: {r.stdout}{r.stderr}")
        return r

    def signed(self, *args):
        return self.vigil(*args, "--engine", self.engine_url, "--key", os.path.join(self.dir, "alice.key"))

    def classification(self, region):
        return self.status()["regions"][region]["classification"]

    def recommendation(self, state="pending_approval"):
        return wait_until(lambda: (lambda r: r if r and r.get("state") == state else None)(
            self.status().get("recommendation")), 60, f"a recommendation in state {state}")

    def finished_plan(self, rid):
        plan = wait_until(lambda: (lambda p: p if p and p.get("recommendation_id") == rid
                                   and p.get("state") != "executing" else None)(self.status().get("plan")),
                          120, f"the plan of {rid} to finish")
        self.assertEqual(plan["result"], "done", json.dumps(plan, indent=1) + self.engine.text()[-4000:])
        self.assertFalse(plan["dry_run"])
        self.assertTrue(all(s["status"] == "done" for s in plan["steps"]), plan["steps"])
        return plan

    def journal(self):
        with open(os.path.join(self.state_dir, "plan.jsonl")) as f:
            return [json.loads(line) for line in f]

    def scalable_min(self, region):
        import boto3
        sess = boto3.session.Session(aws_access_key_id=self.key, aws_secret_access_key=self.secret,
                                     region_name=region)
        aas = sess.client("application-autoscaling", endpoint_url=self.moto_url)
        t = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=["service/shop/api"])
        return t["ScalableTargets"][0]["MinCapacity"]

    def fake_control(self, what, body):
        status, text = http("POST", f"{self.rds_url}/_fake/{what}", json.dumps(body))
        self.assertEqual(status, 200, text)

    def rds_members(self):
        return {m["arn"]: m for m in self.fake_state(self.rds_url)["members"]}

    def gate(self, rec, name):
        return next(g for g in rec["gates"] if g["name"] == name)

    def active(self):
        return self.status()["active"]

    # --- the game day ---------------------------------------------------------------------------

    def test_failover_day_after_and_failback(self):
        self.write_config()
        self.engine = self.start_engine("1")
        self.start_agents(VANTAGES)
        wait_until(lambda: all(self.classification(r) == "healthy" for r in REGIONS), 60, "both regions healthy")
        self.assertEqual(self.active()["region"], "us-east-1")

        # The primary region goes dark: its services and its Aurora cluster.
        Health.failed = {"us-east-1"}
        self.fake_control("region", {"region": "us-east-1", "status": "unavailable"})
        wait_until(lambda: self.classification("us-east-1") == "regional_outage", 60, "regional_outage of us-east-1")
        wait_until(lambda: any(p["page"].get("kind") == "regional_outage" for p in Pages.received), 60,
                   "the regional_outage page")
        rec = self.recommendation()
        self.assertEqual((rec["action"], rec["from"], rec["to"]), ("failover", "us-east-1", "us-west-2"))
        self.assertFalse(rec["planned"])
        wait_until(lambda: self.gate(self.status()["recommendation"], "replication_lag")["ok"], 60,
                   "the lag gate inside the RPO budget")
        rec = self.status()["recommendation"]
        self.assertFalse(rec["allow_data_loss_required"], rec)

        # Approved without --allow-data-loss: the lag is inside the budget.
        printed = self.signed("approve", "--print", "--yes", "--approver", "alice")
        self.assertIn("unplanned global failover", printed.stdout + printed.stderr)
        self.signed("approve", "--yes", "--approver", "alice")
        self.finished_plan(rec["id"])
        rds = self.fake_state(self.rds_url)
        self.assertEqual(rds["rejected"], [])
        fo = [q for q in rds["requests"] if q["action"] == "FailoverGlobalCluster"]
        self.assertEqual(len(fo), 1, rds["requests"])
        self.assertEqual(fo[0]["params"].get("AllowDataLoss"), "true")
        self.assertTrue(self.rds_members()[WEST]["writer"])
        self.assertEqual(self.fake_state(self.arc_url)["states"], {RC_EAST: "Off", RC_WEST: "On"})
        self.assertEqual(self.scalable_min("us-west-2"), 4)

        # vigil now treats us-west-2 as the active region, durably.
        active = wait_until(lambda: (lambda a: a if a["region"] == "us-west-2" else None)(self.active()), 30,
                            "us-west-2 active")
        self.assertEqual(active["state"], "active")
        metrics = http("GET", self.engine_url + "/metrics")[1].decode()
        self.assertIn('vigil_active_region{region="us-west-2"} 1', metrics)
        self.assertEqual(self.status()["regions"]["us-west-2"]["role"], "primary")

        # The old primary recovers and is re-added to the global cluster as a secondary.
        Health.failed = set()
        self.fake_control("recover", {"arn": EAST})
        self.assertFalse(self.rds_members()[EAST]["writer"])
        wait_until(lambda: self.classification("us-east-1") == "healthy", 60, "us-east-1 healthy again")

        # Planned work in the new primary, under a silence: its outage pages nothing critical and the
        # failback it would trigger is held by the not_silenced gate.
        self.signed("silence", "create", "--scope", "region:us-west-2", "--duration", "10m",
                    "--reason", "game day: planned work in us-west-2")
        silences = json.loads(http("GET", self.engine_url + "/v1/silences")[1])["silences"]
        self.assertEqual([s["scope"] for s in silences], ["region:us-west-2"])
        paged = len(Pages.received)
        Health.failed = {"us-west-2"}
        wait_until(lambda: self.classification("us-west-2") == "regional_outage", 60,
                   "the new primary classified down during planned work")
        rec = self.recommendation("blocked")
        self.assertEqual((rec["action"], rec["from"], rec["to"]), ("failback", "us-west-2", "us-east-1"))
        self.assertFalse(rec["planned"])
        self.assertFalse(self.gate(rec, "not_silenced")["ok"], rec)
        self.assertEqual([g["name"] for g in rec["gates"] if g["blocking"] and not g["ok"]], ["not_silenced"], rec)
        west = [p["page"] for p in Pages.received[paged:] if p["page"].get("region") == "us-west-2"]
        self.assertTrue(west, "the silenced outage sent no page at all (downgraded pages are expected)")
        self.assertEqual([p for p in west if p["severity"] == "critical"], [], "a silenced region paged critical")
        Health.failed = set()
        wait_until(lambda: self.classification("us-west-2") == "healthy", 60, "us-west-2 healthy after the work")
        self.signed("silence", "expire", silences[0]["id"])
        self.assertEqual(json.loads(http("GET", self.engine_url + "/v1/silences")[1])["silences"], [])
        wait_until(lambda: (self.status().get("recommendation") or {"state": "gone"})["state"] in ("withdrawn", "gone"),
                   60, "the held failback withdrawn once the work is over")

        # A restart keeps the roles swapped.
        self.engine.stop()
        self.procs.remove(self.engine)
        self.engine = self.start_engine("2")
        self.assertEqual(self.active()["region"], "us-west-2")
        self.assertEqual(self.status()["regions"]["us-west-2"]["role"], "primary")
        wait_until(lambda: all(self.classification(r) == "healthy" for r in REGIONS), 60,
                   "both regions healthy after the restart")

        # Failback: proposed, approved, a planned switchover.
        self.signed("propose", "failback", "--approver", "alice")
        rec = self.status()["recommendation"]
        self.assertEqual((rec["action"], rec["from"], rec["to"]), ("failback", "us-west-2", "us-east-1"))
        self.assertTrue(rec["planned"])
        rec = self.recommendation()
        self.signed("approve", "--yes", "--approver", "alice")
        self.finished_plan(rec["id"])
        rds = self.fake_state(self.rds_url)
        self.assertEqual(rds["rejected"], [])
        self.assertEqual(len([q for q in rds["requests"] if q["action"] == "SwitchoverGlobalCluster"]), 1,
                         rds["requests"])
        self.assertTrue(self.rds_members()[EAST]["writer"])
        self.assertEqual(self.fake_state(self.arc_url)["states"], {RC_EAST: "On", RC_WEST: "Off"})
        wait_until(lambda: self.active()["region"] == "us-east-1", 30, "us-east-1 active again")
        self.assertEqual(self.status()["regions"]["us-east-1"]["role"], "primary")

        # The journal holds both runs, each begun and ended.
        runs = [(e["type"], e.get("action")) for e in self.journal() if e["type"] in ("plan_begin", "plan_end")]
        self.assertEqual([t for t, _ in runs], ["plan_begin", "plan_end", "plan_begin", "plan_end"], runs)


class Brakes(LiveEngine):
    """Abort and pause/resume of a running plan, signed, journaled, on real processes."""
    middle_step_seconds = 60

    def plan_steps(self):
        self.trail = os.path.join(self.dir, "trail.txt")
        return [
            f"      - {{name: fence, kind: exec, command: [/bin/sh, -c, 'echo fence >> {self.trail}'], timeout: 10s}}",
            f"      - {{name: promote, kind: exec, command: [/bin/sh, -c, 'echo promote-start >> {self.trail};"
            f" sleep {self.middle_step_seconds}; echo promote-end >> {self.trail}'], timeout: 2m}}",
            f"      - {{name: shift, kind: exec, command: [/bin/sh, -c, 'echo shift >> {self.trail}'], timeout: 10s}}",
        ]

    def trail_lines(self):
        try:
            with open(self.trail) as f:
                return f.read().split()
        except OSError:
            return []

    def operator(self, *args):
        r = subprocess.run([VIGIL, *args, "--engine", self.engine_url, "--key", os.path.join(self.dir, "alice.key"),
                            "--reason", "game day"], capture_output=True, text=True, timeout=60, cwd=self.dir)
        self.assertEqual(r.returncode, 0, f"vigil {' '.join(args)}: {r.stdout}{r.stderr}")

    def approved_outage(self):
        self.write_config()
        self.engine = self.start_engine("1", 30)
        self.outage_pending_approval()
        r = self.approve()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        wait_until(lambda: "promote-start" in self.trail_lines(), 60, "the promote step running")

    def journal(self):
        with open(os.path.join(self.state_dir, "plan.jsonl")) as f:
            return [json.loads(line) for line in f]

    def finished(self):
        return wait_until(lambda: (lambda p: p if p and p.get("state") != "executing" else None)(
            self.status().get("plan")), 90, "the plan to end")

    def test_abort_midway_cancels_the_step_and_leaves_the_rest(self):
        self.middle_step_seconds = 60
        self.approved_outage()
        self.operator("plan", "abort")
        plan = self.finished()
        self.assertEqual(plan["result"], "aborted", plan)
        steps = {s["name"]: s["status"] for s in plan["steps"]}
        self.assertEqual(steps["fence"], "done", steps)
        self.assertNotEqual(steps["promote"], "done", steps)
        self.assertEqual(steps["shift"], "skipped", steps)
        self.assertEqual(self.trail_lines(), ["fence", "promote-start"])  # killed mid-step, shift never ran
        end = self.journal()[-1]
        self.assertEqual((end["type"], end["result"]), ("plan_end", "aborted"), end)
        self.assertIn("aborted by alice", end["detail"])
        active = wait_until(lambda: (lambda a: a if a["state"] == "split" else None)(self.status()["active"]), 30,
                            "the active region split")
        self.assertIn("fence done", active["detail"])
        metrics = http("GET", self.engine_url + "/metrics")[1].decode()
        self.assertIn('vigil_plan_runs_total{action="failover",result="aborted"} 1', metrics)

    def test_pause_holds_the_next_step_until_resumed(self):
        self.middle_step_seconds = 3
        self.approved_outage()
        self.operator("plan", "pause")
        wait_until(lambda: "promote-end" in self.trail_lines(), 30, "the running step to finish")
        held = wait_until(lambda: [e for e in self.journal() if e["type"] == "operator" and e.get("event") == "held"],
                          30, "the plan held before its next step")
        self.assertEqual(held[0]["step"], "shift")
        self.assertEqual(self.status()["plan"]["state"], "executing")
        self.assertTrue(self.status()["plan"]["paused"])
        self.assertIn("vigil_plan_paused 1", http("GET", self.engine_url + "/metrics")[1].decode())
        self.assertNotIn("shift", self.trail_lines())
        self.operator("plan", "resume")
        plan = self.finished()
        self.assertEqual(plan["result"], "done", plan)
        self.assertEqual(self.trail_lines(), ["fence", "promote-start", "promote-end", "shift"])
        events = [e.get("event") for e in self.journal() if e["type"] == "operator"]
        self.assertEqual(events, ["plan_pause", "held", "plan_resume", "continued"], events)
        wait_until(lambda: self.status()["active"]["region"] == "us-west-2", 30, "us-west-2 active")


if __name__ == "__main__":
    unittest.main(verbosity=2)
