#!/usr/bin/env python3
"""A strict fake of the Route 53 ARC routing control data plane (python3 stdlib).

  fake_arc.py --ready-file FILE [--port P ...] [--key AKID --secret SECRET]
              [--controls '{"arn": "On", ...}']

Serves one cluster's state on every --port (0 = any free port) on 127.0.0.1,
like the five regional endpoints of one ARC cluster, and writes
{"ports": [...]} to --ready-file once listening.

Each request is checked as AWS documents it (JSON 1.0 protocol):
  POST, Content-Type application/x-amz-json-1.0,
  X-Amz-Target ToggleCustomerAPI.{GetRoutingControlState, UpdateRoutingControlState,
  UpdateRoutingControlStates}, an X-Amz-Date, and a SigV4 Authorization header
  (AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/route53-recovery-cluster/aws4_request,
  SignedHeaders including host and x-amz-date, a 64-hex Signature). With
  --secret the signature itself is verified. Required fields:
  RoutingControlArn (an ARC routing control ARN), RoutingControlState On|Off,
  UpdateRoutingControlStateEntries (non-empty). A request that breaks a rule
  gets AWS's error shape: 400 ValidationException / 403 InvalidSignatureException
  / 404 ResourceNotFoundException, and is counted under "rejected".

Control (unsigned): GET /_fake/state -> {"calls": {action: n}, "calls_by_port": ...,
  "states": {...}, "rejected": [...], "requests": [...]}; POST /_fake/states sets states
  (a null state deletes that routing control); POST /_fake/down {"ports": [...]}: those
  ports stop answering (the connection is closed unanswered) until the next /_fake/down.
"""
import argparse
import datetime
import hashlib
import hmac
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit
from xml.sax.saxutils import escape

ARN_RE = re.compile(r"^arn:aws[a-z-]*:route53-recovery-control::\d{12}:controlpanel/[0-9a-z]+/routingcontrol/[0-9a-z]+$")
AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


class SigError(Exception):
    pass


def check_sigv4(handler, body, service, key=None, secret=None):
    """Checks the Authorization header of a request; raises SigError(why)."""
    auth = handler.headers.get("Authorization", "")
    m = AUTH_RE.match(auth)
    if not m:
        raise SigError("malformed Authorization header: " + auth[:120])
    akid, date, region, svc, signed, signature = m.groups()
    if svc != service:
        raise SigError(f"credential scope names service {svc}, expected {service}")
    amz_date = handler.headers.get("X-Amz-Date", "")
    if not re.match(r"^\d{8}T\d{6}Z$", amz_date) or amz_date[:8] != date:
        raise SigError(f"X-Amz-Date {amz_date!r} does not match the credential date {date}")
    names = signed.split(";")
    if "host" not in names or "x-amz-date" not in names or names != sorted(names):
        raise SigError("SignedHeaders must be sorted and include host and x-amz-date: " + signed)
    if key and akid != key:
        raise SigError(f"unknown access key {akid}")
    if not secret:
        return region
    url = urlsplit(handler.path)
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                     for k, v in sorted(parse_qsl(url.query, keep_blank_values=True)))
    canon_headers = ""
    for n in names:
        v = handler.headers.get(n)
        if v is None:
            raise SigError(f"signed header {n} is missing")
        canon_headers += n + ":" + " ".join(v.strip().split()) + "\n"
    payload = handler.headers.get("X-Amz-Content-Sha256") or hashlib.sha256(body).hexdigest()
    creq = "\n".join([handler.command, url.path or "/", query, canon_headers, signed, payload])
    scope = f"{date}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, signature):
        raise SigError("signature does not match")
    return region


def serve(ports, handler_cls, ready_file):
    servers = [ThreadingHTTPServer(("127.0.0.1", p), handler_cls) for p in ports]
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    with open(ready_file + ".tmp", "w") as f:
        json.dump({"ports": [s.server_address[1] for s in servers]}, f)
    import os
    os.replace(ready_file + ".tmp", ready_file)
    threading.Event().wait()


