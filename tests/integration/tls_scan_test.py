"""TLS as a scanner sees it: sslscan and nmap's ssl-enum-ciphers against every
TLS endpoint of a real collector (docs/configuration.md, `tls_profile`).

Endpoints: the syslog port (which agents share), the HTTPS API, and the TLS
an agent gets on the port-60 listener after its plaintext hello, reached
through a small relay that sends the hello and then copies bytes both ways.
Under the default profile ("ndcpp") each must show TLS 1.2 and 1.3 only, only
the NDcPP AES-GCM suites, only the groups secp256r1/384r1/521r1 and
ffdhe2048/3072/4096 (no X25519, X448 or ChaCha20-Poly1305), no compression,
no renegotiation and no session ticket. A collector with tls_profile =
"modern" shows ChaCha20 and X25519 (the scan tells the profiles apart).

The client side: `trailkeep forward` and the CLI, under ndcpp, cannot reach an
`openssl s_server` that speaks only ChaCha20-Poly1305 or only X25519; under
"modern" they can.

Needs sslscan, nmap and openssl (deploy/install-build-deps.sh installs them).
Without them it prints SKIP, except under CI=true, where it fails.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import harness
from agents import Agent, Proxy, enroll
from harness import Collector, log
from pki import collector_config, shared_pki

HELLO = b"\0trailkeep/1 port60\n"
HELLO_ACCEPTED = b"\0trailkeep/1 ok\n"

NDCPP_TLS13 = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"}
NDCPP_TLS12 = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
               "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
               "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384"}
NDCPP_GROUPS = {"secp256r1", "secp384r1", "secp521r1", "ffdhe2048", "ffdhe3072", "ffdhe4096"}
# The same suites by their IANA names, as nmap prints them (TLS 1.3: TLS_AKE_WITH_...).
NDCPP_IANA = {"TLS_AKE_WITH_AES_128_GCM_SHA256", "TLS_AKE_WITH_AES_256_GCM_SHA384",
              "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
              "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
              "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"}
NDCPP_KEX = {"secp256r1", "secp384r1", "secp521r1", "ffdhe2048", "ffdhe3072", "ffdhe4096",
             "dh 2048", "dh 3072", "dh 4096"}


def tools_present():
    """False (SKIP) when a scanner is missing; under CI=true that fails instead."""
    missing = [t for t in ("sslscan", "nmap", "openssl") if shutil.which(t) is None]
    if not missing:
        return True
    harness.cannot_run("needs %s (apt-get install -y %s; deploy/install-build-deps.sh installs them)" % (
        ", ".join(missing), " ".join(missing)))
    return False


# --- the scanners --------------------------------------------------------------


class Scan:
    """What sslscan and nmap found on one endpoint."""

    def __init__(self, port, certs=None):
        self.port = port
        self.sslscan_xml = self._sslscan(port, certs)
        self.nmap_xml = self._nmap(port)
        root = ET.fromstring(self.sslscan_xml)
        test = root.find("ssltest")
        assert test is not None, "sslscan found nothing on port %d:\n%s" % (port, self.sslscan_xml)
        self.protocols = {"%s%s" % (p.get("type"), p.get("version")) for p in test.findall("protocol")
                          if p.get("enabled") == "1"}
        reneg = test.find("renegotiation")
        self.renegotiation = None if reneg is None else reneg.get("supported")
        self.ciphers = {}  # version -> set of OpenSSL names
        self.kex = set()   # the curve/group of each accepted suite ("25519", "P-256", ...)
        for c in test.findall("cipher"):
            self.ciphers.setdefault(c.get("sslversion"), set()).add(c.get("cipher"))
            if c.get("curve"):
                self.kex.add(c.get("curve"))
        # The signature algorithms the server signs its handshake with.
        self.sigalgs = {s.get("name") for s in test.findall("connection-signature-algorithm")}
        self.groups = {}  # version -> set of group names ("secp256r1", "x25519", ...)
        for g in test.findall("group"):
            self.groups.setdefault(g.get("sslversion"), set()).add(g.get("name").split()[0])
        self._parse_nmap()

    @staticmethod
    def _sslscan(port, certs):
        args = ["sslscan", "--no-colour", "--xml=-", "--show-sigs"]
        if certs:
            args += ["--certs=" + certs[0], "--pk=" + certs[1]]
        r = subprocess.run(args + ["127.0.0.1:%d" % port], capture_output=True, timeout=300)
        out = r.stdout.decode(errors="replace")
        start = out.find("<?xml")
        assert r.returncode == 0 and start >= 0, "sslscan failed (%d):\n%s\n%s" % (
            r.returncode, out[-3000:], r.stderr.decode(errors="replace")[-2000:])
        return out[start:]

    @staticmethod
    def _nmap(port):
        r = subprocess.run(["nmap", "-Pn", "-n", "-p", str(port), "--script", "ssl-enum-ciphers",
                            "-oX", "-", "127.0.0.1"], capture_output=True, timeout=300)
        out = r.stdout.decode(errors="replace")
        assert r.returncode == 0, "nmap failed (%d):\n%s\n%s" % (
            r.returncode, out[-3000:], r.stderr.decode(errors="replace")[-2000:])
        return out

    def _parse_nmap(self):
        root = ET.fromstring(self.nmap_xml)
        script = root.find(".//script[@id='ssl-enum-ciphers']")
        assert script is not None, "nmap's ssl-enum-ciphers did not run on %d:\n%s" % (self.port, self.nmap_xml)
        self.nmap_versions, self.nmap_ciphers, self.nmap_kex, self.compressors = set(), set(), set(), set()
        for version in script.findall("table"):
            self.nmap_versions.add(version.get("key"))
            for c in version.findall("table[@key='ciphers']/table"):
                self.nmap_ciphers.add(c.find("elem[@key='name']").text)
                kex = c.find("elem[@key='kex_info']")
                if kex is not None:
                    self.nmap_kex.add(kex.text)
            for comp in version.findall("table[@key='compressors']/elem"):
                self.compressors.add(comp.text)

    def describe(self):
        return "sslscan:\n%s\nnmap:\n%s" % (self.sslscan_xml[-6000:], self.nmap_xml[-4000:])

    def assert_ndcpp(self, what):
        d = self.describe()
        assert self.protocols == {"tls1.2", "tls1.3"}, "%s: protocols %s\n%s" % (what, self.protocols, d)
        assert self.renegotiation == "0", "%s: renegotiation %r\n%s" % (what, self.renegotiation, d)
        assert self.ciphers.get("TLSv1.3") == NDCPP_TLS13, "%s: TLS 1.3 suites %s\n%s" % (
            what, self.ciphers.get("TLSv1.3"), d)
        tls12 = self.ciphers.get("TLSv1.2", set())
        # The server's key is ECDSA: of the TLS 1.2 suites, the ECDSA ones.
        assert tls12 and tls12 <= NDCPP_TLS12, "%s: TLS 1.2 suites %s\n%s" % (what, tls12, d)
        assert "ECDHE-ECDSA-AES128-GCM-SHA256" in tls12, "%s: %s\n%s" % (what, tls12, d)
        assert self.groups.get("TLSv1.3") == NDCPP_GROUPS, "%s: TLS 1.3 groups %s\n%s" % (
            what, self.groups.get("TLSv1.3"), d)
        assert self.groups.get("TLSv1.2", set()) <= NDCPP_GROUPS, "%s: TLS 1.2 groups %s\n%s" % (
            what, self.groups.get("TLSv1.2"), d)
        assert not {k for k in self.kex if "25519" in k or "448" in k}, "%s: kex %s\n%s" % (what, self.kex, d)
        assert self.sigalgs and not {a for a in self.sigalgs if any(
            weak in a for weak in ("sha1", "sha224", "ed25519", "ed448"))}, "%s: signatures %s\n%s" % (
            what, self.sigalgs, d)
        # nmap, independently: versions, suites, the group each used, compression.
        assert self.nmap_versions == {"TLSv1.2", "TLSv1.3"}, "%s: nmap versions %s\n%s" % (
            what, self.nmap_versions, d)
        assert self.nmap_ciphers and self.nmap_ciphers <= NDCPP_IANA, "%s: nmap suites %s\n%s" % (
            what, self.nmap_ciphers, d)
        assert self.nmap_kex <= NDCPP_KEX, "%s: nmap key exchange %s\n%s" % (what, self.nmap_kex, d)
        assert self.compressors == {"NULL"}, "%s: compressors %s\n%s" % (what, self.compressors, d)
        log("  %s: TLS 1.3 %s; TLS 1.2 %s; groups %s; kex %s; signatures %s; compressors %s; "
            "renegotiation off" % (what, sorted(self.ciphers["TLSv1.3"]), sorted(tls12),
                                   sorted(self.groups["TLSv1.3"]), sorted(self.nmap_kex),
                                   sorted(self.sigalgs), sorted(self.compressors)))


def tickets_seen(port, tls_version, certs=None):
    """True when the server sends a NewSessionTicket within 1.5 s of a handshake
    (TLS 1.3 sends it after the handshake; keep reading a moment)."""
    args = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-msg", tls_version]
    if certs:
        args += ["-cert", certs[0], "-key", certs[1]]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(1.5)
    proc.stdin.close()
    proc.stdin = None
    out, _ = proc.communicate(timeout=30)
    text = out.decode(errors="replace")
    assert "CONNECTED" in text and ("Cipher is" in text or "Cipher:" in text), text[-3000:]
    return "NewSessionTicket" in text


def assert_no_tickets(port, what, certs=None):
    for version in ("-tls1_3", "-tls1_2"):
        assert not tickets_seen(port, version, certs), "%s: session ticket issued (%s)" % (what, version)


class HelloRelay:
    """A loopback proxy that, for each connection, connects to the collector's
    port-60 listener, sends the agent hello and checks the answer before
    copying bytes both ways: a scanner sees the TLS an agent gets after its
    hello."""

    def __init__(self, target_port):
        self.relayed = 0
        self.bad_answers = []
        self.proxy = Proxy()
        self.proxy.target = target_port
        self.proxy.prelude = self._hello
        self.port = self.proxy.port
        self.proxy.start()

    def _hello(self, upstream):
        upstream.sendall(HELLO)
        answer = b""
        while len(answer) < len(HELLO_ACCEPTED):
            chunk = upstream.recv(len(HELLO_ACCEPTED) - len(answer))
            if not chunk:
                break
            answer += chunk
        if answer != HELLO_ACCEPTED:
            self.bad_answers.append(answer)
            return False
        self.relayed += 1
        return True

    def close(self):
        self.proxy.close()


# --- the tests -------------------------------------------------------------------


def test_default_profile_on_every_endpoint():
    """A dev-mode collector (no tls_profile key: the default) scanned on its
    syslog port, its HTTPS API and its port-60 TLS behind an agent hello."""
    if not tools_present():
        return
    with Collector() as col:
        certs = (os.path.join(col.pki, "client.pem"), os.path.join(col.pki, "client.key"))
        syslog = Scan(col.port, certs)
        syslog.assert_ndcpp("syslog port")
        assert_no_tickets(col.port, "syslog port", certs)

        api = Scan(col.export_port, certs)
        api.assert_ndcpp("HTTPS API")
        assert_no_tickets(col.export_port, "HTTPS API", certs)

        relay = HelloRelay(col.audit_port)
        try:
            port60 = Scan(relay.port, certs)
            assert not relay.bad_answers, "port 60 refused the hello: %r" % relay.bad_answers[:3]
            assert relay.relayed > 10, "only %d connections passed the hello" % relay.relayed
            port60.assert_ndcpp("port-60 TLS after the agent hello")
            assert_no_tickets(relay.port, "port-60 TLS", certs)
            log("  %d scanner connections went through the port-60 hello" % relay.relayed)
        finally:
            relay.close()
        # The agent's TLS on port 60 is the syslog port's: the same suites and groups.
        assert port60.ciphers == syslog.ciphers and port60.groups == syslog.groups
        assert col.alive(), col.read_log()[-3000:]


def test_modern_profile_adds_chacha20_and_x25519():
    """tls_profile = "modern" offers ChaCha20-Poly1305 and X25519/X448 as well:
    the scan tells the profiles apart. session_tickets = true is the control
    for the ticket check above."""
    if not tools_present():
        return
    pki = shared_pki()
    text = collector_config(pki, client_auth="optional", session_tickets=True,
                            extra_tls={"tls_profile": "modern"})
    with Collector(config_text=text) as col:
        certs = (pki.cert("client"), pki.key("client"))
        scan = Scan(col.port, certs)
        d = scan.describe()
        assert scan.protocols == {"tls1.2", "tls1.3"}, d
        assert "TLS_CHACHA20_POLY1305_SHA256" in scan.ciphers.get("TLSv1.3", set()), d
        assert "ECDHE-ECDSA-CHACHA20-POLY1305" in scan.ciphers.get("TLSv1.2", set()), d
        assert {"x25519", "x448"} <= scan.groups.get("TLSv1.3", set()), d
        assert scan.renegotiation == "0" and scan.compressors == {"NULL"}, d
        assert tickets_seen(col.port, "-tls1_3", certs), "session_tickets = true but no ticket seen"
        log("  modern: TLS 1.3 %s; groups %s" % (sorted(scan.ciphers["TLSv1.3"]),
                                                  sorted(scan.groups["TLSv1.3"])))


class OnlyServer:
    """`openssl s_server` offering only `restriction` (e.g. ChaCha20-Poly1305
    or X25519), with the collector's dev certificate."""

    def __init__(self, pki_dir, restriction):
        self.port = harness.free_port()
        args = ["openssl", "s_server", "-accept", "127.0.0.1:%d" % self.port, "-www",
                "-cert", os.path.join(pki_dir, "server.pem"), "-key", os.path.join(pki_dir, "server.key")]
        self.log_path = tempfile.mktemp(prefix="tk-s_server-")
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(args + restriction, stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("openssl s_server did not listen on %d" % self.port)

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.logf.close()


ONLY_CHACHA = ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"]
ONLY_CHACHA_TLS12 = ["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"]
ONLY_X25519 = ["-groups", "X25519"]


def cli_handshake(col, server_port, profile):
    """Runs `trailkeep hosts` against the server with `tls_profile = profile`;
    True when the TLS handshake succeeded (whatever the HTTP answer)."""
    cfg = os.path.join(col.workdir, "client-%s.toml" % profile)
    with open(cfg, "w") as f:
        f.write('tls_profile = "%s"\n' % profile)
    r = subprocess.run([os.path.join(harness.BIN, "trailkeep"), "hosts", "--client-config", cfg,
                        "--server", "https://localhost:%d" % server_port,
                        "--cacert", os.path.join(col.pki, "ca.pem"),
                        "--token-file", os.path.join(col.workdir, "dev", "admin.token")],
                       capture_output=True, timeout=60)
    err = r.stderr.decode(errors="replace")
    return "TLS handshake" not in err, err


def agent_handshake(col, bundle, server_port, profile, name):
    """Runs `trailkeep forward` with `tls_profile = profile` against the server;
    True when its log says it connected."""
    agent = Agent("scan-" + name, bundle, server_port, os.path.join(col.workdir, "agent-" + name),
                  collector_extra='tls_profile = "%s"\n' % profile)
    agent.start()
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            text = agent.read_log()
            if "connected to" in text:
                return True, text
            if "TLS handshake with" in text:
                return False, text
            time.sleep(0.2)
        raise AssertionError("the agent neither connected nor failed:\n" + agent.read_log()[-3000:])
    finally:
        agent.stop()


def test_clients_offer_the_profile():
    """The agent and the CLI build their TLS from the same profile code: under
    ndcpp they offer neither ChaCha20-Poly1305 nor X25519, under modern both."""
    if not tools_present():
        return
    with Collector() as col:
        bundle = enroll(col, "scan-agent")
        for label, restriction in (("chacha20-tls13", ONLY_CHACHA), ("chacha20-tls12", ONLY_CHACHA_TLS12),
                                   ("x25519", ONLY_X25519)):
            server = OnlyServer(col.pki, restriction)
            try:
                for profile, expect in (("ndcpp", False), ("modern", True)):
                    ok, text = cli_handshake(col, server.port, profile)
                    assert ok == expect, "CLI %s against a %s-only server: handshake %s\n%s" % (
                        profile, label, ok, text[-2000:])
                    ok, text = agent_handshake(col, bundle, server.port, profile, "%s-%s" % (label, profile))
                    assert ok == expect, "agent %s against a %s-only server: handshake %s\n%s" % (
                        profile, label, ok, text[-2000:])
                    log("  %s-only server: CLI and agent with %s: handshake %s" % (label, profile, ok))
            finally:
                server.close()


if __name__ == "__main__":
    harness.main([
        test_default_profile_on_every_endpoint,
        test_modern_profile_adds_chacha20_and_x25519,
        test_clients_offer_the_profile,
    ])
