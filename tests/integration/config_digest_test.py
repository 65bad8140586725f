#!/usr/bin/env python3
"""The collector's own trail of its configuration (issue 16, part 4). A real
trailkeepd with a config file, a CA and CRL made by `openssl ca`, a rules
file and a [[tunnel]] whose known_hosts holds `ssh-keygen` keys (the node is
never reached: only the anchor is recorded).

  1. COLLECTOR_START records config_sha256 (the canonical rendering's),
     config_file_sha256 (the bytes'), rules_sha256 (the rules file's bytes)
     and the trust anchors with their fingerprints: ca_sha256 (the CA's DER
     SHA-256), crl_sha256, pinned_fingerprints, known_hosts_sha256 (as
     `ssh-keygen -l` prints them).
  2. SIGHUP with nothing changed: CONFIG_RELOADED with the same config
     digest and nothing named as changed. A comment added to the file: the
     same config digest, another file digest, still nothing changed.
  3. A setting edited: another digest, the key named (config_changed and
     `changed`), config_restart_pending = 1.
  4. The rules edited: rules_sha256 follows the file, ndcpp.rules_file named;
     an invalid rules file is refused (`ndcpp`) and the digest stays.
  5. A second CA appended to the bundle, a new CRL, a new host key: their
     fingerprints recorded, each anchor named in anchors_changed.
"""
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RUN_DIR, Collector, free_port, main, sd_param  # noqa: E402
from ndcpp_test import RULE  # noqa: E402 - a rule with a marker and a description
from pki import TestPki, collector_config, fingerprint_of  # noqa: E402

PINNED = "sha-256:" + ":".join(["AB"] * 32)


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def ssh_key(path, kind):
    """A new key pair (ssh-keygen); returns (public key line, SHA256:... fingerprint)."""
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "t", "-f", path], check=True)
    with open(path + ".pub") as f:
        kind_and_key = " ".join(f.read().split()[:2])
    out = subprocess.run(["ssh-keygen", "-lf", path + ".pub"], check=True, capture_output=True, text=True)
    return kind_and_key, out.stdout.split()[1]


