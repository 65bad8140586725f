#!/usr/bin/env python3
"""Who a client certificate is on the HTTPS API, against the real trailkeepd with curl.

The dev collector maps the certificate name "dev-client" to every scope. Certificates signed by
its trusted CA whose subjects only contain the text "CN=dev-client" inside another attribute
(O, OU, L), or that carry a second CN, must not be dev-client: each gets 403 on /v1/hosts and
/v1/events, and each refusal is an API_DENIED event with the certificate's subject and SHA-256
fingerprint. A certificate whose one CN is dev-client (no SAN) still gets in, and its API_ACCESS
event names its subject and fingerprint too.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Collector, log  # noqa: E402
import pki as pkimod  # noqa: E402

SPOOFS = [
    "/O=xCN=dev-client",
    "/CN=nobody/O=xCN=dev-client",
    "/CN=nobody/OU=a,CN=dev-client",
    "/CN=web-9/L=CN=dev-client",
    "/CN=nobody/CN=dev-client",  # two CNs: which one is meant is a guess, so neither
]


def curl(c, path, cert):
    """(status, body) of GET path with the client certificate at cert (.pem/.key)."""
    args = ["curl", "-sS", "--http1.1", "-o", "-", "-w", "\n%{http_code}", "--max-time", "30",
            "--cacert", os.path.join(c.pki, "ca.pem"), "--cert", cert + ".pem", "--key", cert + ".key",
            "https://127.0.0.1:%d%s" % (c.export_port, path)]
    r = subprocess.run(args, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code), body


sd = harness.sd_param


def test_borrowed_cn_gets_no_access():
    work = tempfile.mkdtemp(prefix="tk-spoof-")
    with Collector() as c:
        ca_cert, ca_key = os.path.join(c.pki, "ca.pem"), os.path.join(c.pki, "ca.key")
        certs = {}
        for i, subject in enumerate(SPOOFS):
            base = os.path.join(work, "spoof%d" % i)
            pkimod.sign_leaf(ca_cert, ca_key, subject, base)
            certs[subject] = base
        for subject, base in certs.items():
            for path in ("/v1/hosts", "/v1/events?limit=5"):
                status, body = curl(c, path, base)
                log("  %-32s %-20s -> %d" % (subject, path, status))
                assert status in (401, 403), (subject, path, status, body[:300])
                assert b"next_cursor" not in body and b'"host"' not in body, body[:300]
        # The real name, as the one CN of a certificate without SAN, still works.
        good = os.path.join(work, "good")
        pkimod.sign_leaf(ca_cert, ca_key, "/O=elsewhere/CN=dev-client", good)
        status, body = curl(c, "/v1/hosts", good)
        assert status == 200, (status, body[:300])
        json.loads(body)

        # Every refusal names the certificate that was presented.
        want = 2 * len(SPOOFS)
        denied = c.wait_for(lambda: (lambda d: len(d) >= want and d)(c.self_events("API_DENIED")), 30,
                            "%d API_DENIED events" % want)
        for subject, base in certs.items():
            mine = [e for e in denied if sd(e, "cert_sha256") == pkimod.fingerprint_of(base + ".pem")]
            assert len(mine) == 2, (subject, [(sd(e, "who"), sd(e, "cert_sha256")) for e in denied])
            for e in mine:
                assert sd(e, "cert_subject") == pkimod.subject_rfc2253(base + ".pem"), e
                assert sd(e, "who") != "dev-client (mtls)", e
                assert sd(e, "status") in ("401", "403"), e
        access = c.wait_for(lambda: [e for e in c.self_events("API_ACCESS")
                                     if sd(e, "cert_sha256") == pkimod.fingerprint_of(good + ".pem")],
                            30, "API_ACCESS of the good certificate")
        assert sd(access[0], "who") == "dev-client (mtls)", access[0]
        assert sd(access[0], "cert_subject") == "CN=dev-client,O=elsewhere", access[0]
        assert c.alive()


if __name__ == "__main__":
    harness.main([test_borrowed_cn_gets_no_access])
