#!/usr/bin/env python3
"""The sealed store through the real trailkeepd (issue 16 part 3, docs/formats/seal.md), with a
2 s key period so several periods, ticks and key steps pass in seconds:

  1. `trailkeepd seal-setup` writes the verification key outside the data folder and the state
     file; a collector with [seal] seals legacy TLS syslog events, port-60 records and its own
     events, and a clean copy of the stopped store verifies (`trailkeepd verify --seal-key`).
  2. The tamper tool (tests/tools/seal_tamper.cc) rewrites copies of the stopped store as an
     intruder would: an event edited (legacy, port 60, the collector's own), a block deleted, an
     event inserted, two swapped, the newest removed, a fake retention cut, an old event forged
     with the current period's key. Each copy fails verification with the finding and its
     position (host, ingest_seq).
  3. A store restored from an older copy starts a new seal chain, records SEAL_CHAIN_START
     naming the old heads, and verifies.
  4. A collector without seal state runs, records SEAL_UNSEALED and says so in its log.
  5. Exports carry each event's seal element, and with seal_proof=true what the collector
     sealed: `trailkeep verify --seal-key` checks an export file and a running collector
     (--server) on the operator's side; an edit of any member of a line (the message, or a
     field the collector derived) is a `field_differs` finding, an edited raw message or a
     removed line a seal finding, an export without the proof a usage error.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, Collector, log, sd_param  # noqa: E402
from retention_test import config as retention_config, get  # noqa: E402
from audit_remote_test import MESSAGE, connect, frame, read_reply, record  # noqa: E402

PERIOD_S = 2
COLLECTOR = "tk-retention-collector"  # retention_test.config's collector_name


def config(dev):
    """retention_test's collector (retention "forever"), sealed with a short period."""
    return retention_config(dev, "forever") + '[seal]\nperiod = "%ds"\n' % PERIOD_S


def set_up(c):
    """seal-setup with the collector's own config file; returns the verification key path."""
    cfg = os.path.join(c.workdir, "seal-setup.toml")
    with open(cfg, "w") as f:
        f.write(c.config_text.replace("@DATA@", c.data_dir))
    key = os.path.join(c.workdir, "seal-verification.key")
    inside = os.path.join(c.data_dir, "seal.key")
    os.makedirs(c.data_dir, exist_ok=True)
    r = subprocess.run([os.path.join(BIN, "trailkeepd"), "seal-setup", "--config", cfg,
                        "--verification-key-out", inside], capture_output=True, timeout=30)
    assert r.returncode != 0 and b"data folder" in r.stderr, r.stderr
    harness.run([os.path.join(BIN, "trailkeepd"), "seal-setup", "--config", cfg,
                 "--verification-key-out", key], timeout=30)
    assert os.path.exists(os.path.join(c.data_dir, "seal.state"))
    assert oct(os.stat(os.path.join(c.data_dir, "seal.state")).st_mode & 0o777) == "0o600"
    return key


def send_port60(c, first, n):
    s = connect(c)
    for i in range(first, first + n):
        s.sendall(frame(MESSAGE, i, record(i)))
        assert read_reply(s)[:2][1] == i
    s.close()


def populate(c, rounds):
    """Legacy events and port-60 records over `rounds` key periods."""
    for r in range(rounds):
        c.send_frames([b"<13>1 - legacy.test app - - - round %d event %d" % (r, i) for i in range(3)])
        send_port60(c, 100 * (r + 1), 2)
        c.wait_for(lambda: len(c.query("--host", "legacy.test")) >= 3 * (r + 1), what="legacy events")
        time.sleep(PERIOD_S * 0.6)


def verify(store_dir, key):
    r = subprocess.run([os.path.join(BIN, "trailkeepd"), "verify", "--seal-key", key, "--db", store_dir],
                       capture_output=True, timeout=120)
    return r.returncode, r.stdout.decode(errors="replace")


def listing(store):
    out = harness.run([os.path.join(BIN, "seal_tamper"), store, "list"], timeout=60).stdout.decode()
    rows = []
    for line in out.splitlines():
        seq, host, msgid, pos, period = line.split()
        chain, sseq = pos.split(":")
        rows.append({"seq": int(seq), "host": host, "msgid": msgid, "chain": int(chain),
                     "seal_seq": int(sseq), "period": int(period)})
    return rows


def tampered(base, workdir, name, *args):
    """A copy of the stopped store `base`, rewritten by seal_tamper."""
    copy = os.path.join(workdir, "tamper-" + name)
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(base, copy)
    harness.run([os.path.join(BIN, "seal_tamper"), copy, *[str(a) for a in args]], timeout=60)
    return copy


