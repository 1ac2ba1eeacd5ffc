"""deploy/iam: least-privilege policies, their renderer, and the step-kind table."""
import json
import re
import sys
import tempfile
import unittest

import yaml

from deploy_common import DEPLOY, run

IAM = DEPLOY / "iam"
CONFIG = DEPLOY / "kubernetes" / "common" / "vigil.yaml"

# Plan step kind -> the AWS actions it calls. The actuator policy
# must allow exactly the union of these: no more (least privilege), no less
# (a failover that dies on AccessDenied at 3 a.m.).
STEP_ACTIONS = {
    "arc_routing_control": {"route53-recovery-cluster:UpdateRoutingControlState",
                            "route53-recovery-cluster:UpdateRoutingControlStates",
                            "route53-recovery-cluster:GetRoutingControlState"},
    # mode auto: FailoverGlobalCluster (unplanned) or SwitchoverGlobalCluster (planned);
    # DescribeDBClusters: the headless-target pre-check.
    "aurora_global_failover": {"rds:FailoverGlobalCluster", "rds:SwitchoverGlobalCluster",
                               "rds:DescribeGlobalClusters", "rds:DescribeDBClusters"},
    "aurora_switchover": {"rds:SwitchoverGlobalCluster", "rds:DescribeGlobalClusters", "rds:DescribeDBClusters"},
    "aurora_detach": {"rds:RemoveFromGlobalCluster", "rds:DescribeGlobalClusters"},
    "wait_db_cluster": {"rds:DescribeDBClusters", "rds:DescribeGlobalClusters"},
    "ecs_scale": {"ecs:UpdateService", "ecs:DescribeServices",
                  "application-autoscaling:DescribeScalableTargets", "application-autoscaling:RegisterScalableTarget"},
    "route53_upsert": {"route53:ChangeResourceRecordSets", "route53:GetChange"},
    "ssm_parameter": {"ssm:PutParameter"},
    "exec": set(),
    "webhook": set(),
    "verify": set(),
}
STARTUP_ACTIONS = {"sts:GetCallerIdentity"}  # credential check at start-up and in `vigil drill`
AGENT_ACTIONS = {"cloudwatch:GetMetricData", "rds:DescribeGlobalClusters", "rds:DescribeDBClusters"}
# Actions without resource-level permissions: "*" is the only valid resource.
RESOURCE_STAR_OK = {"cloudwatch:GetMetricData", "sts:GetCallerIdentity",
                    "application-autoscaling:DescribeScalableTargets"}
READ_ONLY = re.compile(r"^[\w-]+:(Describe|Get|List)")


def load(name):
    with open(IAM / name, encoding="utf-8") as f:
        return json.load(f)


def as_list(v):
    return v if isinstance(v, list) else [v]


def actions(policy):
    return {a for s in policy["Statement"] for a in as_list(s["Action"])}


class PolicyShapeTest(unittest.TestCase):
    def check_policy(self, policy):
        self.assertEqual(policy["Version"], "2012-10-17")
        sids = [s.get("Sid") for s in policy["Statement"]]
        self.assertTrue(all(sids), "every statement has a Sid (the README explains each)")
        self.assertEqual(len(sids), len(set(sids)))
        for s in policy["Statement"]:
            with self.subTest(sid=s["Sid"]):
                self.assertEqual(s["Effect"], "Allow")
                self.assertNotIn("NotAction", s)
                self.assertNotIn("NotResource", s)
                acts = as_list(s["Action"])
                res = as_list(s["Resource"])
                for a in acts:
                    self.assertNotEqual(a, "*")
                    self.assertNotIn("*", a, f"wildcard action {a}")
                    self.assertRegex(a, r"^[a-z0-9-]+:[A-Za-z]+$")
                if "*" in res:
                    mutating = [a for a in acts if not READ_ONLY.match(a)]
                    self.assertFalse(mutating, "a mutating action on Resource '*'")
                    self.assertTrue(set(acts) <= RESOURCE_STAR_OK, "'*' only where AWS offers no resource-level permission")
                for r in res:
                    if r != "*":
                        self.assertTrue(r.startswith("arn:aws:"), r)

    def test_agent_policy(self):
        p = load("agent-policy.json")
        self.check_policy(p)
        self.assertEqual(actions(p), AGENT_ACTIONS)
        for s in p["Statement"]:
            if "cloudwatch:GetMetricData" in as_list(s["Action"]):
                self.assertEqual(s["Resource"], "*")
        self.assertFalse([a for a in actions(p) if not READ_ONLY.match(a)], "the agent only reads")

    def test_actuator_policy(self):
        p = load("actuator-policy.json")
        self.check_policy(p)
        wanted = set().union(*STEP_ACTIONS.values()) | STARTUP_ACTIONS
        got = actions(p)
        self.assertEqual(got - wanted, set(), "actions no step kind calls")
        self.assertEqual(wanted - got, set(), "actions a step kind calls but the policy lacks")

    def test_resources_are_parameterised(self):
        for name in ("agent-policy.json", "actuator-policy.json"):
            text = (IAM / name).read_text()
            with self.subTest(policy=name):
                self.assertNotRegex(text, r"\b\d{12}\b", "hard-coded account id")
                self.assertIn("${AccountId}", text)
                self.assertIn("${PrimaryRegion}", text)
                self.assertIn("${DrRegion}", text)
                self.assertIn("${GlobalClusterId}", text)

    def test_mutating_rds_actions_name_global_and_member_clusters(self):
        p = load("actuator-policy.json")
        for s in p["Statement"]:
            if "rds:FailoverGlobalCluster" in as_list(s["Action"]):
                res = as_list(s["Resource"])
                self.assertIn("arn:aws:rds::${AccountId}:global-cluster:${GlobalClusterId}", res)
                self.assertTrue(any(":cluster:" in r for r in res))

    def test_step_table_covers_the_configured_plan(self):
        cfg = yaml.safe_load(CONFIG.read_text())
        kinds = {s["kind"] for plan in cfg["plan"].values() for s in plan["steps"]}
        self.assertFalse(kinds - STEP_ACTIONS.keys(), "step kinds missing from the table")


