#!/usr/bin/env python3
"""Fault-injecting HTTP/HTTPS target for vigil's probe tests (python3 stdlib only).

Binds 127.0.0.1 on ports chosen by the kernel and prints one JSON line on
stdout, e.g.
  {"http": 40001, "https_good": 40002, "https_expired": 40003,
   "https_expiring": 40004, "ca_file": "/tmp/x/ca.pem"}
then serves until its stdin closes (so it never outlives the test that
started it) or it gets SIGTERM.

HTTPS listeners use certificates made with the openssl CLI in --certs DIR:
a test CA (ca.pem, to trust), a valid leaf (https_good, 365 days), a leaf
that expired yesterday (https_expired) and one that expires in 2 days
(https_expiring); all for IP 127.0.0.1 and DNS localhost.

Paths (every listener serves all of them):
  /ok               200 {"status":"UP","db":"ok"}
  /status/<code>    that status, small JSON body
  /json-wrong       200 {"status":"DOWN","db":"ok"}
  /slow?ms=N        waits N ms, then as /ok
  /header           200 with Content-Type: application/json; charset=utf-8 and X-Vigil-Test: present
  /trickle?every_ms=N  headers at once (Content-Length 100000), then one body byte every N ms (100)
  /noheaders        reads the request and never answers (until the client leaves, max 30 s)
  /big              10 MiB, chunked, in 64 KiB chunks
  /redirect-loop    302 to itself
  /echo             200 JSON of the request: method, path, body, headers (lower-case names)
  /stats            200 JSON counters: connections, requests, big_started, big_completed
  /health/<region>/<service>
                    200 {"status":"UP","db":"ok"} unless a fault is set for
                    "<region>/<service>" (or "<region>/*"): mode 503 (that status,
                    "DOWN" body), hang (headers never sent) or json (200 "DOWN")
  /control?fail=<region>/<service|*>&mode=503|hang|json   set a fault (mode 503 by default)
  /control?heal=<region>/<service|*>|all                   clear one fault, or all
                    both answer the faults now in force as JSON
"""

import argparse
import datetime
import http.server
import json
import os
import select
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

STATS = {"connections": 0, "requests": 0, "big_started": 0, "big_completed": 0}
STATS_LOCK = threading.Lock()
FAULTS = {}  # "<region>/<service>" or "<region>/*" -> "503" | "hang" | "json"
FAULT_MODES = ("503", "hang", "json")


def count(key, n=1):
    with STATS_LOCK:
        STATS[key] += n


