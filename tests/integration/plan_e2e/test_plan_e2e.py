#!/usr/bin/env python3
"""The failover plan's acceptance test, end to end on 127.0.0.1 (python3 stdlib + boto3):

  injected regional outage (a fault-injecting health server, probed by three
  `vigil agent` processes) -> classification and page (a webhook paging sink
  with a local receiver) -> `vigil approve --print`, then `--yes` with a key
  from `vigil keygen` -> the failover plan executed against moto_server
  (signature checks on: ECS, SSM, Route 53) and the strict fakes (ARC data
  plane with one of three endpoints down, RDS FailoverGlobalCluster) ->
  verify step passes -> the RTO report in /v1/status and the journal.
  Then `vigil drill` on the same config changes nothing, and a restarted
  engine does not run the plan again (one execution per approval).
OrphanedStep: kill -9 of the engine mid exec step (the step left a background
  child): the restarted engine listens at once and kills the orphaned process
  group, journaled, before the step re-runs.

Environment: VIGIL_BIN (the vigil binary), VIGIL_SOURCE_DIR (the source tree),
VIGIL_MOTO_SERVER (default moto_server), VIGIL_PYTHON (default python3).
"""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from e2e_rig import (VIGIL, AwsRig, Health, LiveEngine, Pages, alive, config_head, free_port, http,  # noqa: E402
                     wait_until, write_checked_config)

RC_A = "arn:aws:route53-recovery-control::123456789012:controlpanel/abc123/routingcontrol/east01"
RC_B = "arn:aws:route53-recovery-control::123456789012:controlpanel/abc123/routingcontrol/west01"
EAST = "arn:aws:rds:us-east-1:123456789012:cluster:shop-east"
WEST = "arn:aws:rds:us-west-2:123456789012:cluster:shop-west"
SERVICES = ("api-web", "checkout", "search")
REGIONS = ("us-east-1", "us-west-2")


