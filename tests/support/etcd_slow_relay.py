#!/usr/bin/env python3
"""A relay in front of one etcd member that answers some writes too late.

usage: etcd_slow_relay.py UPSTREAM_URL DELAY_SECONDS COUNT

Binds 127.0.0.1 on a kernel-chosen port and prints "PORT <n>". Every POST is
forwarded to UPSTREAM_URL and etcd's answer relayed, except that the first
COUNT requests to /v3/kv/txn get their answer only after DELAY_SECONDS: etcd
has applied the write, the client has given up. That is the "outcome unknown"
a timed-out write has on a busy machine. Standard library only; serves until
killed.
"""

import http.server
import sys
import threading
import time
import urllib.request

UPSTREAM = sys.argv[1].rstrip("/")
DELAY = float(sys.argv[2])
LEFT = {"txn": int(sys.argv[3])}
LOCK = threading.Lock()


class Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        req = urllib.request.Request(UPSTREAM + self.path, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, answer = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, answer = e.code, e.read()
        late = False
        if self.path == "/v3/kv/txn":
            with LOCK:
                if LEFT["txn"] > 0:
                    LEFT["txn"] -= 1
                    late = True
        if late:
            time.sleep(DELAY)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except OSError:
            pass  # the client gave up, as intended


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Relay)
print("PORT %d" % server.server_address[1], flush=True)
server.serve_forever()
