"""logging.format: json with a real `vigil run` on 127.0.0.1.

Both services of the primary region point at closed ports, so the agent logs
each check going down and the engine logs the incident, its page and the
recommendation. Asserted: stdout and stderr hold only JSON lines (no plain
start-up banner; the config file's own diagnostics, printed on stderr before
logging starts, are the one exception), the agent's check lines carry check/region/vantage fields
and the engine's incident lines carry incident_id/region, as fields rather
than words in msg.
"""
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

VIGIL = os.environ.get("VIGIL_BIN", "")
SOURCE = pathlib.Path(os.environ.get("VIGIL_SOURCE_DIR") or pathlib.Path(__file__).resolve().parents[3])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """
deployment: json-logs
regions:
  - {{name: us-east-1, role: primary}}
  - {{name: us-west-2, role: dr}}
vantages: [us-east-1]
decision: {{tick: 200ms, quorum: 1, fall: 1, rise: 2, confirm_for: 1s, clear_for: 10s,
           service_page_grace: 1s, regional_fraction: 0.5}}
probe_defaults: {{interval: 300ms, timeout: 200ms}}
services:
  - name: api
    checks:
      - {{region: us-east-1, http: {{url: "http://127.0.0.1:{dead1}/"}}}}
      - {{region: us-west-2, http: {{url: "http://127.0.0.1:{dead2}/"}}}}
  - name: web
    checks:
      - {{region: us-east-1, http: {{url: "http://127.0.0.1:{dead3}/"}}}}
      - {{region: us-west-2, http: {{url: "http://127.0.0.1:{dead4}/"}}}}
engine:
  listen: 127.0.0.1:{engine}
  endpoints: ["http://127.0.0.1:{engine}"]
  agent_key: json-logs-test-agent-key-0123456789
  state_dir: {state}
coordination: {{backend: file}}
paging: [{{kind: log}}]
approvals:
  required: 1
  approvers: [{{id: alice, public_key_file: {pub}}}]
plan:
  failover:
    steps: [{{name: announce, kind: exec, command: [/bin/true]}}]
logging: {{level: info, format: json}}
"""


class JsonLogsTest(unittest.TestCase):
    def test_every_line_is_json_with_separate_fields(self):
        self.assertTrue(VIGIL and os.access(VIGIL, os.X_OK), f"VIGIL_BIN={VIGIL!r}: build the vigil target")
        with tempfile.TemporaryDirectory() as tmp:
            cfg = pathlib.Path(tmp) / "vigil.yaml"
            cfg.write_text(CONFIG.format(dead1=free_port(), dead2=free_port(), dead3=free_port(),
                                         dead4=free_port(), engine=free_port(), state=tmp + "/state",
                                         pub=SOURCE / "examples" / "approvers" / "alice.pub"))
            proc = subprocess.Popen([VIGIL, "run", "--config", str(cfg), "--vantage", "us-east-1"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            out, err = [], []

            def pump(stream, sink):
                for line in stream:
                    sink.append(line)

            threads = [threading.Thread(target=pump, args=(proc.stdout, out), daemon=True),
                       threading.Thread(target=pump, args=(proc.stderr, err), daemon=True)]
            for t in threads:
                t.start()
            try:
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline and proc.poll() is None:
                    if any('"incident_id"' in l for l in err) and \
                            any('"check"' in l for l in err):
                        break
                    time.sleep(0.2)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                for t in threads:
                    t.join(timeout=5)
            lines = []
            for name, stream in (("stdout", out), ("stderr", err)):
                for raw in stream:
                    if not raw.strip():
                        continue
                    # check-config's diagnostics of the file, printed before logging is set up.
                    if name == "stderr" and raw.startswith(str(cfg) + ":"):
                        continue
                    try:
                        lines.append(json.loads(raw))
                    except json.JSONDecodeError:
                        self.fail(f"{name} line is not JSON: {raw!r}")
            self.assertTrue(lines, "no output at all")
            for j in lines:
                for key in ("ts", "level", "logger", "msg"):
                    self.assertIn(key, j)
            self.assertTrue(any("listening on" in j["msg"] or "probing" in j["msg"] for j in lines),
                            "the start-up banner is a JSON log line")
            checks = [j for j in lines if j["logger"] == "agent" and "check" in j]
            self.assertTrue(checks, "no agent check line with a check field:\n" + "".join(err[-30:]))
            c = checks[0]
            self.assertEqual(c["vantage"], "us-east-1")
            self.assertIn(c["region"], ("us-east-1", "us-west-2"))
            self.assertTrue(c["check"].endswith("@" + c["region"]), c)
            incidents = [j for j in lines if j["logger"] == "engine" and "incident_id" in j]
            self.assertTrue(incidents, "no engine line with an incident_id field:\n" + "".join(err[-30:]))
            for i in incidents:
                self.assertTrue("region" in i or "vantage" in i, i)
                self.assertNotIn(i["incident_id"], i["msg"], "the id is a field, not part of msg")


if __name__ == "__main__":
    unittest.main()
