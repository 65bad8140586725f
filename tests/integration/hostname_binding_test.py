"""Who a legacy sender is: hostname_binding on [[listen.syslog]] (issue 12, part 6).

A legacy RFC 5425 sender with a certificate for host A claims host B:
  - flag (default): stored under B, marked hostname_mismatch with the
    certificate's identity; `trailkeepd query --hostname-mismatch` and
    `report --hostname-mismatch` find it, --hostname-match leaves it out;
  - refuse: dropped and recorded (HOSTNAME_REFUSED), the connection's other
    events stored;
  - a host the certificate names, or one [legacy_syslog.allowed_hosts] lets a
    relay speak for, is not marked.
Driven with `openssl s_client` (one connection per certificate) and rsyslog
(tests/peers, imtcp -> omfwd over TLS), sending for itself and as a relay.
"""
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import rsyslog_test  # noqa: E402
from harness import BIN, Collector, frame, log, sd_param  # noqa: E402
from pki import TestPki, collector_config  # noqa: E402

TS = "2026-11-23T05:08:34Z"


def make_pki():
    p = TestPki.standard()
    ca = p.cas["ca"]
    ca.issue("web-a", "web-a.example.test", dns=["web-a.example.test"])
    ca.issue("relay", "relay.example.test", dns=["relay.example.test"])
    return p


PKI = None


def pki():
    global PKI
    if PKI is None:
        PKI = make_pki()
    return PKI


def config(binding=None):
    """Client certificates required; `binding` on the one [[listen.syslog]]; the relay may
    speak for web-*."""
    text = collector_config(pki(), client_auth="require", crl=False)
    if binding is not None:
        text = text.replace('[[listen.syslog]]\naddress = "127.0.0.1:0"\n',
                            '[[listen.syslog]]\naddress = "127.0.0.1:0"\nhostname_binding = "%s"\n' % binding)
        assert "hostname_binding" in text, text
    return text + '\n[legacy_syslog.allowed_hosts]\n"relay.example.test" = ["web-*"]\n'


def line(host, msg, app="app"):
    return ("<13>1 %s %s %s - - - %s" % (TS, host, app, msg)).encode()


