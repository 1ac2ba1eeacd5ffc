#!/usr/bin/env python3
"""Continuous readiness, end to end on 127.0.0.1 (python3 stdlib + boto3): the real `vigil engine`
with readiness.interval 2s against moto_server (signature checks on: ECS, Application Auto Scaling,
SSM, Route 53) and the strict fakes (ARC data plane with five endpoints, RDS global cluster, IAM
SimulatePrincipalPolicy), three agents probing a DR check served over TLS with a local certificate.

The world starts ready: every item of both plans is ok, `vigil readiness` exits 0. Then six faults
at once: the DR scalable target's MaxCapacity 0, the DR cluster headless, a routing control deleted,
rds:FailoverGlobalCluster denied to the actuator role, two of the five ARC endpoints stopped, and
the DR certificate replaced by one that expires in 3 days. Each is reported by its exact item with
its detail, paged once (the webhook receiver counts the notice pages), `vigil readiness` exits 1;
repaired, each item is ok again and its page resolved. Two endpoints down is a warning (the quorum
holds: arc.quorum stays ok); three down fails arc.quorum and the plan.

Environment: VIGIL_BIN, VIGIL_SOURCE_DIR, VIGIL_MOTO_SERVER, VIGIL_PYTHON (see e2e_rig.py).
"""
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from e2e_rig import VIGIL, AwsRig, Pages, config_head, free_port, http, wait_until, write_checked_config  # noqa: E402

RC_A = "arn:aws:route53-recovery-control::123456789012:controlpanel/abc123/routingcontrol/east01"
RC_B = "arn:aws:route53-recovery-control::123456789012:controlpanel/abc123/routingcontrol/west01"
EAST = "arn:aws:rds:us-east-1:123456789012:cluster:shop-east"
WEST = "arn:aws:rds:us-west-2:123456789012:cluster:shop-west"
ROLE = "arn:aws:iam::123456789012:role/vigil-actuator"
DEPLOYMENT = "shop-ready"


class Ok(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def make_cert(d, name, days):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", str(days), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", crt], check=True, capture_output=True)
    return crt, key


