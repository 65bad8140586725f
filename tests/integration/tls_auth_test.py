"""TLS client authentication of the RFC 5425 listener (collector started with a TOML config).

Covers: a valid client certificate is stored with its identity; refused handshakes (no client
certificate, another CA, expired, revoked by CRL, self-signed, TLS 1.1, TLS 1.2 without AEAD) each
leave a TLS_HANDSHAKE_FAILED self event naming the peer and the reason, and store nothing;
permitted_peers (exact and wildcard, CN fallback) and permitted_fingerprints (RFC 5425 and rsyslog
spellings) refuse with PEER_NOT_PERMITTED; no session ticket is issued by default. The collector
must stay up throughout.
"""
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
import warnings

import harness
from harness import Collector, frame, close_tls, b64, log
from pki import TestPki, collector_config, sign_leaf

_PKI = None
BORROWED_CN = {
    "spoof-o": "/O=xCN=allowed.example",
    "spoof-cn-o": "/CN=nobody/O=xCN=allowed.example",
    "spoof-ou": "/CN=nobody/OU=a,CN=allowed.example",
    "spoof-l": "/CN=web-9/L=CN=allowed.example",
    "spoof-two-cns": "/CN=nobody/CN=allowed.example",
}


def pki():
    global _PKI
    if _PKI is None:
        start = time.time()
        _PKI = TestPki.standard()
        # Extra certificates for the wildcard rules: one label too many, and the bare suffix.
        ca = _PKI.cas["ca"]
        ca.issue("twolabels", "a.b.example.test", dns=["a.b.example.test"])
        ca.issue("bare", "example.test", dns=["example.test"])
        # No SAN; "CN=allowed.example" only as text inside another attribute, or a second CN.
        for name, subject in BORROWED_CN.items():
            sign_leaf(_PKI.cert("ca"), _PKI.key("ca"), subject, _PKI.base(name))
        sign_leaf(_PKI.cert("ca"), _PKI.key("ca"), "/O=x/CN=allowed.example", _PKI.base("cnonly"))
        log("PKI in %s (%.1fs)" % (_PKI.dir, time.time() - start))
    return _PKI


def message(marker):
    return ("<13>1 2024-05-01T10:00:00.000Z tk-auth-host authtest - - - %s" % marker).encode()


def client_context(cert=None, tweak=None):
    p = pki()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(p.cert("ca"))
    ctx.check_hostname = True  # the server certificate has SAN DNS:localhost
    if cert:
        ctx.load_cert_chain(p.cert(cert), p.key(cert))
    if tweak:
        tweak(ctx)
    return ctx


def expect_refused(col, cert=None, tweak=None, marker=None):
    """Connects, tries to send one frame; the server must end the connection.

    Returns (peer address as the collector sees it, client-side error text)."""
    raw = socket.create_connection(("127.0.0.1", col.port), timeout=10)
    local = "127.0.0.1:%d" % raw.getsockname()[1]
    ctx = client_context(cert, tweak)
    try:
        s = ctx.wrap_socket(raw, server_hostname="localhost")
    except (ssl.SSLError, OSError) as e:
        raw.close()
        return local, "handshake failed: %s" % e
    # TLS 1.3: the client's handshake ends before the server has checked its certificate; the
    # refusal arrives as an alert (or EOF) on the next read.
    try:
        s.sendall(frame(message(marker or "refused-" + uuid.uuid4().hex)))
        s.settimeout(10)
        data = s.recv(100)
        if data:
            raise AssertionError("server sent application data: %r" % data)
        return local, "EOF"
    except socket.timeout:
        raise AssertionError("connection with cert=%s was not refused (still open after 10 s)" % cert)
    except (ssl.SSLError, OSError) as e:
        return local, "after handshake: %s" % e
    finally:
        s.close()


def expect_accepted(col, cert, marker):
    """Sends one frame carrying `marker` over a fresh connection; returns the client address."""
    raw = socket.create_connection(("127.0.0.1", col.port), timeout=10)
    local = "127.0.0.1:%d" % raw.getsockname()[1]
    s = client_context(cert).wrap_socket(raw, server_hostname="localhost")
    s.sendall(frame(message(marker)))
    close_tls(s)
    return local


def params(e):
    out = {}
    for sd in e.get("structured_data", []):
        for prm in sd["params"]:
            out[prm["name"]] = prm["value"]
    return out


def wait_self_event(col, msgid, peer, timeout=20):
    def find():
        for e in col.self_events(msgid):
            if params(e).get("peer") == peer:
                return e
        return None
    return col.wait_for(find, timeout, "%s self event for %s" % (msgid, peer))


def stored_with(col, marker):
    return [e for e in col.peer_events() if marker.encode() in b64(e)]


def wait_stored(col, marker, timeout=20):
    return col.wait_for(lambda: stored_with(col, marker), timeout, "stored event %s" % marker)


def assert_alive(col, what):
    assert col.alive(), "collector died after %s:\n%s" % (what, col.read_log()[-3000:])