def expect_finding(base, workdir, key, name, kind, host, where, *args):
    copy = tampered(base, workdir, name, *args)
    rc, out = verify(copy, key)
    assert rc == 1, "%s: verify passed:\n%s" % (name, out)
    pattern = r"^%s host=%s .*%s" % (kind, re.escape(host), where)
    m = re.search(pattern + ".*$", out, re.M)
    assert m, "%s: no /%s/ in:\n%s" % (name, pattern, out)
    log("%s: %s" % (name, m.group(0)))
    shutil.rmtree(copy)


def sealed_collector():
    """A collector set up for sealing (not started), its verification key and its dev folder."""
    dev_c = Collector()
    dev_c.start()
    dev_c.stop()
    dev = os.path.join(dev_c.workdir, "dev")
    c = Collector(workdir=dev_c.workdir, config_text=config(dev))
    return c, set_up(c), dev


def test_sealed_store_tamper_and_restore():
    c, key, _ = sealed_collector()
    with c:
        populate(c, 3)
    base = os.path.join(c.data_dir, "store")

    rc, out = verify(base, key)
    assert rc == 0, out
    m = re.search(r"OK (\d+) events, (\d+) sealed in (\d+) host chains, (\d+) ticks", out)
    assert m and m.group(1) == m.group(2) and int(m.group(4)) >= 2, out
    log("clean: " + out.strip().splitlines()[-1])

    rows = listing(base)
    legacy = [r for r in rows if r["host"] == "legacy.test"]
    port60 = [r for r in rows if r["host"] == "127.0.0.1"]
    own = [r for r in rows if r["host"] == COLLECTOR and r["msgid"] == "COLLECTOR_START"]
    assert len(legacy) == 9 and port60 and own, rows
    # Legacy syslog: every kind of tampering.
    expect_finding(base, c.workdir, key, "edit", "edited", "legacy.test",
                   "ingest_seq=%d" % legacy[4]["seq"], "edit", legacy[4]["seq"])
    expect_finding(base, c.workdir, key, "delete", "missing", "legacy.test",
                   "seal_seq=%d" % legacy[3]["seal_seq"], "delete", legacy[3]["seq"])
    expect_finding(base, c.workdir, key, "insert", "(edited|out_of_order)", "legacy.test",
                   "seal_seq=%d" % legacy[4]["seal_seq"], "insert", legacy[4]["seq"])
    expect_finding(base, c.workdir, key, "swap", "out_of_order", "legacy.test",
                   "seal_seq=%d.*swapped" % legacy[3]["seal_seq"], "swap", legacy[3]["seq"],
                   legacy[4]["seq"])
    expect_finding(base, c.workdir, key, "truncate", "truncated", "legacy.test",
                   "seal_seq=%d-%d" % (legacy[7]["seal_seq"], legacy[8]["seal_seq"]),
                   "truncate", "legacy.test", 2)
    expect_finding(base, c.workdir, key, "fakecut", "missing", "legacy.test", "seal_seq=1-2",
                   "fakecut", "legacy.test", 2)
    expect_finding(base, c.workdir, key, "forge", "(late_seal|period_back)", "legacy.test",
                   "seal_seq=%d" % legacy[0]["seal_seq"], "forge", legacy[0]["seq"],
                   os.path.join(c.data_dir, "seal.state"))
    # A port-60 record and the collector's own event.
    expect_finding(base, c.workdir, key, "edit60", "edited", "127.0.0.1",
                   "ingest_seq=%d" % port60[1]["seq"], "edit", port60[1]["seq"])
    expect_finding(base, c.workdir, key, "editown", "edited", COLLECTOR,
                   "ingest_seq=%d" % own[0]["seq"], "edit", own[0]["seq"])
    expect_finding(base, c.workdir, key, "truncate60", "truncated", "127.0.0.1", "seal_seq=",
                   "truncate", "127.0.0.1", 1)

    # A restore from an older copy: a new chain, recorded, and the store verifies.
    backup = os.path.join(c.workdir, "backup-store")
    shutil.copytree(base, backup)
    with c:
        populate(c, 2)
    shutil.rmtree(base)
    shutil.copytree(backup, base)
    with c:
        c.send_frames([b"<13>1 - legacy.test app - - - after the restore"])
        c.wait_for(lambda: any(e.get("msgid") == "SEAL_CHAIN_START" and
                               "restored" in sd_param(e, "reason")
                               for e in c.query("--host", COLLECTOR)), what="SEAL_CHAIN_START")
        starts = [e for e in c.query("--host", COLLECTOR) if e.get("msgid") == "SEAL_CHAIN_START"]
        assert "legacy.test:1:" in sd_param(starts[-1], "old_heads"), starts[-1]
    rc, out = verify(base, key)
    assert rc == 0, out
    log("restored: " + out.strip().splitlines()[-1])
    assert "new seal chain 2" in c.read_log(), c.read_log()[-2000:]


