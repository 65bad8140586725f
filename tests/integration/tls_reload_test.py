#!/usr/bin/env python3
"""Certificates and CRLs reload on SIGHUP, without a restart, under load
(issue 13, part 6). A real trailkeepd with a config file ([tls] with a CA and
a CRL made by `openssl ca`), real `trailkeep forward` agents enrolled with
`trailkeepd enroll`, real `openssl s_client` handshakes.

  1. Two agents deliver; a CRL revoking one of them replaces the CRL file and
     the collector gets SIGHUP mid-stream: the revoked agent's live connection
     is closed and recorded (PEER_REVOKED naming it and the reason), its next
     handshakes are refused (TLS_HANDSHAKE_FAILED, certificate revoked) and
     none of its later lines is stored; the other agent never notices (one
     AGENT_CONNECTED, every line stored exactly once, its chain verifies, no
     alarm). One CONFIG_RELOADED names tls.crl_file.
  2. The server certificate is replaced while an agent delivers: after SIGHUP
     `openssl s_client` sees the new certificate on the syslog port and the
     API port, CONFIG_RELOADED carries its fingerprint, and the agent never
     reconnects and loses nothing. Then broken replacements (garbage
     certificate, a key that does not match, a group-readable key) are each
     refused (TLS_RELOAD_FAILED naming the file) and the previous certificate
     is still served.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, RUN_DIR, Collector, log, main, scaled, sd_param  # noqa: E402
from agents import Agent, Writer, integrity_alarms, stored_lines, verify_db, wait_stored  # noqa: E402
from pki import OPENSSL, TestPki, collector_config, fingerprint_of  # noqa: E402

TRAILKEEPD = os.path.join(BIN, "trailkeepd")


class Site:
    """A collector with its own CA (an `openssl ca` database and a CRL), and
    agents enrolled through `trailkeepd enroll --config`."""

    def __init__(self, name):
        self.work = tempfile.mkdtemp(prefix=name + "-", dir=RUN_DIR)
        self.pki = TestPki(os.path.join(self.work, "pki"))
        self.ca = self.pki.make_ca("ca", "trailkeep reload test CA")
        self.ca.issue("server", "localhost", dns=["localhost"], ips=["127.0.0.1"], eku="serverAuth")
        self.ca.gencrl()  # ca-crl.pem, nothing revoked yet
        # Beside the data folder: where `trailkeepd verify --db` looks by default.
        keys = os.path.join(self.work, "collector", "keys")
        os.makedirs(keys, mode=0o700)
        text = collector_config(self.pki, crl=True) + (
            '\n[agents]\nkeys_dir = "%s"\nenroll_ca_cert = "%s"\nenroll_ca_key = "%s"\n'
            % (keys, self.pki.cert("ca"), self.pki.key("ca")))
        self.collector = Collector(os.path.join(self.work, "collector"), config_text=text).start()
        self.config = os.path.join(self.collector.workdir, "trailkeepd.toml")
        self.agents = {}

    def enroll(self, host):
        out = os.path.join(self.work, "enroll-" + host)
        r = subprocess.run([TRAILKEEPD, "enroll", host, "--config", self.config, "--out", out],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        agent = Agent(host, out, self.collector.port, os.path.join(self.work, host)).start()
        self.agents[host] = agent
        return agent

    def hangup(self):
        os.kill(self.collector.proc.pid, signal.SIGHUP)

    def events(self, msgid, **params):
        return [e for e in self.collector.self_events(msgid)
                if all(sd_param(e, k) == v for k, v in params.items())]

    def connected(self, host):
        return len(self.events("AGENT_CONNECTED", host=host))

    def reloads(self, n):
        """The n-th CONFIG_RELOADED event (1-based), once recorded."""
        return self.collector.wait_for(lambda: len(self.events("CONFIG_RELOADED")) >= n and
                                       self.events("CONFIG_RELOADED")[n - 1], 30, "CONFIG_RELOADED #%d" % n)

    def close(self):
        for a in self.agents.values():
            a.stop()
        self.collector.stop()


def served_fingerprint(port):
    """The SHA-256 fingerprint of the certificate a fresh handshake on `port` is served."""
    r = subprocess.run([OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost"],
                       input=b"", capture_output=True, timeout=30)
    pem = r.stdout.decode(errors="replace")
    begin = pem.find("-----BEGIN CERTIFICATE-----")
    assert begin >= 0, "no certificate from s_client on port %d:\n%s%s" % (
        port, pem, r.stderr.decode(errors="replace"))
    path = tempfile.mktemp(dir=RUN_DIR, suffix=".pem")
    with open(path, "w") as f:
        f.write(pem[begin:pem.index("-----END CERTIFICATE-----") + 25] + "\n")
    return fingerprint_of(path)


def check_all_stored(site, agent, count):
    nums = wait_stored(site.collector, agent.host, count, timeout=scaled(180))
    assert len(nums) == len(set(nums)) == count, "%s: %d stored, %d distinct, %d written" % (
        agent.host, len(nums), len(set(nums)), count)
    rc, out = verify_db(site.collector, agent.host)
    assert rc == 0, "%s: verify failed:\n%s" % (agent.host, out)
    assert integrity_alarms(site.collector, agent.host) == [], integrity_alarms(site.collector, agent.host)


def test_crl_revokes_a_live_agent():
    site = Site("crl")
    try:
        keep = site.enroll("keep.test")
        gone = site.enroll("gone.test")
        count = scaled(6000)
        writers = [Writer(a.inputs[0][1], a.host, count, rate=500) for a in (keep, gone)]
        for w in writers:
            w.start()
        for a in (keep, gone):
            site.collector.wait_for(lambda a=a: len(stored_lines(site.collector, a.host)) >= 200, 60,
                                    "%s delivering" % a.host)
        assert site.connected("keep.test") == 1 and site.connected("gone.test") == 1

        # Revoke gone.test's certificate with the CA's own tools and reload mid-stream.
        gone_cert = os.path.join(gone_bundle(site, "gone.test"), "agent.pem")
        subprocess.run([OPENSSL, "ca", "-batch", "-config", site.ca.cnf, "-revoke", gone_cert,
                        "-crl_reason", "keyCompromise"], check=True, capture_output=True)
        crl = os.path.join(site.pki.dir, "ca-crl.new.pem")
        subprocess.run([OPENSSL, "ca", "-batch", "-config", site.ca.cnf, "-gencrl", "-out", crl,
                        "-crldays", "30"], check=True, capture_output=True)
        os.replace(crl, os.path.join(site.pki.dir, "ca-crl.pem"))
        assert writers[1].written < count, "the writer finished before the reload: raise count"
        site.hangup()

        revoked = site.collector.wait_for(lambda: site.events("PEER_REVOKED"), 30, "PEER_REVOKED")
        assert len(revoked) == 1, revoked
        assert "CN=gone.test" in sd_param(revoked[0], "cert_subject"), revoked[0]
        assert "revoked" in sd_param(revoked[0], "reason"), revoked[0]
        assert sd_param(revoked[0], "listener") == "syslog", revoked[0]
        reload = site.reloads(1)
        assert "tls.crl_file" in sd_param(reload, "changed").split(","), reload
        assert sd_param(reload, "refused") == "" and sd_param(reload, "peers_closed") == "1", reload
        log("revoked agent closed: %s" % revoked[0]["msg"])

        # Its next handshakes are refused, and nothing more of it is stored.
        site.collector.wait_for(
            lambda: [e for e in site.events("TLS_HANDSHAKE_FAILED") if "revoked" in e["msg"]], 30,
            "a refused handshake of the revoked agent")
        for w in writers:
            w.join()
        check_all_stored(site, keep, count)
        before = len(stored_lines(site.collector, "gone.test"))
        time.sleep(3)
        after = len(stored_lines(site.collector, "gone.test"))
        assert before == after < count, "revoked agent: %d then %d of %d stored" % (before, after, count)
        assert site.connected("gone.test") == 1, "the revoked agent was admitted again"
        assert site.connected("keep.test") == 1, "the other agent reconnected"
        log("keep.test: %d lines, no reconnect; gone.test stopped at %d" % (count, after))
    finally:
        site.close()


def gone_bundle(site, host):
    return os.path.join(site.work, "enroll-" + host)


def replace_server(site, name):
    """Installs pki/<name>.pem and .key as the collector's server certificate and key."""
    for ext in (".pem", ".key"):
        tmp = site.pki.cert("server") + ".tmp"
        shutil.copy(os.path.join(site.pki.dir, name + ext), tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, os.path.join(site.pki.dir, "server" + ext))