def start(**kw):
    """An unstarted collector with a config from pki.collector_config (use it with `with`)."""
    return Collector(config_text=collector_config(pki(), **kw))


# --- tests -----------------------------------------------------------------------------------------

def test_valid_client_stored_with_identity():
    p = pki()
    with start(client_auth="require", crl=True) as col:
        marker = "valid-" + uuid.uuid4().hex
        local = expect_accepted(col, "client", marker)
        [e] = wait_stored(col, marker)
        peer = e["peer"]
        assert peer["authenticated"] is True, peer
        assert peer["address"] == local, (peer, local)
        assert peer["cert_subject"] == p.subject("client"), (peer["cert_subject"], p.subject("client"))
        assert peer["cert_sha256"] == p.fingerprint("client"), (peer["cert_sha256"], p.fingerprint("client"))
        assert peer["cert_dns_names"] == ["client.example.test"], peer
        assert e["transport"] == "tls-syslog", e["transport"]
        assert b64(e) == message(marker), b64(e)
        assert not col.self_events("TLS_HANDSHAKE_FAILED"), col.self_events("TLS_HANDSHAKE_FAILED")
        assert_alive(col, "valid client")


# (name, client cert, client context tweak, regex the reason must match)
def _tls11(ctx):
    warnings.simplefilter("ignore", DeprecationWarning)  # that is the point
    ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")


def _tls12_cbc(ctx):
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-SHA")


REFUSALS = [
    ("no client certificate", None, None, r"did not return a certificate|peer did not return|certificate required"),
    ("certificate from another CA", "foreign", None,
     r"unable to get local issuer|certificate verify failed|unknown ca"),
    ("expired certificate", "expired", None, r"expired"),
    ("revoked certificate (CRL)", "revoked", None, r"revoked"),
    ("self-signed certificate", "selfsigned", None, r"self.signed|unable to get local issuer|certificate verify failed"),
    ("TLS 1.1 client", "client", _tls11, r"unsupported protocol|version"),
    ("TLS 1.2 with a non-AEAD cipher", "client", _tls12_cbc, r"no shared cipher|no suitable|cipher"),
]


def test_refused_handshakes():
    with start(client_auth="require", crl=True) as col:
        markers = []
        for what, cert, tweak, reason_re in REFUSALS:
            marker = "refused-%s-%s" % (re.sub(r"\W+", "_", what), uuid.uuid4().hex[:8])
            markers.append(marker)
            local, client_err = expect_refused(col, cert, tweak, marker)
            e = wait_self_event(col, "TLS_HANDSHAKE_FAILED", local)
            prm = params(e)
            log("  %-32s client: %s | collector: %s" % (what, client_err[:80], prm.get("reason")))
            assert re.search(reason_re, prm.get("reason", ""), re.I), \
                "%s: reason %r does not match /%s/" % (what, prm.get("reason"), reason_re)
            assert local in e["msg"] or prm["peer"] == local
            assert e["host"] == "tk-test-collector", e["host"]
            if cert in ("foreign", "expired", "revoked", "selfsigned"):
                # The failing certificate is named in the reason.
                assert "certificate" in prm["reason"], prm
            assert_alive(col, what)
        # A valid client still gets through, and nothing from the refused ones was stored.
        ok = "after-refusals-" + uuid.uuid4().hex
        expect_accepted(col, "client", ok)
        wait_stored(col, ok)
        for m in markers:
            assert not stored_with(col, m), "refused connection's frame was stored: %s" % m
        assert len(col.self_events("TLS_HANDSHAKE_FAILED")) == len(REFUSALS)
        assert_alive(col, "refusals")


def test_permitted_peers():
    with start(client_auth="require", crl=True,
               permitted_peers=["allowed.example", "*.example.test"]) as col:
        refused = {}
        for cert in ("client2", "twolabels", "bare"):
            marker = "notpermitted-%s-%s" % (cert, uuid.uuid4().hex[:8])
            local, err = expect_refused(col, cert, None, marker)
            e = wait_self_event(col, "PEER_NOT_PERMITTED", local)
            prm = params(e)
            log("  %-10s %s | %s" % (cert, err[:60], prm.get("reason")))
            assert "not among the permitted peers" in prm.get("reason", ""), prm
            assert prm.get("cert_sha256") == pki().fingerprint(cert), prm
            assert prm.get("cert_subject") == pki().subject(cert), prm
            refused[cert] = marker
            assert_alive(col, "PEER_NOT_PERMITTED " + cert)
        accepted = {}
        # exact name; wildcard on the SAN; wildcard on the CN (no SAN at all).
        for cert in ("allowed", "client", "nosan"):
            marker = "permitted-%s-%s" % (cert, uuid.uuid4().hex[:8])
            expect_accepted(col, cert, marker)
            accepted[cert] = marker
        for cert, marker in accepted.items():
            [e] = wait_stored(col, marker)
            assert e["peer"]["cert_sha256"] == pki().fingerprint(cert)
        for cert, marker in refused.items():
            assert not stored_with(col, marker), "not-permitted peer %s was stored" % cert
        assert len(col.self_events("PEER_NOT_PERMITTED")) == 3
        assert not col.self_events("TLS_HANDSHAKE_FAILED")
        assert_alive(col, "permitted peers")


