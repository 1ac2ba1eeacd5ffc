#!/usr/bin/env python3
"""docs/quickstart.md, run as written.

Every ```sh block of sections 2 to 4 runs, in order, in ONE bash process (so
`&`, `$!` and the pid files behave as in the reader's terminal), from the
source root. Only what would collide with other tests or a second run is
rewritten: the fixed ports (9470, 9471, 9472, 18081-18084) become free ports,
the /tmp directories (/tmp/vigil-quickstart, /tmp/vigil-www, the example's
state_dir /tmp/vigil-local) move under a temporary directory, and
`$PWD/build/app` becomes the directory of the binary under test. Section 1
(scripts/demo.sh installs packages and builds; scripts/test.sh runs the whole
suite) is checked to be exactly those two commands, not run.

Between blocks the test waits for what the text says happens next (regions
healthy, us-east-1 service_degraded, a failover recommendation pending
approval, the plan done) and answers `vigil approve`'s question with `y`.
After the clean-up block no process the quickstart started may still run.
The `vigil simulate --json | jq` line must print the timeline one event per
line, without audit records.

    VIGIL_BIN=build/app/vigil python3 tests/integration/quickstart/test_quickstart.py
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "status_page"))

import vigil_harness as h  # noqa: E402

PORTS = (9470, 9471, 9472, 18081, 18082, 18083, 18084)


def sh_blocks(markdown):
    """[(section number, block text)] of the ```sh blocks, in order."""
    out = []
    section = 0
    in_block = False
    lines = []
    for line in markdown.splitlines():
        if not in_block:
            m = re.match(r"## (\d+)\.", line)
            if m:
                section = int(m.group(1))
            if line.strip() == "```sh":
                in_block, lines = True, []
        elif line.strip() == "```":
            in_block = False
            out.append((section, "\n".join(lines) + "\n"))
        else:
            lines.append(line)
    return out


