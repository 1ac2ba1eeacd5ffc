"""deploy/docker/Dockerfile, checked statically (no Docker engine on CI machines)."""
import json
import re
import shlex
import unittest

from deploy_common import DEPLOY, SOURCE_DIR, run, tool

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
# The shared libraries the vigil binary links (CMakeLists.txt find_package list;
# Boost.Asio/Beast and nlohmann-json are header-only) and CA certificates.
# deploy.docker_runtime checks this against `ldd` of the built binary.
REQUIRED_RUNTIME = {"libcurl4", "libssl3", "libspdlog1.10", "libfmt9", "libyaml-cpp0.7",
                    "libprometheus-cpp-core1.0", "libpq5", "ca-certificates"}
NOT_IN_RUNTIME = re.compile(r"(-dev$|^build-essential$|^cmake$|^ninja-build$|^clang|^g\+\+|^gcc)")


def parse(text):
    """Dockerfile -> list of stages: {from, name, instructions: [(INSTR, args)]}."""
    text = re.sub(r"\\\n", " ", text)  # line continuations
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", args.strip(), re.I)
            stages.append({"from": m.group(1), "name": m.group(2), "instructions": []})
        else:
            assert stages, f"{instr} before FROM"
            stages[-1]["instructions"].append((instr, args.strip()))
    return stages


def apt_installed(run_args):
    """Package names of every `apt-get install` in a RUN instruction."""
    pkgs = []
    for cmd in re.split(r"&&|;", run_args):
        words = shlex.split(cmd)
        if len(words) >= 2 and words[0] in ("apt-get", "apt") and "install" in words:
            pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return pkgs


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stages = parse(DOCKERFILE.read_text())
        cls.runtime = cls.stages[-1]

    def test_multi_stage_on_bookworm(self):
        self.assertGreaterEqual(len(self.stages), 2)
        for s in self.stages:
            self.assertRegex(s["from"], r"^debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?$")

    def test_builder_uses_install_deps_and_cmake_ninja(self):
        builder = self.stages[0]
        runs = " ".join(a for i, a in builder["instructions"] if i == "RUN")
        self.assertIn("scripts/install-deps.sh --no-servers", runs)
        self.assertTrue((SOURCE_DIR / "scripts" / "install-deps.sh").exists())
        self.assertRegex(runs, r"cmake -S \S+ -B \S+ -G Ninja")
        self.assertIn("--target vigil", runs)

    def test_runtime_copies_the_binary_from_the_builder(self):
        copies = [a for i, a in self.runtime["instructions"] if i == "COPY"]
        builder = self.stages[0]["name"]
        self.assertTrue(any(a.startswith(f"--from={builder} ") and a.endswith("/usr/local/bin/vigil")
                            and "app/vigil" in a for a in copies), copies)

    def test_runtime_has_only_runtime_packages(self):
        pkgs = [p for i, a in self.runtime["instructions"] if i == "RUN" for p in apt_installed(a)]
        self.assertEqual(set(pkgs), REQUIRED_RUNTIME)
        self.assertFalse([p for p in pkgs if NOT_IN_RUNTIME.search(p)])
        runs = " ".join(a for i, a in self.runtime["instructions"] if i == "RUN")
        self.assertIn("--no-install-recommends", runs)
        self.assertIn("rm -rf /var/lib/apt/lists/*", runs)

    def test_runtime_packages_exist_in_apt(self):
        apt_cache = tool(self, "apt-cache")
        # One call for all (apt-cache loads its cache once); it exits non-zero
        # if any name is unknown, and every name must have a record.
        r = run([apt_cache, "show", *sorted(REQUIRED_RUNTIME)])
        self.assertEqual(r.returncode, 0, f"apt-cache show: {r.stderr.strip()}")
        found = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
        self.assertFalse(REQUIRED_RUNTIME - found, "packages apt does not know")
        r = run([apt_cache, "show", "libvigil-no-such-package"])
        self.assertNotEqual(r.returncode, 0, "apt-cache show must fail for an unknown name")

    def test_non_root_user(self):
        users = [a for i, a in self.runtime["instructions"] if i == "USER"]
        self.assertTrue(users, "no USER in the runtime stage")
        user = users[-1].split(":")[0]
        self.assertNotIn(user, ("root", "0"))
        if user.isdigit():
            self.assertGreaterEqual(int(user), 1000)

    def test_expose_healthcheck_entrypoint(self):
        instr = dict(self.runtime["instructions"])  # last of each kind
        self.assertIn("9470", instr.get("EXPOSE", "").split())
        self.assertIn("HEALTHCHECK", instr)
        self.assertRegex(instr["HEALTHCHECK"], r"--interval=\d+s")
        cmd = json.loads(instr["HEALTHCHECK"].split("CMD", 1)[1])
        copies = [a.split() for i, a in self.runtime["instructions"] if i == "COPY"]
        self.assertIn(["deploy/docker/healthcheck.sh", cmd[0]], copies, "the HEALTHCHECK script is copied in")
        self.assertIn("/healthz", (DEPLOY / "docker" / "healthcheck.sh").read_text())
        self.assertEqual(json.loads(instr["ENTRYPOINT"]), ["vigil"])

    def test_parser_rejects_a_bad_file(self):
        bad = parse("FROM ubuntu:22.04 AS b\nRUN true\nFROM ubuntu:22.04\nUSER root\n")
        self.assertNotRegex(bad[0]["from"], r"^debian:bookworm")
        self.assertEqual([a for i, a in bad[-1]["instructions"] if i == "USER"], ["root"])