def test_permitted_peers_cn_cannot_be_borrowed():
    """permitted_peers by CN (no SAN): the CN is the certificate's one CN attribute, not the
    text "CN=" anywhere in the subject."""
    with start(client_auth="require", crl=True, permitted_peers=["allowed.example"]) as col:
        refused = {}
        for cert in BORROWED_CN:
            marker = "borrowed-%s-%s" % (cert, uuid.uuid4().hex[:8])
            local, err = expect_refused(col, cert, None, marker)
            prm = params(wait_self_event(col, "PEER_NOT_PERMITTED", local))
            log("  %-14s %-40s | %s" % (cert, pki().subject(cert), err[:50]))
            assert prm.get("cert_subject") == pki().subject(cert), prm
            assert prm.get("cert_sha256") == pki().fingerprint(cert), prm
            refused[cert] = marker
        marker = "cnonly-" + uuid.uuid4().hex[:8]
        expect_accepted(col, "cnonly", marker)
        wait_stored(col, marker)
        for cert, m in refused.items():
            assert not stored_with(col, m), "a certificate borrowing the CN (%s) was stored" % cert
        assert_alive(col, "borrowed CN")


def test_permitted_fingerprints():
    p = pki()
    fps = [p.fingerprint("client2", "rfc"),            # sha-256:AB:..
           p.fingerprint("allowed", "rsyslog"),        # SHA256:AB:..
           p.fingerprint("nosan", "rfc").lower()]      # case does not matter
    assert fps[1].startswith("SHA256:") and fps[0].startswith("sha-256:")
    with start(client_auth="require", crl=True, permitted_fingerprints=fps) as col:
        accepted = {}
        for cert in ("client2", "allowed", "nosan"):
            marker = "fp-ok-%s-%s" % (cert, uuid.uuid4().hex[:8])
            expect_accepted(col, cert, marker)
            accepted[cert] = marker
        marker = "fp-refused-" + uuid.uuid4().hex[:8]
        local, err = expect_refused(col, "client", None, marker)
        e = wait_self_event(col, "PEER_NOT_PERMITTED", local)
        assert params(e).get("cert_sha256") == p.fingerprint("client")
        for cert, m in accepted.items():
            wait_stored(col, m)
        assert not stored_with(col, marker)
        assert_alive(col, "fingerprints")


def s_client_messages(col, extra, cert="client"):
    """Runs openssl s_client -msg; returns (stdout, session file text or '')."""
    p = pki()
    sess = tempfile.mktemp(prefix="tk-sess-")
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % col.port, "-servername", "localhost",
            "-CAfile", p.cert("ca"), "-cert", p.cert(cert), "-key", p.key(cert), "-msg",
            "-sess_out", sess] + extra
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # Keep stdin open a moment so s_client reads what the server sends after the handshake
    # (TLS 1.3 NewSessionTicket messages), then send one frame and end.
    time.sleep(1.5)
    try:
        proc.stdin.write(frame(message("s_client-" + uuid.uuid4().hex)))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    proc.stdin = None
    out, _ = proc.communicate(timeout=30)
    text = ""
    if os.path.exists(sess) and os.path.getsize(sess) > 0:
        r = subprocess.run(["openssl", "sess_id", "-in", sess, "-noout", "-text"], capture_output=True)
        text = r.stdout.decode(errors="replace")
        os.unlink(sess)
    return out.decode(errors="replace"), text


def test_no_session_tickets_by_default():
    for tickets in (False, True):
        kw = {"session_tickets": True} if tickets else {}
        with start(client_auth="require", crl=True, **kw) as col:
            for proto in ("-tls1_3", "-tls1_2"):
                out, sess = s_client_messages(col, [proto])
                assert "Verification: OK" in out or "Verify return code: 0" in out, out[-2000:]
                has_ticket = "NewSessionTicket" in out or "TLS session ticket:" in sess
                log("  session_tickets=%s %s: NewSessionTicket seen=%s" % (tickets, proto, has_ticket))
                if not tickets:
                    assert not has_ticket, "session ticket issued by default (%s):\n%s\n%s" % (proto, out[-3000:], sess)
                elif proto == "-tls1_3":
                    # Positive control: the detection works when tickets are on.
                    assert has_ticket, "session_tickets=true but no ticket seen:\n" + out[-3000:]
            assert_alive(col, "s_client")


if __name__ == "__main__":
    harness.main([
        test_valid_client_stored_with_identity,
        test_refused_handshakes,
        test_permitted_peers,
        test_permitted_peers_cn_cannot_be_borrowed,
        test_permitted_fingerprints,
        test_no_session_tickets_by_default,
    ])
