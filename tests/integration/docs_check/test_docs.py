#!/usr/bin/env python3
"""The docs say what the code does.

(a) docs/metrics.md against real expositions: a `vigil engine` driven through
    healthy -> regional outage -> approved dry-run plan (plus a refused batch)
    and a `vigil agent --metrics-listen` probing. Every metric family in either
    exposition is documented with its type and labels; every documented metric
    is in one of the expositions, except those in the doc's "Conditional"
    section (they appear only in some setups), which must at least be
    registered somewhere in the source; `promtool check metrics`
    passes on both expositions.
(b) docs/configuration.md against the config loader: every backticked dotted
    key path names a key whose last component is a string literal in
    common/config*.cpp, and every key the loader accepts is documented.

    VIGIL_BIN=build/app/vigil python3 tests/integration/docs_check/test_docs.py
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "status_page"))

import config_keys  # noqa: E402
import vigil_harness as h  # noqa: E402

PROMTOOL = os.environ.get("VIGIL_PROMTOOL", shutil.which("promtool") or "/usr/bin/promtool")


def parse_exposition(text):
    """{family: {"type": t, "labels": set}} from Prometheus text format."""
    fams = {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            fams[m.group(1)] = {"type": m.group(2), "labels": set()}
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
        if not m:
            continue
        name = m.group(1)
        fam = name if name in fams else re.sub(r"_(bucket|sum|count)$", "", name)
        labels = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or "")) - {"le"}
        if fam in fams:
            fams[fam]["labels"] |= labels
    return fams


def parse_metrics_doc(text):
    """{name: {"type", "labels", "conditional"}} from the tables of docs/metrics.md.

    A row is `| `vigil_x` (or `process_x`) | type | `label`, `label` (or —) | meaning |`; rows under
    a `## Conditional ...` heading are conditional."""
    out = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        m = re.match(r"\|\s*`((?:vigil|process)_[a-z0-9_]+)`\s*\|\s*([a-z]+)\s*\|([^|]*)\|", line)
        if m:
            out[m.group(1)] = {"type": m.group(2), "labels": set(re.findall(r"`([a-z_]+)`", m.group(3))),
                               "conditional": section.lower().startswith("conditional")}
    return out


class DocsCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.expositions = {}
        engine = h.Engine(with_approver=True)
        agent = None
        try:
            agent, cls.expositions = h.drive_and_scrape(engine, lambda: h.Agent(engine, "us-east-1"))
        except BaseException:
            print(engine.log()[-4000:], file=sys.stderr)
            raise
        finally:
            if agent:
                agent.stop()
            engine.stop()
            engine.cleanup()
        out = os.path.join(h.build_dir(), "docs_check")
        os.makedirs(out, exist_ok=True)
        for k, v in cls.expositions.items():
            with open(os.path.join(out, f"{k}.prom"), "w") as f:
                f.write(v)
        with open(os.path.join(ROOT, "docs", "metrics.md"), encoding="utf-8") as f:
            cls.doc = parse_metrics_doc(f.read())

    def test_promtool_check_metrics(self):
        self.assertTrue(os.access(PROMTOOL, os.X_OK), "promtool is missing: scripts/install-deps.sh installs prometheus")
        for name, text in self.expositions.items():
            r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, f"promtool check metrics on the {name} exposition:\n{r.stdout}{r.stderr}")

    def test_every_exposed_metric_is_documented_with_type_and_labels(self):
        self.assertTrue(self.doc, "docs/metrics.md has no metric table rows")
        for name, text in self.expositions.items():
            fams = parse_exposition(text)
            self.assertTrue(fams, f"empty {name} exposition")
            for fam, info in fams.items():
                with self.subTest(exposition=name, metric=fam):
                    self.assertIn(fam, self.doc, f"{fam} ({name}) is not in docs/metrics.md")
                    self.assertEqual(self.doc[fam]["type"], info["type"], fam)
                    self.assertEqual(self.doc[fam]["labels"], info["labels"], f"{fam}: documented labels")

    def test_every_documented_metric_exists(self):
        exposed = set()
        for text in self.expositions.values():
            exposed |= set(parse_exposition(text))
        sources = []
        for d in ("app", "common", "detector", "paging", "approvals", "coordination", "actuators", "aws", "decision"):
            for p in glob.glob(os.path.join(ROOT, d, "*.cpp")):
                with open(p, encoding="utf-8") as f:
                    sources.append(f.read())
        sources = "".join(sources)
        for name, info in self.doc.items():
            with self.subTest(metric=name):
                if info["conditional"]:
                    # May or may not be in these expositions; it must at least be registered somewhere.
                    self.assertIn(f'"{name}"', sources, f"{name} is documented but no source registers it")
                else:
                    self.assertIn(name, exposed, f"{name} is documented but in neither exposition")


class ConfigDocCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "docs", "configuration.md"), encoding="utf-8") as f:
            cls.doc = f.read()
        cls.literals = config_keys.loader_literals(ROOT)
        cls.accepted = config_keys.loader_keys(ROOT)

    def test_the_extraction_finds_the_loader_tables(self):
        # Guards the parser itself: keys from each kind of table are found.
        for k in ("deployment", "fall", "url", "agent_key_file", "global_cluster", "on_failure", "degraded_after"):
            self.assertIn(k, self.accepted)
        self.assertGreater(len(self.accepted), 80)

    def test_every_documented_key_exists_in_the_loader(self):
        paths = config_keys.documented_paths(self.doc)
        self.assertGreater(len(paths), 50, "docs/configuration.md names too few dotted keys")
        missing = sorted(p for p in paths if config_keys.last_component(p) not in self.literals)
        self.assertEqual(missing, [], "documented in docs/configuration.md but not read by common/config*.cpp")

    def test_every_accepted_key_is_documented(self):
        names = config_keys.documented_names(self.doc)
        missing = sorted(f"{k} ({src})" for k, src in self.accepted.items() if k not in names)
        self.assertEqual(missing, [], "accepted by the loader but not in docs/configuration.md")


if __name__ == "__main__":
    unittest.main(verbosity=2)