def s_client(c, cert, messages):
    """Sends `messages` octet-counted over one `openssl s_client` connection with `cert`."""
    p = pki()
    proc = subprocess.Popen(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % c.port, "-cert", p.cert(cert), "-key", p.key(cert),
         "-CAfile", p.cert("ca"), "-verify_return_error", "-servername", "localhost", "-brief", "-no_ign_eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    proc.stdin.write(b"".join(frame(m) for m in messages))
    proc.stdin.flush()
    time.sleep(1.0)  # s_client reads stdin after the handshake; EOF then closes the connection
    proc.stdin.close()
    out = proc.stdout.read().decode(errors="replace")
    proc.wait(30)
    assert proc.returncode == 0, "s_client failed:\n" + out
    assert "CONNECTION ESTABLISHED" in out, out


def by_msg(events):
    return {e["msg"]: e for e in events}


def report(c, *args):
    r = subprocess.run([os.path.join(BIN, "trailkeepd"), "report", "--db", c.db, "--format", "json"] + list(args),
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_flag_marks_and_filters_with_s_client():
    with Collector(config_text=config()) as c:  # no hostname_binding: "flag"
        s_client(c, "web-a", [line("web-b", "spoofed b"), line("web-a.example.test", "own name"),
                              ("<38>Nov 23 10:00:01 web-b sshd[1001]: Failed password for root from "
                               "203.0.113.9 port 51000 ssh2").encode()])
        s_client(c, "relay", [line("web-7", "relayed web-7"), line("db-1", "relayed db-1")])
        ev = by_msg(c.wait_for(lambda: len(c.peer_events()) == 5 and c.peer_events(), what="5 events"))
        spoof = ev["spoofed b"]
        assert spoof["host"] == "web-b" and spoof["hostname_mismatch"] is True, spoof
        assert spoof["sender_identity"] == "web-a.example.test", spoof
        assert ev["own name"]["hostname_mismatch"] is False and ev["own name"]["sender_identity"] == ""
        assert ev["relayed web-7"]["hostname_mismatch"] is False, ev["relayed web-7"]  # allowed pattern
        assert ev["relayed db-1"]["hostname_mismatch"] is True
        assert ev["relayed db-1"]["sender_identity"] == "relay.example.test"

        marked = {e["msg"] for e in c.peer_events("--hostname-mismatch")}
        failed = [m for m in ev if m.startswith("Failed password")]
        assert marked == {"spoofed b", "relayed db-1"} | set(failed), marked
        unmarked = {e["msg"] for e in c.peer_events("--hostname-match")}
        assert unmarked == {"own name", "relayed web-7"}, unmarked

        auth = report(c, "auth", "--hostname-mismatch")
        assert [r["host"] for r in auth["rows"]] == ["web-b"], auth
        assert report(c, "auth", "--hostname-match")["rows"] == []
        assert c.self_events("HOSTNAME_REFUSED") == []  # flagged, never refused


def test_refuse_drops_one_event_and_records_it_with_s_client():
    with Collector(config_text=config("refuse")) as c:
        s_client(c, "web-a", [line("web-a.example.test", "before"), line("web-b", "spoofed b"),
                              line("WEB-A.example.test", "after")])
        s_client(c, "relay", [line("web-9", "relayed web-9"), line("db-1", "relayed db-1"),
                              line("web-10", "relayed web-10")])
        c.wait_for(lambda: len(c.self_events("HOSTNAME_REFUSED")) == 2, what="2 HOSTNAME_REFUSED")
        ev = by_msg(c.wait_for(lambda: len(c.peer_events()) == 4 and c.peer_events(), what="4 events"))
        assert set(ev) == {"before", "after", "relayed web-9", "relayed web-10"}, set(ev)
        assert not any(e["hostname_mismatch"] for e in ev.values()), ev
        refused = {sd_param(e, "hostname"): e for e in c.self_events("HOSTNAME_REFUSED")}
        assert set(refused) == {"web-b", "db-1"}, refused
        assert sd_param(refused["web-b"], "sender_identity") == "web-a.example.test"
        assert sd_param(refused["web-b"], "cert_sha256") == pki().fingerprint("web-a")
        assert sd_param(refused["db-1"], "sender_identity") == "relay.example.test"
        # The refusal names the claim; the stored records keep their own host.
        assert "web-b" in refused["web-b"]["msg"], refused["web-b"]
        assert not c.peer_events("--host", "web-b") and not c.peer_events("--host", "db-1")


def test_off_checks_nothing():
    with Collector(config_text=config("off")) as c:
        s_client(c, "web-a", [line("web-b", "spoofed b")])
        (e,) = c.wait_for(lambda: len(c.peer_events()) == 1 and c.peer_events(), what="1 event")
        assert e["host"] == "web-b" and e["hostname_mismatch"] is False and e["sender_identity"] == ""


class CertRsyslog(rsyslog_test.Rsyslog):
    """rsyslog (ossl, octet-counted) forwarding over TLS with one of the test PKI's client
    certificates; `send` plays the gear behind it."""

    def __init__(self, collector, cert, name):
        p = pki()
        super().__init__(collector, "ossl", "octet-counted", tls=(p.cert("ca"), p.cert(cert), p.key(cert)),
                         name=name)

    def send(self, lines):
        """RFC 5424 lines to its imtcp (LF-framed), as the gear behind it would send them."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(b"".join(l + b"\n" for l in lines))


def test_rsyslog_direct_and_as_relay_under_refuse():
    rsyslog_test.ensure_rsyslog()
    with Collector(config_text=config("refuse")) as c:
        direct = CertRsyslog(c, "web-a", "direct")
        relay = CertRsyslog(c, "relay", "relay")
        try:
            direct.start()
            relay.start()
            direct.send([line("web-a.example.test", "direct own"), line("web-b", "direct spoof"),
                         line("web-a.example.test", "direct after")])
            relay.send([line("web-21", "relay web-21"), line("db-2", "relay db-2"), line("web-22", "relay web-22")])
            try:
                ev = by_msg(c.wait_for(lambda: len(c.peer_events()) >= 4 and c.peer_events(), 60,
                                       "4 events via rsyslog"))
                c.wait_for(lambda: len(c.self_events("HOSTNAME_REFUSED")) >= 2, 30, "2 HOSTNAME_REFUSED")
            except AssertionError:
                log(direct.diagnostics())
                log(relay.diagnostics())
                raise
            time.sleep(1.0)  # nothing more comes
            ev = by_msg(c.peer_events())
            assert set(ev) == {"direct own", "direct after", "relay web-21", "relay web-22"}, set(ev)
            assert ev["direct own"]["host"] == "web-a.example.test"
            assert ev["relay web-21"]["host"] == "web-21"
            assert ev["relay web-21"]["peer"]["cert_common_name"] == "relay.example.test"
            assert not any(e["hostname_mismatch"] for e in ev.values())
            # Each rsyslog kept its one connection: a refusal closes nothing.
            assert len({e["peer"]["address"] for e in ev.values()}) == 2, ev
            refused = {sd_param(e, "hostname"): sd_param(e, "sender_identity")
                       for e in c.self_events("HOSTNAME_REFUSED")}
            assert refused == {"web-b": "web-a.example.test", "db-2": "relay.example.test"}, refused
        finally:
            direct.stop()
            relay.stop()


def test_rsyslog_relay_under_flag():
    rsyslog_test.ensure_rsyslog()
    with Collector(config_text=config("flag")) as c:
        relay = CertRsyslog(c, "relay", "relay-flag")
        try:
            relay.start()
            relay.send([line("web-31", "relay web-31"), line("db-3", "relay db-3")])
            try:
                ev = by_msg(c.wait_for(lambda: len(c.peer_events()) == 2 and c.peer_events(), 60,
                                       "2 events via rsyslog"))
            except AssertionError:
                log(relay.diagnostics())
                raise
            assert ev["relay web-31"]["hostname_mismatch"] is False
            assert ev["relay db-3"]["host"] == "db-3" and ev["relay db-3"]["hostname_mismatch"] is True
            assert ev["relay db-3"]["sender_identity"] == "relay.example.test"
            assert [e["msg"] for e in c.peer_events("--hostname-mismatch")] == ["relay db-3"]
        finally:
            relay.stop()


if __name__ == "__main__":
    harness.main([test_flag_marks_and_filters_with_s_client, test_refuse_drops_one_event_and_records_it_with_s_client,
                  test_off_checks_nothing, test_rsyslog_direct_and_as_relay_under_refuse,
                  test_rsyslog_relay_under_flag])
