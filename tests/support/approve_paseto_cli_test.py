#!/usr/bin/env python3
"""End-to-end test of `vigil keygen` and `vigil approve` (ctest: integration.approve_cli).

A fake engine on 127.0.0.1 serves GET /v1/recommendation and verifies every
POST /v1/approvals token with the independent npm `paseto` package
(tests/support/paseto_interop.js), checking the claims bind the
recommendation shown; it answers 202, or 409 {"error": "replay"} for a jti
seen before.

usage: approve_paseto_cli_test.py VIGIL_BINARY SOURCE_DIR NODE_DEPS_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

vigil, source, node_cache = sys.argv[1:4]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


node_path = subprocess.run([os.path.join(source, "scripts/install-node-deps.sh"), node_cache],
                           check=True, capture_output=True, text=True).stdout.strip()
interop = os.path.join(source, "tests/support/paseto_interop.js")


def npm_verify(pub, token, audience):
    r = subprocess.run(["node", interop, "verify", pub, token, audience], capture_output=True, text=True,
                       env=dict(os.environ, NODE_PATH=node_path))
    return json.loads(r.stdout) if r.returncode == 0 else None


REC = {"id": "rec-7", "hash": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
       "action": "failover", "from": "us-east-1", "to": "us-west-2", "state": "pending_approval",
       "gates": [{"name": "primary_regional", "ok": True, "detail": "4/4 services down"},
                 {"name": "replication_lag", "ok": True, "detail": "420 ms, 2 s old"}],
       "allow_data_loss_required": False, "expected_data_loss_ms": 420,
       "expires_at": "2099-01-01T00:00:00.000Z", "deployment": "prod", "max_ttl": "15m",
       "plan": {"steps": [{"name": "promote-aurora", "kind": "aurora_failover"}, "switch-routing"]}}
state = {"rec": dict(REC), "tokens": [], "jtis": set(), "refuse": None}
work = tempfile.mkdtemp(prefix="vigil-approve-")


class Engine(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/v1/recommendation":
            return self.reply(200, state["rec"]) if state["rec"] else self.reply(404, {"error": "none"})
        self.reply(404, {})

    def do_POST(self):
        token = self.rfile.read(int(self.headers["Content-Length"])).decode()
        state["tokens"].append(token)
        if state["refuse"]:
            return self.reply(409, state["refuse"])
        claims = npm_verify(os.path.join(work, "alice.pub"), token, "prod")
        if claims is None:
            return self.reply(403, {"error": "bad_signature", "message": "does not verify"})
        rec = state["rec"]
        action = rec["action"] if claims["action"] != "acknowledge_cooldown" else "acknowledge_cooldown"
        if claims["rid"] != rec["id"] or claims["rhash"] != rec["hash"] or claims["action"] != action:
            return self.reply(409, {"error": "wrong_hash", "message": "not the current recommendation"})
        if claims["jti"] in state["jtis"]:
            return self.reply(409, {"error": "replay", "message": "token already used"})
        state["jtis"].add(claims["jti"])
        self.reply(202, {"approvals": {"count": len(state["jtis"]), "approvers": [claims["sub"]]}})


srv = ThreadingHTTPServer(("127.0.0.1", 0), Engine)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{srv.server_address[1]}"


def vigil_run(*args, stdin=""):
    return subprocess.run([vigil, *args], input=stdin, capture_output=True, text=True, cwd=work, timeout=60)


try:
    r = vigil_run("keygen", "--out", "alice")
    check(r.returncode == 0, "keygen writes a key pair")
    check(os.stat(os.path.join(work, "alice.key")).st_mode & 0o777 == 0o600, "the private key is mode 0600")
    check(open(os.path.join(work, "alice.pub")).read().startswith("-----BEGIN PUBLIC KEY-----"), "SPKI public key")
    check(vigil_run("keygen", "--out", "alice").returncode == 1, "keygen refuses to overwrite")
    check(vigil_run("keygen", "--out", "alice", "--force").returncode == 0, "keygen --force overwrites")
    check(vigil_run("keygen").returncode == 2, "keygen without --out is a usage error")

    r = vigil_run("approve", "--key", "alice.key", "--engine", url, "--yes")
    check(r.returncode == 0 and "accepted" in r.stdout, f"approve --yes is accepted ({r.returncode} {r.stderr})")
    check("promote-aurora" in r.stdout and "us-east-1 -> us-west-2" in r.stdout, "approve shows action and plan")
    check("unplanned global failover: writes not yet replicated, up to 0.5 s, are lost" in r.stdout,
          "approve says what the unplanned promotion loses:\n" + r.stdout)
    claims = npm_verify(os.path.join(work, "alice.pub"), state["tokens"][-1], "prod")
    check(claims and claims["sub"] == "alice" and claims["allow_data_loss"] is False, "claims: sub, allow_data_loss")

    r = vigil_run("approve", "--key", "alice.key", "--engine", url, stdin="n\n")
    check(r.returncode == 1 and "not approved" in r.stderr, "answering n refuses")
    r = vigil_run("approve", "--key", "alice.key", "--engine", url, stdin="yes\n")
    check(r.returncode == 0, "answering yes approves")

    # The engine refuses a replayed token: exit 1 with the reason.
    replay = state["tokens"][-1]
    with open(os.path.join(work, "rec.json"), "w") as f:
        json.dump(state["rec"], f)
    r = vigil_run("approve", "--key", "alice.key", "--print", "--recommendation-file", "rec.json", "--yes")
    token = r.stdout.strip()
    check(r.returncode == 0 and token.startswith("v4.public.") and "\n" not in token, "--print prints one token")
    check(npm_verify(os.path.join(work, "alice.pub"), token, "prod") is not None, "the printed token verifies with npm")
    check(npm_verify(os.path.join(work, "alice.pub"), token, "staging") is None, "npm checks the audience")
    import urllib.request
    try:
        urllib.request.urlopen(urllib.request.Request(url + "/v1/approvals", data=replay.encode(), method="POST"))
        check(False, "replay refused")
    except urllib.error.HTTPError as e:
        check(e.code == 409, "the fake engine refuses a replay")

    state["rec"] = dict(REC, allow_data_loss_required=True)
    r = vigil_run("approve", "--key", "alice.key", "--engine", url, "--yes")
    check(r.returncode == 1 and "--allow-data-loss" in r.stderr, "data loss required without the flag refuses")
    r = vigil_run("approve", "--key", "alice.key", "--engine", url, "--yes", "--allow-data-loss")
    check(r.returncode == 0, "--allow-data-loss approves")
    claims = npm_verify(os.path.join(work, "alice.pub"), state["tokens"][-1], "prod")
    check(claims and claims["allow_data_loss"] is True, "the token grants allow_data_loss")

    state["rec"] = dict(REC)
    check(vigil_run("approve", "--key", "alice.key", "--engine", url, "--yes", "--ttl", "1h").returncode == 2,
          "--ttl above the advertised max_ttl is a usage error")
    state["refuse"] = {"error": "wrong_hash", "message": "the recommendation changed; review it again"}
    r = vigil_run("approve", "--key", "alice.key", "--engine", url, "--yes")
    check(r.returncode == 1 and "wrong_hash" in r.stderr and "review it again" in r.stderr,
          "an engine refusal exits 1 and prints the reason")
    state["refuse"] = None
    state["rec"] = dict(REC, state="blocked")
    r = vigil_run("approve", "--key", "alice.key", "--engine", url, "--yes")
    check(r.returncode == 1 and "blocked" in r.stderr, "a blocked recommendation is refused")
    r = vigil_run("approve", "--key", "alice.key", "--engine", url, "--yes", "--acknowledge-cooldown")
    check(r.returncode == 1 and "does not block" in r.stderr, "no failing cooldown gate: nothing to acknowledge")
    state["rec"] = dict(REC, state="blocked", allow_data_loss_required=True,
                        gates=REC["gates"] + [{"name": "cooldown", "ok": False, "blocking": True,
                                               "detail": "failover executed 600 s ago, cooldown 3600 s"}])
    r = vigil_run("approve", "--key", "alice.key", "--engine", url, "--acknowledge-cooldown", stdin="y\n")
    check(r.returncode == 0 and "cooldown acknowledged" in r.stdout and "Acknowledge the cooldown" in r.stdout,
          f"--acknowledge-cooldown signs and submits an acknowledgement ({r.returncode} {r.stderr})")
    claims = npm_verify(os.path.join(work, "alice.pub"), state["tokens"][-1], "prod")
    check(claims and claims["action"] == "acknowledge_cooldown" and claims["rid"] == "rec-7"
          and claims["allow_data_loss"] is False, "the acknowledgement is bound to the blocked recommendation")
    state["rec"] = None
    r = vigil_run("approve", "--key", "alice.key", "--engine", url, "--yes")
    check(r.returncode == 1 and "no current recommendation" in r.stderr, "no recommendation: exit 1")
    os.chmod(os.path.join(work, "alice.key"), 0o644)
    r = vigil_run("approve", "--key", "alice.key", "--engine", url, "--yes")
    check(r.returncode == 2 and "chmod 600" in r.stderr, "a group/world-readable key is refused")
finally:
    srv.shutdown()
    shutil.rmtree(work, ignore_errors=True)

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
