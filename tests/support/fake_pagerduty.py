#!/usr/bin/env python3
"""A strict fake of the PagerDuty Events API v2 for vigil's tests.

Listens on 127.0.0.1 (a free port unless --port), prints "PORT <n>" on stdout.
Every POST /v2/enqueue is validated against the Events v2 schema; a violation
answers 400 {"status": "invalid event", "errors": [...]} and is counted.
Valid events answer 202 {"status": "success", "dedup_key": ...}.

Control endpoints (tests only):
  GET  /_stats   {"events": [...], "received_at": [unix seconds, one per event], "triggers": {key: n},
                  "incidents_opened": {key: n}, "open": [keys], "invalid": n, "errors": [...], "received": n}
  POST /_hang    {"n": k}: the k-th enqueue request (1-based, counting all) is processed
                 and recorded, then its answer is held until /_release (a lost answer)
  POST /_release
  POST /_fail    {"status": 500, "count": 2}: answer the next `count` enqueues with `status`
                 without processing them

Other receivers on the same port, for the other sinks' tests:
  POST /slack    a Slack incoming webhook: {text, blocks} required; answers 200 "ok"
  POST /hook     any JSON; the request (headers, body) is recorded under "hooks"; 200
"""
import argparse
import json
import re
import sys
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEVERITIES = {"critical", "error", "warning", "info"}
ACTIONS = {"trigger", "acknowledge", "resolve"}
TOP_KEYS = {"routing_key", "event_action", "dedup_key", "payload", "links", "images", "client", "client_url"}
PAYLOAD_KEYS = {"summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details"}
ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")

lock = threading.Lock()
state = {"events": [], "received_at": [], "triggers": {}, "incidents_opened": {}, "open": set(), "invalid": 0, "errors": [],
         "received": 0, "hang_at": 0, "fail": None, "slack": [], "hooks": []}
release = threading.Event()


def validate(ev):
    errs = []
    if not isinstance(ev, dict):
        return ["event must be a JSON object"]
    for k in ev:
        if k not in TOP_KEYS:
            errs.append(f"unknown field '{k}'")
    rk = ev.get("routing_key")
    if not isinstance(rk, str) or not ROUTING_KEY.match(rk):
        errs.append("routing_key must be a 32-character integration key")
    action = ev.get("event_action")
    if action not in ACTIONS:
        errs.append("event_action must be trigger, acknowledge or resolve")
    dk = ev.get("dedup_key")
    if dk is not None and (not isinstance(dk, str) or not dk or len(dk) > 255):
        errs.append("dedup_key must be a non-empty string of at most 255 characters")
    if action in ("acknowledge", "resolve") and dk is None:
        errs.append("dedup_key is required for acknowledge and resolve")
    payload = ev.get("payload")
    if action == "trigger":
        if not isinstance(payload, dict):
            errs.append("payload is required for trigger")
        else:
            for k in payload:
                if k not in PAYLOAD_KEYS:
                    errs.append(f"unknown payload field '{k}'")
            s = payload.get("summary")
            if not isinstance(s, str) or not s or len(s) > 1024:
                errs.append("payload.summary must be 1..1024 characters")
            if not isinstance(payload.get("source"), str) or not payload.get("source"):
                errs.append("payload.source is required")
            if payload.get("severity") not in SEVERITIES:
                errs.append("payload.severity must be critical, error, warning or info")
            ts = payload.get("timestamp")
            if ts is not None:
                try:
                    datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
                except ValueError:
                    errs.append("payload.timestamp must be ISO 8601")
            for k in ("component", "group", "class"):
                if k in payload and not isinstance(payload[k], str):
                    errs.append(f"payload.{k} must be a string")
            if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
                errs.append("payload.custom_details must be an object")
    elif payload is not None and not isinstance(payload, dict):
        errs.append("payload must be an object")
    links = ev.get("links", [])
    if not isinstance(links, list) or any(not isinstance(l, dict) or not isinstance(l.get("href"), str)
                                          or set(l) - {"href", "text"} for l in links):
        errs.append("links must be a list of {href, text}")
    return errs


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n)

    def do_GET(self):
        if self.path == "/_stats":
            with lock:
                out = {k: (sorted(v) if isinstance(v, set) else v) for k, v in state.items()}
            return self.reply(200, out)
        self.reply(404, {"status": "not found"})

    def do_POST(self):
        raw = self.body()
        if self.path == "/_hang":
            with lock:
                state["hang_at"] = json.loads(raw)["n"]
            return self.reply(200, {})
        if self.path == "/_release":
            release.set()
            return self.reply(200, {})
        if self.path == "/_fail":
            with lock:
                state["fail"] = json.loads(raw)
            return self.reply(200, {})
        if self.path == "/slack":
            try:
                msg = json.loads(raw)
                ok = isinstance(msg.get("text"), str) and msg["text"] and isinstance(msg.get("blocks"), list)
            except ValueError:
                ok = False
            if not ok:
                return self.reply(400, {"error": "invalid_payload"})
            with lock:
                state["slack"].append(msg)
            return self.reply(200, "ok")
        if self.path == "/hook":
            with lock:
                state["hooks"].append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                       "body": raw.decode()})
            return self.reply(200, {})
        if self.path != "/v2/enqueue":
            return self.reply(404, {"status": "not found"})
        with lock:
            state["received"] += 1
            n = state["received"]
            fail = state["fail"]
            if fail and fail.get("count", 0) > 0:
                fail["count"] -= 1
                return self.reply(fail.get("status", 500), {"status": "unavailable"})
        errs = []
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            errs.append("Content-Type must be application/json")
        try:
            ev = json.loads(raw)
        except ValueError:
            ev, errs = None, errs + ["body is not JSON"]
        if ev is not None:
            errs += validate(ev)
        if errs:
            with lock:
                state["invalid"] += 1
                state["errors"].append(errs)
            return self.reply(400, {"status": "invalid event", "message": "Event object is invalid", "errors": errs})
        key = ev.get("dedup_key") or f"generated-{n}"
        with lock:
            state["events"].append(ev)
            state["received_at"].append(time.time())
            if ev["event_action"] == "trigger":
                state["triggers"][key] = state["triggers"].get(key, 0) + 1
                if key not in state["open"]:
                    state["open"].add(key)
                    state["incidents_opened"][key] = state["incidents_opened"].get(key, 0) + 1
            elif ev["event_action"] == "resolve":
                state["open"].discard(key)
            hang = state["hang_at"] == n
        if hang:
            release.wait()
        self.reply(202, {"status": "success", "message": "Event processed", "dedup_key": key})


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients killed mid-request (the restart tests) are expected


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print(f"PORT {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