class Readiness(AwsRig, unittest.TestCase):
    def setUp(self):
        self.rig_up("vigil-readiness-")
        for region in ("us-west-2", "us-east-1"):
            self.seed("ecs", {"cluster": "shop", "service": "api", "desired": 1, "region": region})
        self.zone = self.seed("route53_zone", {"name": "shop.example."})["zone_id"]
        import boto3
        s = boto3.session.Session(aws_access_key_id=self.key, aws_secret_access_key=self.secret,
                                  region_name="us-west-2")
        self.aas = s.client("application-autoscaling", endpoint_url=self.moto_url)
        self.set_max(10)
        s.client("ssm", endpoint_url=self.moto_url).put_parameter(Name="/shop/active-region", Value="us-east-1",
                                                                   Type="String")
        s.client("route53", endpoint_url=self.moto_url).change_resource_record_sets(
            HostedZoneId=self.zone, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
                "Name": "api.shop.example.", "Type": "CNAME", "TTL": 60,
                "ResourceRecords": [{"Value": "api.use1.shop.example."}]}}]})
        self.arc_ports = self.start_fake("arc", ["--port", "0"] * 5 + ["--controls", json.dumps({RC_A: "On",
                                                                                                RC_B: "Off"})])
        self.arc = f"http://127.0.0.1:{self.arc_ports[0]}"
        state = {"global": "shop-global", "members": [{"arn": EAST, "writer": True}, {"arn": WEST, "writer": False}]}
        self.rds_url = f"http://127.0.0.1:{self.start_fake('rds', ['--state', json.dumps(state)])[0]}"
        self.iam_url = f"http://127.0.0.1:{self.start_fake('iam', ['--principals', json.dumps([ROLE])])[0]}"
        # The DR check, over TLS: a certificate valid for 60 days, one for 3 days to swap in.
        self.good_cert = make_cert(self.dir, "good", 60)
        self.short_cert = make_cert(self.dir, "short", 3)
        self.ca = os.path.join(self.dir, "ca.pem")
        with open(self.ca, "w") as f:
            for crt, _ in (self.good_cert, self.short_cert):
                with open(crt) as c:
                    f.write(c.read())
        self.tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls_ctx.load_cert_chain(*self.good_cert)
        self.tls = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
        self.tls.daemon_threads = True
        self.tls.socket = self.tls_ctx.wrap_socket(self.tls.socket, server_side=True)
        threading.Thread(target=self.tls.serve_forever, daemon=True).start()
        self.servers.append(self.tls)

    def tearDown(self):
        self.rig_down()

    def set_max(self, n):
        self.aas.register_scalable_target(ServiceNamespace="ecs", ResourceId="service/shop/api",
                                          ScalableDimension="ecs:service:DesiredCount", MinCapacity=min(n, 1),
                                          MaxCapacity=n)

    def post(self, url, doc):
        status, body = http("POST", url, json.dumps(doc), {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body)

    def write_config(self):
        hp = self.health.server_address[1]
        self.engine_port = free_port()
        self.engine_url = f"http://127.0.0.1:{self.engine_port}"
        self.write_secrets()
        arc = ", ".join(f"http://127.0.0.1:{p}" for p in self.arc_ports)
        lines = config_head(DEPLOYMENT) + [
            "  - name: api", "    checks:",
            f"      - {{region: us-east-1, http: {{url: 'http://127.0.0.1:{hp}/health/us-east-1/api'}}}}",
            f"      - {{region: us-west-2, http: {{url: 'https://127.0.0.1:{self.tls.server_address[1]}/health',"
            f" ca_file: '{self.ca}'}}}}",
            "engine:",
            f"  listen: 127.0.0.1:{self.engine_port}",
            f"  endpoints: [{self.engine_url}]",
            "  agent_key_file: agent.key",
            f"  state_dir: {os.path.join(self.dir, 'state')}",
            "coordination: {backend: file}",
            "paging:",
            f"  - {{kind: webhook, url: 'http://127.0.0.1:{self.pages.server_address[1]}/page',"
            " secret_file: webhook.secret}",
            "approvals:", "  required: 1", "  max_ttl: 15m", "  approvers:", "    - {id: alice, public_key_file: alice.pub}",
            "aws:",
            f"  endpoints: {{rds: '{self.rds_url}', iam: '{self.iam_url}', ecs: '{self.moto_url}',"
            f" application-autoscaling: '{self.moto_url}', ssm: '{self.moto_url}', route53: '{self.moto_url}'}}",
            "drill: {schedule: 2s}",
            "readiness:",
            "  interval: 2s",
            "  timeout: 5s",
            "  cert_min_days: 14",
            f"  actuator_role_arn: '{ROLE}'",
            "plan:",
            "  failover:",
            "    steps:",
            f"      - {{name: fence, kind: arc_routing_control, routing_control_arn: '{RC_A}', state: 'Off',"
            f" cluster_endpoints: [{arc}], region: us-west-2}}",
            "      - {name: promote, kind: aurora_global_failover, global_cluster: shop-global,"
            f" target_cluster_arn: '{WEST}', region: us-west-2}}",
            "      - {name: activate, kind: ecs_scale, cluster: shop, service: api, desired_count: 4, region: us-west-2}",
            "      - {name: flag, kind: ssm_parameter, parameter: /shop/active-region, value: us-west-2,"
            " region: us-west-2}",
            f"      - {{name: dns, kind: route53_upsert, hosted_zone_id: '{self.zone}', record_name: api.shop.example.,"
            " record_type: CNAME, value: api.usw2.shop.example., ttl: 60}",
            f"      - {{name: shift, kind: arc_routing_control, routing_control_arn: '{RC_B}', state: 'On',"
            f" cluster_endpoints: [{arc}], region: us-west-2}}",
            "  failback:",
            "    steps:",
            f"      - {{name: unshift, kind: arc_routing_control, routing_control_arn: '{RC_B}', state: 'Off',"
            f" cluster_endpoints: [{arc}], region: us-east-1}}",
            "      - {name: primary, kind: ecs_scale, cluster: shop, service: api, desired_count: 2, region: us-east-1,"
            " scalable_target: false}",
            "logging: {level: info}",
        ]
        self.config = write_checked_config(self, os.path.join(self.dir, "vigil.yaml"), lines)

    def readiness(self):
        return json.loads(http("GET", self.engine_url + "/v1/readiness")[1])

    def items(self, plan="failover"):
        return {i["id"]: i for i in self.readiness()["plans"].get(plan, {}).get("items", [])}

    def cli(self, *extra):
        return subprocess.run([VIGIL, "readiness", "--engine", self.engine_url, *extra], capture_output=True,
                              text=True, timeout=60)

    def notice_pages(self, item, action):
        iid = f"{DEPLOYMENT}/notice/readiness-failover-{item}"
        return [p for p in Pages.received if p["page"]["incident_id"] == iid and p["page"]["action"] == action]

    def drill_pages(self, action):
        iid = f"{DEPLOYMENT}/notice/drill-scheduled"
        return [p for p in Pages.received if p["page"]["incident_id"] == iid and p["page"]["action"] == action]

    def test_faults_reported_paged_once_and_cleared(self):
        self.write_config()
        self.engine = self.start_engine("1")
        self.start_agents(("us-east-1", "us-west-2", "eu-west-1"))
        seen = {}

        def both_ready():
            d = seen["doc"] = self.readiness()
            return d if set(d["plans"]) == {"failover", "failback"} and all(
                p.get("ok") for p in d["plans"].values()) else None
        try:
            ready = wait_until(both_ready, 90, "both plans ready")
        except AssertionError:
            bad = {n: [i for i in p.get("items", []) if i["state"] != "ok"] for n, p in seen["doc"]["plans"].items()}
            raise AssertionError(f"not ready: {json.dumps(bad, indent=1)}\n{self.engine.text()[-3000:]}")
        ids = {i["id"] for i in ready["plans"]["failover"]["items"]}
        for want in ("precheck.promote", "aurora.global_cluster", "aurora.dr_writer_candidate",
                     "ecs.activate.max_capacity", "arc.endpoints", "arc.quorum", "arc.west01", "route53.dns.record",
                     "ssm.flag.parameter", "iam.rds:FailoverGlobalCluster", "dr_checks.healthy",
                     "dr_checks.certificates"):
            self.assertIn(want, ids)
        self.assertEqual(self.cli().returncode, 0)
        # Scheduled drills (dry run with pre-checks) pass in this world.
        wait_until(lambda: any(d["result"] == "done" for d in
                               json.loads(http("GET", self.engine_url + "/v1/objectives")[1])["drills"]["trend"]),
                   30, "a scheduled drill that passed")
        metrics = http("GET", self.engine_url + "/metrics")[1].decode()
        self.assertIn('vigil_readiness_ok{item="ecs.activate.max_capacity",plan="failover"} 1', metrics)
        self.assertIn('vigil_readiness_last_run_timestamp_seconds{plan="failover"}', metrics)

        # Six faults at once.
        injected = time.monotonic()
        self.set_max(0)
        self.post(self.rds_url + "/_fake/member", {"arn": WEST, "instances": 0})
        self.post(self.arc + "/_fake/states", {RC_B: None})
        self.post(self.iam_url + "/_fake/deny", {"actions": {"rds:FailoverGlobalCluster": "implicitDeny"}})
        self.post(self.arc + "/_fake/down", {"ports": self.arc_ports[3:]})
        self.tls_ctx.load_cert_chain(*self.short_cert)
        want = {
            "ecs.activate.max_capacity": "MaxCapacity 0 < the plan's count 4",
            "aurora.dr_writer_candidate": "headless",
            "arc.west01": "does not exist",
            "iam.rds:FailoverGlobalCluster": "rds:FailoverGlobalCluster on arn:aws:rds::123456789012:global-cluster:"
                                             "shop-global is implicitDeny for " + ROLE,
            "arc.endpoints": "3 of 5 cluster endpoints answer",
            "dr_checks.certificates": "day(s) (< 14)",
        }

        def all_failed():
            it = self.items()
            return it if all(it.get(k, {}).get("state") == "failed" for k in want) else None
        items = wait_until(all_failed, 60, "every injected fault reported")
        detected = time.monotonic() - injected
        for k, text in want.items():
            self.assertIn(text, items[k]["detail"], k)
        self.assertTrue(items["arc.endpoints"]["warning"])
        self.assertEqual(items["arc.quorum"]["state"], "ok", items["arc.quorum"])
        self.assertIn("WARNING ", self.cli().stdout)
        self.assertEqual(self.cli().returncode, 1)
        self.assertIn("FAILED  ecs.activate.max_capacity", self.cli().stdout)
        wait_until(lambda: all(self.notice_pages(k, "trigger") for k in want), 60, "a page per failed item")
        # The scheduled drill's pre-checks fail too: one warning page for it.
        wait_until(lambda: self.drill_pages("trigger"), 60, "the failed scheduled drill paged")
        time.sleep(5)  # two more runs: still failed, no new page
        for k in want:
            self.assertEqual(len(self.notice_pages(k, "trigger")), 1, k)
            self.assertEqual(self.items()[k]["state"], "failed", k)

        # Repaired.
        self.set_max(10)
        self.post(self.rds_url + "/_fake/member", {"arn": WEST, "instances": 1})
        self.post(self.arc + "/_fake/states", {RC_B: "Off"})
        self.post(self.iam_url + "/_fake/deny", {"actions": {}})
        self.post(self.arc + "/_fake/down", {"ports": []})
        self.tls_ctx.load_cert_chain(*self.good_cert)
        wait_until(lambda: all(i["state"] == "ok" for i in self.items().values()), 60, "every item ok again")
        wait_until(lambda: all(self.notice_pages(k, "resolve") for k in want), 60, "each page resolved")
        wait_until(lambda: self.drill_pages("resolve"), 60, "the scheduled drill page resolved by a drill that passed")
        self.assertEqual(len(self.drill_pages("trigger")), 1)
        self.assertIn("the scheduled drill of plan.failover failed", self.drill_pages("trigger")[0]["page"]["summary"])
        self.assertIn("5 of 5 cluster endpoints answer", self.items()["arc.endpoints"]["detail"])
        self.assertEqual(self.cli().returncode, 0, self.cli().stdout)
        for k in want:
            self.assertEqual(len(self.notice_pages(k, "trigger")), 1, k)

        # Two down alone is a warning: the plan stays ready. Three down: the quorum is lost.
        self.post(self.arc + "/_fake/down", {"ports": self.arc_ports[3:]})
        wait_until(lambda: self.items()["arc.endpoints"]["state"] == "failed", 60, "two endpoints down reported")
        self.assertTrue(self.readiness()["plans"]["failover"]["ok"])
        self.assertEqual(self.cli().returncode, 0, self.cli().stdout)
        self.post(self.arc + "/_fake/down", {"ports": self.arc_ports[2:]})
        q = wait_until(lambda: (lambda i: i if i["state"] == "failed" else None)(self.items()["arc.quorum"]), 60,
                       "three endpoints down fail the quorum")
        self.assertIn("2 of 5 cluster endpoints answer", q["detail"])
        self.assertIn("at least 3 must", q["detail"])
        self.assertFalse(self.readiness()["plans"]["failover"]["ok"])
        self.post(self.arc + "/_fake/down", {"ports": []})
        wait_until(lambda: self.readiness()["plans"]["failover"]["ok"], 60, "ready again")
        self.assertEqual(len(self.notice_pages("arc.endpoints", "trigger")), 2)
        self.assertEqual(len(self.notice_pages("arc.quorum", "trigger")), 1)
        self.assertEqual(Pages.bad, [])
        # Within one interval: the run in progress at injection may miss some faults (they take a moment to
        # inject), the next one (2 s +-10 % later) reports them all; a run's calls take well under 5 s here.
        print(f"\n  every fault reported {detected:.2f} s after injection (interval 2 s)", file=sys.stderr)
        self.assertLess(detected, 2 * 2.2 + 5)
        # The fakes saw no mutating call.
        self.assertEqual(self.fake_state(self.rds_url)["calls"].get("FailoverGlobalCluster", 0), 0)
        self.assertEqual(self.fake_state(self.arc)["calls"].get("UpdateRoutingControlState", 0), 0)


if __name__ == "__main__":
    unittest.main()
