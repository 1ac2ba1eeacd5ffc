"""The deploy configs are accepted by the real binary: `vigil check-config`.

Needs the built binary: VIGIL_BINARY (set by tests/deploy/CMakeLists.txt to
$<TARGET_FILE:vigil>). The configs point at secret files under /etc/vigil;
the test stages them (random agent key, generated Ed25519 approver keys) in a
temporary directory and rewrites the paths.
"""
import os
import pathlib
import subprocess
import tempfile
import unittest

from deploy_common import DEPLOY, run, tool

# config -> warnings expected from check-config. The HA config must be clean;
# the sidecar's single vantage, single service and missing plan are its
# documented limits.
CONFIGS = {
    DEPLOY / "kubernetes" / "common" / "vigil.yaml": 0,
    DEPLOY / "kubernetes" / "sidecar" / "vigil-sidecar.yaml": 5,
}


class CheckConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.binary = os.environ.get("VIGIL_BINARY", "")

    def stage(self, tmp: pathlib.Path, config: pathlib.Path) -> pathlib.Path:
        openssl = tool(self, "openssl")
        (tmp / "secrets").mkdir()
        (tmp / "approvers").mkdir()
        (tmp / "secrets" / "agent.key").write_text(os.urandom(32).hex() + "\n")
        (tmp / "secrets" / "pagerduty-routing-key").write_text("R0123456789abcdef0123456789abcdef\n")
        (tmp / "secrets" / "slack-webhook-url").write_text("https://hooks.slack.com/services/T0/B0/x\n")
        (tmp / "secrets" / "etcd-password").write_text(os.urandom(24).hex() + "\n")
        (tmp / "etcd").mkdir()
        cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        (tmp / "etcd" / "ca.crt").write_text(cert)
        (tmp / "etcd" / "client.crt").write_text(cert)
        (tmp / "etcd" / "client.key").write_text("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n")
        # As installed (deploy/): secrets not readable by others; check-config refuses them otherwise.
        for secret in [*(tmp / "secrets").iterdir(), tmp / "etcd" / "client.key"]:
            secret.chmod(0o600)
        for who in ("alice", "bob"):
            key = tmp / f"{who}.key"
            subprocess.run([openssl, "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True,
                           capture_output=True)
            subprocess.run([openssl, "pkey", "-in", str(key), "-pubout", "-out", str(tmp / "approvers" / f"{who}.pub")],
                           check=True, capture_output=True)
        staged = tmp / "vigil.yaml"
        staged.write_text(config.read_text().replace("/etc/vigil/", f"{tmp}/"))
        return staged

    def test_configs_pass_check_config(self):
        self.assertTrue(self.binary and os.access(self.binary, os.X_OK),
                        f"VIGIL_BINARY={self.binary!r} is not an executable: build the vigil target first")
        for config, warnings in CONFIGS.items():
            with self.subTest(config=config.name), tempfile.TemporaryDirectory() as tmp:
                staged = self.stage(pathlib.Path(tmp), config)
                r = run([self.binary, "check-config", str(staged)])
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("OK", r.stdout)
                self.assertRegex(r.stdout, rf"(?m)^warnings:\s+{warnings}$", r.stderr)

    def test_check_config_rejects_a_broken_copy(self):
        self.assertTrue(self.binary and os.access(self.binary, os.X_OK), "build the vigil target first")
        with tempfile.TemporaryDirectory() as tmp:
            staged = self.stage(pathlib.Path(tmp), next(iter(CONFIGS)))
            staged.write_text(staged.read_text().replace("backend: etcd", "backend: zookeeper"))
            r = run([self.binary, "check-config", str(staged)])
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("coordination.backend", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
