"""Thousands of concurrent TLS connections on one collector.

Opens N connections (all handshaken and held open at once), sends one frame on
each, then a second frame on each, and closes them; every frame must be
stored exactly once and the collector must keep running.
"""
import resource

import harness
from harness import Collector, close_tls, frame


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def test_thousands_of_concurrent_connections():
    n = harness.scaled(1500)
    limit = raise_fd_limit(n)
    n = min(n, limit - 256)
    with Collector() as c:
        ctx = c.tls_context("client")
        import socket
        conns = []
        try:
            for i in range(n):
                raw = socket.create_connection(("127.0.0.1", c.port), timeout=30)
                conns.append(ctx.wrap_socket(raw, server_hostname="localhost"))
            harness.log("%d connections open at once" % len(conns))
            for round_no in (1, 2):
                for i, s in enumerate(conns):
                    msg = ("<14>1 - conn-%d many - - - round %d of connection %d" % (i % 10, round_no, i)).encode()
                    s.sendall(frame(msg))
        finally:
            for s in conns:
                close_tls(s)
        events = c.wait_for_count(2 * n, timeout=120)
        msgs = sorted(e["msg"] for e in events)
        expected = sorted("round %d of connection %d" % (r, i) for r in (1, 2) for i in range(n))
        assert msgs == expected, "stored %d messages, expected %d" % (len(msgs), len(expected))
        assert c.alive()
        hosts = {e["host"] for e in events}
        assert hosts == {"conn-%d" % i for i in range(min(n, 10))}, hosts


if __name__ == "__main__":
    harness.main([test_thousands_of_concurrent_connections])
