"""Hostile and broken input on the RFC 5425 listener.

Covers: garbage instead of a TLS handshake (random bytes, an HTTP request, plain syslog over TCP,
a truncated ClientHello) -> TLS_HANDSHAKE_FAILED naming the peer, nothing stored, no crash;
framing errors over a good TLS connection (count above the maximum, 11 digits, leading zero, zero
count, over-long line) -> earlier frames kept, server closes, FRAMING_ERROR; a half-sent frame at
disconnect -> TRUNCATED_FRAME; invalid UTF-8 and NUL bytes stored byte-exact with valid JSON
output; a flood of failed handshakes -> bounded RSS, rate-limited self events with a summary,
collector still serving; the handshake deadline closes silent connections.
"""
import base64
import json
import os
import random
import socket
import ssl
import subprocess
import threading
import time
import uuid

import harness
from harness import Collector, frame, close_tls, b64, log, scaled
from pki import TestPki, collector_config, shared_pki as pki



def configured(**kw):
    """An unstarted collector with a TOML config (client_auth optional, like dev mode)."""
    kw.setdefault("client_auth", "optional")
    kw.setdefault("crl", False)
    return Collector(config_text=collector_config(pki(), **kw))


def tls_connect(col):
    """TLS connection with a client certificate valid for `col` (dev PKI or the test PKI)."""
    if col.config_text is None:
        s = col.connect("client")
    else:
        s = col.connect(cert=pki().base("client"), ca=pki().cert("ca"))
    return s, "127.0.0.1:%d" % s.getsockname()[1]


def message(marker, extra=b""):
    return b"<13>1 2024-05-01T10:00:00.000Z tk-bad-host badtest - - - " + marker.encode() + extra


def params(e):
    return {p["name"]: p["value"] for sd in e.get("structured_data", []) for p in sd["params"]}


def self_event_for(col, msgid, peer, timeout=20):
    def find():
        return [e for e in col.self_events(msgid) if params(e).get("peer") == peer]
    found = col.wait_for(find, timeout, "%s for %s" % (msgid, peer))
    assert len(found) == 1, found
    return found[0]


def read_until_closed(s, timeout=20):
    """Reads until the server ends the connection; returns how ('eof', 'reset', ...).

    Fails if the connection is still open after `timeout` seconds."""
    s.settimeout(timeout)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            if not s.recv(65536):
                return "eof"
    except socket.timeout:
        pass
    except ssl.SSLError as e:
        return "ssl error: %s" % e.reason
    except OSError as e:
        return "os error: %s" % e.__class__.__name__
    raise AssertionError("server did not close the connection within %s s" % timeout)


def stored_markers(col, prefix):
    return sorted(b64(e).decode("utf-8", "replace").rsplit(" ", 1)[-1]
                  for e in col.peer_events() if prefix.encode() in b64(e))


def assert_alive(col, what):
    assert col.alive(), "collector died after %s:\n%s" % (what, col.read_log()[-3000:])


# --- not TLS at all ----------------------------------------------------------------------------

