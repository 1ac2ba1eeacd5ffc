"""Clients that hold an HTTP listener's connections (python3 stdlib only), for
tests/integration/listener and bench/listener_bench.py. Every one talks to
127.0.0.1 only.

  IdleHolder  keeps N connections open that never send a byte, re-opening each
              one as the server drops it
  Slowloris   sends a request head one byte per second, for ever; counts how
              often (and after how long) the server dropped it
  StatusFlood N threads sending GET <path> back to back; counts answers
"""
import resource
import selectors
import socket
import threading
import time
import urllib.error
import urllib.request


def raise_fd_limit(need):
    """Raises this process's soft RLIMIT_NOFILE towards `need` (at most the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = need if hard == resource.RLIM_INFINITY else min(need, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _connect(port, timeout=2.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setblocking(False)
    return s


class _Background:
    """`threads` daemon threads running self._run until stop(); start() returns self."""

    def __init__(self, threads=1, join_timeout=30):
        self._stop = threading.Event()
        self._join_timeout = join_timeout
        self._ts = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self):
        for t in self._ts:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._ts:
            t.join(self._join_timeout)


class IdleHolder(_Background):
    """Holds `n` idle connections to 127.0.0.1:`port`; every `poll` seconds it re-opens those the
    server closed. `opened` counts every connect, `dropped` every close seen."""

    def __init__(self, port, n, poll=0.05):
        self.port, self.n, self.poll = port, n, poll
        self.opened = self.dropped = self.failed = 0
        self.held = 0
        super().__init__()

    def _run(self):
        sel = selectors.DefaultSelector()
        socks = set()
        while not self._stop.is_set():
            while len(socks) < self.n and not self._stop.is_set():
                try:
                    s = _connect(self.port)
                except OSError:
                    self.failed += 1
                    break
                self.opened += 1
                socks.add(s)
                sel.register(s, selectors.EVENT_READ)
            self.held = len(socks)
            for key, _ in sel.select(self.poll):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(s)
                    s.close()
                    socks.discard(s)
                    self.dropped += 1
        for s in socks:
            sel.unregister(s)
            s.close()
        sel.close()


class Slowloris(_Background):
    """A request head sent one byte every `every` seconds and never finished; when the server
    drops it, the time it lasted goes to `lasted` and it starts again."""

    HEAD = b"GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"s" * 4096

    def __init__(self, port, every=1.0):
        self.port, self.every = port, every
        self.lasted = []
        super().__init__()

    def _run(self):
        while not self._stop.is_set():
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            except OSError:
                self._stop.wait(self.every)
                continue
            began = time.monotonic()
            try:
                for i in range(len(self.HEAD)):
                    s.sendall(self.HEAD[i:i + 1])
                    if self._stop.wait(self.every):
                        break
                    s.settimeout(0.001)
                    try:
                        if s.recv(1) == b"":
                            raise ConnectionResetError("closed by the server")
                    except socket.timeout:
                        pass
                    s.settimeout(2)
            except OSError:
                self.lasted.append(time.monotonic() - began)
            finally:
                s.close()


def get(url, timeout=5):
    """(status, body); status 0 when the request failed at the connection."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


class StatusFlood(_Background):
    """`n` threads sending GET `url` back to back (a new connection each)."""

    def __init__(self, url, n, timeout=10):
        self.url, self.n, self.timeout = url, n, timeout
        self.ok = self.failed = 0
        self._lock = threading.Lock()
        super().__init__(threads=n, join_timeout=60)

    def _run(self):
        while not self._stop.is_set():
            status, _ = get(self.url, self.timeout)
            with self._lock:
                if status == 200:
                    self.ok += 1
                else:
                    self.failed += 1
