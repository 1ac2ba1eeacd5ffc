#!/usr/bin/env python3
"""engine.read_tokens_file with the real binaries (docs/design.md, "HTTP API").

A `vigil engine` whose config names a token file: every GET /v1/* answers 401
without a bearer token (reason missing_token) or with a wrong one (bad_token),
with WWW-Authenticate: Bearer, and 200 with one of the file's tokens;
/healthz, /readyz, /metrics, the status page's HTML and signed batches stay
open; `vigil status` works with --engine-token and $VIGIL_ENGINE_TOKEN and
says what is missing without; SIGHUP replaces the tokens.

    VIGIL_BIN=build/app/vigil python3 tests/integration/read_tokens/test_read_tokens.py
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "status_page"))

import vigil_harness as h  # noqa: E402

PAGE_TOKEN = "page-0123456789abcdef"
CLI_TOKEN = "cli-fedcba9876543210"
ROTATED = "rotated-00112233445566"


def get(url, token=None):
    """(status, headers, body) of a GET, never raising on an HTTP error."""
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class ReadTokens(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="vigil-read-tokens-")
        cls.tokens = os.path.join(cls.tmp, "read-tokens")
        cls.write_tokens(f"# status page\n{PAGE_TOKEN}\n\n# CLI\n{CLI_TOKEN}\n")
        cls.engine = h.Engine(engine_extra=[f"read_tokens_file: {cls.tokens}"])

    @classmethod
    def tearDownClass(cls):
        cls.engine.stop()
        cls.engine.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def write_tokens(cls, text):
        with open(cls.tokens, "w") as f:
            f.write(text)
        os.chmod(cls.tokens, 0o600)

    def vigil_status(self, *args, env_token=None):
        env = {k: v for k, v in os.environ.items() if k != "VIGIL_ENGINE_TOKEN"}
        if env_token:
            env["VIGIL_ENGINE_TOKEN"] = env_token
        return subprocess.run([h.vigil_bin(), "status", "--engine", self.engine.url, *args], capture_output=True,
                              text=True, env=env, timeout=30)

    def test_1_get_routes_need_a_token(self):
        self.engine.post_batch("us-east-1")  # signed batches need no read token
        for path in ("/v1/status", "/v1/status?summary=1", "/v1/recommendation", "/v1/events", "/v1/history",
                     "/v1/silences"):
            with self.subTest(path=path):
                status, headers, body = get(self.engine.url + path)
                self.assertEqual(status, 401, body)
                self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
                doc = json.loads(body)
                self.assertEqual((doc["error"], doc["reason"]), ("unauthorized", "missing_token"))
                status, _, body = get(self.engine.url + path, PAGE_TOKEN + "0")
                self.assertEqual((status, json.loads(body)["reason"]), (401, "bad_token"))
                status, _, body = get(self.engine.url + path, CLI_TOKEN)
                self.assertIn(status, (200, 404), body)  # 404: no recommendation now
        status, _, body = get(self.engine.url + "/v1/status", PAGE_TOKEN)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["deployment"], "status-page-test")
        for path in ("/healthz", "/metrics", "/"):
            with self.subTest(open=path):
                self.assertEqual(get(self.engine.url + path)[0], 200)
        metrics = get(self.engine.url + "/metrics")[2].decode()
        self.assertRegex(metrics, r'(?m)^vigil_read_token_refusals_total\{reason="missing_token"\} 6$')
        self.assertRegex(metrics, r'(?m)^vigil_read_token_refusals_total\{reason="bad_token"\} 6$')

    def test_2_vigil_status_sends_the_token(self):
        r = self.vigil_status()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("answered 401 (missing_token)", r.stderr)
        self.assertIn("--engine-token", r.stderr)
        r = self.vigil_status("--engine-token", "wrong-token-0000000000")
        self.assertEqual(r.returncode, 1)
        self.assertIn("(bad_token)", r.stderr)
        r = self.vigil_status("--engine-token", CLI_TOKEN, "--summary")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["deployment"], "status-page-test")
        r = self.vigil_status(env_token=PAGE_TOKEN)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("regions", json.loads(r.stdout))

    def test_3_sighup_replaces_the_tokens(self):
        self.write_tokens(ROTATED + "\n")
        self.engine.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: get(self.engine.url + "/v1/status", ROTATED)[0] == 200, 20, "the rotated token works")
        self.assertEqual(get(self.engine.url + "/v1/status", PAGE_TOKEN)[0], 401)
        self.assertRegex(self.engine.log(), r"read tokens: 1 from " + re.escape(self.tokens))
        # A broken file changes nothing: the running tokens stay.
        self.write_tokens("too-short\n")
        self.engine.proc.send_signal(signal.SIGHUP)
        h.wait_until(lambda: "nothing reloaded" in self.engine.log(), 20, "the reload refused")
        self.assertEqual(get(self.engine.url + "/v1/status", ROTATED)[0], 200)
        self.assertIsNone(self.engine.proc.poll())


if __name__ == "__main__":
    unittest.main()
