"""Thousands of concurrent TLS connections on one collector.

Opens N connections (all handshaken and held open at once), sends one frame on
each, then a second frame on each, and closes them; every frame must be
stored exactly once and the collector must keep running. Then one peer's
idle sockets must not keep other senders from handshaking.
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


def test_one_peer_cannot_take_every_handshake_slot():
    """1100 idle TCP connections from 127.0.0.2 (more than [limits] max_handshakes = 1000) while
    a sender on 127.0.0.1 keeps delivering: its frames are all stored, and the refusals are
    CONNECTION_LIMIT events naming the per-peer limit."""
    import socket
    import time
    limit = raise_fd_limit(1100 + 256)
    n = min(1100, limit - 256)
    with Collector() as c:
        idle, refused = [], 0
        sent = []
        try:
            for i in range(n):
                s = socket.socket()
                s.bind(("127.0.0.2", 0))
                s.settimeout(5)
                try:
                    s.connect(("127.0.0.1", c.port))
                    idle.append(s)
                except OSError:
                    refused += 1
                    s.close()
                if i % 100 == 99:  # the real sender, while the flood goes on
                    start = time.time()
                    msg = ("<14>1 - flood-victim many - - - delivered during flood %d" % i).encode()
                    c.send_frames([msg])
                    sent.append(msg)
                    assert time.time() - start < 5, "the sender waited %.1fs" % (time.time() - start)
        finally:
            for s in idle:
                s.close()
        events = c.wait_for_count(len(sent), timeout=60)
        assert sorted(e["msg"] for e in events) == sorted(m.decode().split(" - - - ")[1] for m in sent)
        limits = c.wait_for(lambda: [e for e in c.self_events("CONNECTION_LIMIT")
                                     if "max_handshakes_per_peer" in e["msg"]], 30,
                            "CONNECTION_LIMIT for the per-peer handshake limit")
        harness.log("%d idle connections opened, %d refused by the client; %d CONNECTION_LIMIT events"
                    % (len(idle), refused, len(limits)))
        assert c.alive()


if __name__ == "__main__":
    harness.main([test_thousands_of_concurrent_connections, test_one_peer_cannot_take_every_handshake_slot])
