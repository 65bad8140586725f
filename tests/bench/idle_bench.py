#!/usr/bin/env python3
"""Idle-connection memory benchmark (issue 17, "Memory"): the collector's RSS with IDLE
mutual-TLS RFC 5425 connections open, each of which has sent one message and then stays quiet.

One trailkeepd on loopback (port 0, addresses from ports.json) with a config that requires a
client certificate (`client_auth = "require"`, the test PKI of tests/integration/pki.py), limits
raised so that IDLE connections fit. This process raises RLIMIT_NOFILE for itself and the
collector (inherited), then opens IDLE TLS connections with the `client` certificate from
non-blocking sockets driven by one selector, at most CONCURRENT handshakes at a time; on each it
sends one octet-counted RFC 5424 message. It waits until the collector's own counter
(`trailkeep_source_events_total` of the messages' host, from GET /metrics with the same client
certificate mapped to the admin scope) shows IDLE stored and `trailkeep_syslog_connections` shows
IDLE open, lets the collector settle for SETTLE seconds, and reads its VmRSS and VmHWM from /proc.
The store is never opened while the collector runs.

Prints RSS before the connections, with them (total and per connection, KiB) and the peak.

Usage: idle_bench.py BUILD_DIR
Environment:
  IDLE=10000        connections
  CONCURRENT=128    handshakes in flight at a time
  SETTLE=3          seconds between the last stored message and the RSS reading
  BENCH_DIR=BUILD/idle-bench-work
  WRAPPER=          a command trailkeepd runs under, keeping its PID, e.g. "valgrind --tool=massif"
                    (the RSS figures are then valgrind's)
Standard library only, with the helpers of tests/integration (harness.py, pki.py).
"""
import os
import re
import resource
import selectors
import shutil
import socket
import ssl
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))


def env_int(name, default):
    return int(os.environ.get(name, default))


IDLE = env_int("IDLE", 10000)
CONCURRENT = env_int("CONCURRENT", 128)
SETTLE = float(os.environ.get("SETTLE", "3"))
HOST = "idle-bench"


