#!/usr/bin/env python3
"""Backup during ingest, restore, and what a restore means for an agent's chain
(docs/operations.md, 'Back up and restore'), with the real binaries.

  1. While a real agent delivers, `trailkeep backup --server` (admin token) makes the running
     collector write a consistent copy of its store; the answer names the folder and the last
     ingest_seq it holds; a GET of /v1/backup is a 405.
  2. Once every line is stored, the collector is stopped and the backup restored in place of the
     store. The restored store opens, holds at least everything up to the backup's ingest_seq,
     and `trailkeepd verify` shows the agent's chain up to the backup as verified. The agent,
     whose spool no longer has the events acknowledged after the backup, goes on: what it had
     delivered after the backup shows as a gap alarm, never as silence.
  3. Cursors past the restored store's end (the SIEM's next_cursor from before the restore) are
     refused with 400 naming the last ingest_seq, on /v1/events and on /v1/tail.
  4. `trailkeepd backup --dev DIR` makes the same admin API call without being told the address,
     CA or token (ports.json, the dev CA and admin.token): a second backup folder while events
     arrive; with no collector running it says so, naming ports.json.
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, Collector, free_port, log, main  # noqa: E402
from agents import Agent, Writer, enroll, integrity_alarms, verify_db, wait_stored  # noqa: E402

HOST = "bk.test"


def curl(c, path, token, method="GET"):
    r = subprocess.run(["curl", "-sS", "-X", method, "--max-time", "30", "-w", "\n%{http_code}",
                        "--cacert", os.path.join(c.pki, "ca.pem"), "-H", "Authorization: Bearer " +
                        token, "https://localhost:%d%s" % (c.export_port, path)],
                       capture_output=True, text=True, timeout=60)
    body, _, code = r.stdout.rpartition("\n")
    return int(code or 0), body


def backup(c, token_file):
    return subprocess.run([os.path.join(BIN, "trailkeep"), "backup", "--server",
                           "https://localhost:%d" % c.export_port, "--cacert",
                           os.path.join(c.pki, "ca.pem"), "--token-file", token_file],
                          capture_output=True, text=True, timeout=180)


def test_backup_during_ingest_restore_and_cursors():
    c = Collector(syslog_listen="127.0.0.1:%d" % free_port())
    c.start()
    agent = None
    try:
        bundle = enroll(c, HOST)
        agent = Agent(HOST, bundle, c.port, os.path.join(c.workdir, "agent"))
        writer = Writer(agent.inputs[0][1], HOST, 3000, rate=300)
        agent.start()
        writer.start()
        time.sleep(3)
        token_file = os.path.join(c.workdir, "dev", "admin.token")
        r = backup(c, token_file)
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        words = r.stdout.split()
        folder, upto = words[1], int(r.stdout.split("up to ingest_seq ")[1].split(",")[0])
        assert os.path.isdir(os.path.join(folder, "store")), r.stdout
        assert folder.startswith(os.path.join(c.data_dir, "backups")), folder
        log("  " + r.stdout.strip())

        with open(token_file) as f:
            admin_token = f.read().strip()
        code, body = curl(c, "/v1/backup", admin_token, method="GET")
        assert code == 405, (code, body)

        writer.join(120)
        wait_stored(c, HOST, writer.written)
        # The store's last ingest_seq: a SIEM's cursor once it has read everything.
        before_restore = max(e["ingest_seq"] for e in c.query("--limit", "100000"))
        assert before_restore > upto, (before_restore, upto)
    finally:
        if agent:
            agent.stop()
        c.stop()

    store = os.path.join(c.data_dir, "store")
    shutil.move(store, store + ".lost")
    shutil.copytree(os.path.join(folder, "store"), store)
    c.start()
    try:
        events = c.query("--limit", "100000")
        assert max(e["ingest_seq"] for e in events) >= upto, (len(events), upto)
        restored_lines = len({e["msg"] for e in c.peer_events("--host", HOST) if "line" in e["msg"]})
        rc, out = verify_db(c, HOST)
        assert rc == 0 and "OK" in out, out
        log("  restored: %d of %d lines (backup up to ingest_seq %d); verify: %s"
            % (restored_lines, writer.written, upto, out.strip().splitlines()[-1]))

        # Cursors past the restored end.
        for path in ("/v1/events?cursor=%d" % before_restore, "/v1/tail?cursor=%d" % before_restore):
            code, body = curl(c, path, admin_token)
            assert code == 400 and "beyond the end of this store" in body, (path, code, body)
        log("  cursor %d refused: %s" % (before_restore, body.strip()[:120]))

        # The agent goes on; what it had delivered after the backup is a gap, not silence.
        agent.start()
        more = Writer(agent.inputs[0][1], HOST, 50, rate=100, start_at=writer.written)
        more.start()
        more.join(60)
        c.wait_for(lambda: [a for a in integrity_alarms(c, HOST) if a[0] == "gap"], 60,
                   "a gap alarm for the events lost with the restore")
        gaps = [a for a in integrity_alarms(c, HOST) if a[0] == "gap"]
        rc, out = verify_db(c, HOST)
        assert rc == 1 and "gap" in out, out
        log("  after the restore: gap alarm %s; trailkeepd verify exits 1 naming it" % (gaps[:1],))
    finally:
        agent.stop()
        c.stop()


def test_trailkeepd_backup_asks_the_running_collector():
    c = Collector()
    c.start()
    try:
        c.send_frames([b"<134>1 - bk2.test app - - - line %d" % i for i in range(50)])
        c.wait_for_count(50)
        dev = os.path.join(c.workdir, "dev")
        folders = []
        for _ in range(2):
            r = subprocess.run([os.path.join(BIN, "trailkeepd"), "backup", "--dev", dev],
                               capture_output=True, text=True, timeout=180)
            assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
            assert r.stdout.startswith("backup ") and "up to ingest_seq " in r.stdout, r.stdout
            folder = r.stdout.split()[1]
            assert os.path.isdir(os.path.join(folder, "store")), r.stdout
            assert folder.startswith(os.path.join(c.data_dir, "backups")), folder
            folders.append(folder)
            time.sleep(1.1)  # folders are named by the second
        assert folders[0] != folders[1], folders
        log("  trailkeepd backup: " + r.stdout.strip())
        access = [e for e in c.self_events("API_ACCESS") if "backup" in e["msg"]]
        assert len(access) == 2, [e["msg"] for e in c.self_events("API_ACCESS")]
    finally:
        c.stop()
    r = subprocess.run([os.path.join(BIN, "trailkeepd"), "backup", "--dev", dev],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "ports.json does not exist" in r.stderr, (r.returncode, r.stderr)
    log("  no collector: " + r.stderr.strip())


if __name__ == "__main__":
    main([test_backup_during_ingest_restore_and_cursors, test_trailkeepd_backup_asks_the_running_collector])
