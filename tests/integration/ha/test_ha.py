#!/usr/bin/env python3
"""Engine-level HA tests on 127.0.0.1 (python3 stdlib only).

A real 3-member etcd (Debian's etcd-server, free ports), three real
`vigil engine --replica rN` processes sharing it (coordination.backend etcd,
lease_ttl 2s), three real `vigil agent` processes posting every signed batch
to every replica, a health server whose regions the test fails, and the
strict fake PagerDuty (tests/support/fake_pagerduty.py).

Cases:
  test_a_approval_token_single_use_across_replicas
  test_b_leader_killed_during_incident
  test_c_paused_leader_is_fenced
  test_d_etcd_quorum_lost_and_back
  test_e_plan_resumes_on_the_new_leader
  test_g_propose_on_a_follower_is_forwarded_and_adopted
  test_h_standing_approval_used_once_leader_killed
  test_f_soak (ctest integration.ha_soak: 60 s; VIGIL_HA_SOAK_S seconds, default 40; bench/ha_soak.sh runs 600)

Environment: VIGIL_BIN, VIGIL_SOURCE_DIR, VIGIL_ETCD (default /usr/bin/etcd),
VIGIL_KEEP_HA=1 keeps the temporary directory.
"""
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VIGIL = os.environ.get("VIGIL_BIN", "vigil")
SRC = os.environ.get("VIGIL_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))
ETCD = os.environ.get("VIGIL_ETCD", "/usr/bin/etcd")
SUPPORT = os.path.join(SRC, "tests", "support")
sys.path.insert(0, os.path.join(SRC, "tests", "integration", "status_page"))
from vigil_harness import free_port, http, wait_until  # noqa: E402  (shared test helpers)
SERVICES = ("api", "checkout")
REGIONS = ("us-east-1", "us-west-2")
VANTAGES = ("us-east-1", "us-west-2", "eu-west-1")
LEASE_TTL = 2.0
TICK = 0.25
ROUTING_KEY = "R" * 32


def descendants(pid):
    """Every process below `pid` (from /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


class Health(BaseHTTPRequestHandler):
    """GET /health/<region>/<service>: 200, or 503 while the region is failed."""
    failed = set()

    def log_message(self, *a):
        pass

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        down = len(parts) == 3 and parts[1] in Health.failed
        body = b'{"status":"DOWN"}' if down else b'{"status":"UP"}'
        self.send_response(503 if down else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Proc:
    def __init__(self, argv, log, cwd=None):
        self.argv, self.log, self.cwd = argv, log, cwd
        self.start()

    def start(self):
        self._f = open(self.log, "a")
        self.p = subprocess.Popen(self.argv, stdout=self._f, stderr=subprocess.STDOUT, cwd=self.cwd,
                                  start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def kill9(self):
        if self.alive():
            os.kill(self.p.pid, signal.SIGCONT)
            self.p.kill()
            self.p.wait()
        self._f.close()

    def stop(self):
        if self.alive():
            os.kill(self.p.pid, signal.SIGCONT)
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if not self._f.closed:
            self._f.close()

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


class Etcd:
    """Three members on loopback, fast raft timings (as tests/support/etcd_cluster.hpp)."""

    def __init__(self, d):
        self.d = d
        self.names = ["m0", "m1", "m2"]
        self.client = [free_port() for _ in self.names]
        self.peer = [free_port() for _ in self.names]
        self.procs = [None, None, None]
        for i in range(3):
            self.start(i)
        wait_until(lambda: all(self.healthy(i) for i in range(3)), 30, "etcd healthy")

    def url(self, i):
        return f"http://127.0.0.1:{self.client[i]}"

    def start(self, i):
        initial = ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(self.names, self.peer))
        argv = [ETCD, "--name", self.names[i], "--data-dir", os.path.join(self.d, self.names[i]),
                "--listen-client-urls", self.url(i), "--advertise-client-urls", self.url(i),
                "--listen-peer-urls", f"http://127.0.0.1:{self.peer[i]}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer[i]}",
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", "vigil-ha-test", "--heartbeat-interval", "50",
                "--election-timeout", "500", "--logger", "zap",
                "--log-outputs", os.path.join(self.d, self.names[i] + ".log")]
        self.procs[i] = Proc(argv, os.path.join(self.d, self.names[i] + ".out"))

    def kill(self, i):
        self.procs[i].kill9()

    def healthy(self, i):
        try:
            st, body = http("GET", self.url(i) + "/health", timeout=1)
            return st == 200 and b'"true"' in body
        except Exception:
            return False

    def range_prefix(self, prefix):
        """Every key under `prefix`: {key: (value, create_revision, mod_revision)}."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        req = {"key": base64.b64encode(prefix.encode()).decode(), "range_end": base64.b64encode(end.encode()).decode()}
        for i in range(3):
            try:
                st, body = http("POST", self.url(i) + "/v3/kv/range", json.dumps(req), timeout=2)
            except Exception:
                continue
            if st != 200:
                continue
            out = {}
            for kv in json.loads(body).get("kvs", []):
                out[base64.b64decode(kv["key"]).decode()] = (base64.b64decode(kv.get("value", "")).decode(),
                                                            int(kv.get("create_revision", 0)),
                                                            int(kv.get("mod_revision", 0)))
            return out
        raise AssertionError("no etcd member answered")

    def stop(self):
        for p in self.procs:
            if p:
                p.stop()


class HA(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="vigil-ha-")
        cls.etcd = Etcd(cls.dir)
        cls.health = ThreadingHTTPServer(("127.0.0.1", 0), Health)
        cls.health.daemon_threads = True
        threading.Thread(target=cls.health.serve_forever, daemon=True).start()
        for name, text in (("agent.key", "ha-agent-key"), ("pd.key", ROUTING_KEY)):
            with open(os.path.join(cls.dir, name), "w") as f:
                f.write(text + "\n")
            os.chmod(os.path.join(cls.dir, name), 0o600)
        subprocess.run([VIGIL, "keygen", "--out", os.path.join(cls.dir, "alice")], check=True,
                       stdout=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        cls.etcd.stop()
        cls.health.shutdown()
        if os.environ.get("VIGIL_KEEP_HA"):
            print("kept", cls.dir)
        else:
            shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.t0 = time.monotonic()
        self.procs = []
        Health.failed = set()
        name = self.id().split(".")[-1].split("_")[1]
        self.case = os.path.join(self.dir, name)
        os.makedirs(self.case, exist_ok=True)
        self.deployment = f"ha-{name}-{os.getpid()}"
        self.prefix = f"/vigil/{self.deployment}"
        pd_log = os.path.join(self.case, "pd.out")
        self.pd = Proc([sys.executable, os.path.join(SUPPORT, "fake_pagerduty.py")], pd_log)
        self.procs.append(self.pd)
        port = wait_until(lambda: self.pd_port(pd_log), 20, "fake PagerDuty")
        self.pd_url = f"http://127.0.0.1:{port}"
        self.ports = {f"r{i}": free_port() for i in range(3)}
        self.engines = {}
        self.write_config()

    @staticmethod
    def pd_port(log):
        with open(log) as f:
            return next((line.split()[1] for line in f if line.startswith("PORT ")), None)

    def tearDown(self):
        for p in reversed(self.procs):
            p.stop()
        for p in self.engines.values():
            p.stop()
        print(f"\n  {self.id().split('.')[-1]}: {time.monotonic() - self.t0:.1f} s", file=sys.stderr)

    # --- setup helpers ------------------------------------------------------------

    def write_config(self, extra=()):
        hp = self.health.server_address[1]
        endpoints = ", ".join(self.etcd.url(i) for i in range(3))
        urls = ", ".join(self.url(r) for r in self.ports)
        lines = [
            f"deployment: {self.deployment}",
            "regions:", "  - {name: us-east-1, role: primary}", "  - {name: us-west-2, role: dr}",
            f"vantages: [{', '.join(VANTAGES)}]",
            "decision: {tick: 250ms, fall: 2, rise: 2, stale_after: 3s, confirm_for: 1s, clear_for: 2s,",
            "           service_page_grace: 1s, cooldown: 5m, recommendation_ttl: 10m}",
            "probe_defaults: {interval: 300ms, timeout: 250ms}",
            "services:",
        ]
        for s in SERVICES:
            lines += [f"  - name: {s}", "    checks:"]
            for r in REGIONS:
                lines.append(f"      - {{region: {r}, http: {{url: 'http://127.0.0.1:{hp}/health/{r}/{s}'}}}}")
        lines += [
            "engine:",
            "  listen: 127.0.0.1:1",  # each replica gets --listen
            f"  endpoints: [{urls}]",
            "  agent_key_file: ../agent.key",
            f"  state_dir: {os.path.join(self.case, 'state')}",
            f"coordination: {{backend: etcd, endpoints: [{endpoints}], lease_ttl: {int(LEASE_TTL)}s}}",
            "paging:",
            f"  - {{kind: pagerduty, routing_key_file: ../pd.key, url: '{self.pd_url}/v2/enqueue', timeout: 2s}}",
            "approvals:",
            "  required: 1",
            "  max_ttl: 15m",
            "  approvers:",
            "    - {id: alice, public_key_file: ../alice.pub}",
            "plan:",
            "  failover:",
            "    dry_run: false",
            "    steps:",
        ]
        self.steps_file = os.path.join(self.case, "steps.txt")
        # Step three first waits 3 s (case e kills the leader in that window).
        for n in ("one", "two", "three"):
            wait = "sleep 3; " if n == "three" else ""
            lines.append(f"      - {{name: {n}, kind: exec, command: [/bin/sh, -c, '{wait}echo {n}"
                         f" $VIGIL_RECOMMENDATION_HASH >> {self.steps_file}'], timeout: 10s}}")
        lines.append("logging: {level: info}")
        lines += list(extra)
        self.config = os.path.join(self.case, "vigil.yaml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([VIGIL, "check-config", self.config], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def url(self, replica):
        return f"http://127.0.0.1:{self.ports[replica]}"

    def start_engine(self, replica):
        p = Proc([VIGIL, "engine", "--config", self.config, "--replica", replica, "--listen",
                  f"127.0.0.1:{self.ports[replica]}"], os.path.join(self.case, f"engine-{replica}.log"),
                 cwd=self.case)
        self.engines[replica] = p
        wait_until(lambda: http("GET", self.url(replica) + "/healthz", timeout=1)[0] == 200, 30,
                   f"engine {replica} /healthz")
        return p

    def start_all(self):
        for r in self.ports:
            self.start_engine(r)
        for v in VANTAGES:
            args = [VIGIL, "agent", "--config", self.config, "--vantage", v]
            for r in self.ports:
                args += ["--engine", self.url(r)]
            self.procs.append(Proc(args, os.path.join(self.case, f"agent-{v}.log"), cwd=self.case))
        wait_until(lambda: all(self.status(r)["regions"][g]["classification"] == "healthy"
                               for r in self.ports for g in REGIONS), 60, "both regions healthy on every replica")
        return self.leader()

    def status(self, replica, timeout=3):
        return json.loads(http("GET", self.url(replica) + "/v1/status", timeout=timeout)[1])

    def leaders(self, among=None):
        out = []
        for r in among or self.ports:
            if r in self.engines and self.engines[r].alive():
                try:
                    if self.status(r, timeout=1)["leader"]:
                        out.append(r)
                except Exception:
                    pass
        return out

    def leader(self, among=None, timeout=20):
        return wait_until(lambda: (lambda l: l[0] if len(l) == 1 else None)(self.leaders(among)), timeout,
                          "exactly one leader")

    def pd_stats(self):
        return json.loads(http("GET", self.pd_url + "/_stats")[1])

    def outage(self, region="us-east-1"):
        Health.failed = {region}
        wait_until(lambda: all(self.status(r)["regions"][region]["classification"] == "regional_outage"
                               for r in self.ports if self.engines[r].alive()), 30, "regional_outage everywhere")

    def steps_run(self):
        if not os.path.exists(self.steps_file):
            return []
        with open(self.steps_file) as f:
            return [line.split()[0] for line in f.read().splitlines()]

    def trigger_keys(self):
        """Trigger events per (dedup key, vigil page sequence), coordination-lost pages aside. An update of an
        incident is a trigger with the same dedup key and a new sequence (PagerDuty merges it); the same page
        delivered twice would show as a count of 2."""
        out = {}
        for e in self.pd_stats()["events"]:
            if e["event_action"] != "trigger" or "/coordination-lost" in e["dedup_key"]:
                continue
            k = (e["dedup_key"], e["payload"]["custom_details"]["sequence"])
            out[k] = out.get(k, 0) + 1
        return out

    def assert_paged_once(self):
        triggers = self.trigger_keys()
        self.assertTrue(triggers)
        self.assertTrue(all(n == 1 for n in triggers.values()), triggers)
        opened = {k: n for k, n in self.pd_stats()["incidents_opened"].items() if "/coordination-lost" not in k}
        self.assertEqual(set(opened.values()), {1}, opened)
        self.assertEqual(len(opened), 1, opened)

    # --- cases --------------------------------------------------------------------

    def test_a_approval_token_single_use_across_replicas(self):
        leader = self.start_all()
        self.outage()
        rec = wait_until(lambda: (lambda r: r if r and r.get("state") == "pending_approval" else None)(
            self.status(leader).get("recommendation")), 30, "a recommendation pending approval")
        # Every replica shows the leader's recommendation, id and hash (adopted from the shared decision state,
        # although a follower's own `leader` gate fails); followers still forward approvals to the leader.
        for r in self.ports:
            wait_until(lambda: (lambda x: x and (x["id"], x["hash"]) == (rec["id"], rec["hash"]))(
                self.status(r).get("recommendation")), 10, f"{r} shows the leader's recommendation")
        printed = subprocess.run([VIGIL, "approve", "--print", "--yes", "--allow-data-loss", "--key", os.path.join(self.dir, "alice.key"),
                                  "--approver", "alice", "--engine", self.url(leader)], capture_output=True,
                                 text=True, timeout=60)
        self.assertEqual(printed.returncode, 0, printed.stdout + printed.stderr)
        token = next(w for w in printed.stdout.split() if w.startswith("v4.public."))
        results = []
        lock = threading.Lock()
        go = threading.Event()

        def submit(i):
            replica = f"r{i % 3}"
            go.wait()
            st, body = http("POST", self.url(replica) + "/v1/approvals", token,
                            headers={"Content-Type": "text/plain"}, timeout=30)
            with lock:
                results.append((replica, st, json.loads(body)))

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        go.set()
        for t in threads:
            t.join(60)
        self.assertEqual(len(results), 50)
        accepted = [r for r in results if r[1] == 202]
        self.assertEqual(len(accepted), 1, results)
        refused = [r for r in results if r[1] != 202]
        # Refused as a replay (the jti is spent) or because the recommendation is no longer approvable (it is
        # executing: the binding is checked before the jti); never accepted, never a server error.
        self.assertTrue(all((r[1], r[2].get("error")) in ((409, "replay"), (409, "not_approvable"))
                            for r in refused), refused)
        self.assertTrue(any(r[0] != leader for r in results if r[1] in (202, 409)), "followers forwarded")
        # The shared ledger holds the jti once; the plan ran once, on the leader.
        jtis = self.etcd.range_prefix(self.prefix + "/jti/")
        self.assertEqual(len(jtis), 1, jtis)
        wait_until(lambda: len(self.steps_run()) >= 3, 30, "the plan's three steps")
        time.sleep(1)
        self.assertEqual(self.steps_run(), ["one", "two", "three"])

    def approve_on(self, leader):
        rec = wait_until(lambda: (lambda r: r if r and r.get("state") == "pending_approval" else None)(
            self.status(leader).get("recommendation")), 30, "a recommendation pending approval")
        done = subprocess.run([VIGIL, "approve", "--yes", "--allow-data-loss", "--key",
                               os.path.join(self.dir, "alice.key"), "--approver", "alice", "--engine",
                               self.url(leader)], capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return rec

    def host_dies(self, replica):
        """kill -9 of the engine and of every process below it (exec steps run in their own process group)."""
        victims = descendants(self.engines[replica].p.pid)
        self.engines[replica].kill9()
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def test_e_plan_resumes_on_the_new_leader(self):
        leader = self.start_all()
        self.outage()
        rec = self.approve_on(leader)
        wait_until(lambda: self.steps_run() == ["one", "two"], 30, "steps one and two")
        time.sleep(0.5)  # step three has been claimed and journaled (intent) and waits in its sleep
        # The host dies: the engine and the step it is running (exec steps run in their own process group).
        self.host_dies(leader)
        others = [r for r in self.ports if r != leader]
        new = self.leader(among=others, timeout=LEASE_TTL + 10)
        plan = wait_until(lambda: (lambda p: p if p and p.get("state") == "done" else None)(
            self.status(new).get("plan")), 40, "the plan finished by the new leader")
        self.assertTrue(plan["resumed"], plan)
        self.assertEqual(plan["recommendation_id"], rec["id"])
        time.sleep(1)
        self.assertEqual(self.steps_run(), ["one", "two", "three"])  # resumed at the third, none twice
        journal = self.etcd.range_prefix(self.prefix + "/state/journal/")
        types = [json.loads(v[0])["type"] for _, v in sorted(journal.items())]
        self.assertEqual(types[0], "plan_begin")
        self.assertEqual(types[-1], "plan_end")
        self.assertEqual(types.count("intent"), 4, types)  # one, two, three (old leader), three (new leader)

    def test_f_soak(self):
        """Random engine kills (-9) and restarts while incidents come and go, then the invariants over what
        PagerDuty received: no incident triggered twice (opened at PagerDuty once per dedup key), no page
        delivered twice except through the one at-least-once window (the leader killed right after the sink
        answered, before its shared `done` record: PagerDuty merges the repeat, the incident stays open and
        triggered once), every outage paged while it lasted, nothing invalid, every incident resolved, and
        exactly one leader at the end. VIGIL_HA_SOAK_S sets the length (default 40 s; bench/ha_soak.sh runs
        600)."""
        import random
        rnd = random.Random(int(os.environ.get("VIGIL_HA_SOAK_SEED", "8")))
        length = float(os.environ.get("VIGIL_HA_SOAK_S", "40"))
        self.start_all()
        end = time.monotonic() + length
        next_flip = time.monotonic() + 4
        kills = 0
        kill_log = []  # (wall-clock seconds, replica, whether it led)
        leader_moves = []  # wall-clock seconds at which the observed leader set changed (kills, lost leases)
        last_leaders = None
        # VIGIL_HA_SOAK_ETCD_STALLS=1: now and then one etcd member is paused (SIGSTOP) for 1-3 s, so that
        # requests to it time out: guarded writes whose outcome is unknown, endpoint failover, lease churn.
        stalls_on = os.environ.get("VIGIL_HA_SOAK_ETCD_STALLS", "") == "1"
        stalled = {}  # member -> when to resume it
        stalls = 0
        windows = []  # [failed at, healed at] in wall-clock seconds
        dead = {}
        while time.monotonic() < end:
            now = time.monotonic()
            for r, back in list(dead.items()):
                if now >= back:
                    self.start_engine(r)
                    del dead[r]
            if now >= next_flip:
                Health.failed = set() if Health.failed else {"us-east-1"}
                if Health.failed:
                    windows.append([time.time(), None])
                else:
                    windows[-1][1] = time.time()
                next_flip = now + rnd.uniform(5, 9)
            for i, back in list(stalled.items()):
                if now >= back:
                    os.kill(self.etcd.procs[i].p.pid, signal.SIGCONT)
                    del stalled[i]
            if stalls_on and not stalled and rnd.random() < 0.05:
                i = rnd.randrange(3)
                os.kill(self.etcd.procs[i].p.pid, signal.SIGSTOP)
                stalled[i] = now + rnd.uniform(1, 3)
                stalls += 1
            alive = [r for r in self.ports if r not in dead]
            seen = tuple(sorted(self.leaders()))
            if seen != last_leaders:
                leader_moves.append(time.time())
                last_leaders = seen
            if len(alive) == 3 and rnd.random() < 0.15:
                leaders = list(seen)
                victim = rnd.choice(leaders or alive) if rnd.random() < 0.7 else rnd.choice(alive)
                self.engines[victim].kill9()
                kill_log.append((time.time(), victim, victim in leaders))
                dead[victim] = now + rnd.uniform(1, 4)
                kills += 1
            time.sleep(0.5)
        for i in stalled:
            os.kill(self.etcd.procs[i].p.pid, signal.SIGCONT)
        for r in list(dead):
            self.start_engine(r)
        if Health.failed:
            windows[-1][1] = time.time()
        Health.failed = set()
        self.leader(timeout=20)
        wait_until(lambda: not [k for k in self.pd_stats()["open"] if "/coordination-lost" not in k], 40,
                   "every incident resolved")
        stats = self.pd_stats()
        with open(os.path.join(self.case, "pd_stats.json"), "w") as f:
            json.dump(dict(stats, outage_windows=windows, kills=kills, kill_log=kill_log, etcd_stalls=stalls), f,
                      indent=1)
        opened = {k: n for k, n in stats["incidents_opened"].items() if "/coordination-lost" not in k}
        print(f"\n  soak {length:.0f} s: {kills} engine kills, {stalls} etcd member stalls, {len(windows)} outages, {len(opened)} incidents opened, "
              f"{len(stats['events'])} events", file=sys.stderr)
        triggers = self.trigger_keys()
        self.assertTrue(triggers)
        # A page delivered twice is allowed only through the at-least-once window: twice at most, and
        # leadership moved between the two copies (the leader delivered, then was killed or lost its lease
        # before its shared `done` record was written; the next leader re-sent the unfinished claim). On a
        # busy machine that `done` write can take seconds, so the window is the two copies, not a fixed 1 s.
        unexplained = {}
        for (key, seq), n in triggers.items():
            if n == 1:
                continue
            copies = sorted(t for e, t in zip(stats["events"], stats["received_at"])
                            if e["event_action"] == "trigger" and e["dedup_key"] == key
                            and e["payload"]["custom_details"]["sequence"] == seq)
            first, second = copies[0], copies[-1]
            killed = any(led and first - 0.2 <= k <= second for k, _, led in kill_log)
            moved = any(first - 0.2 <= t <= second + 0.5 for t in leader_moves)
            if n > 2 or not (killed or moved):
                unexplained[(key, seq)] = (n, round(second - first, 2))
        self.assertEqual(unexplained, {}, "pages delivered twice without leadership moving between the copies")
        redelivered = sum(n - 1 for n in triggers.values())
        print(f"  {redelivered} page(s) delivered a second time through the at-least-once window "
              f"(merged by dedup key)", file=sys.stderr)
        opened = {k: n for k, n in self.pd_stats()["incidents_opened"].items() if "/coordination-lost" not in k}
        self.assertTrue(all(n == 1 for n in opened.values()), opened)
        self.assertEqual(self.pd_stats()["invalid"], 0)
        # Nothing missed: every outage of 5 s or more was triggered while it lasted (or just after), or ran
        # wholly inside a region incident still open at PagerDuty (the heal before it was too short, under
        # controller churn, for a leader to see the region healthy for clear_for: the incident went on).
        from datetime import datetime

        def region_key(k):
            return "/coordination-lost" not in k and "/vantage/" not in k

        trigger_times = [datetime.fromisoformat(e["payload"]["timestamp"].replace("Z", "+00:00")).timestamp()
                         for e in stats["events"] if e["event_action"] == "trigger" and region_key(e["dedup_key"])]
        open_since, open_spans = {}, []  # region incidents open at PagerDuty, from what it received
        for e, t in zip(stats["events"], stats["received_at"]):
            if not region_key(e["dedup_key"]):
                continue
            if e["event_action"] == "trigger":
                open_since.setdefault(e["dedup_key"], t)
            elif e["event_action"] == "resolve" and e["dedup_key"] in open_since:
                open_spans.append((open_since.pop(e["dedup_key"]), t))
        open_spans += [(t, float("inf")) for t in open_since.values()]
        long_outages = [w for w in windows if w[1] - w[0] >= 5]
        triggered = [w for w in long_outages if any(w[0] <= t <= w[1] + 3 for t in trigger_times)]
        carried = [w for w in long_outages if w not in triggered and any(a <= w[0] and w[1] <= b for a, b in open_spans)]
        missed = [w for w in long_outages if w not in triggered and w not in carried]
        print(f"  outages of 5 s or more: {len(triggered)} triggered, {len(carried)} inside an incident still open, "
              f"{len(missed)} missed", file=sys.stderr)
        self.assertEqual(missed, [], "outages without a trigger")

    def test_g_propose_on_a_follower_is_forwarded_and_adopted(self):
        leader = self.start_all()
        follower = next(r for r in self.ports if r != leader)
        proposed = self.propose(follower)
        self.assertEqual(proposed.returncode, 0, proposed.stdout + proposed.stderr)
        rec_id = proposed.stdout.split("recommendation ", 1)[1].split()[0]
        rec = self.status(leader)["recommendation"]
        self.assertEqual(rec["id"], rec_id)
        # Every replica shows the leader's recommendation, same id and hash (adopted from the decision state).
        for r in self.ports:
            wait_until(lambda: (lambda x: x and (x["id"], x["hash"]) == (rec["id"], rec["hash"]))(
                self.status(r).get("recommendation")), 10, f"{r} shows the leader's recommendation")
        # A second proposal while it is open is refused by the leader, whichever replica receives it.
        again = self.propose(follower)
        self.assertEqual(again.returncode, 1, again.stdout + again.stderr)
        self.assertIn("not_proposed", again.stderr)

    def propose(self, replica):
        """`vigil propose failback`, signed with alice's key, sent to `replica`."""
        return subprocess.run([VIGIL, "propose", "failback", "--key", os.path.join(self.dir, "alice.key"),
                               "--approver", "alice", "--engine", self.url(replica)], capture_output=True, text=True,
                              timeout=30)

    def feed(self, stop, lag_ms=300):
        """Signed batches from the three vantages to every replica (what the agents send), with a replication
        lag sample from eu-west-1, until `stop` is set; checks of Health.failed regions fail."""
        seq = int(time.time() * 1000)
        while not stop.is_set():
            seq += 1
            now_ms = int(time.time() * 1000)
            for v in VANTAGES:
                obs = [{"check": f"{sv}@{r}", "at": now_ms, "latency_ms": 5.0, "value": None,
                        **({"outcome": "http_status", "status": 503, "detail": "HTTP 503"} if r in Health.failed
                           else {"outcome": "ok", "status": 200, "detail": ""})}
                       for sv in SERVICES for r in REGIONS]
                body = {"v": 1, "vantage": v, "seq": max(seq, now_ms), "sent_at": now_ms, "observations": obs}
                if v == "eu-west-1":
                    body["lag"] = [{"at": now_ms, "lag_ms": lag_ms}]
                raw = json.dumps(body, separators=(",", ":"))
                sig = "sha256=" + hmac.new(b"ha-agent-key", raw.encode(), hashlib.sha256).hexdigest()
                for r in self.ports:
                    if r in self.engines and self.engines[r].alive():
                        try:
                            http("POST", self.url(r) + "/v1/observations", raw,
                                 {"Content-Type": "application/json", "X-Vigil-Signature": sig,
                                  "X-Vigil-Timestamp": str(now_ms)}, timeout=2)
                        except Exception:
                            pass
            stop.wait(0.3)

    def test_h_standing_approval_used_once_leader_killed(self):
        """A standing approval armed on three replicas; a regional outage with lag in bounds starts the plan
        with no human signature; the leader is killed -9 as soon as the plan has started (the use spent in the
        shared ledger, step one done). The new leader resumes the plan, does not spend a second use, and no
        step runs twice."""
        dsn = os.path.join(self.case, "lag.dsn")
        with open(dsn, "w") as f:
            f.write("host=127.0.0.1 port=1 dbname=postgres connect_timeout=1\n")
        os.chmod(dsn, 0o600)
        self.write_config(extra=[
            f"replication_lag: {{source: postgres_standby, dsn_file: {dsn}, region: us-west-2, vantage: eu-west-1,"
            " interval: 1s}",
            "readiness: {interval: 1s}"])
        stop = threading.Event()
        feeder = threading.Thread(target=self.feed, args=(stop,), daemon=True)
        try:
            for r in self.ports:
                self.start_engine(r)
            feeder.start()
            leader = self.leader()
            wait_until(lambda: (json.loads(http("GET", self.url(leader) + "/v1/readiness")[1])["plans"]
                                .get("failover") or {}).get("ok"), 60, "the failover plan ready on the leader")
            armed = subprocess.run([VIGIL, "approve", "--standing", "--action", "failover", "--from", "us-east-1",
                                    "--to", "us-west-2", "--min-duration", "2s", "--min-vantages", "2",
                                    "--max-lag", "2s", "--ttl", "7d", "--uses", "1", "--yes", "--key",
                                    os.path.join(self.dir, "alice.key"), "--approver", "alice", "--engine",
                                    self.url(leader)], capture_output=True, text=True, timeout=60)
            self.assertEqual(armed.returncode, 0, armed.stdout + armed.stderr)
            policy = json.loads(http("GET", self.url(leader) + "/v1/standing")[1])["policies"][0]
            self.assertEqual(policy["state"], "armed")
            Health.failed = {"us-east-1"}
            wait_until(lambda: self.steps_run() == ["one", "two"], 60, "the plan started by the standing approval")
            time.sleep(0.5)  # step three is journaled (intent) and in its sleep
            uses = self.etcd.range_prefix(self.prefix + "/jti/")
            self.assertEqual([k for k in uses if f"standing:{policy['id']}:use:" in k],
                             [k for k in uses if k.endswith(f"standing:{policy['id']}:use:1")], uses)
            self.host_dies(leader)
            others = [r for r in self.ports if r != leader]
            new = self.leader(among=others, timeout=LEASE_TTL + 10)
            plan = wait_until(lambda: (lambda p: p if p and p.get("state") == "done" else None)(
                self.status(new).get("plan")), 40, "the plan finished by the new leader")
            time.sleep(3)  # several ticks of the new leader with the outage still on: no second use
            self.assertEqual(self.steps_run(), ["one", "two", "three"])  # resumed at the third, none twice
            self.assertTrue(plan["resumed"], plan)
            uses = [k for k in self.etcd.range_prefix(self.prefix + "/jti/") if f"standing:{policy['id']}:" in k]
            self.assertEqual(len(uses), 1, uses)
            st = json.loads(http("GET", self.url(new) + "/v1/standing")[1])
            self.assertEqual(st["policies"][0]["uses_left"], 0, st)
            events = json.loads(http("GET", self.url(new) + "/v1/events?since=0")[1])
            self.assertFalse([e for e in events if e.get("type") == "standing_used"], "the new leader used it again")
            self.assertEqual(plan["recommendation_id"], self.status(new)["recommendation"]["id"])
            # The measured timeline is shared through etcd (coordination key `timelines`) for the next leader.
            shared = wait_until(lambda: self.etcd.range_prefix(self.prefix + "/state/timelines"), 20,
                                "the timeline history in etcd")
            doc = json.loads(next(iter(shared.values()))[0])
            mine = [t for t in doc["timelines"] if t["id"] == plan["recommendation_id"]]
            self.assertEqual(len(mine), 1, doc)
            self.assertEqual(mine[0]["result"], "done")
            self.assertEqual([x["name"] for x in mine[0]["steps"]], ["one", "two", "three"])
            self.assertIsNone(mine[0]["approval_s"])  # no human approval to time
        finally:
            stop.set()
            feeder.join(5)

    def test_b_leader_killed_during_incident(self):
        leader = self.start_all()
        self.outage()
        wait_until(lambda: any(e["event_action"] == "trigger" and e["payload"]["severity"] == "critical"
                               for e in self.pd_stats()["events"]), 30, "the regional_outage trigger")
        time.sleep(1)
        token_before = self.status(leader)["fencing_token"]
        killed_at = time.monotonic()
        self.engines[leader].kill9()
        others = [r for r in self.ports if r != leader]
        new = self.leader(among=others, timeout=LEASE_TTL + 10)
        took = time.monotonic() - killed_at
        print(f"\n  new leader {new} after {took:.2f} s", file=sys.stderr)
        # etcd expires the lease after lease_ttl (checked every 500 ms), then a follower's next step wins.
        self.assertLessEqual(took, LEASE_TTL + 2 * TICK + 1.5, took)
        st = self.status(new)
        self.assertGreater(st["fencing_token"], token_before)
        self.assertIn(st["coordination"]["health"], ("healthy", "degraded"))
        # The incident goes on and then resolves under the new leader.
        time.sleep(2)
        Health.failed = set()
        wait_until(lambda: not self.pd_stats()["open"], 40, "the incident resolved at PagerDuty")
        self.assert_paged_once()
        stats = self.pd_stats()
        self.assertEqual(stats["invalid"], 0, stats["errors"])

    def test_c_paused_leader_is_fenced(self):
        leader = self.start_all()
        old = self.status(leader)
        paused = self.engines[leader]
        os.kill(paused.p.pid, signal.SIGSTOP)
        others = [r for r in self.ports if r != leader]
        new = self.leader(among=others, timeout=LEASE_TTL + 10)
        # While it is paused the incident happens and the new leader pages it.
        self.outage_on(others)
        wait_until(lambda: self.trigger_keys(), 30, "the trigger from the new leader")
        time.sleep(max(0.0, 2 * LEASE_TTL - 2))
        events_before = len(self.pd_stats()["events"])
        new_token = self.status(new)["fencing_token"]
        os.kill(paused.p.pid, signal.SIGCONT)
        # It stops claiming leadership as soon as it runs (leader and token come
        # from its local lease deadline); the step-down itself, with its reason,
        # follows at its coordinator's next step, so wait for both.
        st = wait_until(lambda: (lambda s: s if not s["leader"] else None)(self.status(leader)), 10,
                        "the paused leader to report it is not leader")
        self.assertEqual(st["fencing_token"], 0)
        st = wait_until(lambda: (lambda s: s if "stepped down" in s["coordination"]["last_transition"] else None)(
            self.status(leader)), 5, "the paused leader to record that it stepped down")
        self.assertFalse(st["leader"])
        self.assertEqual(st["fencing_token"], 0)
        time.sleep(3)
        self.assertEqual(self.leaders(), [new])
        # Nothing it held reached PagerDuty twice, and no shared key was written under its old token later.
        self.assert_paged_once()
        for key, (value, _, mod) in self.etcd.range_prefix(self.prefix + "/state/").items():
            if f'"by":"{leader}"' in value or f'"replica":"{leader}"' in value:
                self.assertLess(mod, new_token, f"{key} written by the paused ex-leader after it was deposed")
        log = paused.text()
        self.assertIn("stepped down", log)
        self.assertGreaterEqual(len(self.pd_stats()["events"]), events_before)
        self.assertLess(old["fencing_token"], new_token)

    def outage_on(self, replicas, region="us-east-1"):
        Health.failed = {region}
        wait_until(lambda: all(self.status(r)["regions"][region]["classification"] == "regional_outage"
                               for r in replicas), 30, "regional_outage on the running replicas")

    def test_d_etcd_quorum_lost_and_back(self):
        self.start_all()
        self.etcd.kill(1)
        self.etcd.kill(2)
        try:
            for r in self.ports:
                wait_until(lambda: self.status(r)["coordination"]["health"] == "lost", 15, f"{r} health lost")
            time.sleep(1)
            self.assertEqual(self.leaders(), [])
            # Detection and status go on; nobody acts.
            self.outage()
            time.sleep(2)
            self.assertEqual(self.trigger_keys(), {}, "a regional_outage page while no replica can act")
            lost = wait_until(lambda: [e for e in self.pd_stats()["events"]
                                       if e["dedup_key"].endswith("/coordination-lost")
                                       and e["event_action"] == "trigger"], 15, "the coordination-lost page")
            self.assertEqual(lost[0]["payload"]["severity"], "warning")
            self.assertIn("coordination lost; no replica can act", lost[0]["payload"]["summary"])
        finally:
            self.etcd.start(1)
            self.etcd.start(2)
        wait_until(lambda: all(self.etcd.healthy(i) for i in range(3)), 30, "etcd healthy again")
        back = time.monotonic()
        leader = self.leader(timeout=30)
        print(f"\n  leader {leader} back {time.monotonic() - back:.2f} s after quorum", file=sys.stderr)
        # The outage still holds: the new leader pages it once.
        wait_until(lambda: self.trigger_keys(), 30, "the regional_outage page after quorum returned")
        time.sleep(1)
        self.assert_paged_once()
        wait_until(lambda: "/coordination-lost" not in "".join(self.pd_stats()["open"]), 20,
                   "the coordination-lost page resolved")


if __name__ == "__main__":
    unittest.main(verbosity=2)