class Site:
    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="config-digest-", dir=RUN_DIR)
        self.pki = TestPki(os.path.join(self.work, "pki"))
        self.ca = self.pki.make_ca("ca", "trailkeep digest test CA")
        self.ca.issue("server", "localhost", dns=["localhost"], ips=["127.0.0.1"], eku="serverAuth")
        self.crl = self.ca.gencrl()
        self.rules = os.path.join(self.work, "rules.toml")
        with open(self.rules, "w") as f:
            f.write(RULE % ("first", "one"))
        tunnel_key = os.path.join(self.work, "tunnel_key")
        ssh_key(tunnel_key, "ed25519")
        host_key, self.host_fp = ssh_key(os.path.join(self.work, "host_key"), "ecdsa")
        self.known_hosts = os.path.join(self.work, "known_hosts")
        port = free_port()  # nothing listens: the tunnel only retries, slowly
        with open(self.known_hosts, "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (port, host_key))
        self.head = collector_config(self.pki, crl=True, permitted_fingerprints=[PINNED]) + (
            '\n[ndcpp]\nrules_file = "%s"\n'
            '\n[[tunnel]]\nname = "node1"\nhost = "127.0.0.1"\nport = %d\nprivate_key_file = "%s"\n'
            'known_hosts_file = "%s"\nbackoff_min_ms = 60000\nbackoff_max_ms = 60000\n'
            % (self.rules, port, tunnel_key, self.known_hosts))
        self.collector = Collector(os.path.join(self.work, "collector"),
                                   config_text=self.head + "\n[limits]\nmax_connections = 100\n").start()
        self.config = os.path.join(self.collector.workdir, "trailkeepd.toml")
        self.reloads = 0

    def write_config(self, tail):
        with open(self.config, "w") as f:
            f.write(self.head.replace("@DATA@", self.collector.data_dir) + tail)

    def event(self, msgid, n):
        """The n-th (1-based) collector event `msgid`, once stored."""
        return self.collector.wait_for(
            lambda: len(self.collector.self_events(msgid)) >= n and self.collector.self_events(msgid)[n - 1],
            30, "%s #%d" % (msgid, n))

    def hangup(self):
        os.kill(self.collector.proc.pid, signal.SIGHUP)
        self.reloads += 1
        return self.event("CONFIG_RELOADED", self.reloads)


def changed(e):
    return [c for c in sd_param(e, "changed").split(",") if c]


def test_config_digest_and_anchors_on_start_and_sighup():
    site = Site()
    try:
        start = site.event("COLLECTOR_START", 1)
        digest = sd_param(start, "config_sha256")
        assert re.fullmatch("[0-9a-f]{64}", digest), start
        assert sd_param(start, "config_file_sha256") == sha256_file(site.config), start
        assert sd_param(start, "rules_sha256") == sha256_file(site.rules), start
        assert sd_param(start, "ca_sha256") == fingerprint_of(site.pki.cert("ca")), start
        assert sd_param(start, "crl_sha256") == sha256_file(site.crl), start
        assert sd_param(start, "pinned_fingerprints") == PINNED, start
        assert sd_param(start, "known_hosts_sha256") == "node1=" + site.host_fp, start

        # 2. Nothing changed, then only a comment: the same effective digest.
        same = site.hangup()
        assert sd_param(same, "config_sha256") == digest, same
        assert changed(same) == [] and sd_param(same, "config_changed") == "", same
        assert sd_param(same, "anchors_changed") == "" and sd_param(same, "refused") == "", same
        assert sd_param(same, "config_restart_pending") == "0", same
        assert "nothing changed" in same["msg"], same["msg"]
        site.write_config("\n# a comment changes no setting\n[limits]\nmax_connections   =   100\n")
        comment = site.hangup()
        assert sd_param(comment, "config_sha256") == digest, comment
        assert sd_param(comment, "config_file_sha256") == sha256_file(site.config), comment
        assert sd_param(comment, "config_file_sha256") != sd_param(start, "config_file_sha256"), comment
        assert changed(comment) == [], comment

        # 3. A setting edited: named by its key, in force at the next start.
        site.write_config("\n[limits]\nmax_connections = 200\n")
        edit = site.hangup()
        assert sd_param(edit, "config_sha256") not in ("", digest), edit
        assert sd_param(edit, "config_changed") == "limits.max_connections", edit
        assert changed(edit) == ["config:limits.max_connections"], edit
        assert "config:limits.max_connections" in edit["msg"], edit["msg"]
        assert sd_param(edit, "config_restart_pending") == "1", edit

        # 4. The rules edited: their digest follows the file.
        with open(site.rules, "w") as f:
            f.write(RULE % ("second", "two"))
        rules = site.hangup()
        assert sd_param(rules, "rules_sha256") == sha256_file(site.rules), rules
        assert sd_param(rules, "rules_sha256") != sd_param(start, "rules_sha256"), rules
        assert changed(rules) == ["ndcpp.rules_file"], rules
        # An invalid rules file is refused: the digest in force stays.
        with open(site.rules, "a") as f:
            f.write('\n[[rule]]\nname = "bad"\nmsg = "("\nrefs = ["NOPE_X.1"]\ndescription = "x"\n')
        bad = site.hangup()
        assert sd_param(bad, "refused") == "ndcpp" and changed(bad) == [], bad
        assert sd_param(bad, "rules_sha256") == sd_param(rules, "rules_sha256"), bad
        with open(site.rules, "w") as f:
            f.write(RULE % ("second", "two"))

        # 5. Trust anchors replaced: a second CA in the bundle, a new CRL, a new host key.
        ca2 = site.pki.make_ca("ca2", "trailkeep digest second CA")
        with open(site.pki.cert("ca"), "a") as bundle, open(ca2.pki.cert("ca2")) as second:
            bundle.write(second.read())
        site.ca.gencrl()
        host_key, host_fp = ssh_key(os.path.join(site.work, "host_key2"), "ed25519")
        with open(site.known_hosts, "a") as f:
            f.write("[127.0.0.1]:1 %s\n" % host_key)
        anchors = site.hangup()
        assert sd_param(anchors, "refused") == "", anchors
        assert sd_param(anchors, "ca_sha256") == "%s,%s" % (sd_param(start, "ca_sha256"),
                                                            fingerprint_of(site.pki.cert("ca2"))), anchors
        assert sd_param(anchors, "crl_sha256") == sha256_file(site.crl) != sd_param(start, "crl_sha256"), anchors
        assert sd_param(anchors, "known_hosts_sha256") == "node1=%s,%s" % (site.host_fp, host_fp), anchors
        assert sd_param(anchors, "anchors_changed") == \
            "tls.ca_file,tls.crl_file,tunnel.node1.known_hosts_file", anchors
        assert {"tls.ca_file", "tls.crl_file", "tunnel.node1.known_hosts_file"} <= set(changed(anchors)), anchors
        assert sd_param(anchors, "config_sha256") == sd_param(edit, "config_sha256"), anchors
        assert site.collector.alive()
    finally:
        site.collector.stop()


if __name__ == "__main__":
    main([test_config_digest_and_anchors_on_start_and_sighup])
