#!/usr/bin/env python3
"""Agent enrollment and chain verification against the real binaries.

  1. `trailkeepd enroll web01.test --dev D --out A` makes A (0700) with agent.key and hmac.key
     (0600), agent.pem (SAN DNS:web01.test, clientAuth, signed by the dev CA = A/ca.pem) and
     agent.toml naming those files relative to itself, and installs the HMAC key as D/keys/web01.test.key (0600, same bytes); a second
     enroll without --force is refused (exit 2) and changes nothing; --force renews the
     certificate and keeps the HMAC key (the agent's chain goes on).
  2. A dev collector receives 50 chained messages signed by Python's hmac (an implementation
     independent of the C++ one, following docs/formats/hmac_chain.md) over mutual TLS with the
     enrolled certificate as RFC 5425 frames. `trailkeepd verify --db D/data --host web01.test`
     says "OK 50 events" (exit 0), and exit 1 with a wrong key. The same events exported as
     NDJSON over the HTTPS API pass `trailkeep verify --export F --key A/hmac.key`; an export
     with one event's raw bytes edited fails (exit 1) naming bad_mac at that seq, and one with
     a line deleted names the gap.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, Collector, log, main  # noqa: E402
from agents import send_as_agent, signed_messages  # noqa: E402

TRAILKEEPD = os.path.join(BIN, "trailkeepd")
TRAILKEEP = os.path.join(BIN, "trailkeep")
HOST = "web01.test"
PEN = 32473
COUNT = 50


def run(*args, timeout=120):
    return subprocess.run(list(args), capture_output=True, timeout=timeout)


def mode(path):
    return os.stat(path).st_mode & 0o777


def enroll(dev, out, host=HOST, *extra):
    return run(TRAILKEEPD, "enroll", host, "--dev", dev, "--out", out, *extra)


def read(path, binary=False):
    with open(path, "rb" if binary else "r") as f:
        return f.read()


# --- 1. enrollment -------------------------------------------------------------------------------

def test_enroll_makes_agent_files():
    work = tempfile.mkdtemp(prefix="tk-enroll-")
    dev, out = os.path.join(work, "dev"), os.path.join(work, "agent")
    r = enroll(dev, out)
    assert r.returncode == 0, r.stderr.decode()
    for name, want in (("", 0o700), ("agent.key", 0o600), ("hmac.key", 0o600)):
        p = os.path.join(out, name)
        assert mode(p) == want, "%s has mode %o, want %o" % (p, mode(p), want)
    installed = os.path.join(dev, "keys", HOST + ".key")
    assert mode(installed) == 0o600, oct(mode(installed))
    assert read(installed, True) == read(os.path.join(out, "hmac.key"), True)
    key_text = read(installed).strip()
    assert len(key_text) == 64 and all(c in "0123456789abcdef" for c in key_text), key_text

    crt = os.path.join(out, "agent.pem")
    san = run("openssl", "x509", "-in", crt, "-noout", "-ext", "subjectAltName,extendedKeyUsage",
              "-subject")
    assert san.returncode == 0, san.stderr
    text = san.stdout.decode()
    assert "DNS:web01.test" in text, text
    assert "TLS Web Client Authentication" in text, text
    assert "CN = web01.test" in text or "CN=web01.test" in text, text
    v = run("openssl", "verify", "-CAfile", os.path.join(out, "ca.pem"), crt)
    assert v.returncode == 0, v.stdout + v.stderr
    # ca.pem is the dev CA, which also signed the collector's certificate.
    assert read(os.path.join(out, "ca.pem"), True) == read(os.path.join(dev, "pki", "ca.pem"), True)
    key_check = run("openssl", "pkey", "-in", os.path.join(out, "agent.key"), "-noout", "-text")
    assert b"P-256" in key_check.stdout or b"prime256v1" in key_check.stdout, key_check.stdout[:200]

    toml = read(os.path.join(out, "agent.toml"))
    for want in ('host = "web01.test"', 'address = "127.0.0.1:6514"',
                 'hmac_key_file = "hmac.key"', 'ca_file = "ca.pem"', 'cert_file = "agent.pem"',
                 'key_file = "agent.key"', "[[input]]"):
        assert want in toml, (want, toml)
    assert sorted(os.listdir(out)) == ["agent.key", "agent.pem", "agent.toml", "ca.pem",
                                       "hmac.key"], os.listdir(out)

    # Again without --force: refused, nothing changed.
    before = read(installed, True)
    r = enroll(dev, os.path.join(work, "agent2"))
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    err = r.stderr.decode()
    assert "--force" in err and "--rotate" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert read(installed, True) == before
    assert not os.path.exists(os.path.join(work, "agent2"))

    # Bad host names and usage errors: exit 2, one line.
    for bad in ("web_01", "web-", "a..b", "x" * 64 + ".test"):
        r = enroll(dev, os.path.join(work, "bad"), bad)
        assert r.returncode == 2, (bad, r.returncode)
        assert "DNS" in r.stderr.decode(), r.stderr
    r = run(TRAILKEEPD, "enroll", HOST, "--out", os.path.join(work, "x"))
    assert r.returncode == 2 and b"--config" in r.stderr, r.stderr

    # --force: a new certificate, the same key (it used to start a new chain).
    cert_before = read(os.path.join(out, "agent.pem"), True)
    r = enroll(dev, out, HOST, "--force")
    assert r.returncode == 0, r.stderr.decode()
    assert read(installed, True) == before
    assert read(installed, True) == read(os.path.join(out, "hmac.key"), True)
    assert read(os.path.join(out, "agent.pem"), True) != cert_before
    log("  enroll: files, modes, SAN, key install and refusal as specified")


def test_copied_bundle_runs_the_agent():
    """The bundle copied elsewhere (as to a node's /etc/trailkeep) runs the real agent with its
    file paths untouched: only the collector's port, the spool and the input change here."""
    c = Collector()
    dev = os.path.join(c.workdir, "dev")
    made, node_etc = os.path.join(c.workdir, "made"), os.path.join(c.workdir, "node-etc")
    r = enroll(dev, made)
    assert r.returncode == 0, r.stderr.decode()
    os.makedirs(node_etc)
    for name in os.listdir(made):
        shutil.copy2(os.path.join(made, name), node_etc)
    shutil.rmtree(made)  # nothing may still point at the folder enroll wrote
    config = os.path.join(node_etc, "agent.toml")
    app_log = os.path.join(c.workdir, "auth.log")
    with open(app_log, "w") as f:
        for i in range(5):
            f.write("<38>1 2026-01-01T00:00:0%dZ %s sshd 1 - - copied bundle %d\n" % (i, HOST, i))
    text = read(config)
    c.start()
    try:
        text = text.replace('"127.0.0.1:6514"', '"127.0.0.1:%d"\nserver_name = "localhost"' % c.port)
        text = text.replace('"/var/lib/trailkeep-agent/spool"', '"%s"' % os.path.join(c.workdir, "spool"))
        text = text.replace('"/var/log/auth.log"', '"%s"\nstart = "beginning"' % app_log)
        with open(config, "w") as f:
            f.write(text)
        logf = open(os.path.join(c.workdir, "agent.log"), "w")
        agent = subprocess.Popen([TRAILKEEP, "forward", "--config", config], cwd="/",
                                 stdout=logf, stderr=subprocess.STDOUT)
        try:
            def copied():
                evs = [e for e in c.peer_events("--host", HOST) if "copied bundle" in e["msg"]]
                return evs if len(evs) >= 5 else None
            events = c.wait_for(copied, 60, "5 events from the copied bundle's agent")
            assert sorted({e["integrity"] for e in events}) == ["verified"], events
        finally:
            agent.terminate()
            agent.wait(20)
            logf.close()
    finally:
        c.stop()
    log("  the copied bundle: 5 events stored verified, no path edited")


# --- 2. chain verification ---------------------------------------------------------------------

def export_ndjson(c, dev, path):
    token = read(os.path.join(dev, "admin.token")).strip()
    url = "https://127.0.0.1:%d/v1/events?host=%s&limit=10000" % (c.export_port, HOST)
    r = run("curl", "-sS", "--http1.1", "--fail", "--cacert", os.path.join(dev, "pki", "ca.pem"),
            "-H", "Authorization: Bearer " + token, "-o", path, url)
    assert r.returncode == 0, r.stderr.decode()
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def write_ndjson(path, lines):
    with open(path, "w") as f:
        for l in lines:
            f.write(json.dumps(l) + "\n")


def verify_export(path, key, *extra):
    return run(TRAILKEEP, "verify", "--export", path, "--key", key, *extra)


def test_collector_and_export_verify():
    c = Collector()
    dev = os.path.join(c.workdir, "dev")
    agent = os.path.join(c.workdir, "agent")
    r = enroll(dev, agent)
    assert r.returncode == 0, r.stderr.decode()
    key = bytes.fromhex(read(os.path.join(agent, "hmac.key")).strip())
    epoch = __import__("time").time_ns()
    c.start()
    try:
        send_as_agent(c.port, agent, signed_messages(HOST, key, epoch, COUNT))
        events = c.wait_for_count(COUNT, 60, "--host", HOST)
        assert len(events) == COUNT, len(events)
        log("  stored integrity: %s" % sorted({e["integrity"] for e in events}))

        r = run(TRAILKEEPD, "verify", "--db", c.data_dir, "--host", HOST)
        out = r.stdout.decode()
        assert r.returncode == 0, (r.returncode, out, r.stderr.decode())
        assert "OK %d events" % COUNT in out, out
        log("  trailkeepd verify: %s" % out.strip())

        wrong = os.path.join(c.workdir, "wrong.key")
        with open(wrong, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        os.chmod(wrong, 0o600)
        r = run(TRAILKEEPD, "verify", "--db", c.data_dir, "--host", HOST, "--key", wrong)
        out = r.stdout.decode()
        assert r.returncode == 1, (r.returncode, out, r.stderr.decode())
        assert "bad_mac epoch=%d seqs 1-%d" % (epoch, COUNT) in out, out
        r = run(TRAILKEEPD, "verify", "--db", c.data_dir, "--host", "nosuch.test")
        assert r.returncode == 2, (r.returncode, r.stderr)

        export = os.path.join(c.workdir, "export.ndjson")
        lines = export_ndjson(c, dev, export)
        chained = [l for l in lines if l.get("chain")]
        assert len(chained) == COUNT, len(chained)
        hmac_key = os.path.join(agent, "hmac.key")
        r = verify_export(export, hmac_key)
        out = r.stdout.decode()
        assert r.returncode == 0, (r.returncode, out, r.stderr.decode())
        assert "OK %d events" % COUNT in out, out
        log("  trailkeep verify --export: %s" % out.strip())

        # One event's raw bytes edited: bad_mac at its seq.
        edited = [dict(l) for l in lines]
        target = next(l for l in edited if l.get("chain") and int(l["chain"]["s"]) == 17)
        raw = base64.b64decode(target["raw_b64"])
        assert raw.endswith(b"msg 17"), raw
        target["raw_b64"] = base64.b64encode(raw[:-2] + b"71").decode()
        tampered = os.path.join(c.workdir, "tampered.ndjson")
        write_ndjson(tampered, edited)
        r = verify_export(tampered, hmac_key)
        out = r.stdout.decode()
        assert r.returncode == 1, (r.returncode, out, r.stderr.decode())
        assert "bad_mac epoch=%d seq 17:" % epoch in out, out
        assert len([l for l in out.splitlines() if l.startswith(("bad_mac", "gap", "broken_link",
                                                                  "conflict", "duplicate"))]) == 1, out
        log("  edited export: %s" % out.strip().replace("\n", " | "))

        # One line deleted: a gap at its seq.
        cut = [l for l in lines if not (l.get("chain") and int(l["chain"]["s"]) == 30)]
        gapped = os.path.join(c.workdir, "gapped.ndjson")
        write_ndjson(gapped, cut)
        r = verify_export(gapped, hmac_key, "--host", HOST)
        out = r.stdout.decode()
        assert r.returncode == 1, (r.returncode, out, r.stderr.decode())
        assert "gap epoch=%d seq 30:" % epoch in out, out
    finally:
        c.stop()


if __name__ == "__main__":
    main([test_enroll_makes_agent_files, test_collector_and_export_verify,
          test_copied_bundle_runs_the_agent])