def cmdline_of(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


class Quickstart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vigil = os.path.abspath(h.vigil_bin())
        cls.tmp = tempfile.mkdtemp(prefix="vigil-quickstart-test-")
        cls.ports = {p: h.free_port() for p in PORTS}
        cls.subst = [("$PWD/build/app", os.path.dirname(cls.vigil)),
                     ("/tmp/vigil-quickstart", os.path.join(cls.tmp, "quickstart")),
                     ("/tmp/vigil-www", os.path.join(cls.tmp, "www")),
                     ("/tmp/vigil-local", os.path.join(cls.tmp, "state"))]
        cls.url = f"http://127.0.0.1:{cls.ports[9470]}"
        cls.bash = None
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        if cls.bash and cls.bash.poll() is None:
            cls.bash.stdin.close()
            try:
                cls.bash.wait(10)
            except subprocess.TimeoutExpired:
                cls.bash.kill()
        for pid in cls.leftovers():
            os.kill(pid, 9)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def leftovers(cls):
        """Processes still running whose command line names the test's temporary directory."""
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit() and int(d) != os.getpid():
                c = cmdline_of(d)
                if c and cls.tmp in c and "bash" != c.split(" ")[0]:
                    out.append(int(d))
        return out

    def rewrite(self, text):
        for a, b in self.subst:
            text = text.replace(a, b)
        for p, q in self.ports.items():
            text = re.sub(rf"(?<!\d){p}(?!\d)", str(q), text)
        return text

    def run_block(self, text, answer="", timeout=120):
        """Runs one block in the persistent bash; returns (exit status of its last command, output)."""
        type(self).n += 1
        n = self.n
        script = os.path.join(self.tmp, f"block{n}.sh")
        with open(script, "w") as f:
            f.write(self.rewrite(text))
        with open(os.path.join(self.tmp, f"stdin{n}"), "w") as f:
            f.write(answer)
        out, done = os.path.join(self.tmp, f"out{n}"), os.path.join(self.tmp, f"done{n}")
        self.bash.stdin.write(f"source {script} > {out} 2>&1 < {self.tmp}/stdin{n}; echo $? > {done}\n")
        self.bash.stdin.flush()
        def finished():
            if not os.path.exists(done):
                return False
            with open(done) as f:
                return f.read().endswith("\n")
        h.wait_until(finished, timeout, f"block {n}")
        with open(out) as f:
            output = f.read()
        with open(done) as f:
            return int(f.read()), output

    def classes(self):
        r = self.status()["regions"]
        return r["us-east-1"]["classification"], r["us-west-2"]["classification"]

    def status(self):
        return json.loads(h.http("GET", self.url + "/v1/status", timeout=2)[1])

    def test_quickstart_as_written(self):
        with open(os.path.join(ROOT, "docs", "quickstart.md"), encoding="utf-8") as f:
            blocks = sh_blocks(f.read())
        first = [b for s, b in blocks if s == 1]
        self.assertEqual([re.sub(r"\s+#.*", "", line) for line in first[0].splitlines()],
                         ["scripts/demo.sh", "scripts/test.sh"], "section 1 is not what this test skips")
        todo = [b for s, b in blocks if s == 1][1:] + [b for s, b in blocks if s >= 2]
        self.assertGreaterEqual(len(todo), 10)
        env = dict(os.environ, HOME=self.tmp)
        type(self).bash = subprocess.Popen(["bash"], stdin=subprocess.PIPE, text=True, cwd=ROOT, env=env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen = []
        for block in todo:
            answer = "y\n" if "vigil approve" in block else ""
            rc, out = self.run_block(block, answer)
            seen.append(block)
            with self.subTest(block=block.strip().splitlines()[0]):
                self.after(block, rc, out)
        # Every section's kind of step happened.
        joined = "".join(seen)
        for what in ("vigil version", "check-config", "vigil run", "vigil keygen", "vigil approve",
                     "vigil simulate", "kill $(cat"):
            self.assertIn(what, joined)

    def after(self, block, rc, out):
        """Checks the outcome of one block and waits for what the text says comes next."""
        if "cp -r examples" in block:
            # The copied example names the fixed ports and state_dir too.
            path = os.path.join(self.tmp, "quickstart", "local.yaml")
            with open(path) as f:
                text = f.read()
            with open(path, "w") as f:
                f.write(self.rewrite(text))
        if "vigil version" in block or "check-config" in block:
            self.assertEqual(rc, 0, out)
        elif "vigil agent" in block and "vigil run" in block:
            h.wait_until(lambda: all(r["classification"] == "healthy" for r in self.status()["regions"].values()),
                         60, "both regions healthy")
        elif "/18083.pid" in block:
            h.wait_until(lambda: self.status()["regions"]["us-east-1"]["classification"] == "service_degraded",
                         60, "us-east-1 service_degraded")
            self.assertEqual(self.status().get("recommendation"), None, "no failover for a single service")
        elif "/18081.pid" in block:
            h.wait_until(lambda: (self.status().get("recommendation") or {}).get("state") == "pending_approval",
                         60, "a failover recommendation")
        elif "vigil keygen" in block:
            self.assertEqual(rc, 0, out)
            # The text: wait until the new process shows us-east-1 as regional_outage again.
            h.wait_until(lambda: self.classes() == ("regional_outage", "healthy")
                         and (self.status().get("recommendation") or {}).get("state") == "pending_approval",
                         60, "us-east-1 classified again after the restart")
        elif "vigil approve" in block:
            self.assertEqual(rc, 0, out)
            h.wait_until(lambda: self.status()["recommendation"]["state"] == "dry_run_complete", 60,
                         "the dry-run plan complete (nothing changed)")
        elif block.lstrip().startswith("kill $(cat"):
            h.wait_until(lambda: not self.leftovers(), 30, "every process of the quickstart stopped")
            self.assertEqual(self.leftovers(), [], "still running after the clean-up")
        elif "--json" in block:
            self.assertEqual(rc, 0, out)
            lines = [x for x in out.splitlines() if x.startswith("{")]
            self.assertGreater(len(lines), 1, "the jq filter printed no timeline events:\n" + out)
            for x in lines:
                event = json.loads(x)
                self.assertIn("type", event)
                self.assertNotEqual(event["type"], "audit")
        elif "vigil simulate" in block:
            self.assertEqual(rc, 0, out)
        if "| jq" in block:
            self.assertNotIn("jq: error", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
