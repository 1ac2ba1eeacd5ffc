#!/usr/bin/env python3
"""Every link vigil prints answers 200.

A `vigil engine` with engine.runbook_url and engine.dashboard_url pointing at
a local web server (serving the repository: docs/runbook.md and the Grafana
dashboard JSON stand in for the published runbook and dashboard) and a
webhook paging sink on a local receiver is driven through a service outage
and a regional outage of us-east-1 (a failover recommendation). Collected:
every `href` of every page the webhook received, every URL in their text,
the `links` of /v1/status, and every href/src of the status page. Each is
fetched: all must answer 200. A second engine without runbook_url and
dashboard_url must print no runbook or dashboard link at all (no link to a
runbook the engine does not serve).

    VIGIL_BIN=build/app/vigil python3 tests/integration/links/test_links.py
"""

import functools
import http.server
import json
import os
import re
import sys
import threading
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "status_page"))

import vigil_harness as h  # noqa: E402

URL_RE = re.compile(r"https?://[^\s\"'<>|)]+")


class Receiver:
    """A webhook receiver on 127.0.0.1 keeping every JSON body posted to it."""

    def __init__(self):
        self.bodies = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n) or b"null")
                outer.bodies.append((body or {}).get("page"))  # {"version", "idempotency_key", "page"}
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Site:
    """The repository over HTTP on 127.0.0.1: stands in for where the runbook and dashboard are published."""

    def __init__(self):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=ROOT)
        handler.log_message = lambda *a: None
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def walk_strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from walk_strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from walk_strings(v)


def page_links(bodies):
    """{url: where} of every link and URL in the pages the webhook received."""
    out = {}
    for b in bodies:
        for link in (b or {}).get("links", []):
            out[link["href"]] = f"page {b.get('kind')} link {link.get('text')!r}"
        for s in walk_strings(b):
            for u in URL_RE.findall(s):
                out.setdefault(u.rstrip(".,;"), f"page {b.get('kind')} text")
    return out


def drive(engine, feeder, receiver):
    """Service outage, then regional outage of us-east-1 (one failing service first)."""
    h.wait_until(lambda: all(r["classification"] == "healthy" for r in engine.status()["regions"].values()),
                 30, "healthy")
    feeder.set(h.VANTAGES, {"webapp@us-east-1"})
    h.wait_until(lambda: any(b and b.get("kind") == "service_degraded" for b in receiver.bodies), 45,
                 "a service_degraded page")
    feeder.set(h.VANTAGES, {f"{s}@us-east-1" for s in h.SERVICES})
    h.wait_until(lambda: any(b and b.get("kind") == "regional_outage" for b in receiver.bodies), 45,
                 "a regional_outage page")
    h.wait_until(lambda: (engine.status().get("recommendation") or {}).get("state") == "pending_approval",
                 45, "a failover recommendation")


class Links(unittest.TestCase):
    def run_engine(self, engine_extra):
        receiver = Receiver()
        engine = h.Engine(with_approver=True, engine_extra=engine_extra,
                          paging=f"[{{kind: webhook, url: '{receiver.url}', secret: links-test-secret}}]")
        feeder = h.Feeder(engine)
        try:
            drive(engine, feeder, receiver)
            status = engine.status()
            html = h.http("GET", engine.url + "/")[1].decode()
            return engine, receiver, status, html
        except BaseException:
            print(engine.log()[-3000:], file=sys.stderr)
            raise
        finally:
            feeder.stop()
            self.addCleanup(engine.cleanup)
            self.addCleanup(engine.stop)
            self.addCleanup(receiver.stop)

    def test_every_printed_link_answers_200(self):
        site = Site()
        self.addCleanup(site.stop)
        runbook = site.base + "/docs/runbook.md"
        dashboard = site.base + "/deploy/grafana/vigil-dashboard.json"
        engine, receiver, status, html = self.run_engine([f"runbook_url: '{runbook}'",
                                                          f"dashboard_url: '{dashboard}'"])
        links = page_links(receiver.bodies)
        self.assertIn(runbook, links, "pages link the configured runbook")
        self.assertIn(dashboard, links, "pages link the configured dashboard")
        self.assertEqual(status["links"], {"runbook": runbook, "dashboard": dashboard})
        for k, u in status["links"].items():
            links.setdefault(u, f"/v1/status links.{k}")
        for ref in re.findall(r"""(?:href|src)\s*=\s*["']([^"'#]+)""", html):
            links.setdefault(urllib.parse.urljoin(engine.url + "/", ref), "status page")
        self.assertGreaterEqual(len(links), 4, links)
        for url, where in sorted(links.items()):
            with self.subTest(url=url, where=where):
                self.assertTrue(url.startswith("http://127.0.0.1:"), "a link leaving 127.0.0.1")
                status_code, body = h.http("GET", url, timeout=5)
                self.assertEqual(status_code, 200, body[:200])

    def test_no_runbook_or_dashboard_link_unless_configured(self):
        engine, receiver, status, html = self.run_engine([])
        links = page_links(receiver.bodies)
        self.assertTrue(links)
        self.assertFalse([u for u in links if "runbook" in u or "dashboard" in u], links)
        self.assertEqual(status["links"], {})
        for url, where in sorted(links.items()):
            with self.subTest(url=url, where=where):
                self.assertEqual(h.http("GET", url, timeout=5)[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
