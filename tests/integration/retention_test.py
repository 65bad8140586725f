#!/usr/bin/env python3
"""Retention through the real trailkeepd ([store] retention, docs/formats/record_store.md
"Retention"), with real time and a short override so it runs in seconds:

  1. [[store.retention_override]] hosts = ["old-*"], retention = "2s": the old host's events
     leave the store while the others (retention "forever") stay; each cut is a RETENTION_CUT
     collector event naming the host, the count and the seqs; `trailkeepd hosts` shows the
     oldest event kept per host.
  2. GET /v1/events with a cursor before the cut is answered from the first kept event with
     X-Trailkeep-Expired and X-Trailkeep-First-Kept-Cursor (and the NDJSON trailer), not an error;
     a query from a time before one host's cut names that host (X-Trailkeep-Hosts-Expired).
  3. --check-config refuses a malformed retention with its line.
  4. A port-60 record resent after its host's events expired (its dedupe key went with them)
     is not stored again: its audit time is before the host's cut, so it is a `replay`
     INTEGRITY_ALARM.
"""
import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, Collector, log, sd_param  # noqa: E402


def config(dev, retention, overrides=""):
    pki = os.path.join(dev, "pki")
    return "\n".join([
        'data_dir = "@DATA@"',
        'collector_name = "tk-retention-collector"',
        "[[listen.syslog]]",
        'address = "127.0.0.1:0"',
        "[[listen.export]]",
        'address = "127.0.0.1:0"',
        "[tls]",
        'cert_file = "%s/server.pem"' % pki,
        'key_file = "%s/server.key"' % pki,
        'ca_file = "%s/ca.pem"' % pki,
        'client_auth = "optional"',
        "[export]",
        'token_file = "%s/export-tokens"' % dev,
        "[ndcpp]",
        'rules_file = "none"',
        "[store]",
        'retention = "%s"' % retention,
        overrides,
    ]) + "\n"


def dev_folder():
    """A workdir whose dev/ holds a PKI and an admin token (made by a dev-mode start)."""
    c = Collector()
    c.start()
    c.stop()
    return c.workdir


def hosts(c):
    out = harness.run([os.path.join(BIN, "trailkeepd"), "hosts", "--db", c.db, "--format", "json"],
                      timeout=60)
    return {h["host"]: h for h in (json.loads(l) for l in out.stdout.decode().splitlines() if l.strip())}


def get(c, path, token):
    ca = os.path.join(c.workdir, "dev", "pki", "ca.pem")
    r = subprocess.run(["curl", "-sS", "--http1.1", "-D", "-", "--cacert", ca, "--max-time", "60",
                        "-H", "Authorization: Bearer " + token,
                        "https://127.0.0.1:%d%s" % (c.export_port, path)],
                       capture_output=True, timeout=90)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_old_hosts_expire_and_a_cursor_before_the_cut_is_answered():
    workdir = dev_folder()
    dev = os.path.join(workdir, "dev")
    with open(os.path.join(dev, "admin.token")) as f:
        token = f.read().strip()
    overrides = '[[store.retention_override]]\nhosts = ["old-*"]\nretention = "2s"\n'
    c = Collector(workdir=workdir, config_text=config(dev, "forever", overrides))
    with c:
        old = [b"<13>1 - old-box app - - - old %d" % i for i in range(3)]
        c.send_frames(old + [b"<13>1 - keep-box app - - - kept"])
        c.wait_for_count(4)
        before = hosts(c)
        assert before["old-box"]["oldest_kept"] == before["old-box"]["first_seen"], before["old-box"]
        # The pass runs every second (a tenth of 2 s): the cut follows within about 3 s.
        cuts = c.wait_for(lambda: c.self_events("RETENTION_CUT"), 20, "a RETENTION_CUT event")
        assert len(cuts) == 1, cuts
        cut = cuts[0]
        assert sd_param(cut, "host") == "old-box", cut
        assert sd_param(cut, "events") == "3", cut
        assert sd_param(cut, "retention") == "2s", cut
        first, last = int(sd_param(cut, "first_seq")), int(sd_param(cut, "last_seq"))
        peers = c.peer_events()
        assert [e["msg"] for e in peers] == ["kept"], peers
        after = hosts(c)
        assert after["old-box"]["oldest_kept"] == "", after["old-box"]
        assert after["old-box"]["retention"]["expired_events"] == 3, after["old-box"]
        assert after["keep-box"]["oldest_kept"] == before["keep-box"]["oldest_kept"], after
        assert "retention" not in after["keep-box"], after["keep-box"]
        log("  cut: %s" % cut["msg"])

        # The collector's start event (seq 1) is kept forever, so the store's first kept
        # event is seq 1: a cursor before it does not exist. The per-host hole is named by
        # the RETENTION_CUT event in the stream itself.
        status, headers, body = get(c, "/v1/events?cursor=0&limit=100", token)
        assert status == 200, (status, body[:300])
        assert "x-trailkeep-expired" not in headers, headers
        seqs = [json.loads(l).get("ingest_seq") for l in body.decode().splitlines() if l.strip()]
        assert not any(first <= int(s) <= last for s in seqs if s is not None), (first, last, seqs)
        assert b'"RETENTION_CUT"' in body, body[:2000]
        # A query from a time before old-box's cut names the host: its older events are gone
        # though the store around them is not (header, NDJSON trailer, the CLI's stderr).
        status, headers, body = get(c, "/v1/events?since=1h&limit=100", token)
        assert status == 200, (status, body[:300])
        assert headers.get("x-trailkeep-hosts-expired", "").startswith("old-box before "), headers
        trailer = json.loads(body.decode().splitlines()[-1])
        assert trailer["hosts_expired"] == headers["x-trailkeep-hosts-expired"], trailer
        status, headers, _ = get(c, "/v1/events?host=keep-*&since=1h&limit=100", token)
        assert status == 200 and "x-trailkeep-hosts-expired" not in headers, headers
        r = harness.run([os.path.join(BIN, "trailkeepd"), "query", "--db", c.db, "--host", "old-*"],
                        timeout=60)
        assert b"expired by retention: old-box before " in r.stderr, r.stderr

    # Now every host is kept 2 s: everything before the new events expires, the collector's
    # own events included, and a cursor of 0 falls before the cut.
    c = Collector(workdir=workdir, config_text=config(dev, "2s"))
    with c:
        c.wait_for(lambda: not any(int(e["ingest_seq"]) == 1 for e in c.query()), 20,
                   "seq 1 to expire")
        status, headers, body = get(c, "/v1/events?cursor=0&limit=1000", token)
        assert status == 200, (status, body[:300])
        expired = headers.get("x-trailkeep-expired", "")
        first_kept = int(headers["x-trailkeep-first-kept-cursor"])
        assert expired == "1-%d" % first_kept, headers
        lines = [json.loads(l) for l in body.decode().splitlines() if l.strip()]
        assert lines[-1]["expired"] == expired and lines[-1]["first_kept_cursor"] == str(first_kept), lines[-1]
        events = lines[:-1]  # the newest only: the collector's own expire too
        assert all(int(e["ingest_seq"]) > first_kept for e in events), events[:1]
        log("  cursor 0: expired %s, first kept cursor %d, %d events" % (expired, first_kept, len(events)))
        # A query from a time: the expired range is named when the time falls before the
        # first kept event, not when it falls after.
        status, headers, _ = get(c, "/v1/events?since=1h&limit=10", token)
        assert status == 200 and headers.get("x-trailkeep-expired", "").startswith("1-"), headers
        status, headers, _ = get(c, "/v1/events?since=2099-01-01T00:00:00Z&limit=10", token)
        assert status == 200 and "x-trailkeep-expired" not in headers, headers


