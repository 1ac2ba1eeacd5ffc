"""A minimal W3C WebDriver client for Debian's chromedriver + headless chromium.

Python 3 standard library only: chromedriver comes from the same Debian source
package as chromium, so their versions always match and nothing is fetched
from a registry at test time. Chrome DevTools commands (device emulation,
full-page screenshots) go through chromedriver's goog/cdp/execute endpoint.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = os.environ.get("VIGIL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("VIGIL_CHROMEDRIVER", "/usr/bin/chromedriver")

# Headless as root, and nothing that reaches Google's hosts.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,900",
]


class WebDriverError(Exception):
    pass


class Browser:
    def __init__(self, port):
        self.user_data = tempfile.mkdtemp(prefix="vigil-chromium-")
        self.log_path = os.path.join(self.user_data, "chromedriver.log")
        self._log = open(self.log_path, "w")
        self.driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}", "--allowed-ips=127.0.0.1"],
                                       stdout=self._log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.base + "/status", timeout=1) as r:
                    if json.loads(r.read())["value"]["ready"]:
                        break
            except Exception:
                pass
            if time.monotonic() > deadline or self.driver.poll() is not None:
                self.close()
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": CHROMIUM_ARGS + ["--user-data-dir=" + self.user_data]},
        }}}
        try:
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except Exception:
            self.close()
            raise

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as e:
            raise WebDriverError(f"{method} {path}: {e.code} {e.read()[:500]!r}") from None

    def _s(self, path, body=None, method="POST"):
        return self._call(method, f"/session/{self.session}{path}", body)

    def get(self, url):
        self._s("/url", {"url": url})

    def js(self, script, *args):
        """Runs `script` as a function body in the page; returns its JSON-able result."""
        return self._s("/execute/sync", {"script": script, "args": list(args)})

    def cdp(self, cmd, **params):
        return self._s("/goog/cdp/execute", {"cmd": cmd, "params": params})

    def wait_js(self, script, timeout=20, what=None):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.js(script)
            if last:
                return last
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what or script} (last: {last!r})")

    def viewport(self, width, height, mobile=False):
        self.cdp("Emulation.setDeviceMetricsOverride", width=width, height=height,
                 deviceScaleFactor=2 if mobile else 1, mobile=mobile)

    def screenshot(self, path):
        """A full-page PNG (beyond the viewport)."""
        data = self.cdp("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            if getattr(self, "session", None):
                self._call("DELETE", f"/session/{self.session}")
        except Exception:
            pass
        if self.driver.poll() is None:
            self.driver.terminate()
            try:
                self.driver.wait(10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                self.driver.wait()
        self._log.close()
        shutil.rmtree(self.user_data, ignore_errors=True)