class PlanEndToEnd(AwsRig, unittest.TestCase):
    def setUp(self):
        self.rig_up("vigil-plan-e2e-")
        self.seed("ecs", {"cluster": "shop", "service": "api", "desired": 1, "region": "us-west-2"})
        self.zone = self.seed("route53_zone", {"name": "shop.example."})["zone_id"]
        # strict fakes, verifying signatures made with the same key
        self.arc_ports = self.start_fake("arc", ["--port", "0", "--port", "0",
                                                 "--controls", json.dumps({RC_A: "On", RC_B: "Off"})])
        state = {"global": "shop-global", "members": [{"arn": EAST, "writer": True}, {"arn": WEST, "writer": False}]}
        ports = self.start_fake("rds", ["--state", json.dumps(state), "--settle", "2"])
        self.rds_url = f"http://127.0.0.1:{ports[0]}"
        self.arc_urls = [f"http://127.0.0.1:{free_port()}"] + [f"http://127.0.0.1:{p}" for p in self.arc_ports]

    def tearDown(self):
        self.rig_down()

    def write_config(self):
        hp = self.health.server_address[1]
        self.engine_port = free_port()
        self.engine_url = f"http://127.0.0.1:{self.engine_port}"
        self.state_dir = os.path.join(self.dir, "state")
        self.write_secrets()
        self.announced = os.path.join(self.dir, "announced.txt")
        arc = ", ".join(self.arc_urls)
        lines = config_head("shop-e2e")
        for s in SERVICES:
            lines += [f"  - name: {s}", "    checks:"]
            for r in REGIONS:
                lines.append(f"      - {{region: {r}, http: {{url: 'http://127.0.0.1:{hp}/health/{r}/{s}'}}}}")
        lines += [
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
            f" ssm: '{self.moto_url}', route53: '{self.moto_url}'}}",
            "  call_timeout: 10s",
            "plan:",
            "  failover:",
            "    dry_run: false",
            "    steps:",
            f"      - {{name: fence-primary, kind: arc_routing_control, routing_control_arn: '{RC_A}', state: 'Off',"
            f" cluster_endpoints: [{arc}], region: us-west-2, timeout: 20s}}",
            "      - {name: promote-db, kind: aurora_global_failover, global_cluster: shop-global,"
            f" target_cluster_arn: '{WEST}', region: us-west-2, timeout: 20s}}",
            "      - {name: wait-db, kind: wait_db_cluster, cluster: shop-west, region: us-west-2, poll_interval: 200ms,"
            " timeout: 30s}",
            "      - {name: activate, kind: ecs_scale, cluster: shop, service: api, desired_count: 4, region: us-west-2,"
            " timeout: 30s}",
            "      - {name: flag, kind: ssm_parameter, parameter: /shop/active-region, value: us-west-2, region: us-west-2}",
            f"      - {{name: dns, kind: route53_upsert, hosted_zone_id: '{self.zone}', record_name: api.shop.example.,"
            " record_type: CNAME, value: api.usw2.shop.example., ttl: 60}",
            f"      - {{name: shift-traffic, kind: arc_routing_control, routing_control_arn: '{RC_B}', state: 'On',"
            f" cluster_endpoints: [{arc}], region: us-west-2}}",
            "      - {name: verify-dr, kind: verify, region: us-west-2, within: 30s, timeout: 40s}",
            "      - {name: announce, kind: exec, command: [/bin/sh, -c, 'echo $VIGIL_ACTION $VIGIL_TO"
            f" $VIGIL_ALLOW_DATA_LOSS $VIGIL_RECOMMENDATION_HASH >> {self.announced}'], timeout: 10s}}",
            "logging: {level: info}",
        ]
        self.config = write_checked_config(self, os.path.join(self.dir, "vigil.yaml"), lines)

    def test_outage_page_approve_execute_verify_rto(self):
        self.write_config()
        engine = self.start_engine("1")
        self.start_agents(("us-east-1", "us-west-2", "eu-west-1"))
        wait_until(lambda: all(self.status()["regions"][r]["classification"] == "healthy" for r in REGIONS), 60,
                   "both regions healthy")

        # The drill on the live config changes nothing.
        drill = subprocess.run([VIGIL, "drill", "--config", self.config, "--prechecks"], capture_output=True,
                               text=True, env=self.engine_env(), cwd=self.dir, timeout=120)
        self.assertEqual(drill.returncode, 0, drill.stdout + drill.stderr)
        self.assertIn("would call rds:FailoverGlobalCluster", drill.stdout)
        self.assertIn("pre-check result", drill.stdout)
        self.assertEqual(self.fake_state(self.rds_url)["calls"].get("FailoverGlobalCluster", 0), 0)
        self.assertEqual(self.fake_state(f"http://127.0.0.1:{self.arc_ports[0]}")["calls"]
                         .get("UpdateRoutingControlState", 0), 0)

        Health.failed = {"us-east-1"}  # the regional outage
        wait_until(lambda: self.status()["regions"]["us-east-1"]["classification"] == "regional_outage", 60,
                   "regional_outage of us-east-1")
        page = wait_until(lambda: next((p for p in Pages.received if p["page"].get("kind") == "regional_outage"),
                                       None), 60, "the regional_outage page at the webhook")
        self.assertEqual(Pages.bad, [])
        rec = wait_until(lambda: (lambda r: r if r and r.get("state") == "pending_approval" else None)(
            self.status().get("recommendation")), 60, "a failover recommendation pending approval")
        self.assertEqual(rec["action"], "failover")

        key = os.path.join(self.dir, "alice.key")
        printed = subprocess.run([VIGIL, "approve", "--print", "--yes", "--allow-data-loss", "--key", key, "--approver",
                                  "alice", "--engine", self.engine_url], capture_output=True, text=True, timeout=60)
        self.assertEqual(printed.returncode, 0, printed.stdout + printed.stderr)
        self.assertIn("v4.public.", printed.stdout)
        self.assertIsNone(self.status()["plan"], "--print must not submit")
        approved = subprocess.run([VIGIL, "approve", "--yes", "--allow-data-loss", "--key", key, "--approver",
                                   "alice", "--engine", self.engine_url], capture_output=True, text=True, timeout=60)
        self.assertEqual(approved.returncode, 0, approved.stdout + approved.stderr)

        plan = wait_until(lambda: (lambda p: p if p and p.get("state") != "executing" else None)(
            self.status().get("plan")), 120, "the plan to finish")
        self.assertEqual(plan["result"], "done", json.dumps(plan, indent=1) + engine.text()[-4000:])
        self.assertFalse(plan["dry_run"])
        outcomes = {s["name"]: s["status"] for s in plan["steps"]}
        self.assertEqual(outcomes["verify-dr"], "done", plan)
        self.assertTrue(all(v == "done" for v in outcomes.values()), outcomes)
        rto = plan["rto"]
        for k in ("first_evidence", "classified", "paged", "approved", "plan_started", "plan_finished"):
            self.assertIsNotNone(rto[k], k)
        self.assertGreater(rto["total_s"], rto["plan_s"])
        self.assertEqual([s["name"] for s in rto["steps"]], list(outcomes))

        # Each mutating call reached its receiver exactly once, validated and signed.
        arc = self.fake_state(f"http://127.0.0.1:{self.arc_ports[0]}")
        self.assertEqual(arc["calls"].get("UpdateRoutingControlState"), 2, arc)
        self.assertEqual(arc["states"], {RC_A: "Off", RC_B: "On"})
        self.assertEqual(arc["rejected"], [])
        rds = self.fake_state(self.rds_url)
        self.assertEqual(rds["calls"].get("FailoverGlobalCluster"), 1, rds)
        fo = [q for q in rds["requests"] if q["action"] == "FailoverGlobalCluster"][0]["params"]
        self.assertEqual(fo.get("AllowDataLoss"), "true")  # unplanned (outage-triggered), mode auto
        self.assertEqual(rds["rejected"], [])
        import boto3
        sess = boto3.session.Session(aws_access_key_id=self.key, aws_secret_access_key=self.secret,
                                     region_name="us-west-2")
        svc = sess.client("ecs", endpoint_url=self.moto_url).describe_services(cluster="shop", services=["api"])
        self.assertEqual(svc["services"][0]["desiredCount"], 4)
        ssm = sess.client("ssm", endpoint_url=self.moto_url).get_parameter(Name="/shop/active-region")
        self.assertEqual(ssm["Parameter"]["Value"], "us-west-2")
        with open(self.announced) as f:
            self.assertEqual(f.read().split(), ["failover", "us-west-2", "true", rec["hash"]])

        # The journal: intent before each mutating call, the RTO report at the end.
        with open(os.path.join(self.state_dir, "plan.jsonl")) as f:
            journal = [json.loads(l) for l in f]
        self.assertEqual(journal[0]["type"], "plan_begin")
        self.assertEqual(journal[-1]["type"], "plan_end")
        self.assertEqual(journal[-1]["rto"]["total_s"], rto["total_s"])
        metrics = http("GET", self.engine_url + "/metrics")[1].decode()
        self.assertIn('vigil_plan_runs_total{action="failover",result="done"} 1', metrics)
        self.assertIn('vigil_plan_step_duration_seconds_count{result="done",step="promote-db"} 1', metrics)

        # A restart does not execute the approval again.
        engine.stop()
        self.procs.remove(engine)
        self.start_engine("2")
        time.sleep(2)
        self.assertEqual(self.fake_state(self.rds_url)["calls"].get("FailoverGlobalCluster"), 1)
        with open(self.announced) as f:
            self.assertEqual(len(f.read().splitlines()), 1)

        # Failback goes through the engine: proposed, then gated like any recommendation.
        Health.failed = set()
        wait_until(lambda: self.status()["regions"]["us-east-1"]["classification"] == "healthy", 60,
                   "us-east-1 healthy again")
        bad = subprocess.run([VIGIL, "propose", "sideways", "--engine", self.engine_url], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(bad.returncode, 2, bad.stderr)
        # An unsigned proposal (anyone on the network, any name) is refused with a reason.
        st, body = http("POST", self.engine_url + "/v1/propose", json.dumps({"action": "failback", "by": "x" * 4096}),
                        headers={"Content-Type": "application/json"})
        self.assertEqual((st, json.loads(body)["error"]), (401, "unsigned"), body)
        unsigned = subprocess.run([VIGIL, "propose", "failback", "--engine", self.engine_url], capture_output=True,
                                  text=True, timeout=30)
        self.assertEqual(unsigned.returncode, 2, unsigned.stderr)
        self.assertIn("--key is required", unsigned.stderr)
        proposed = subprocess.run([VIGIL, "propose", "failback", "--engine", self.engine_url, "--key",
                                   os.path.join(self.dir, "alice.key"), "--approver", "alice"],
                                  capture_output=True, text=True, timeout=30)
        self.assertEqual(proposed.returncode, 0, proposed.stdout + proposed.stderr)
        self.assertIn("(by alice)", proposed.stdout)
        rec = self.status()["recommendation"]
        self.assertEqual((rec["action"], rec["from"], rec["to"]), ("failback", "us-west-2", "us-east-1"))


class OrphanedStep(LiveEngine):
    """kill -9 of the engine while an exec step runs, the step having started a
    background child: the restarted engine listens at once (the orphans hold
    no engine descriptor) and kills the orphaned process group, journaling it,
    before the resumed plan re-runs the step (the two never run side by side)."""

    def plan_steps(self):
        self.bg_file = os.path.join(self.dir, "bg.pid")
        self.runs = os.path.join(self.dir, "runs")
        script = (f"echo $VIGIL_RESUMED >> {self.runs}; if [ $VIGIL_RESUMED = 0 ]; then sleep 300 & "
                  f"echo $! > {self.bg_file}; sleep 300; fi")
        return [f"      - {{name: hold, kind: exec, command: [/bin/sh, -c, '{script}'], timeout: 10m}}"]

    def test_kill_9_mid_step_restart_listens_and_kills_the_orphan_group_first(self):
        self.write_config()
        engine = self.start_engine("1", 30)
        self.outage_pending_approval()
        approved = self.approve()
        self.assertEqual(approved.returncode, 0, approved.stdout + approved.stderr)
        self.bg_pid = int(wait_until(lambda: read_text(self.bg_file).strip(), 60, "the step's background child"))
        engine.p.kill()  # kill -9 mid-step
        engine.p.wait()
        engine.stop()
        self.procs.remove(engine)
        self.assertTrue(alive(self.bg_pid), "the orphan outlives the engine (else this test proves nothing)")
        with open(f"/proc/{self.bg_pid}/stat") as f:
            pgid = int(f.read().rsplit(")", 1)[1].split()[2])  # state ppid pgrp

        # No orphan holds the listening socket: the new engine binds at once.
        engine2 = self.start_engine("2", 15)
        plan = wait_until(lambda: (lambda p: p if p and p.get("state") != "executing" else None)(
            self.status().get("plan")), 60, "the resumed plan to finish")
        self.assertEqual(plan["result"], "done", json.dumps(plan) + engine2.text()[-3000:])
        self.assertTrue(plan["resumed"])
        self.assertNotIn("Address already in use", engine2.text())
        self.assertFalse(alive(self.bg_pid), "the orphaned group was not killed")
        with open(self.runs) as f:
            self.assertEqual(f.read().split(), ["0", "1"])
        with open(os.path.join(self.state_dir, "plan.jsonl")) as f:
            journal = [json.loads(l) for l in f]
        types = [r["type"] for r in journal]
        self.assertEqual(types, ["plan_begin", "intent", "process", "process_kill", "intent", "process", "result",
                                 "plan_end"])
        self.assertEqual(journal[2]["pgid"], pgid)
        self.assertEqual(journal[3]["pgid"], pgid)
        self.assertIn("killed", journal[3]["detail"])


class ReloadOnSighup(LiveEngine):
    """SIGHUP (systemctl reload) never stops the engine: it keeps serving,
    logs the reload, and a changed approver public key file takes effect."""
    dry_run = True

    def plan_steps(self):
        return ["      - {name: announce, kind: exec, command: [/bin/true]}"]

    def test_sighup_keeps_serving_and_reloads_the_approver_keys(self):
        self.write_config()
        engine = self.start_engine("1", 30)
        self.outage_pending_approval()
        # alice's key changes on disk (rotation): the running engine still has the old one.
        subprocess.run([VIGIL, "keygen", "--force", "--out", os.path.join(self.dir, "alice")], check=True,
                       stdout=subprocess.DEVNULL)
        refused = self.approve()
        self.assertNotEqual(refused.returncode, 0, refused.stdout)
        for n in (1, 2):  # a second SIGHUP too: the handler re-arms
            engine.p.send_signal(signal.SIGHUP)
            wait_until(lambda: engine.text().count("approver keys reloaded: 1 key(s) (alice)") >= n, 20,
                       f"reload {n} logged")
        self.assertIsNone(engine.p.poll(), "SIGHUP stopped the engine")
        agent = next(p for p in self.procs if "agent-" in p.log)
        agent.p.send_signal(signal.SIGHUP)
        wait_until(lambda: "configuration changes take effect at the next restart" in agent.text(), 20,
                   "the agent's SIGHUP logged")
        self.assertIsNone(agent.p.poll(), "SIGHUP stopped the agent")
        self.assertEqual(http("GET", self.engine_url + "/healthz")[0], 200)
        self.assertIn("takes effect at the next restart", engine.text())
        approved = self.approve()
        self.assertEqual(approved.returncode, 0, approved.stdout + approved.stderr)
        plan = wait_until(lambda: (lambda p: p if p and p.get("state") != "executing" else None)(
            self.status().get("plan")), 60, "the dry-run plan to finish")
        self.assertEqual(plan["result"], "done", plan)
        # A broken config on SIGHUP is logged and changes nothing.
        with open(self.config, "a") as f:
            f.write("bogus_key: 1\n")
        engine.p.send_signal(signal.SIGHUP)
        wait_until(lambda: "nothing reloaded, the running configuration stays" in engine.text(), 20,
                   "the refused reload logged")
        self.assertIsNone(engine.p.poll())
        self.assertEqual(http("GET", self.engine_url + "/healthz")[0], 200)


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


if __name__ == "__main__":
    unittest.main(verbosity=2)