class QueryXmlHandler(BaseHTTPRequestHandler):
    """What the query-protocol fakes (fake_rds, fake_iam) share: their log prefix, a reply, and AWS's error
    XML, each refusal counted in `state.rejected`. A subclass sets `name`, `request_id`, `ns` and `state`."""
    protocol_version = "HTTP/1.1"
    name = "fake"
    request_id = "fake-1"
    ns = ""
    state = None

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{self.name}: " + (fmt % args) + "\n")

    def send(self, status, body, ctype="text/xml"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        with self.state.lock:
            self.state.rejected.append({"code": code, "message": message})
        self.send(status, f'<ErrorResponse xmlns="{self.ns}"><Error><Type>Sender</Type><Code>{code}</Code>'
                          f"<Message>{escape(message)}</Message></Error><RequestId>{self.request_id}</RequestId>"
                          "</ErrorResponse>")


class State:
    lock = threading.RLock()
    states = {}
    calls = {}
    calls_by_port = {}
    rejected = []
    requests = []
    key = None
    secret = None
    down = set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_arc: " + (fmt % args) + "\n")

    def reply(self, status, obj, content_type="application/x-amz-json-1.0"):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "fake-arc-1")
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        with State.lock:
            State.rejected.append({"code": code, "message": message})
        self.reply(status, {"__type": code, "message": message})

    def do_GET(self):
        if self.path == "/_fake/state":
            with State.lock:
                self.reply(200, {"calls": State.calls, "calls_by_port": State.calls_by_port, "states": State.states,
                                 "rejected": State.rejected, "requests": State.requests}, "application/json")
            return
        self.error(400, "ValidationException", "the data plane answers POST only")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        if self.path == "/_fake/states":
            with State.lock:
                State.states.update(json.loads(body))
                State.states = {k: v for k, v in State.states.items() if v is not None}
            self.reply(200, {}, "application/json")
            return
        if self.path == "/_fake/down":
            with State.lock:
                State.down = set(json.loads(body).get("ports", []))
            self.reply(200, {}, "application/json")
            return
        if self.server.server_address[1] in State.down:
            self.close_connection = True  # a stopped endpoint: no answer at all
            return
        target = self.headers.get("X-Amz-Target", "")
        ctype = self.headers.get("Content-Type", "")
        if ctype != "application/x-amz-json-1.0":
            return self.error(400, "ValidationException", f"Content-Type must be application/x-amz-json-1.0, got {ctype!r}")
        actions = ("GetRoutingControlState", "UpdateRoutingControlState", "UpdateRoutingControlStates")
        if not target.startswith("ToggleCustomerAPI.") or target.split(".", 1)[1] not in actions:
            return self.error(400, "UnknownOperationException", f"unknown X-Amz-Target {target!r}")
        action = target.split(".", 1)[1]
        try:
            check_sigv4(self, body, "route53-recovery-cluster", State.key, State.secret)
        except SigError as e:
            return self.error(403, "InvalidSignatureException", str(e))
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return self.error(400, "ValidationException", "body is not JSON")
        if not isinstance(req, dict):
            return self.error(400, "ValidationException", "body must be a JSON object")

        def valid_entry(e, what):
            arn, st = e.get("RoutingControlArn"), e.get("RoutingControlState")
            if not isinstance(arn, str) or not ARN_RE.match(arn):
                return f"{what}RoutingControlArn is missing or not a routing control ARN: {arn!r}"
            if st not in ("On", "Off"):
                return f"{what}RoutingControlState must be On or Off, got {st!r}"
            return None

        allowed = {"GetRoutingControlState": {"RoutingControlArn"},
                   "UpdateRoutingControlState": {"RoutingControlArn", "RoutingControlState", "SafetyRulesToOverride"},
                   "UpdateRoutingControlStates": {"UpdateRoutingControlStateEntries", "SafetyRulesToOverride"}}[action]
        extra = set(req) - allowed
        if extra:
            return self.error(400, "ValidationException", f"unknown fields {sorted(extra)}")
        if action == "GetRoutingControlState":
            arn = req.get("RoutingControlArn")
            if not isinstance(arn, str) or not ARN_RE.match(arn):
                return self.error(400, "ValidationException", f"RoutingControlArn is not a routing control ARN: {arn!r}")
            entries = []
        elif action == "UpdateRoutingControlState":
            why = valid_entry(req, "")
            if why:
                return self.error(400, "ValidationException", why)
            entries = [req]
        else:
            entries = req.get("UpdateRoutingControlStateEntries")
            if not isinstance(entries, list) or not entries:
                return self.error(400, "ValidationException", "UpdateRoutingControlStateEntries must be a non-empty list")
            for i, e in enumerate(entries):
                why = valid_entry(e, f"UpdateRoutingControlStateEntries[{i}].")
                if why:
                    return self.error(400, "ValidationException", why)
        port = str(self.server.server_address[1])
        with State.lock:
            for arn in [e["RoutingControlArn"] for e in entries] or [req["RoutingControlArn"]]:
                if arn not in State.states:
                    State.rejected.append({"code": "ResourceNotFoundException", "message": arn})
                    self.reply(404, {"__type": "ResourceNotFoundException", "message": f"no routing control {arn}"})
                    return
            State.calls[action] = State.calls.get(action, 0) + 1
            State.calls_by_port.setdefault(port, {})
            State.calls_by_port[port][action] = State.calls_by_port[port].get(action, 0) + 1
            State.requests.append({"action": action, "port": port, "body": req})
            for e in entries:
                State.states[e["RoutingControlArn"]] = e["RoutingControlState"]
            if action == "GetRoutingControlState":
                arn = req["RoutingControlArn"]
                out = {"RoutingControlArn": arn, "RoutingControlState": State.states[arn],
                       "RoutingControlName": arn.rsplit("/", 1)[1]}
            else:
                out = {}
        self.reply(200, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--port", type=int, action="append", default=[])
    ap.add_argument("--key")
    ap.add_argument("--secret")
    ap.add_argument("--controls", default="{}")
    a = ap.parse_args()
    State.states = json.loads(a.controls)
    State.key, State.secret = a.key, a.secret
    serve(a.port or [0], Handler, a.ready_file)


if __name__ == "__main__":
    datetime.datetime  # stdlib only
    main()