def port60_send(port, seq, payload):
    """One record over auditd's remote protocol, as audisp-remote frames it; True when ACKed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack("<IBBIHI", 0xFF0000FE, 0, 0, 0, len(payload), seq) + payload)
        head = b""
        while len(head) < 16:
            chunk = s.recv(16 - len(head))
            assert chunk, "connection closed before the reply"
            head += chunk
        return struct.unpack("<IBBIHI", head)[3] == 0x40000000


def test_port60_resend_of_an_expired_record_is_a_replay():
    workdir = dev_folder()
    dev = os.path.join(workdir, "dev")
    overrides = ('[[store.retention_override]]\nhosts = ["127.0.0.1"]\nretention = "2s"\n'
                 '[[listen.audit]]\naddress = "127.0.0.1:0"\n')
    c = Collector(workdir=workdir, config_text=config(dev, "forever", overrides))
    with c:
        rec = (b"type=USER_LOGIN msg=audit(%d.000:71): pid=1 uid=0 auid=1000 "
               b"res=success\n" % int(time.time()))
        assert port60_send(c.audit_port, 1, rec)
        stored = lambda: [e for e in c.query("--host", "127.0.0.1") if e.get("audit_member")]
        assert len(stored()) == 1
        cuts = c.wait_for(lambda: [e for e in c.self_events("RETENTION_CUT")
                                   if sd_param(e, "host") == "127.0.0.1"], 20, "the cut")
        log("  cut: %s" % cuts[0]["msg"])
        assert stored() == []
        # The same bytes again: acknowledged (the client must not retry for ever), not stored.
        assert port60_send(c.audit_port, 2, rec)
        alarms = c.wait_for(lambda: [e for e in c.self_events("INTEGRITY_ALARM")
                                     if sd_param(e, "kind") == "replay"], 20, "a replay alarm")
        assert sd_param(alarms[0], "host") == "127.0.0.1", alarms[0]
        log("  replay: %s" % alarms[0]["msg"])
        assert stored() == []
        # A record of now is still taken.
        fresh = b"type=USER_LOGIN msg=audit(%d.000:72): pid=1 res=success\n" % int(time.time())
        assert port60_send(c.audit_port, 3, fresh)
        assert len(stored()) == 1


def test_check_config_refuses_a_malformed_retention():
    workdir = dev_folder()
    dev = os.path.join(workdir, "dev")
    cfg = os.path.join(workdir, "bad.toml")
    with open(cfg, "w") as f:
        f.write(config(dev, "six months").replace("@DATA@", os.path.join(workdir, "data")))
    r = subprocess.run([os.path.join(BIN, "trailkeepd"), "--config", cfg, "--check-config"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0, r
    assert "store.retention must be a duration" in r.stderr + r.stdout, r.stderr


if __name__ == "__main__":
    harness.main([test_old_hosts_expire_and_a_cursor_before_the_cut_is_answered,
                  test_port60_resend_of_an_expired_record_is_a_replay,
                  test_check_config_refuses_a_malformed_retention])
