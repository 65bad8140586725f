"""TLS syslog ingest end to end: real TLS clients in, `trailkeepd query` out.

Covers:
  - openssl s_client with the dev client certificate, octet-counted and LF-framed
    streams of RFC 5424 / RFC 3164 / PRI-less messages; every stored field is
    compared with values written down here, and each message is stored once.
  - Python ssl client: many frames (octet-counted and LF mixed) in one write,
    and frames split across TLS records at every byte offset of the header;
    everything stored once, in order.
  - loggen (syslog-ng) without a client certificate: RFC 5424 (-P) and legacy
    BSD format, one connection and four concurrent connections; the stored
    count equals loggen's own count and every (thread, seq) appears once.
  - query filters: --host globs, --since/--until (RFC 3339 and relative),
    --limit, json and text output, and `trailkeepd hosts`.
"""
import datetime
import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, Collector, b64, close_tls, frame, log, scaled  # noqa: E402

UTC = datetime.timezone.utc
RECEIVE_TIME = object()  # expected value: the event's own receive_time




# --- helpers -------------------------------------------------------------------

def fmt_us(dt):
    """The collector's RFC 3339 form: microseconds, Z."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_us(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def yearless_time(month, day, hh, mm, ss, receive_text):
    """Year inference as documented for BSD timestamps: the latest year that does
    not put the time more than 31 days after the receive time."""
    recv = parse_us(receive_text)
    for year in range(recv.year + 1, recv.year - 8, -1):
        try:
            t = datetime.datetime(year, month, day, hh, mm, ss, tzinfo=UTC)
        except ValueError:
            continue
        if t <= recv + datetime.timedelta(days=31):
            return fmt_us(t)
    raise AssertionError("no year found")


def cert_sha256(pem_path):
    with open(pem_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return "sha-256:" + ":".join("%02X" % b for b in hashlib.sha256(der).digest())


def hosts(c):
    out = harness.run([os.path.join(BIN, "trailkeepd"), "hosts", "--db", c.db, "--format", "json"], timeout=60)
    return [json.loads(l) for l in out.stdout.decode().splitlines() if l.strip()]


def wait_unauthenticated(c, n, timeout=120):
    """Cheap poll (host states, not a scan): unauthenticated events stored >= n."""
    return c.wait_for(lambda: sum(h["unauthenticated_events"] for h in hosts(c)) >= n, timeout,
                      "%d unauthenticated events" % n)


def wait_exact_peer_events(c, n, *args, timeout=60):
    """Waits for n peer events, then checks no more arrive (each stored once)."""
    c.wait_for_count(n, timeout, *args)
    time.sleep(0.5)
    events = c.peer_events(*args)
    assert len(events) == n, "expected exactly %d stored events, got %d" % (n, len(events))
    return events


def check_fields(name, event, expect, errors):
    for key, want in expect.items():
        got = event
        for part in key.split("."):
            got = got[part]
        if want is RECEIVE_TIME:
            want = event["receive_time"]
        elif callable(want):
            want = want(event)
        if got != want:
            errors.append("%s: %s is %r, expected %r" % (name, key, got, want))


def sd(*elements):
    return [{"id": i, "params": [{"name": n, "value": v} for n, v in params]} for i, params in elements]


def run_query_raw(c, *args):
    return subprocess.run([os.path.join(BIN, "trailkeepd"), "query", "--db", c.db] + list(args),
                          capture_output=True, timeout=120)


# --- the message corpus ---------------------------------------------------------
# (name, bytes sent, expected fields). `raw` is checked separately against the
# bytes of the frame (minus the LF terminator for LF framing).

RFC5424 = {"format": "rfc5424", "version": 1, "parse_error": ""}
BSD = {"format": "rfc3164", "version": 0, "parse_error": "", "msgid": "", "structured_data": []}

CORPUS = [
    ("sd_escapes",
     rb'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
     rb'[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]'
     rb'[examplePriority@32473 class="high" esc="a\]b\"c\\d" lit="x\ny" empty=""] An application event log entry',
     dict(RFC5424, pri=165, facility="local4", severity="notice", timestamp="2003-10-11T22:14:15.003Z",
          event_time="2003-10-11T22:14:15.003000Z", event_time_inferred=False, tz_offset_min=0,
          hostname="mymachine.example.com", host="mymachine.example.com", app_name="evntslog", procid="",
          msgid="ID47",
          structured_data=sd(("exampleSDID@32473", [("iut", "3"), ("eventSource", "Application"),
                                                    ("eventID", "1011")]),
                             ("examplePriority@32473", [("class", "high"), ("esc", 'a]b"c\\d'),
                                                        ("lit", "x\\ny"), ("empty", "")])),
          msg="An application event log entry", msg_has_bom=False)),
    ("bom_utf8",
     b"<34>1 2003-10-11T22:14:15.003Z bom.example.com su - ID47 - \xef\xbb\xbf'su root' failed for "
     b"lonvick on /dev/pts/8 caf\xc3\xa9 \xe2\x9c\x93",
     dict(RFC5424, pri=34, facility="auth", severity="crit", timestamp="2003-10-11T22:14:15.003Z",
          event_time="2003-10-11T22:14:15.003000Z", event_time_inferred=False,
          hostname="bom.example.com", host="bom.example.com", app_name="su", procid="", msgid="ID47",
          structured_data=[], msg="'su root' failed for lonvick on /dev/pts/8 caf\u00e9 \u2713",
          msg_has_bom=True)),
    ("all_nil",
     b"<13>1 - - - - - -",
     dict(RFC5424, pri=13, facility="user", severity="notice", timestamp="-", event_time=RECEIVE_TIME,
          event_time_inferred=True, tz_offset_min=0, hostname="", host="dev-client", app_name="",
          procid="", msgid="", structured_data=[], msg="", msg_has_bom=False)),
    ("nil_with_msg",
     b"<0>1 - - - - - - nil header, kern.emerg",
     dict(RFC5424, pri=0, facility="kern", severity="emerg", timestamp="-", event_time=RECEIVE_TIME,
          event_time_inferred=True, hostname="", host="dev-client", app_name="", procid="", msgid="",
          structured_data=[], msg="nil header, kern.emerg")),
    ("micro_negative_offset",
     b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
     dict(RFC5424, pri=165, timestamp="2003-08-24T05:14:15.000003-07:00",
          event_time="2003-08-24T12:14:15.000003Z", event_time_inferred=False, tz_offset_min=-420,
          hostname="192.0.2.1", host="192.0.2.1", app_name="myproc", procid="8710", msgid="",
          structured_data=[], msg="%% It's time to make the do-nuts.")),
    ("tenths_positive_offset",
     b'<86>1 2026-03-01T23:59:59.5+05:30 fr.example.org sshd 4242 - '
     b'[timeQuality tzKnown="1" isSynced="1" syncAccuracy="1000"] Accepted publickey for alice',
     dict(RFC5424, pri=86, facility="authpriv", severity="info", timestamp="2026-03-01T23:59:59.5+05:30",
          event_time="2026-03-01T18:29:59.500000Z", event_time_inferred=False, tz_offset_min=330,
          hostname="fr.example.org", host="fr.example.org", app_name="sshd", procid="4242", msgid="",
          structured_data=sd(("timeQuality", [("tzKnown", "1"), ("isSynced", "1"), ("syncAccuracy", "1000")])),
          msg="Accepted publickey for alice")),
    ("junos",
     b'<14>1 2021-05-15T10:22:01.734+02:00 srx-1 RT_FLOW - RT_FLOW_SESSION_CREATE '
     b'[junos@2636.1.1.1.2.40 source-address="10.0.0.1" source-port="52345" destination-address="8.8.8.8" '
     b'destination-port="53" service-name="junos-dns-udp" nat-source-address="192.0.2.7" '
     b'nat-source-port="31000" protocol-id="17" policy-name="trust-to-untrust" username="N/A"] '
     b'session created 10.0.0.1/52345->8.8.8.8/53 junos-dns-udp',
     dict(RFC5424, pri=14, facility="user", severity="info", timestamp="2021-05-15T10:22:01.734+02:00",
          event_time="2021-05-15T08:22:01.734000Z", event_time_inferred=False, tz_offset_min=120,
          hostname="srx-1", host="srx-1", app_name="RT_FLOW", procid="", msgid="RT_FLOW_SESSION_CREATE",
          structured_data=sd(("junos@2636.1.1.1.2.40", [
              ("source-address", "10.0.0.1"), ("source-port", "52345"), ("destination-address", "8.8.8.8"),
              ("destination-port", "53"), ("service-name", "junos-dns-udp"),
              ("nat-source-address", "192.0.2.7"), ("nat-source-port", "31000"), ("protocol-id", "17"),
              ("policy-name", "trust-to-untrust"), ("username", "N/A")])),
          msg="session created 10.0.0.1/52345->8.8.8.8/53 junos-dns-udp")),
    ("bsd",
     b"<13>Nov 23 05:08:34 vm myapp: hello bsd",
     dict(BSD, pri=13, facility="user", severity="notice", timestamp="Nov 23 05:08:34",
          event_time=lambda e: yearless_time(11, 23, 5, 8, 34, e["receive_time"]), event_time_inferred=True,
          tz_offset_min=0, hostname="vm", host="vm", app_name="myapp", procid="", msg="hello bsd")),
    ("bsd_iso_loggen",
     b"<38>2026-11-23T05:12:21 localhost prg00000[1234]: x",
     dict(BSD, pri=38, facility="auth", severity="info", timestamp="2026-11-23T05:12:21",
          event_time="2026-11-23T05:12:21.000000Z", event_time_inferred=True, tz_offset_min=0,
          hostname="localhost", host="localhost", app_name="prg00000", procid="1234", msg="x")),
    ("iso_no_pri",
     b"2021-12-06T11:09:30.302105-05:00 api-1 top: load average 0.41, 0.35, 0.30",
     dict(BSD, pri=None, facility=None, severity=None, timestamp="2021-12-06T11:09:30.302105-05:00",
          event_time="2021-12-06T16:09:30.302105Z", event_time_inferred=False, tz_offset_min=-300,
          hostname="api-1", host="api-1", app_name="top", procid="", msg="load average 0.41, 0.35, 0.30")),
]

# Only octet counting can carry these: an LF inside the message, and the
# trailing LF that rsyslog and loggen -P put inside the count.
OCTET_ONLY = [
    ("embedded_lf",
     b"<14>1 2026-01-01T00:00:00Z multi.example.com app - - - line one\nline two\n",
     dict(RFC5424, pri=14, timestamp="2026-01-01T00:00:00Z", event_time="2026-01-01T00:00:00.000000Z",
          event_time_inferred=False, hostname="multi.example.com", host="multi.example.com", app_name="app",
          procid="", msgid="", structured_data=[], msg="line one\nline two")),
]

# Only LF framing: CR LF line end (the CR is not part of the frame).
LF_ONLY = [
    ("crlf_line",
     b"<14>1 2026-01-01T00:00:01Z crlf.example.com app - - - ends with CR LF\r",
     dict(RFC5424, pri=14, timestamp="2026-01-01T00:00:01Z", event_time="2026-01-01T00:00:01.000000Z",
          hostname="crlf.example.com", host="crlf.example.com", app_name="app", msg="ends with CR LF")),
]


def s_client_send(c, payload, *extra):
    with tempfile.NamedTemporaryFile(dir=c.workdir, suffix=".bin", delete=False) as f:
        f.write(payload)
        path = f.name
    pki = c.pki
    args = ["openssl", "s_client", "-quiet", "-no_ign_eof", "-nocommands", "-verify_return_error",
            "-connect", "127.0.0.1:%d" % c.port, "-servername", "localhost", "-verify_hostname", "localhost",
            "-CAfile", os.path.join(pki, "ca.pem"), "-cert", os.path.join(pki, "client.pem"),
            "-key", os.path.join(pki, "client.key")] + list(extra)
    with open(path, "rb") as stdin:
        r = subprocess.run(args, stdin=stdin, capture_output=True, timeout=60)
    assert r.returncode == 0, "s_client failed (%d): %s" % (r.returncode, r.stderr.decode(errors="replace"))


def check_corpus(c, corpus, raw_of):
    events = wait_exact_peer_events(c, len(corpus))
    errors = []
    fp = cert_sha256(os.path.join(c.pki, "client.pem"))
    for name, msg, expect in corpus:
        raw = raw_of(msg)
        matching = [e for e in events if b64(e) == raw]
        if len(matching) != 1:
            errors.append("%s: stored %d times with the exact raw bytes %r" % (name, len(matching), raw))
            continue
        e = matching[0]
        check_fields(name, e, expect, errors)
        check_fields(name, e, {"transport": "tls-syslog", "integrity": "unsigned", "peer.authenticated": True,
                               "peer.cert_dns_names": ["dev-client"],
                               "peer.cert_subject": "CN=dev-client,O=trailkeep dev",
                               "peer.cert_sha256": fp, "peer.listener": "127.0.0.1:%d" % c.port}, errors)
        if not e["peer"]["address"].startswith("127.0.0.1:"):
            errors.append("%s: peer.address %r" % (name, e["peer"]["address"]))
    assert not errors, "field mismatches:\n  " + "\n  ".join(errors)


# --- tests ---------------------------------------------------------------------

def test_s_client_octet_counted():
    with Collector() as c:
        corpus = CORPUS + OCTET_ONLY
        s_client_send(c, b"".join(frame(m) for _, m, _ in corpus))
        check_corpus(c, corpus, lambda m: m)


def test_s_client_lf_framed():
    with Collector() as c:
        corpus = CORPUS + LF_ONLY
        s_client_send(c, b"".join(m + b"\n" for _, m, _ in corpus))
        check_corpus(c, corpus, lambda m: m[:-1] if m.endswith(b"\r") else m)


def test_s_client_tls12():
    """The same corpus over TLS 1.2 (ECDHE + AES-GCM), octet-counted."""
    with Collector() as c:
        corpus = CORPUS + OCTET_ONLY
        s_client_send(c, b"".join(frame(m) for _, m, _ in corpus), "-tls1_2")
        check_corpus(c, corpus, lambda m: m)


def test_large_messages():
    """2 KiB, 8 KiB (RFC 5425's "should") and the 64 KiB default maximum, both framings."""
    def big(tag, size):
        head = b"<13>1 2026-11-23T10:00:00Z big.example.com big - %s - " % tag
        body = bytes(0x21 + (i * 7) % 94 for i in range(size - len(head)))  # printable, no LF
        return head + body
    sizes = (2048, 8192, 65536)
    octet = [big(b"O%d" % n, n) for n in sizes]
    lines = [big(b"L%d" % n, n) for n in sizes]
    with Collector() as c:
        s = c.connect()
        for m in octet:
            s.sendall(frame(m))
        for m in lines:
            s.sendall(m + b"\n")
        s.sendall(frame(b"<13>1 - big.example.com big - END - after the big ones"))
        close_tls(s)
        events = wait_exact_peer_events(c, 7)
        events.sort(key=lambda e: e["ingest_seq"])
        got = [b64(e) for e in events]
        assert got[:6] == octet + lines, "sizes stored: %s" % [len(g) for g in got]
        for e, m in zip(events, octet + lines):
            body = m.split(b" - ", 2)[2].decode()
            assert e["parse_error"] == "" and e["msg"] == body, "%s: msg of %d bytes" % (e["msgid"], len(e["msg"]))
        assert events[6]["msg"] == "after the big ones"


def test_client_without_certificate():
    """Dev mode accepts a client without a certificate and marks its events; a
    NIL HOSTNAME then falls back to the peer address, not to a certificate name."""
    msgs = [b"<13>1 - - anon - - - no cert, nil hostname",
            b"<13>1 2026-11-23T10:00:00Z anon.example.com anon - - - no cert, hostname",
            b"<13>Nov 23 05:08:34 anonbsd anon: no cert, bsd"]
    with Collector() as c:
        c.send_frames(msgs, cert=None)
        events = wait_exact_peer_events(c, len(msgs))
        events.sort(key=lambda e: e["ingest_seq"])
        assert [b64(e) for e in events] == msgs
        errors = []
        for e, host in zip(events, ("127.0.0.1", "anon.example.com", "anonbsd")):
            check_fields(e["msg"], e, {"host": host, "app_name": "anon", "peer.authenticated": False,
                                       "peer.cert_subject": "", "peer.cert_sha256": "", "peer.cert_dns_names": [],
                                       "transport": "tls-syslog"}, errors)
        assert not errors, "\n".join(errors)
        per_host = {h["host"]: h for h in hosts(c)}
        assert per_host["127.0.0.1"]["unauthenticated_events"] == 1, per_host["127.0.0.1"]


def test_many_frames_in_one_write():
    n = scaled(400)
    msgs = [b"<134>1 2026-11-23T10:00:00.000001Z burst.example.com burst - M%d - burst %06d" % (i % 7, i)
            for i in range(n)]
    # Octet-counted and LF-framed alternate frame by frame, all in one write.
    payload = b"".join(frame(m) if i % 2 == 0 else m + b"\n" for i, m in enumerate(msgs))
    with Collector() as c:
        s = c.connect()
        s.sendall(payload)
        close_tls(s)
        events = wait_exact_peer_events(c, n)
        events.sort(key=lambda e: e["ingest_seq"])
        got = [b64(e) for e in events]
        assert got == msgs, "frames not stored once each in order (first difference at %d)" % next(
            i for i, (a, b) in enumerate(zip(got + [None] * n, msgs)) if a != b)
        assert all(e["msg"] == "burst %06d" % i for i, e in enumerate(events))


def test_frames_split_at_every_header_offset():
    base = b"<38>1 2026-11-23T10:00:00.123+01:00 split.example.com splitter 77 SPLIT [s@32473 k=\"v\"] split %04d"
    header_len = len(frame(base % 0)) - len(b"split 0000")  # count, SP and the whole RFC 5424 header + SD
    sent = []
    with Collector() as c:
        s = c.connect()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        k = 0
        # Octet-counted: split once at every offset of count + header.
        for off in range(1, header_len + 1):
            m = base % k
            f = frame(m)
            s.sendall(f[:off])
            time.sleep(0.002)
            s.sendall(f[off:])
            sent.append(m)
            k += 1
        # LF-framed: split once at every offset of the header.
        for off in range(1, header_len):
            m = base % k
            f = m + b"\n"
            s.sendall(f[:off])
            time.sleep(0.002)
            s.sendall(f[off:])
            sent.append(m)
            k += 1
        # One frame of each kind one byte per TLS record, LF terminator last.
        for wrap in (frame, lambda m: m + b"\n"):
            m = base % k
            for i, byte in enumerate(wrap(m)):
                s.sendall(bytes([byte]))
                if i % 16 == 0:
                    time.sleep(0.001)
            sent.append(m)
            k += 1
        # LF lines that start with a digit (ISO time, no PRI) and a BSD line, split
        # at every offset: the framer must not take "2021" for an octet count.
        others = []
        for line in (b"2021-12-06T11:09:30.302105-05:00 api-1 top: load average %04d",
                     b"<13>Nov 23 05:08:34 vm myapp: hello bsd %04d"):
            for off in range(1, 40):
                m = line % len(others)
                f = m + b"\n"
                s.sendall(f[:off])
                time.sleep(0.002)
                s.sendall(f[off:])
                others.append(m)
        # Two frames whose boundary falls inside one record, the second's count split.
        a, b_ = base % k, base % (k + 1)
        both = frame(a) + frame(b_)
        cut = len(frame(a)) + 1
        s.sendall(both[:cut])
        time.sleep(0.002)
        s.sendall(both[cut:])
        sent += [a, b_]
        close_tls(s)
        events = wait_exact_peer_events(c, len(sent) + len(others))
        events.sort(key=lambda e: e["ingest_seq"])
        other_events = [e for e in events if e["host"] != "split.example.com"]
        events = [e for e in events if e["host"] == "split.example.com"]
        assert [b64(e) for e in other_events] == others, "digit-led / BSD lines split at each offset stored wrong"
        assert all(e["format"] == "rfc3164" and e["app_name"] in ("top", "myapp") and e["parse_error"] == ""
                   for e in other_events), [e["app_name"] for e in other_events][:5]
        got = [b64(e) for e in events]
        bad = [i for i, (g, w) in enumerate(zip(got, sent)) if g != w]
        assert not bad, "split frames stored wrong or out of order at %s: got %r expected %r" % (
            bad[:5], got[bad[0]], sent[bad[0]])
        errors = []
        for i, e in enumerate(events):
            check_fields("split %d" % i, e, {
                "format": "rfc5424", "pri": 38, "hostname": "split.example.com", "app_name": "splitter",
                "procid": "77", "msgid": "SPLIT", "structured_data": sd(("s@32473", [("k", "v")])),
                "msg": "split %04d" % i, "event_time": "2026-11-23T09:00:00.123000Z", "parse_error": ""}, errors)
        assert not errors, "\n".join(errors[:10])


LOGGEN_RE = re.compile(r"seq: (\d{10}), thread: (\d{4}), runid: (\d+), stamp: \S+ (PADD)*")


def run_loggen(c, *args):
    cmd = ["loggen", "-U", "-r", "100000000", "-I", "60"] + list(args) + ["127.0.0.1", str(c.port)]
    r = subprocess.run(cmd, capture_output=True, timeout=180)
    out = (r.stdout + r.stderr).decode(errors="replace")
    assert r.returncode == 0, "%s failed (%d): %s" % (" ".join(cmd), r.returncode, out)
    m = re.findall(r"count=(\d+)", out)
    assert m, "no count= in loggen output: %r" % out
    return int(m[-1]), out


def check_loggen_events(events, threads, per_thread, fmt):
    """Every (thread, seq) 0..per_thread-1 present exactly once; fields as loggen sends them."""
    seen = {}
    errors = []
    for e in events:
        mt = LOGGEN_RE.match(e["msg"])
        if not mt:
            errors.append("msg does not look like loggen's: %r" % e["msg"][:80])
            continue
        key = (int(mt.group(2)), int(mt.group(1)))
        seen[key] = seen.get(key, 0) + 1
        want = {"format": fmt, "pri": 38, "facility": "auth", "severity": "info", "hostname": "localhost",
                "host": "localhost", "app_name": "prg00000", "procid": "1234", "parse_error": "",
                "peer.authenticated": False, "peer.cert_dns_names": [], "peer.cert_subject": "",
                "transport": "tls-syslog", "msg_has_bom": fmt == "rfc5424"}
        if len(errors) < 20:
            check_fields("loggen %s" % (key,), e, want, errors)
    assert not errors, "\n".join(errors[:20])
    dups = [k for k, v in seen.items() if v != 1]
    assert not dups, "stored more than once: %s" % dups[:10]
    expected = {(t, s) for t in range(threads) for s in range(per_thread)}
    missing = sorted(expected - set(seen))
    extra = sorted(set(seen) - expected)
    assert not missing and not extra, "missing %d (e.g. %s), unexpected %d (e.g. %s)" % (
        len(missing), missing[:5], len(extra), extra[:5])


def test_loggen_rfc5424():
    n = scaled(20000)
    with Collector() as c:
        count, out = run_loggen(c, "-P", "-n", str(n))
        assert count == n, "loggen sent %d of %d: %s" % (count, n, out)
        wait_unauthenticated(c, count)
        events = wait_exact_peer_events(c, count)
        check_loggen_events(events, 1, n, "rfc5424")
        # Raw bytes of loggen -P keep the BOM and the LF inside the count.
        raw = b64(events[0])
        assert raw.endswith(b"\n") and b" - - \xef\xbb\xbfseq: " in raw, raw[:120]


def test_loggen_legacy_bsd():
    n = scaled(5000)
    with Collector() as c:
        count, out = run_loggen(c, "-n", str(n))
        assert count == n, "loggen sent %d of %d: %s" % (count, n, out)
        wait_unauthenticated(c, count)
        events = wait_exact_peer_events(c, count)
        check_loggen_events(events, 1, n, "rfc3164")
        e = events[0]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", e["timestamp"]), e["timestamp"]
        assert e["event_time_inferred"] is True and e["event_time"] == e["timestamp"] + ".000000Z", e
        assert b64(e).startswith(b"<38>" + e["timestamp"].encode() + b" localhost prg00000[1234]: seq: ")


def test_loggen_four_connections():
    per = scaled(2500)
    with Collector() as c:
        count, out = run_loggen(c, "-P", "--active-connections", "4", "-n", str(per))
        assert count == 4 * per, "loggen sent %d of %d: %s" % (count, 4 * per, out)
        wait_unauthenticated(c, count)
        events = wait_exact_peer_events(c, count)
        check_loggen_events(events, 4, per, "rfc5424")
        assert len({e["peer"]["address"] for e in events}) == 4, "expected 4 distinct connections"
        # Plus two parallel loggen processes at once, RFC 5424 and legacy.
        per2 = scaled(1500)
        procs = [subprocess.Popen(["loggen", "-U", "-r", "100000000", "-I", "60", "-n", str(per2)] + extra +
                                  ["127.0.0.1", str(c.port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                 for extra in (["-P"], [])]
        total = count
        try:
            for p in procs:
                out, _ = p.communicate(timeout=180)
                assert p.returncode == 0, out
                total += int(re.findall(rb"count=(\d+)", out)[-1])
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        assert total == count + 2 * per2
        wait_unauthenticated(c, total)
        events = wait_exact_peer_events(c, total)
        assert sum(e["format"] == "rfc3164" for e in events) == per2
        assert sum(e["format"] == "rfc5424" for e in events) == count + per2


def to_text_line(e):
    """`query --format text` line as the collector documents it (event_format.cc)."""
    line = e["receive_time"] + " " + (e["host"] or "-") + " " + (e["app_name"] or "-")
    if e["procid"]:
        line += "[" + e["procid"] + "]"
    if e["pri"] is not None:
        line += " <%s.%s>" % (e["facility"], e["severity"])
    if e["refs"]:
        line += " [" + ",".join(e["refs"]) + "]"
    line += {"verified": " =", "bad_mac": " !", "after_gap": " +"}.get(e["integrity"], " ~")
    msg = "".join("\\n" if ch in "\r\n" else ("?" if ord(ch) < 0x20 and ch != "\t" else ch) for ch in e["msg"])
    return line + " " + msg


def test_query_filters():
    def msgs(host, tag, n):
        return [b"<165>1 2026-11-23T10:00:00Z %s qapp %d - - %s %s %d" % (host.encode(), i, tag.encode(),
                                                                           host.encode(), i) for i in range(n)]
    with Collector() as c:
        batch1 = msgs("web-1", "first", 5) + msgs("db-1", "first", 4) + [b"<14>1 - - qapp - - - nil first"]
        c.send_frames(batch1)
        c.wait_for_count(len(batch1))
        time.sleep(0.3)
        t_mid = datetime.datetime.now(UTC)
        time.sleep(0.3)
        batch2 = msgs("web-2", "second", 3) + msgs("db-1", "second", 2) + msgs("WEB-3.example.com", "second", 2)
        c.send_frames(batch2, octet_counted=False)
        total = len(batch1) + len(batch2)
        everything = c.wait_for(lambda: len(c.peer_events()) >= total and c.query(), 30, "all events")
        peers = [e for e in everything if e["transport"] != "self"]
        assert len(peers) == total
        seqs = [e["ingest_seq"] for e in everything]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "query output not in ingest order"

        def hosts_of(events):
            return sorted({e["host"] for e in events})

        def ids(events):
            return [e["ingest_seq"] for e in events]

        # --host globs (case-insensitive, as host names are).
        web = c.query("--host", "web-*")
        assert hosts_of(web) == ["WEB-3.example.com", "web-1", "web-2"], hosts_of(web)
        assert len(web) == 10 and ids(web) == sorted(ids(web))
        assert ids(web) == [e["ingest_seq"] for e in everything if e["host"].lower().startswith("web-")]
        assert len(c.query("--host", "web-1")) == 5
        assert len(c.query("--host", "WEB-1")) == 5
        assert hosts_of(c.query("--host", "web-?")) == ["web-1", "web-2"]
        assert hosts_of(c.query("--host", "web-[13]*")) == ["WEB-3.example.com", "web-1"]
        assert len(c.query("--host", "db-*")) == 6
        assert [e["msg"] for e in c.query("--host", "dev-client")] == ["nil first"]
        assert c.query("--host", "nomatch*") == []
        assert len(c.query("--host", "*")) == len(everything)

        # --since / --until, RFC 3339 in Z and with an offset, and relative.
        mid_z = t_mid.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        mid_off = t_mid.astimezone(datetime.timezone(datetime.timedelta(hours=5, minutes=30))).isoformat()
        second = [e for e in peers if b"second" in b64(e)]
        first = [e for e in everything if e not in second]
        for since in (mid_z, mid_off):
            got = c.query("--since", since)
            assert ids(got) == ids(second), "--since %s: got %s expected %s" % (since, ids(got), ids(second))
        got = c.query("--until", mid_z)
        assert ids(got) == ids(first), "--until %s: got %s expected %s" % (mid_z, ids(got), ids(first))
        assert ids(c.query("--until", mid_off)) == ids(first)
        assert ids(c.query("--since", mid_z, "--host", "db-*")) == ids([e for e in second if e["host"] == "db-1"])
        assert ids(c.query("--since", mid_z, "--until", mid_z)) == []
        assert len(c.query("--since", "1h")) == len(everything)
        assert len(c.query("--since", "2d", "--until", "now")) == len(everything)
        assert c.query("--until", "1h") == []
        assert c.query("--since", "now") == []
        day = everything[0]["receive_time"][:10]
        assert len(c.query("--since", day)) == len(everything), "--since DATE"

        # --limit: the first N in ingest order.
        assert ids(c.query("--limit", "3")) == ids(everything[:3])
        assert ids(c.query("--host", "web-*", "--limit", "2")) == ids(web[:2])
        assert ids(c.query("--since", mid_z, "--limit", "1")) == ids(second[:1])

        # Text format: one line per event, as documented.
        r = run_query_raw(c, "--format", "text")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.decode().splitlines()
        want = [to_text_line(e) for e in everything]
        assert lines == want, "text output differs:\n%s\nvs\n%s" % (lines[:3], want[:3])
        r = run_query_raw(c, "--host", "web-*", "--limit", "4")  # default format is text
        assert r.returncode == 0, r.stderr
        assert r.stdout.decode().splitlines() == [to_text_line(e) for e in web[:4]]

        # Bad arguments are refused with a message, not an empty answer.
        for bad in (["--since", "yesterday"], ["--until", "2026-13-01"], ["--format", "xml"]):
            r = run_query_raw(c, *bad)
            assert r.returncode != 0 and r.stderr, "query %s: rc %d" % (bad, r.returncode)

        # hosts: counts per source host.
        per_host = {h["host"]: h for h in hosts(c)}
        for name, n in (("web-1", 5), ("web-2", 3), ("db-1", 6), ("WEB-3.example.com", 2), ("dev-client", 1)):
            assert per_host[name]["events"] == n, (name, per_host[name])
            assert per_host[name]["unauthenticated_events"] == 0
            assert per_host[name]["last_transport"] == "tls-syslog"


if __name__ == "__main__":
    harness.main([test_s_client_octet_counted, test_s_client_lf_framed, test_s_client_tls12,
                  test_large_messages, test_client_without_certificate, test_many_frames_in_one_write,
                  test_frames_split_at_every_header_offset, test_loggen_rfc5424, test_loggen_legacy_bsd,
                  test_loggen_four_connections, test_query_filters])