def raise_nofile(want):
    """Soft (and, as root, hard) RLIMIT_NOFILE of at least `want`; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return
        except (ValueError, OSError):
            sys.exit("idle_bench: RLIMIT_NOFILE hard limit %d < %d and cannot be raised (not root)" % (hard, want))
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def message(i):
    body = "<134>1 2026-12-06T00:00:00.000000Z %s idle - - - idle connection %06d" % (HOST, i)
    data = body.encode()
    return b"%d %s" % (len(data), data)


class Conn:
    __slots__ = ("sock", "i", "state", "out")

    def __init__(self, sock, i):
        self.sock, self.i, self.state, self.out = sock, i, "connect", message(i)


def open_connections(port, ctx, n, concurrent):
    """n TLS connections that each sent one frame; returns their sockets (kept open)."""
    sel = selectors.DefaultSelector()
    done, started, active = [], 0, 0
    deadline = time.time() + max(120, n / 20)

    def start(i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        c = Conn(ctx.wrap_socket(s, server_hostname="localhost", do_handshake_on_connect=False), i)
        sel.register(c.sock, selectors.EVENT_WRITE, c)

    def step(c):
        """Advances one connection; True when it is finished (handshake done, frame sent)."""
        try:
            if c.state == "connect":
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, os.strerror(err))
                c.state = "handshake"
            if c.state == "handshake":
                c.sock.do_handshake()
                c.state = "send"
            while c.out:
                c.out = c.out[c.sock.send(c.out):]
            return True
        except ssl.SSLWantReadError:
            sel.modify(c.sock, selectors.EVENT_READ, c)
        except (ssl.SSLWantWriteError, BlockingIOError):
            sel.modify(c.sock, selectors.EVENT_WRITE, c)
        return False

    while len(done) < n:
        while started < n and active < concurrent:
            start(started)
            started += 1
            active += 1
        if time.time() > deadline:
            sys.exit("idle_bench: %d of %d connections up after the deadline" % (len(done), n))
        for key, _ in sel.select(timeout=1):
            c = key.data
            if step(c):
                sel.unregister(c.sock)
                done.append(c.sock)
                active -= 1
    sel.close()
    return done


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    os.environ["TRAILKEEP_BIN"] = os.path.join(build, "bin")
    import harness  # noqa: E402  (reads TRAILKEEP_BIN)
    from pki import TestPki, collector_config  # noqa: E402

    raise_nofile(IDLE + 1024)
    work = os.environ.get("BENCH_DIR", os.path.join(build, "idle-bench-work"))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    pki = TestPki.standard(os.path.join(work, "pki"))
    config = collector_config(
        pki, client_auth="require",
        limits={"max_connections": IDLE + 100, "max_handshakes": max(1000, 4 * CONCURRENT),
                "max_handshakes_per_peer": max(1000, 4 * CONCURRENT), "idle_timeout_ms": 3_600_000})
    config += '\n[[export.client]]\nname = "client.example.test"\nscopes = ["admin"]\n'
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=pki.cert("ca"))
    ctx.check_hostname = False
    ctx.load_cert_chain(pki.cert("client"), pki.key("client"))

    c = harness.Collector(workdir=os.path.join(work, "collector"), config_text=config,
                          wrapper=os.environ.get("WRAPPER", "").split())
    c.start(timeout=300 if os.environ.get("WRAPPER") else 20)
    try:
        def metrics():
            req = urllib.request.Request("https://127.0.0.1:%d/metrics" % c.export_port)
            with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
                text = r.read().decode()
            stored = conns = 0
            for line in text.splitlines():
                m = re.match(r'^trailkeep_source_events_total\{[^}]*host="%s"[^}]*\} (\S+)$' % HOST, line)
                if m:
                    stored += int(float(m.group(1)))
                m = re.match(r"^trailkeep_syslog_connections(\{[^}]*\})? (\S+)$", line)
                if m:
                    conns += int(float(m.group(2)))
            return stored, conns

        def status(key):
            with open("/proc/%d/status" % c.proc.pid) as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
            return 0

        time.sleep(SETTLE)
        metrics()  # the API's own first-use allocations are not the connections'
        rss0, hwm0 = status("VmRSS"), status("VmHWM")
        harness.log("idle: trailkeepd pid %d, RSS %d KiB before the connections (peak %d KiB)"
                    % (c.proc.pid, rss0, hwm0))
        t0 = time.time()
        socks = open_connections(c.port, ctx, IDLE, CONCURRENT)
        opened = time.time() - t0
        harness.log("idle: %d connections open, one message sent on each, in %.1f s" % (len(socks), opened))
        deadline, last = time.time() + 300, None
        while True:
            if not c.alive():
                sys.exit("idle_bench: trailkeepd exited:\n" + c.read_log()[-4000:])
            last = metrics()
            if last[0] >= IDLE and last[1] >= IDLE:
                break
            if time.time() > deadline:
                sys.exit("idle_bench: stored/open %r of %d after 300 s" % (last, IDLE))
            time.sleep(0.5)
        time.sleep(SETTLE)
        stored, conns = metrics()
        rss, hwm = status("VmRSS"), status("VmHWM")
        harness.log("idle: %d stored, %d open; RSS %d KiB (%.1f MiB), peak %d KiB (%.1f MiB)"
                    % (stored, conns, rss, rss / 1024, hwm, hwm / 1024))
        harness.log("idle: per connection %.1f KiB (RSS growth %d KiB / %d); RSS total / connection %.1f KiB"
                    % ((rss - rss0) / IDLE, rss - rss0, IDLE, rss / IDLE))
        target = "met" if rss < 256 * 1024 else "NOT met"
        harness.log("idle: target < 256 MiB with %d connections: %s" % (IDLE, target))
        for s in socks:
            s.close()
    finally:
        c.stop()


if __name__ == "__main__":
    main()