class PlanMatchesPolicyTest(unittest.TestCase):
    """The example plan (deploy/kubernetes/common/vigil.yaml), rendered with
    values.example.json, is allowed by the actuator policy resource by resource."""

    def test_every_plan_resource_is_allowed(self):
        r = run([sys.executable, str(IAM / "render.py"), str(IAM / "actuator-policy.json"),
                 "--values", str(IAM / "values.example.json")])
        self.assertEqual(r.returncode, 0, r.stderr)
        policy = json.loads(r.stdout)
        values = load("values.example.json")
        allowed = {}
        for st in policy["Statement"]:
            for a in as_list(st["Action"]):
                allowed.setdefault(a, set()).update(as_list(st["Resource"]))
        acct = values["AccountId"]
        cfg = yaml.safe_load(CONFIG.read_text())
        n = 0
        for plan in cfg["plan"].values():
            for step in plan["steps"]:
                kind = step["kind"]
                need = []  # (action, resource ARN)
                if kind == "arc_routing_control":
                    need += [(a, step["routing_control_arn"]) for a in STEP_ACTIONS[kind]]
                elif kind in ("aurora_global_failover", "aurora_switchover"):
                    gc = f"arn:aws:rds::{acct}:global-cluster:{step['global_cluster']}"
                    mutating = {"aurora_global_failover": "rds:FailoverGlobalCluster",
                                "aurora_switchover": "rds:SwitchoverGlobalCluster"}[kind]
                    need += [(mutating, gc), (mutating, step["target_cluster_arn"]),
                             ("rds:DescribeGlobalClusters", gc)]
                elif kind == "wait_db_cluster":
                    need.append(("rds:DescribeDBClusters",
                                 f"arn:aws:rds:{step['region']}:{acct}:cluster:{step['cluster']}"))
                elif kind == "ecs_scale":
                    arn = f"arn:aws:ecs:{step['region']}:{acct}:service/{step['cluster']}/{step['service']}"
                    need += [("ecs:UpdateService", arn), ("ecs:DescribeServices", arn),
                             ("application-autoscaling:RegisterScalableTarget",
                              f"arn:aws:application-autoscaling:{step['region']}:{acct}:scalable-target/*"),
                             ("application-autoscaling:DescribeScalableTargets", "*")]
                elif kind == "ssm_parameter":
                    need.append(("ssm:PutParameter",
                                 f"arn:aws:ssm:{step['region']}:{acct}:parameter/{step['parameter'].lstrip('/')}"))
                for action, arn in need:
                    n += 1
                    with self.subTest(step=step["name"], action=action):
                        self.assertIn(arn, allowed.get(action, set()))
        self.assertGreater(n, 10)


class RenderTest(unittest.TestCase):
    def render(self, *args):
        return run([sys.executable, str(IAM / "render.py"), *args])

    def test_renders_both_policies_completely(self):
        for name in ("agent-policy.json", "actuator-policy.json"):
            with self.subTest(policy=name):
                r = self.render(str(IAM / name), "--values", str(IAM / "values.example.json"))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertNotIn("${", r.stdout)
                doc = json.loads(r.stdout)
                self.assertEqual(doc["Version"], "2012-10-17")
                self.assertIn("111122223333", r.stdout)

    def test_set_overrides_values(self):
        r = self.render(str(IAM / "agent-policy.json"), "--values", str(IAM / "values.example.json"),
                        "--set", "DrRegion=eu-central-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("arn:aws:rds:eu-central-1:", r.stdout)

    def test_missing_value_fails(self):
        r = self.render(str(IAM / "actuator-policy.json"), "--set", "AccountId=111122223333")
        self.assertEqual(r.returncode, 2)
        self.assertIn("${GlobalClusterId}", r.stderr)

    def test_widening_value_is_refused(self):
        for bad in ("*", "shop-*", 'x"y', "a b"):
            with self.subTest(value=bad):
                r = self.render(str(IAM / "agent-policy.json"), "--values", str(IAM / "values.example.json"),
                                "--set", f"GlobalClusterId={bad}")
                self.assertEqual(r.returncode, 2, r.stdout)

    def test_output_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = f"{tmp}/agent.json"
            r = self.render(str(IAM / "agent-policy.json"), "--values", str(IAM / "values.example.json"), "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out, encoding="utf-8") as f:
                self.assertEqual(json.load(f)["Version"], "2012-10-17")


if __name__ == "__main__":
    unittest.main()