class HealthcheckScriptTest(unittest.TestCase):
    """deploy/docker/healthcheck.sh against a real HTTP server on 127.0.0.1,
    with PID 1's command line faked through VIGIL_HEALTHCHECK_CMDLINE."""

    @classmethod
    def setUpClass(cls):
        import http.server
        import socketserver
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200 if self.path == "/healthz" else 404)
                self.end_headers()

            def log_message(self, *a):
                pass
        cls.server = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        cls.port = cls.server.server_address[1]
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        cls.closed = s.getsockname()[1]
        s.close()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def check(self, *argv, env=None):
        import os
        import tempfile
        with tempfile.NamedTemporaryFile("wb") as f:
            f.write(b"\0".join(a.encode() for a in ("vigil",) + argv) + b"\0")
            f.flush()
            e = dict(os.environ, VIGIL_HEALTHCHECK_CMDLINE=f.name, **(env or {}))
            return run(["bash", str(DEPLOY / "docker" / "healthcheck.sh")], env=e, timeout=20).returncode

    def test_engine_probes_its_listen_address(self):
        self.assertEqual(self.check("engine", "--config", "/etc/vigil/vigil.yaml", "--listen",
                                    f"0.0.0.0:{self.port}"), 0)
        self.assertNotEqual(self.check("engine", "--config", "x", "--listen", f"127.0.0.1:{self.closed}"), 0)

    def test_agent_probes_its_metrics_listener_not_9470(self):
        self.assertEqual(self.check("agent", "--config", "c", "--vantage", "eu-west-1", "--metrics-listen",
                                    f"0.0.0.0:{self.port}"), 0)
        self.assertNotEqual(self.check("agent", "--config", "c", "--vantage", "eu-west-1",
                                       f"--metrics-listen=127.0.0.1:{self.closed}"), 0)
        # No metrics listener: nothing to probe, healthy while it runs.
        self.assertEqual(self.check("agent", "--config", "c", "--vantage", "eu-west-1"), 0)

    def test_override_address(self):
        self.assertEqual(self.check("run", "--config", "c", env={"VIGIL_HEALTHCHECK_ADDR": f"127.0.0.1:{self.port}"}), 0)
        self.assertNotEqual(self.check("engine", "--config", "c",
                                       env={"VIGIL_HEALTHCHECK_ADDR": f"127.0.0.1:{self.closed}"}), 0)


if __name__ == "__main__":
    unittest.main()
