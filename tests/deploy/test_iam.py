"""deploy/iam: the committed policies are `vigil iam` over the Kubernetes
deployment's config (deploy/kubernetes/common/vigil.yaml), and least privilege.

Which action each step kind sends is checked against the step code itself by
tests/unit/actuators/step_iam_test.cpp; this test keeps the committed files
from drifting from the generator and checks their shape.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

from deploy_common import DEPLOY, run

IAM = DEPLOY / "iam"
CONFIG = DEPLOY / "kubernetes" / "common" / "vigil.yaml"
# Actions without resource-level permissions: "*" is the only valid resource.
RESOURCE_STAR_OK = {"cloudwatch:GetMetricData", "application-autoscaling:DescribeScalableTargets"}
READ_ONLY = re.compile(r"^[\w-]+:(Describe|Get|List)")


def as_list(v):
    return v if isinstance(v, list) else [v]


def actions(policy):
    return {a for s in policy["Statement"] for a in as_list(s["Action"])}


class IamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.binary = os.environ.get("VIGIL_BINARY", "")

    def vigil_iam(self, *args, config=CONFIG):
        self.assertTrue(self.binary and os.access(self.binary, os.X_OK),
                        f"VIGIL_BINARY={self.binary!r} is not an executable: build the vigil target first")
        return run([self.binary, "iam", "--config", str(config), *args])

    def generated(self, role):
        r = self.vigil_iam("--role", role, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_committed_policies_are_the_generated_ones(self):
        for role in ("agent", "actuator"):
            with self.subTest(role=role):
                committed = (IAM / f"{role}-policy.json").read_text()
                self.assertEqual(committed, self.generated(role),
                                 f"deploy/iam/{role}-policy.json differs from `vigil iam --config "
                                 f"{CONFIG.relative_to(DEPLOY.parent)} --role {role} --json`: regenerate it")

    def check_policy(self, policy):
        self.assertEqual(policy["Version"], "2012-10-17")
        sids = [s.get("Sid") for s in policy["Statement"]]
        self.assertTrue(all(sids))
        self.assertEqual(len(sids), len(set(sids)))
        for s in policy["Statement"]:
            with self.subTest(sid=s["Sid"]):
                self.assertEqual(s["Effect"], "Allow")
                acts = as_list(s["Action"])
                res = as_list(s["Resource"])
                for a in acts:
                    self.assertRegex(a, r"^[a-z0-9-]+:[A-Za-z]+$", "no wildcard action")
                if "*" in res:
                    self.assertEqual(res, ["*"])
                    self.assertTrue(set(acts) <= RESOURCE_STAR_OK,
                                    "'*' only where AWS offers no resource-level permission")
                for r in res:
                    if r != "*":
                        self.assertRegex(r, r"^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:")

    def test_agent_policy(self):
        p = json.loads(self.generated("agent"))
        self.check_policy(p)
        self.assertEqual(actions(p), {"cloudwatch:GetMetricData"})

    def test_actuator_policy_covers_prechecks_and_kms(self):
        p = json.loads(self.generated("actuator"))
        self.check_policy(p)
        got = actions(p)
        # The ssm_parameter pre-check (GetParameter) and the secure parameter's KMS use.
        self.assertTrue({"ssm:GetParameter", "ssm:PutParameter", "kms:Decrypt", "kms:Encrypt"} <= got, got)
        for s in p["Statement"]:
            if "kms:Decrypt" in as_list(s["Action"]):
                self.assertIn("kms:ViaService", s["Condition"]["StringEquals"])
        mutating = {a for a in got if not READ_ONLY.match(a)}
        self.assertIn("rds:SwitchoverGlobalCluster", mutating)
        self.assertNotIn("rds:RemoveFromGlobalCluster", got, "no aurora_detach step is configured")

    def test_a_config_without_a_step_kind_gets_none_of_its_actions(self):
        text = CONFIG.read_text()
        # Drop the ssm_parameter steps: no SSM or KMS action is left.
        trimmed = "\n".join(l for l in text.splitlines() if "kind: ssm_parameter" not in l) + "\n"
        got = actions(json.loads(self.actuator_of(trimmed)[0]))
        self.assertFalse({a for a in got if a.startswith(("ssm:", "kms:"))}, got)
        self.assertIn("ecs:UpdateService", got)

    def actuator_of(self, text):
        """`vigil iam --role actuator` of a config text: (the JSON policy, the text form)."""
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, "vigil.yaml")
            with open(cfg, "w") as f:
                f.write(text)
            r = self.vigil_iam("--role", "actuator", "--json", config=cfg)
            self.assertEqual(r.returncode, 0, r.stderr)
            return r.stdout, self.vigil_iam("--role", "actuator", config=cfg).stdout

    def test_readiness_reads_join_the_actuator_role(self):
        role = "arn:aws:iam::123456789012:role/vigil-actuator"
        text = CONFIG.read_text() + f"readiness:\n  actuator_role_arn: '{role}'\n"
        doc, text_out = self.actuator_of(text)
        p = json.loads(doc)
        self.check_policy(p)
        sim = [s for s in p["Statement"] if "iam:SimulatePrincipalPolicy" in as_list(s["Action"])]
        self.assertEqual(len(sim), 1, p)
        self.assertEqual(as_list(sim[0]["Resource"]), [role])
        self.assertIn("iam:SimulatePrincipalPolicy", text_out)
        self.assertIn("readiness", text_out)
        self.assertNotIn("iam:SimulatePrincipalPolicy", self.generated("actuator"))

    def test_bad_account_and_role_are_refused(self):
        r = self.vigil_iam("--account", "12345")
        self.assertEqual(r.returncode, 2)
        self.assertIn("12 digits", r.stderr)
        r = self.vigil_iam("--role", "admin")
        self.assertEqual(r.returncode, 2)

    def test_account_flag_replaces_the_account(self):
        r = self.vigil_iam("--role", "actuator", "--json", "--account", "444455556666")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("arn:aws:ecs:us-west-2:444455556666:service/shop-prod/api-worker", r.stdout)


if __name__ == "__main__":
    unittest.main()