def test_garbage_instead_of_handshake():
    rnd = random.Random(5425)
    cases = [
        ("random bytes", bytes(rnd.getrandbits(8) for _ in range(700)), r""),
        ("HTTP request", b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: tk-test\r\n\r\n", r""),
        ("plain syslog over TCP", frame(message("plaintext-" + uuid.uuid4().hex)) +
         message("plainline").replace(b"plainline", b"plainline\n"), r""),
        ("TLS record header then garbage", b"\x16\x03\x01\x00\x50" + bytes(rnd.getrandbits(8) for _ in range(80)), r""),
        ("half a ClientHello then close", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", r""),
        ("connect and close", b"", r""),
    ]
    with Collector() as col:
        for what, payload, _ in cases:
            raw = socket.create_connection(("127.0.0.1", col.port), timeout=10)
            local = "127.0.0.1:%d" % raw.getsockname()[1]
            try:
                if payload:
                    raw.sendall(payload)
                if what.endswith("then close") or what == "connect and close":
                    raw.shutdown(socket.SHUT_WR)
                how = read_until_closed(raw)
            finally:
                raw.close()
            e = self_event_for(col, "TLS_HANDSHAKE_FAILED", local)
            log("  %-32s closed: %-22s reason: %s" % (what, how, params(e).get("reason")))
            assert params(e).get("reason"), e
            assert_alive(col, what)
        assert not col.peer_events(), col.peer_events()
        # Still serving.
        s, _ = tls_connect(col)
        s.sendall(frame(message("after-garbage")))
        close_tls(s)
        col.wait_for_count(1)
        assert_alive(col, "garbage")


# --- framing errors over a good TLS connection ----------------------------------------------------

def framing_case(col, name, bad, expect_msgid, reason_has, n_good=3, split=False):
    """Sends n_good valid frames then `bad` on one connection; checks the outcome."""
    s, local = tls_connect(col)
    prefix = "%s-%s-" % (name, uuid.uuid4().hex[:6])
    good = [message(prefix + str(i)) for i in range(n_good)]
    payload = b"".join(frame(m) for m in good)
    if split:
        s.sendall(payload)
        time.sleep(0.2)
        payload = b""
    if expect_msgid == "TRUNCATED_FRAME":
        s.sendall(payload + bad)
        close_tls(s)  # close_notify in the middle of a frame
        how = "client closed"
    else:
        try:
            s.sendall(payload + bad)
        except OSError:
            pass  # the server may already have closed
        how = read_until_closed(s)
        s.close()
    e = self_event_for(col, expect_msgid, local)
    reason = params(e).get("reason", "")
    log("  %-14s %-16s closed: %-26s reason: %s" % (name, expect_msgid, how, reason))
    for r in reason_has:
        assert r in reason, "%s: reason %r lacks %r" % (name, reason, r)
    want = sorted(prefix + str(i) for i in range(n_good))
    got = col.wait_for(lambda: stored_markers(col, prefix) if len(stored_markers(col, prefix)) >= n_good else None,
                       20, "%d frames before the error" % n_good)
    assert got == want, (got, want)
    assert_alive(col, name)


def test_framing_errors_default_max():
    with Collector() as col:
        # Default maximum 64 KiB: a count of 65537 is refused before the body arrives.
        framing_case(col, "over64k", b"65537 " + b"x" * 1000, "FRAMING_ERROR", ["65537", "maximum", "65536"])
        # Exactly the maximum is accepted.
        big = message("exactly64k-") + b"y" * (65536 - len(message("exactly64k-")))
        s, _ = tls_connect(col)
        s.sendall(frame(big))
        close_tls(s)
        col.wait_for(lambda: [e for e in col.peer_events() if b64(e) == big], 20, "64 KiB frame")
        framing_case(col, "elevendigits", b"12345678901 <13>1 - - - - - - x", "FRAMING_ERROR", ["more than 10 digits"])
        framing_case(col, "tendigits", b"9999999999 <13>1 - - - - - - x", "FRAMING_ERROR", ["maximum"])
        framing_case(col, "leadingzero", b"05 <13>1", "FRAMING_ERROR", ["leading zero"], split=True)
        framing_case(col, "zerocount", b"0 <13>1 - - - - - - x", "FRAMING_ERROR", ["zero"])
        framing_case(col, "truncated", b"100 " + b"z" * 10, "TRUNCATED_FRAME", ["14 bytes", "incomplete frame"])
        assert_alive(col, "framing errors")


def test_framing_errors_configured_max():
    with configured(limits={"max_frame_bytes": 1000}) as col:
        framing_case(col, "over1000", b"2000 " + b"a" * 2000, "FRAMING_ERROR", ["2000", "maximum frame of 1000"])
        framing_case(col, "longline", b"<13>1 " + b"b" * 3000, "FRAMING_ERROR", ["1000"])
        # 1000 octets is fine.
        ok = message("exactly1000-") + b"c" * (1000 - len(message("exactly1000-")))
        s, _ = tls_connect(col)
        s.sendall(frame(ok))
        close_tls(s)
        col.wait_for(lambda: [e for e in col.peer_events() if b64(e) == ok], 20, "1000-byte frame")


# --- bytes that are not UTF-8 ---------------------------------------------------------------------

def test_invalid_utf8_and_nul_stored_exactly():
    bodies = [
        message("badutf8", b" \xff\xfe\xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 \x80"),
        message("nul", b" before\x00after \x00\x00"),
        b"<13>1 2024-05-01T10:00:00Z h\xffst app\x00 - - - header bytes",
        b"<13>May  1 10:00:00 legacy\xc0host prog: bsd \xff message",
        message("bom", b" \xef\xbb\xbfBOM in the middle and a lone \xef\xbb"),
        message("withlf", b" line one\nline two\n"),
        message("escape", b" \x1b[31mred\x1b[0m \x07bell \x7f"),
    ]
    with Collector() as col:
        s, _ = tls_connect(col)
        s.sendall(b"".join(frame(b) for b in bodies))
        close_tls(s)
        events = col.wait_for_count(len(bodies))
        got = sorted(b64(e) for e in events)
        assert got == sorted(bodies), (got, sorted(bodies))
        # JSON output: strictly valid UTF-8, one valid JSON document per line (the harness's
        # json.loads already parsed it; check the bytes too). Text output passes invalid UTF-8
        # through by design, but must not carry raw control characters (NUL, ESC) to a terminal.
        bin_ = os.path.join(harness.BIN, "trailkeepd")
        for fmt in ("json", "text"):
            r = subprocess.run([bin_, "query", "--db", col.db, "--format", fmt], capture_output=True, timeout=60)
            assert r.returncode == 0, r.stderr
            lines = r.stdout.split(b"\n")
            assert lines[-1] == b"", lines[-1]
            assert len(lines) - 1 >= len(bodies), lines
            for line in lines[:-1]:
                bad = [c for c in line if c < 0x20 and c != 0x09]
                assert not bad, "%s output line with control bytes %r: %r" % (fmt, bad, line)
                if fmt == "json":
                    json.loads(line.decode("utf-8"))  # strict
        assert_alive(col, "invalid UTF-8")


# --- handshake flood --------------------------------------------------------------------------------

def test_handshake_flood():
    n = max(50, scaled(2000))  # enough to overflow the burst even at a tiny scale
    window, burst = 2, 5
    # max_connections below the flood size: connections that have ended must not count against
    # it, so a valid client still gets in afterwards.
    with configured(self_audit={"window_seconds": window, "burst": burst},
                    limits={"max_connections": max(20, n // 2)}) as col:
        time.sleep(0.5)
        rss_before = col.rss_kib()
        counter = {"sent": 0, "connect_errors": 0}
        lock = threading.Lock()
        rnd_payloads = [os.urandom(random.Random(i).randint(1, 600)) for i in range(16)]

        def worker(k, count):
            for i in range(count):
                try:
                    s = socket.create_connection(("127.0.0.1", col.port), timeout=10)
                    mode = i % 3
                    if mode == 0:
                        s.sendall(rnd_payloads[(k + i) % len(rnd_payloads)])
                    elif mode == 1:
                        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    s.close()  # mode 2: nothing at all
                    with lock:
                        counter["sent"] += 1
                except OSError:
                    with lock:
                        counter["connect_errors"] += 1

        threads_n = 16
        per = [n // threads_n + (1 if k < n % threads_n else 0) for k in range(threads_n)]
        t0 = time.time()
        threads = [threading.Thread(target=worker, args=(k, per[k])) for k in range(threads_n)]
        for t in threads:
            t.start()
        peak = rss_before
        while any(t.is_alive() for t in threads):
            peak = max(peak, col.rss_kib())
            time.sleep(0.1)
        for t in threads:
            t.join()
        flood_s = time.time() - t0
        assert_alive(col, "flood")

        # Every connection ends up as exactly one failed handshake (or a connection-limit refusal);
        # each is either an individual self event or counted in a summary. Summaries come when a
        # window ends, so poll.
        def accounted():
            ev = col.self_events("TLS_HANDSHAKE_FAILED") + col.self_events("CONNECTION_LIMIT")
            single = [e for e in ev if params(e).get("summary") != "1"]
            summ = [e for e in ev if params(e).get("summary") == "1"]
            return single, summ, len(single) + sum(int(params(e)["suppressed"]) for e in summ)

        deadline = time.time() + 60
        last, stable_since = -1, time.time()
        while time.time() < deadline:
            peak = max(peak, col.rss_kib())
            single, summ, total = accounted()
            if total != last:
                last, stable_since = total, time.time()
            if total >= counter["sent"] or time.time() - stable_since > 3 * window + 2:
                break
            time.sleep(0.5)
        single, summ, total = accounted()
        rss_after = col.rss_kib()
        log("  %d connections (%d connect errors) in %.1fs; RSS %d -> peak %d -> %d KiB; "
            "%d individual events, %d summaries, %d accounted"
            % (counter["sent"], counter["connect_errors"], flood_s, rss_before, peak, rss_after,
               len(single), len(summ), total))
        for e in summ[:3]:
            log("    summary: %s" % e["msg"][:200])

        assert peak - rss_before < 200 * 1024, "RSS grew by %d KiB" % (peak - rss_before)
        assert rss_after - rss_before < 200 * 1024
        assert summ, "no summary self event after %d failed handshakes" % n
        for e in summ:
            prm = params(e)
            assert int(prm["suppressed"]) > 0 and int(prm["distinct_peers"]) >= 1, prm
            assert "peer" not in prm, prm
            # The window's first and last suppressed events: when, from whom, what.
            assert prm["first_time"] <= prm["last_time"] <= e["timestamp"], prm
            if e["msgid"] == "TLS_HANDSHAKE_FAILED":
                assert prm["first_peer"].startswith("127.0.0.1:"), prm
                assert prm["last_peer"].startswith("127.0.0.1:"), prm
            assert prm["first_msg"] and prm["last_msg"], prm
        # Bounded by the rate limit: at most `burst` individual events per window per kind.
        elapsed = time.time() - t0
        windows = int(elapsed / window) + 2
        assert len(single) <= 2 * burst * windows, (len(single), windows)
        assert len(single) + len(summ) < counter["sent"] / 4, (len(single), len(summ), counter["sent"])
        assert total <= counter["sent"], (total, counter["sent"])
        assert total >= 0.95 * counter["sent"], "only %d of %d failed connections accounted for" % (total, counter["sent"])

        # A valid client still gets through.
        try:
            s, _ = tls_connect(col)
            s.sendall(frame(message("after-flood")))
            close_tls(s)
        except OSError as e:
            raise AssertionError("valid client refused after the flood (%s); CONNECTION_LIMIT events: %s"
                                 % (e, [x["msg"] for x in col.self_events("CONNECTION_LIMIT")][-3:]))
        col.wait_for(lambda: [e for e in col.peer_events() if b"after-flood" in b64(e)], 30, "event after flood")
        assert_alive(col, "flood")


def test_ended_connections_release_their_slot():
    """limits.max_connections counts open connections, not every connection ever accepted."""
    limit = 4
    with configured(limits={"max_connections": limit}) as col:
        sent = []
        for i in range(3 * limit):
            kind = ("good", "failed handshake", "framing error")[i % 3]
            try:
                if kind == "good":
                    marker = "slot-%d" % i
                    s, _ = tls_connect(col)
                    s.sendall(frame(message(marker)))
                    close_tls(s)
                    sent.append(marker)
                elif kind == "failed handshake":
                    raw = socket.create_connection(("127.0.0.1", col.port), timeout=10)
                    raw.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    read_until_closed(raw)
                    raw.close()
                else:
                    s, _ = tls_connect(col)
                    s.sendall(b"05 x")
                    read_until_closed(s)
                    s.close()
            except OSError as e:
                limits = [x["msg"] for x in col.self_events("CONNECTION_LIMIT")]
                raise AssertionError("connection %d (%s; the earlier ones are closed) refused with max_connections=%d: "
                                     "%s; CONNECTION_LIMIT events: %s" % (i, kind, limit, e, limits))
        col.wait_for(lambda: len(stored_markers(col, "slot-")) >= len(sent), 20, "all good connections stored")
        assert not col.self_events("CONNECTION_LIMIT"), [x["msg"] for x in col.self_events("CONNECTION_LIMIT")]
        assert_alive(col, "sequential connections")


# --- handshake deadline ----------------------------------------------------------------------------

def test_handshake_timeout():
    with configured(limits={"handshake_timeout_ms": 500}) as col:
        for what, payload in (("silent", b""), ("stalled ClientHello", b"\x16\x03\x01\x02\x00\x01")):
            raw = socket.create_connection(("127.0.0.1", col.port), timeout=30)
            local = "127.0.0.1:%d" % raw.getsockname()[1]
            if payload:
                raw.sendall(payload)
            t0 = time.time()
            how = read_until_closed(raw, timeout=20)
            raw.close()
            e = self_event_for(col, "TLS_HANDSHAKE_FAILED", local)
            log("  %-20s closed by server (%s) after %.1fs; reason: %s"
                % (what, how, time.time() - t0, params(e).get("reason")))
            assert params(e).get("reason") == "TLS handshake timed out", params(e)
        # A normal client is not affected by the short deadline.
        s, _ = tls_connect(col)
        s.sendall(frame(message("after-timeout")))
        close_tls(s)
        col.wait_for_count(1)
        assert_alive(col, "handshake timeout")


if __name__ == "__main__":
    harness.main([
        test_garbage_instead_of_handshake,
        test_framing_errors_default_max,
        test_framing_errors_configured_max,
        test_invalid_utf8_and_nul_stored_exactly,
        test_handshake_timeout,
        test_ended_connections_release_their_slot,
        test_handshake_flood,
    ])