def test_unsealed_start_is_recorded():
    dev_c = Collector()
    dev_c.start()
    dev_c.stop()
    c = Collector(config_text=config(os.path.join(dev_c.workdir, "dev")))
    with c:
        c.wait_for(lambda: any(e.get("msgid") == "SEAL_UNSEALED" for e in c.query("--host", COLLECTOR)),
                   what="SEAL_UNSEALED")
    assert "NOT sealed" in c.read_log()


def trailkeep_verify(*args):
    r = subprocess.run([os.path.join(BIN, "trailkeep"), "verify"] + list(args), capture_output=True,
                       timeout=120)
    return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def edited_export(lines, workdir, name, index, edit):
    """A copy of the export with line `index` changed by edit(event) (None: removed)."""
    out = list(lines)
    event = json.loads(out[index])
    changed = edit(event)
    if changed is None:
        del out[index]
    else:
        out[index] = json.dumps(changed)
    path = os.path.join(workdir, name + ".ndjson")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    return path


def test_export_carries_the_seal():
    c, key, dev = sealed_collector()
    with open(os.path.join(dev, "admin.token")) as f:
        token = f.read().strip()
    with c:
        populate(c, 2)
        status, _, body = get(c, "/v1/events?cursor=0&limit=1000", token)
        assert status == 200
        plain = [json.loads(line) for line in body.decode().splitlines() if '"ingest_seq"' in line]
        assert plain and all(e["seal"] and set(e["seal"]) == {"chain", "period", "seq", "mac"}
                             for e in plain), plain[:2]
        status, _, body = get(c, "/v1/events?cursor=0&limit=1000&seal_proof=true", token)
        assert status == 200
        lines = [line for line in body.decode().splitlines() if line]
        status, _, err = get(c, "/v1/events?cursor=0&format=cef&seal_proof=true", token)
        assert status == 400 and b"ndjson" in err, (status, err)

        server = ["--server", "https://127.0.0.1:%d" % c.export_port, "--cacert",
                  os.path.join(dev, "pki", "ca.pem"), "--token-file", os.path.join(dev, "admin.token")]
        rc, out = trailkeep_verify("--seal-key", key, *server)
        assert rc == 0 and re.search(r"^OK \d+ events", out, re.M), out
        log("--server: " + [x for x in out.splitlines() if x.startswith("OK")][0])

    export = os.path.join(c.workdir, "export.ndjson")
    with open(export, "w") as f:
        f.write("\n".join(lines) + "\n")
    rc, out = trailkeep_verify("--seal-key", key, "--export", export)
    assert rc == 0 and "OK" in out, out
    rc, out = trailkeep_verify("--seal-key", key, "--export", export, "--host", "legacy.test")
    assert rc == 0 and "OK" in out, out

    events = [json.loads(line) for line in lines]
    legacy = [i for i, e in enumerate(events) if e.get("host") == "legacy.test"]
    own = [i for i, e in enumerate(events) if e.get("transport") == "self"]

    def expect(name, index, edit, pattern):
        rc, out = trailkeep_verify("--seal-key", key, "--export",
                                   edited_export(lines, c.workdir, name, index, edit))
        assert rc == 1 and re.search(pattern, out, re.M), "%s:\n%s" % (name, out)
        log("%s: %s" % (name, re.search(pattern + ".*$", out, re.M).group(0)))

    def set_member(path, value):
        def edit(e):
            target = e
            for k in path[:-1]:
                target = target[k]
            target[path[-1]] = value
            return e
        return edit

    expect("msg", legacy[2], set_member(["msg"], "nothing happened"),
           r"^field_differs host=legacy.test .*: msg: export \"nothing happened\"")
    expect("refs", legacy[3], set_member(["refs"], ["FAU_GEN.1"]),
           r"^field_differs host=legacy.test .*: refs:")
    expect("peer", legacy[1], set_member(["peer", "address"], "10.9.9.9:514"),
           r"^field_differs host=legacy.test .*: peer/address: export \"10.9.9.9:514\"")
    expect("own", own[0], set_member(["description"], "all quiet"),
           r"^field_differs host=%s .*: description:" % COLLECTOR)
    raw = base64.b64encode(b"<13>1 - legacy.test app - - - forged").decode()
    expect("raw", legacy[4], set_member(["raw_b64"], raw), r"^edited host=legacy.test ")
    expect("removed", legacy[2], lambda e: None, r"^missing host=legacy.test ")

    stripped = os.path.join(c.workdir, "without-proof.ndjson")
    with open(stripped, "w") as f:
        for e in events:
            if e.get("seal"):
                e["seal"].pop("stored_b64", None)
            f.write(json.dumps(e) + "\n")
    rc, out = trailkeep_verify("--seal-key", key, "--export", stripped)
    assert rc == 2 and "seal_proof=true" in out, out


if __name__ == "__main__":
    harness.main([test_sealed_store_tamper_and_restore, test_unsealed_start_is_recorded,
                  test_export_carries_the_seal])