def test_server_certificate_rotates_under_load():
    site = Site("cert")
    try:
        agent = site.enroll("steady.test")
        old_fp = site.pki.fingerprint("server")
        assert served_fingerprint(site.collector.port) == old_fp
        count = scaled(6000)
        writer = Writer(agent.inputs[0][1], agent.host, count, rate=500)
        writer.start()
        site.collector.wait_for(lambda: len(stored_lines(site.collector, agent.host)) >= 200, 60,
                                "the agent delivering")

        site.ca.issue("server2", "localhost", dns=["localhost"], ips=["127.0.0.1"], eku="serverAuth")
        new_fp = fingerprint_of(site.pki.cert("server2"))
        replace_server(site, "server2")
        assert writer.written < count, "the writer finished before the reload: raise count"
        site.hangup()
        reload = site.reloads(1)
        assert sd_param(reload, "cert_sha256") == new_fp, reload
        assert {"tls.cert_file", "tls.key_file"} <= set(sd_param(reload, "changed").split(",")), reload
        assert served_fingerprint(site.collector.port) == new_fp
        assert served_fingerprint(site.collector.export_port) == new_fp
        log("new certificate served: %s" % new_fp)

        # Broken replacements are refused; the certificate in force stays.
        good = {ext: open(site.pki.cert("server")[:-4] + ext, "rb").read() for ext in (".pem", ".key")}
        site.ca.issue("other", "localhost", dns=["localhost"], eku="serverAuth")
        broken = [
            ("garbage certificate", lambda: write(site.pki.cert("server"), b"not a certificate\n"),
             ["server.pem", "no start line"]),
            ("key of another certificate", lambda: write(site.pki.key("server"), open(site.pki.key("other"), "rb").read()),
             ["server.key", "mismatch"]),
            ("group-readable key", lambda: os.chmod(site.pki.key("server"), 0o640), ["server.key", "0640"]),
        ]
        for n, (what, breakit, expect) in enumerate(broken, start=2):
            breakit()
            site.hangup()
            reload = site.reloads(n)
            assert sd_param(reload, "refused") == "tls", (what, reload)
            failed = [e["msg"] for e in site.events("TLS_RELOAD_FAILED")]
            assert len(failed) == n - 1 and all(x in failed[-1] for x in expect), (what, failed)
            assert served_fingerprint(site.collector.port) == new_fp, what
            assert served_fingerprint(site.collector.export_port) == new_fp, what
            log("%s refused: %s" % (what, failed[-1]))
            for ext, data in good.items():
                write(site.pki.cert("server")[:-4] + ext, data)

        writer.join()
        check_all_stored(site, agent, count)
        assert site.connected(agent.host) == 1, "the agent reconnected"
        assert site.events("PEER_REVOKED") == []
    finally:
        site.close()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


if __name__ == "__main__":
    main([test_crl_revokes_a_live_agent, test_server_certificate_rotates_under_load])