def wait_until_client_leaves(sock, seconds):
    """Blocks until the peer closes (or `seconds` pass) without answering."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            try:
                if not sock.recv(4096):
                    return
            except OSError:
                return


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vigil-fault-server/1"

    def log_message(self, *args):  # quiet: tests read stdout
        pass

    def setup(self):
        super().setup()
        count("connections")

    def send_json(self, code, obj, extra_headers=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        self.do_GET()

    def do_PUT(self):
        self.do_GET()

    def do_GET(self):
        count("requests")
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path
        length = int(self.headers.get("Content-Length") or 0)
        request_body = self.rfile.read(length) if length > 0 else b""

        if path == "/ok":
            self.send_json(200, {"status": "UP", "db": "ok"})
        elif path == "/ok-then-drop":
            # Answers as if the connection stayed open (no "Connection: close"),
            # then closes it: the client finds out only when it reuses it.
            self.send_json(200, {"status": "UP", "db": "ok"})
            self.wfile.flush()
            self.close_connection = True
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            self.send_json(code, {"status": "DOWN" if code >= 500 else "UP"})
        elif path == "/json-wrong":
            self.send_json(200, {"status": "DOWN", "db": "ok"})
        elif path == "/slow":
            time.sleep(int(query.get("ms", ["500"])[0]) / 1000.0)
            self.send_json(200, {"status": "UP", "db": "ok"})
        elif path == "/header":
            body = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("X-Vigil-Test", "present")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/trickle":
            every = int(query.get("every_ms", ["100"])[0]) / 1000.0
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.flush()
            try:
                for _ in range(100000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(every)
            except OSError:
                pass
            self.close_connection = True
        elif path == "/noheaders":
            wait_until_client_leaves(self.connection, 30)
            self.close_connection = True
        elif path == "/big":
            count("big_started")
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"y" * 65536
            try:
                for _ in range(160):  # 160 x 64 KiB = 10 MiB
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                count("big_completed")
            except OSError:
                pass
            self.close_connection = True
        elif path == "/redirect-loop":
            self.send_response(302)
            self.send_header("Location", "/redirect-loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/echo":
            self.send_json(200, {
                "method": self.command,
                "path": self.path,
                "body": request_body.decode(errors="replace"),
                "headers": {k.lower(): v for k, v in self.headers.items()},
            })
        elif path.startswith("/health/"):
            self.health(path)
        elif path == "/control":
            self.control(query)
        elif path == "/stats":
            with STATS_LOCK:
                snapshot = dict(STATS)
            self.send_json(200, snapshot)
        else:
            self.send_json(404, {"error": "no such path"})


    def health(self, path):
        parts = path.split("/")  # ["", "health", region, service]
        if len(parts) != 4 or not parts[2] or not parts[3]:
            self.send_json(404, {"error": "expected /health/<region>/<service>"})
            return
        with STATS_LOCK:
            mode = FAULTS.get(f"{parts[2]}/{parts[3]}") or FAULTS.get(f"{parts[2]}/*")
        if mode == "503":
            self.send_json(503, {"status": "DOWN", "db": "unreachable"})
        elif mode == "hang":
            wait_until_client_leaves(self.connection, 30)
            self.close_connection = True
        elif mode == "json":
            self.send_json(200, {"status": "DOWN", "db": "ok"})
        else:
            self.send_json(200, {"status": "UP", "db": "ok"})

    def control(self, query):
        mode = query.get("mode", ["503"])[0]
        if mode not in FAULT_MODES:
            self.send_json(400, {"error": f"mode must be one of {', '.join(FAULT_MODES)}"})
            return
        with STATS_LOCK:
            for key in query.get("fail", []):
                FAULTS[key] = mode
            for key in query.get("heal", []):
                if key == "all":
                    FAULTS.clear()
                else:
                    FAULTS.pop(key, None)
            snapshot = dict(FAULTS)
        self.send_json(200, snapshot)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the concurrency test opens hundreds of connections at once

    def handle_error(self, request, client_address):
        pass  # TLS handshakes the client rejects, resets: expected here


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certs(d):
    """CA plus three leaves with chosen validity, via `openssl ca` (which,
    unlike `x509 -req` in OpenSSL 3.0, takes explicit start and end dates)."""
    os.makedirs(os.path.join(d, "newcerts"), exist_ok=True)
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(f"""[ca]
default_ca = testca
[testca]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/newcerts
serial = {d}/serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
""")
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
            "-subj", "/CN=vigil test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = "%Y%m%d%H%M%SZ"
    leaves = {
        "good": (now - datetime.timedelta(days=1), now + datetime.timedelta(days=365)),
        "expired": (now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)),
        "expiring": (now - datetime.timedelta(days=1), now + datetime.timedelta(days=2)),
    }
    for name, (start, end) in leaves.items():
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN=127.0.0.1 {name}", cwd=d)
        openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
                "-in", f"{name}.csr", "-out", f"{name}.pem", "-notext",
                "-startdate", start.strftime(fmt), "-enddate", end.strftime(fmt),
                "-extfile", "leaf.ext", cwd=d)
    return os.path.join(d, "ca.pem")


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def tls_server(d, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key"))
    server = Server(("127.0.0.1", 0), Handler)
    # Handshake lazily in the connection's own thread, not in the accept loop.
    server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


def serve_until_stdin_closes():
    """Blocks until the parent closes our stdin (or kills us), then exits at
    once: daemon threads with open connections must not delay the test."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, KeyboardInterrupt):
        pass
    os._exit(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certs", help="directory for the test CA and certificates (enables HTTPS)")
    args = parser.parse_args()

    ports = {"http": serve(Server(("127.0.0.1", 0), Handler))}
    if args.certs:
        ports["ca_file"] = make_certs(args.certs)
        for name in ("good", "expired", "expiring"):
            ports[f"https_{name}"] = serve(tls_server(args.certs, name))
    print(json.dumps(ports), flush=True)
    serve_until_stdin_closes()


if __name__ == "__main__":
    main()
