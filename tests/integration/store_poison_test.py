#!/usr/bin/env python3
"""Bytes from outside never make the store unreadable (hostile-world, part 1a).

An unauthenticated `GET /v1/hosts?\\xff\\xfe` (its API_DENIED record carries the target),
authenticated requests whose filters decode to invalid UTF-8, and syslog frames with invalid
UTF-8 in HOSTNAME, APP-NAME, MSGID and SD once made the block holding them unparseable: every
later /v1/events, /v1/tail and `trailkeepd query` failed with "event block N does not parse",
across restarts. Now each is stored with the bad bytes escaped (the raw frame keeps them
exactly), and every reader goes on reading, before and after a restart.
"""
import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Collector, log  # noqa: E402


def raw_https(c, request, cert=None):
    """Sends `request` (bytes, exactly) over TLS to the API; returns the status line's code."""
    ctx = c.tls_context(cert=cert)
    with socket.create_connection(("127.0.0.1", c.export_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(request)
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    return int(data.split(b" ", 2)[1])


def curl(c, path, token, max_time=20):
    r = subprocess.run(["curl", "-sS", "--http1.1", "-D", "-", "--max-time", str(max_time),
                        "--cacert", os.path.join(c.pki, "ca.pem"),
                        "-H", "Authorization: Bearer " + token,
                        "https://127.0.0.1:%d%s" % (c.export_port, path)], capture_output=True)
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body


def admin_token(c):
    with open(os.path.join(c.workdir, "dev", "admin.token")) as f:
        return f.read().strip()


def all_events(c, token):
    status, body = curl(c, "/v1/events?cursor=0&limit=10000", token)
    assert status == 200, (status, body[:300])
    lines = [json.loads(l) for l in body.decode().splitlines() if l.strip()]
    return [e for e in lines if "ingest_seq" in e]  # the last line is {"next_cursor": ...}


def poison(c, token):
    # Unauthenticated, raw bytes in the request target.
    assert raw_https(c, b"GET /v1/hosts?\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n") in (400, 401)
    # A known parameter keeps its value in the record (unknown ones are redacted).
    assert raw_https(c, b"GET /v1/hosts?q=\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n") in (400, 401)
    assert raw_https(c, b"GET /v1/ev\xc3\x28nts HTTP/1.1\r\nHost: x\r\nX-Junk: \xff\r\n\r\n") in (400, 401, 404)
    # Authenticated filters that percent-decode to invalid UTF-8.
    for path in ("/v1/events?q=%ff%fe", "/v1/events?host=web-%c3%28", "/v1/hosts?x=%ff"):
        status, body = curl(c, path, token)
        assert status in (200, 400), (path, status, body[:200])
    # Syslog fields with invalid UTF-8 (RFC 5424 and legacy).
    c.send_frames([b"<13>1 - web-\xff app\xfe 1 ID\xc3 [x@1 k=\"v\xff\"] poisoned 5424",
                   b"<13>Oct 11 22:14:15 gear\xfe tag\xff: poisoned 3164"])


def strings(value):
    """Every string inside a decoded JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def check_readable(c, token):
    escaped = "/v1/hosts?q=\\xFF\\xFE"  # the target as stored: each bad byte as \xHH
    events = c.wait_for(lambda: (lambda evs: evs if any(escaped in strings(e) for e in evs) else None)(
        all_events(c, token)), what="API_DENIED with the escaped target")
    texts = [t for e in events for t in strings(e)]
    assert "q=\\xFF\\xFE" in texts and "host=web-\\xC3(" in texts, "authenticated filters stored escaped"
    raws = [base64.b64decode(e["raw_b64"]) for e in events]
    assert b"<13>1 - web-\xff app\xfe 1 ID\xc3 [x@1 k=\"v\xff\"] poisoned 5424" in raws, "raw kept exactly"
    assert b"<13>Oct 11 22:14:15 gear\xfe tag\xff: poisoned 3164" in raws
    # /v1/hosts, /v1/tail and the local tools read past them too.
    status, body = curl(c, "/v1/hosts", token)
    assert status == 200, (status, body[:300])
    status, body = curl(c, "/v1/tail?cursor=0", token, max_time=3)
    assert b"API_DENIED" in body and b"store read failed" not in body, body[-300:]
    local = c.query()
    assert len(local) >= len(events), (len(local), len(events))
    for tool in (["hosts"], ["report", "auth"]):
        r = subprocess.run([os.path.join(harness.BIN, "trailkeepd")] + tool + ["--db", c.db], capture_output=True)
        assert r.returncode == 0 and b"does not parse" not in r.stderr, (tool, r.stderr)
    return len(events)


def test_outside_bytes_never_poison_readers():
    c = Collector()
    c.start()
    try:
        token = admin_token(c)
        poison(c, token)
        before = check_readable(c, token)
        c.stop()
        c.start()
        after = check_readable(c, token)
        assert after >= before, (before, after)
        log("stored and read back %d events, before and after a restart" % after)
    finally:
        c.stop()


if __name__ == "__main__":
    harness.main([test_outside_bytes_never_poison_readers])
