#!/usr/bin/env python3
"""`trailkeep verify --export` certifies every field an export shows, not only the chain.

A real `trailkeep forward` agent tails a syslog file (lines with non-UTF-8 bytes among them)
and an audit log into the real trailkeepd; its events are exported as NDJSON through
`/v1/events` with curl, as an auditor would, and checked with the agent's HMAC key:

  - untouched, the export passes (exit 0, "OK N events"), and the verifier says what the
    chain does not cover (the `unverified` line);
  - `msg` of one event edited, `raw_b64` left alone: exit 1, naming host, seq, line and the
    field with both values (before this check the export verified "OK");
  - `hostname`, `severity` or a structured-data value edited: exit 1, naming that field;
  - a grouped auditd event whose record was rewritten consistently (records, msg, raw_b64)
    fails against its signed member event;
  - the collector's own fields (peer, receive_time, refs) edited: still exit 0, since the
    chain does not cover them, and they are listed as unverified.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, RUN_DIR, Collector, log, main  # noqa: E402
from agents import Agent, enroll  # noqa: E402

HOST = "verify-f.test"
TRAILKEEP = os.path.join(BIN, "trailkeep")
LINES = [
    b"Nov 23 05:08:37 %s sshd[4242]: Accepted publickey for alice from 192.0.2.10\n" % HOST.encode(),
    b"<86>1 2026-11-23T05:08:38.000001Z other sudo 77 ID9 [ex@1 cmd=\"date\"] alice : COMMAND=/bin/date\n",
    b"Nov 23 05:08:39 %s app[1]: bytes \xff\xfe not UTF-8\n" % HOST.encode(),
]
RECORDS = [
    'type=SYSCALL msg=audit(1700000100.101:21): arch=c000003e syscall=59 success=yes exit=0 '
    'a0=1 a1=2 a2=3 a3=0 items=1 ppid=1 pid=3 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 '
    'egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm="id" exe="/usr/bin/id" key="exec"',
    'type=EOE msg=audit(1700000100.101:21):',
]


def run(*args):
    return subprocess.run(list(args), capture_output=True, timeout=120)


def export(c, path):
    dev = os.path.join(c.workdir, "dev")
    with open(os.path.join(dev, "admin.token")) as f:
        token = f.read().strip()
    url = "https://127.0.0.1:%d/v1/events?host=%s&limit=10000" % (c.export_port, HOST)
    r = run("curl", "-sS", "--http1.1", "--fail", "--cacert", os.path.join(dev, "pki", "ca.pem"),
            "-H", "Authorization: Bearer " + token, "-o", path, url)
    assert r.returncode == 0, r.stderr.decode()
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip() and "raw_b64" in l]


def verify(work, lines, key, name):
    path = os.path.join(work, name + ".ndjson")
    with open(path, "w") as f:
        for l in lines:
            f.write(json.dumps(l, ensure_ascii=False) + "\n")
    r = run(TRAILKEEP, "verify", "--export", path, "--key", key)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def edited(lines, index, change):
    out = [json.loads(json.dumps(l)) for l in lines]
    change(out[index])
    return out


def test_every_field_is_checked():
    work = tempfile.mkdtemp(prefix="verify-fields-", dir=RUN_DIR)
    c = Collector(os.path.join(work, "collector")).start()
    agent = None
    try:
        app_log, audit_log = os.path.join(work, "app.log"), os.path.join(work, "audit.log")
        with open(app_log, "wb") as f:
            f.write(b"".join(LINES))
        with open(audit_log, "w") as f:
            f.write("\n".join(RECORDS) + "\n")
        bundle = enroll(c, HOST)
        key = os.path.join(bundle, "hmac.key")
        agent = Agent(HOST, bundle, c.port, os.path.join(work, "agent"),
                      inputs=[("app", app_log), ("audit", audit_log, "audit")]).start()

        def complete():
            evs = c.peer_events("--host", HOST)
            ok = len([e for e in evs if e.get("audit")]) == 1 and \
                len([e for e in evs if e.get("chain")]) >= len(LINES) + len(RECORDS) + 1
            return evs if ok else None
        c.wait_for(complete, timeout=60, what="the agent's events and one grouped event")

        lines = export(c, os.path.join(work, "export.ndjson"))
        chained = [l for l in lines if l.get("chain")]
        assert all(l["enterprise_number"] == 32473 for l in chained), chained[0]
        rc, out, err = verify(work, lines, key, "untouched")
        assert rc == 0, (rc, out, err)
        assert "OK %d events" % len(chained) in out, out
        assert "unverified (not covered by the chain): ingest_seq, receive_time, peer" in out, out
        assert "1 grouped audit events (2 records matched with their members)" in out, out
        log("  untouched: %s" % out.strip().replace("\n", " | "))

        # msg edited, raw_b64 untouched: the auditor's test of the issue.
        i = next(k for k, l in enumerate(lines) if l["msg"].startswith("alice : COMMAND"))
        seq = lines[i]["chain"]["s"]
        rc, out, err = verify(work, edited(lines, i, lambda l: l.update(msg="alice : COMMAND=/bin/true")),
                              key, "msg")
        assert rc == 1, (rc, out, err)
        want = ('field_differs host=%s epoch=%s seq=%d line %d: msg: export "alice : COMMAND=/bin/true", '
                'signed message "alice : COMMAND=/bin/date"' % (HOST, lines[i]["chain"]["e"], seq, i + 1))
        assert want in out, out
        assert "BROKEN: 1 field differs from the signed bytes in 1 event" in out, out
        log("  msg edited: %s" % out.strip().replace("\n", " | "))

        for field, change in (
                ("hostname", lambda l: l.update(hostname="web99.test")),
                ("severity", lambda l: l.update(severity="emerg")),
                ("app_name", lambda l: l.update(app_name="cron")),
                ("structured_data", lambda l: l["structured_data"][-1]["params"][0].update(value="rm")),
                ("timestamp", lambda l: l.update(timestamp="2026-11-23T05:08:38.000002Z"))):
            rc, out, _ = verify(work, edited(lines, i, change), key, field)
            assert rc == 1 and ("seq=%d line %d: %s" % (seq, i + 1, field)) in out, (field, out)
        rc, out, _ = verify(work, edited(lines, i, lambda l: l["structured_data"][-1]["params"][0].update(value="rm")),
                            key, "sd")
        assert 'structured_data[2].params[0].value: export "rm", signed message "date"' in out, out

        # Non-UTF-8 bytes: shown as U+FFFD, and the untouched line verified above.
        assert any("\ufffd" in l["msg"] for l in chained), [l["msg"] for l in chained]

        # A grouped event rewritten consistently with itself is caught by its members.
        g = next(k for k, l in enumerate(lines) if l.get("audit"))

        def rewrite(l):
            text = l["audit"]["records"][0]["text"].replace("uid=0 gid=0", "uid=7 gid=0")
            l["audit"]["records"][0]["text"] = text
            joined = text + "\n" + l["audit"]["records"][1]["text"]
            l["msg"] = joined
            l["raw_b64"] = base64.b64encode(joined.encode()).decode()
        rc, out, _ = verify(work, edited(lines, g, rewrite), key, "group")
        assert rc == 1 and "audit.records[0]: export chain_seq=" in out, out
        log("  grouped event rewritten: %s" % out.strip().splitlines()[0])

        # The collector's own fields: not covered, so not an alarm.
        def collector_fields(l):
            l["peer"]["address"] = "203.0.113.1:1"
            l["refs"] = ["FAU_GEN.1"]
            l["receive_time"] = l["receive_time"][:-2] + "9Z"
        rc, out, err = verify(work, edited(lines, i, collector_fields), key, "collector")
        assert rc == 0, (rc, out, err)
    finally:
        if agent:
            agent.stop()
        c.stop()


if __name__ == "__main__":
    main([test_every_field_is_checked])
