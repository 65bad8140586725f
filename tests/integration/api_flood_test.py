#!/usr/bin/env python3
"""One peer cannot lock everyone out of the HTTPS API (real trailkeepd, curl as the admin).

  1. From 127.0.0.2, 256 TLS connections that send nothing after the handshake and 300 plain TCP
     connections that send nothing at all, held open and topped up with fresh connects as slots
     free up, while the admin (127.0.0.1, bearer token)
     keeps making requests: every admin request answers 200 within a few seconds. The refusals
     are CONNECTION_LIMIT events (listener "export") in the store.
  2. From 40 addresses (127.0.1.1-40), 8 idle TCP connections each (320, more than the slots
     unauthenticated connections may hold): the oldest are closed to make room and the admin's
     requests still answer; trailkeep_api_connections_evicted_total counts the evictions.
  3. A TLS connection that never sends a request is closed after first_request_timeout_ms
     (10 s by default), not after the 60 s idle timeout.

Loopback only; every loop is bounded.
"""
import os
import resource
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Collector, log  # noqa: E402

ADMIN_DEADLINE_S = 5.0


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n)), hard))


def admin_token(c):
    with open(os.path.join(c.workdir, "dev", "admin.token")) as f:
        return f.read().strip()


def admin_get(c, token, path="/v1/hosts"):
    """(status, seconds, body) of one admin request over a new connection from 127.0.0.1."""
    start = time.time()
    r = subprocess.run(["curl", "-sS", "--http1.1", "--interface", "127.0.0.1", "-o", "-", "-w",
                        "\n%{http_code}", "--max-time", "20", "--cacert", os.path.join(c.pki, "ca.pem"),
                        "-H", "Authorization: Bearer " + token,
                        "https://127.0.0.1:%d%s" % (c.export_port, path)],
                       capture_output=True, timeout=40)
    took = time.time() - start
    if r.returncode != 0:
        return None, took, r.stderr
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code), took, body


def tcp_from(source, port):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s


class Attacker(threading.Thread):
    """Opens the connections of `plan` (a list of (source, kind, count)) and holds them; then,
    until stopped (at most 120 s), opens 10 more plain TCP connections from the plan's first
    source every 50 ms, so any slot that frees up is taken again (the newest 500 are held)."""

    def __init__(self, c, plan):
        super().__init__(daemon=True)
        self.c, self.plan = c, plan
        self.held, self.topped_up, self.failed = [], [], 0
        self.done, self.stop = threading.Event(), threading.Event()
        self.ctx = ssl.create_default_context(cafile=os.path.join(c.pki, "ca.pem"))
        self.ctx.check_hostname = False

    def open(self, source, kind, into):
        try:
            s = tcp_from(source, self.c.export_port)
            if kind == "tls":
                s = self.ctx.wrap_socket(s, server_hostname="localhost")
            into.append(s)
        except (OSError, ssl.SSLError):
            self.failed += 1

    def run(self):
        for source, kind, count in self.plan:
            for _ in range(count):
                self.open(source, kind, self.held)
        self.done.set()
        deadline = time.time() + 120
        while not self.stop.is_set() and time.time() < deadline:
            for _ in range(10):
                self.open(self.plan[0][0], "tcp", self.topped_up)
            while len(self.topped_up) > 500:
                self.topped_up.pop(0).close()
            self.stop.wait(0.05)

    def close(self):
        self.stop.set()
        self.join(30)
        for s in self.held + self.topped_up:
            try:
                s.close()
            except OSError:
                pass


def admin_keeps_working(c, token, attacker, rounds):
    """Admin requests while the attacker opens its connections and after; all must succeed fast."""
    attacker.start()
    times = []
    for i in range(rounds):
        status, took, body = admin_get(c, token)
        assert status == 200, "admin request %d: %s %r" % (i, status, body[:300])
        assert took < ADMIN_DEADLINE_S, "admin request %d took %.1fs" % (i, took)
        times.append(took)
        if attacker.done.is_set() and i >= rounds // 2:
            break
    attacker.done.wait(120)
    assert attacker.done.is_set(), "the attacker did not finish opening its connections"
    for i in range(20):  # and with every attacking connection in place, while it tops up
        status, took, body = admin_get(c, token)
        assert status == 200 and took < ADMIN_DEADLINE_S, (i, status, took, body[:300])
        times.append(took)
    return times


def metric(c, token, name):
    status, _, body = admin_get(c, token, "/metrics")
    assert status == 200, (status, body[:300])
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


sd = harness.sd_param


def test_one_peer_cannot_lock_out_the_admin():
    raise_fd_limit(4096)
    with Collector() as c:
        token = admin_token(c)
        assert admin_get(c, token)[0] == 200
        # 1. one peer: idle TLS, then idle TCP.
        one = Attacker(c, [("127.0.0.2", "tls", 256), ("127.0.0.2", "tcp", 300)])
        try:
            times = admin_keeps_working(c, token, one, rounds=60)
            log("one peer: %d held, %d refused; admin %d requests, slowest %.2fs" %
                (len(one.held), one.failed, len(times), max(times)))
        finally:
            one.close()
        refused = c.wait_for(lambda: [e for e in c.self_events("CONNECTION_LIMIT")
                                      if sd(e, "listener") == "export" or "export API" in e.get("msg", "")],
                             30, "CONNECTION_LIMIT events of the export listener")
        assert any(sd(e, "peer").startswith("127.0.0.2:") for e in refused), refused[:3]
        assert any("max_connections_per_peer" in e.get("msg", "") + sd(e, "reason") or
                   "max_handshakes_per_peer" in e.get("msg", "") + sd(e, "reason") for e in refused), refused[:3]
        log("  %d CONNECTION_LIMIT events recorded (summarised)" % len(refused))

        # 2. many peers: the unauthenticated share overflows; the oldest make room.
        many = Attacker(c, [("127.0.1.%d" % i, "tcp", 8) for i in range(1, 41)])
        try:
            times = admin_keeps_working(c, token, many, rounds=40)
            evicted = metric(c, token, "trailkeep_api_connections_evicted_total")
            log("40 peers: %d held; admin slowest %.2fs; %d evicted" % (len(many.held), max(times), evicted))
            assert evicted >= 320 - (256 - 32), evicted
        finally:
            many.close()

        # 3. a handshaken connection that never asks anything is closed after the first-request deadline.
        ctx = ssl.create_default_context(cafile=os.path.join(c.pki, "ca.pem"))
        ctx.check_hostname = False
        s = ctx.wrap_socket(tcp_from("127.0.0.3", c.export_port), server_hostname="localhost")
        s.settimeout(30)
        start = time.time()
        try:
            data = s.recv(100)
        except (OSError, ssl.SSLError):
            data = b""
        waited = time.time() - start
        s.close()
        assert data == b"" and waited < 20, (data, waited)
        log("idle TLS connection closed after %.1fs" % waited)
        assert c.alive()


if __name__ == "__main__":
    harness.main([test_one_peer_cannot_lock_out_the_admin])
