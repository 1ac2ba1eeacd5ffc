#!/usr/bin/env python3
"""HTTP forward proxies with faults, for vigil's probe tests (python3 stdlib only).

Binds 127.0.0.1 on kernel-chosen ports and prints one JSON line on stdout:
  {"forward": 40001, "drop": 40002, "silent": 40003}
then serves until stdin closes or SIGTERM.

  forward  a working proxy: absolute-form requests (plain http) are relayed with
           the response header "X-Proxied: 1" added; CONNECT opens a tunnel.
           GET /stats (origin-form, to the proxy itself) answers JSON counters
           {"forwarded": n, "tunnels": n}. GET /control?mode=forward|drop|silent
           (origin-form) switches how it treats proxied requests from then on:
           drop and silent turn it into a blackhole for that client's traffic.
  drop     accepts, reads the request, closes the connection without a word.
  silent   accepts, reads the request, never answers (until the client leaves).
"""

import json
import select
import socket
import socketserver
import threading
import time
import urllib.parse

from fault_server import serve_until_stdin_closes  # same directory

STATS = {"forwarded": 0, "tunnels": 0, "blackholed": 0}
LOCK = threading.Lock()
MODE = {"forward": "forward"}  # the forward listener's current behaviour
MODES = ("forward", "drop", "silent")


def read_head(sock):
    """Reads up to the end of the request head; returns (head bytes, extra bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > 1 << 20:
            break
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def pipe(a, b):
    """Copies both ways until either side closes."""
    socks = [a, b]
    try:
        while True:
            readable, _, _ = select.select(socks, [], [], 30)
            if not readable:
                return
            for s in readable:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return


class Forward(socketserver.BaseRequestHandler):
    def handle(self):
        head, rest = read_head(self.request)
        if not head:
            return
        lines = head.split(b"\r\n")
        method, target, version = lines[0].decode().split(" ", 2)
        if target.startswith("/"):
            self.local(target)
            return
        with LOCK:
            mode = MODE["forward"]
            if mode != "forward":
                STATS["blackholed"] += 1
        if mode == "drop":
            return  # socketserver closes the connection without a word
        if mode == "silent":
            wait_until_peer_leaves(self.request)
            return
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)), timeout=10)
            with LOCK:
                STATS["tunnels"] += 1
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            pipe(self.request, upstream)
            upstream.close()
            return
        url = urllib.parse.urlsplit(target)
        upstream = socket.create_connection((url.hostname, url.port or 80), timeout=10)
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        headers = [h for h in lines[1:]
                   if not h.lower().startswith((b"proxy-connection:", b"connection:"))]
        request = b"\r\n".join([f"{method} {path} {version}".encode(), *headers, b"Connection: close"])
        upstream.sendall(request + b"\r\n\r\n" + rest)
        with LOCK:
            STATS["forwarded"] += 1
        # Inject the marker header right after the upstream's status line.
        answer = b""
        while b"\r\n" not in answer:
            chunk = upstream.recv(65536)
            if not chunk:
                break
            answer += chunk
        status, _, tail = answer.partition(b"\r\n")
        self.request.sendall(status + b"\r\nX-Proxied: 1\r\n" + tail)
        pipe(self.request, upstream)
        upstream.close()


    def local(self, target):
        """Requests to the proxy itself: /stats and /control?mode=..."""
        url = urllib.parse.urlsplit(target)
        code = 200
        with LOCK:
            if url.path == "/control":
                mode = urllib.parse.parse_qs(url.query).get("mode", [""])[0]
                if mode in MODES:
                    MODE["forward"] = mode
                else:
                    code = 400
            body = json.dumps(dict(STATS, mode=MODE["forward"])).encode()
        if url.path not in ("/stats", "/control"):
            code = 404
        self.request.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                             b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (code, len(body), body))


def wait_until_peer_leaves(sock, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            try:
                if not sock.recv(4096):
                    return
            except OSError:
                return


class Drop(socketserver.BaseRequestHandler):
    def handle(self):
        read_head(self.request)
        self.request.close()


class Silent(socketserver.BaseRequestHandler):
    def handle(self):
        read_head(self.request)
        wait_until_peer_leaves(self.request)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass


def main():
    ports = {}
    for name, handler in (("forward", Forward), ("drop", Drop), ("silent", Silent)):
        server = Server(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        ports[name] = server.server_address[1]
    print(json.dumps(ports), flush=True)
    serve_until_stdin_closes()


if __name__ == "__main__":
    main()
