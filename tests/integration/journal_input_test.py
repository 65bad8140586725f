#!/usr/bin/env python3
"""kind = "journal" inputs (issue 15, part 1): a real `trailkeep forward` reads real journal
files, written by systemd-journal-remote from journal export format (no journald runs here),
into the real trailkeepd.

  1. entries written in batches, first into one file, then into a new file started
     mid-stream, while the agent is kill -9'ed and restarted at random moments: every entry
     that matches the input (units/identifiers) is stored exactly once, no other; the chain
     verifies; the fields map as journald's syslog forwarding does (one entry checked in
     full, one with a binary MESSAGE);
  2. archived files deleted while the agent is down (as a vacuum would), with entries the
     agent never read: a JOURNAL_LOSS event on the agent's chain says so, every entry still
     there is stored once, the collector raises it as a journal_loss integrity alarm
     (INTEGRITY_ALARM, GET /v1/integrity), and a later restart reports nothing again.

Needs /lib/systemd/systemd-journal-remote (Debian package systemd-journal-remote, installed by
deploy/install-build-deps.sh): without it the test fails under CI=true, else prints SKIP.
"""
import base64
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import RUN_DIR, Collector, log, main, scaled  # noqa: E402
from agents import Agent, enroll, integrity_alarms, verify_db  # noqa: E402
from export_test import Api  # noqa: E402
from integrity_api_test import admin_token  # noqa: E402

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
SEED = int(os.environ.get("TRAILKEEP_SEED") or int(time.time()))
BOOT = "0123456789abcdef0123456789abcdef"
T0 = 1767225600000000  # 2026-01-01T00:00:00Z
MATCHES = 'units = ["ssh"]\nidentifiers = ["sudo"]\n'
NUM = re.compile(r"jentry (\d{7})")


def have_journal_remote():
    if os.access(JOURNAL_REMOTE, os.X_OK):
        return True
    if os.environ.get("CI") == "true":
        raise AssertionError("%s is missing (package systemd-journal-remote; run "
                             "deploy/install-build-deps.sh)" % JOURNAL_REMOTE)
    log("SKIP: %s is missing (package systemd-journal-remote)" % JOURNAL_REMOTE)
    return False


def matches(n):
    """Entries n % 5 == 4 belong to cron (not matched); the others to ssh.service or sudo."""
    return n % 5 != 4


def export_entry(n, message=None):
    """Entry n in journal export format; binary fields use the length-prefixed form."""
    if n % 5 == 4:
        ident, unit, comm = b"CRON", b"cron.service", b"cron"
    elif n % 5 == 3:
        ident, unit, comm = b"sudo", b"session-1.scope", b"sudo"
    else:
        ident, unit, comm = b"sshd", b"ssh.service", b"sshd"
    msg = message if message is not None else b"jentry %07d session opened" % n
    fields = [
        b"__REALTIME_TIMESTAMP=%d" % (T0 + n * 1000), b"__MONOTONIC_TIMESTAMP=%d" % (n + 1),
        b"_BOOT_ID=" + BOOT.encode(), b"SYSLOG_IDENTIFIER=" + ident, b"_PID=%d" % (1000 + n % 97),
        b"PRIORITY=6", b"SYSLOG_FACILITY=10", b"_HOSTNAME=node-j", b"_UID=0", b"_GID=0",
        b"_COMM=" + comm, b"_EXE=/usr/sbin/" + comm, b"_SYSTEMD_UNIT=" + unit,
    ]
    out = b"\n".join(fields) + b"\n"
    if b"\n" in msg or any(c < 32 or c > 126 for c in msg):
        out += b"MESSAGE\n" + len(msg).to_bytes(8, "little") + msg + b"\n"
    else:
        out += b"MESSAGE=" + msg + b"\n"
    return out + b"\n"


def write_journal(path, numbers, binary=()):
    """Appends entries to the journal file `path` (created when missing), one
    systemd-journal-remote run."""
    data = b"".join(export_entry(n, b"jentry %07d bin \xff\xfe\x00\x01 end\nline two" % n
                                 if n in binary else None) for n in numbers)
    r = subprocess.run([JOURNAL_REMOTE, "--output=" + path, "-"], input=data, capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")


def stored(c, host):
    """Numbers of the stored journal entries of `host`, and the events themselves."""
    nums, events = [], []
    for e in c.peer_events("--host", host, "--limit", "10000000"):
        m = NUM.match(base64.b64decode(e["raw_b64"]).split(b"] ", 1)[-1].decode("latin-1"))
        if m:
            nums.append(int(m.group(1)))
            events.append(e)
    return nums, events


def wait_entries(c, host, want, timeout):
    deadline = time.time() + timeout
    nums = []
    while time.time() < deadline:
        nums, _ = stored(c, host)
        if set(nums) >= want:
            return
        time.sleep(1.0)
    raise AssertionError("%s: %d of %d entries stored after %ss; missing e.g. %s" %
                         (host, len(set(nums) & want), len(want), timeout, sorted(want - set(nums))[:5]))


def losses(c, host):
    return [e for e in c.peer_events("--host", host) if e["msgid"] == "JOURNAL_LOSS"]


def sd(e, sd_id):
    for el in e["structured_data"]:
        if el["id"] == sd_id:
            return {p["name"]: p["value"] for p in el["params"]}
    return {}


def test_every_entry_once_across_kill9_and_a_new_file():
    if not have_journal_remote():
        return
    rnd = random.Random(SEED)
    work = tempfile.mkdtemp(prefix="journal-once-", dir=RUN_DIR)
    jdir = os.path.join(work, "journal")
    os.makedirs(jdir)
    host = "journal-a.test"
    batches, per_batch = 16, scaled(250)
    total = batches * per_batch
    binary = {7, total // 2 + 3}
    c = Collector(os.path.join(work, "collector")).start()
    agent = None
    try:
        agent = Agent(host, enroll(c, host), c.port, os.path.join(work, "agent"),
                      inputs=[("journal", jdir, "journal", MATCHES)]).start()
        done = threading.Event()

        def writer():
            for b in range(batches):
                # The first half into system.journal, then a new file started mid-stream.
                name = "system.journal" if b < batches // 2 else "system-2.journal"
                write_journal(os.path.join(jdir, name), range(b * per_batch, (b + 1) * per_batch),
                              binary)
                time.sleep(0.15)
            done.set()
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        kills = 0
        while not done.is_set() or kills < 3:
            time.sleep(rnd.uniform(0.2, 1.2))
            agent.kill9()
            kills += 1
            time.sleep(rnd.uniform(0.0, 0.5))
            agent.start()
        t.join()
        want = {n for n in range(total) if matches(n)}
        wait_entries(c, host, want, scaled(180))
        time.sleep(2)  # anything stored twice arrives now
        nums, events = stored(c, host)
        assert len(nums) == len(set(nums)), "%d entries stored twice" % (len(nums) - len(set(nums)))
        assert set(nums) == want, "entries of cron stored: %s" % sorted(set(nums) - want)[:5]
        assert losses(c, host) == [], losses(c, host)
        rc, out = verify_db(c, host)
        assert rc == 0, out
        assert integrity_alarms(c, host) == [], integrity_alarms(c, host)
        log("  %d kills, %d entries in 2 files (%d matched) stored exactly once; %s" %
            (kills, total, len(want), out.strip().splitlines()[-1]))

        # One entry in full: journald's syslog forwarding, HOSTNAME the agent's own.
        e = next(e for e, n in zip(events, nums) if n == 10)
        assert (e["facility"], e["severity"], e["app_name"], e["procid"], e["hostname"]) == \
            ("authpriv", "info", "sshd", str(1000 + 10 % 97), host), e
        assert e["event_time"] == "2026-01-01T00:00:00.010000Z", e["event_time"]
        assert e["msg"] == "jentry 0000010 session opened", e["msg"]
        assert sd(e, "tkjournal@32473") == {
            "_HOSTNAME": "node-j", "_UID": "0", "_GID": "0", "_COMM": "sshd", "_EXE": "/usr/sbin/sshd",
            "_SYSTEMD_UNIT": "ssh.service", "_BOOT_ID": BOOT}, e["structured_data"]
        assert sd(e, "tkin@32473") == {"name": "journal"}
        # A binary MESSAGE: stored once, its bytes exactly in raw_b64, shown with U+FFFD.
        for n in binary:
            e = next(e for e, k in zip(events, nums) if k == n)
            raw = base64.b64decode(e["raw_b64"])
            assert raw.endswith(b"jentry %07d bin \xff\xfe\x00\x01 end\nline two" % n), raw
            assert "\ufffd" in e["msg"] and e["parse_error"] == "", e
        log("  fields map as journald forwards them; binary MESSAGEs kept byte for byte")
    finally:
        if agent:
            agent.stop()
        c.stop()


def test_archived_files_deleted_while_down_are_reported():
    if not have_journal_remote():
        return
    work = tempfile.mkdtemp(prefix="journal-vacuum-", dir=RUN_DIR)
    jdir = os.path.join(work, "journal")
    os.makedirs(jdir)
    host = "journal-b.test"
    archive1, archive2 = os.path.join(jdir, "system@1.journal"), os.path.join(jdir, "system@2.journal")
    write_journal(archive1, range(0, 100))
    write_journal(archive2, range(100, 150))
    c = Collector(os.path.join(work, "collector")).start()
    agent = None
    try:
        agent = Agent(host, enroll(c, host), c.port, os.path.join(work, "agent"),
                      inputs=[("journal", jdir, "journal", MATCHES)]).start()
        first = {n for n in range(150) if matches(n)}
        wait_entries(c, host, first, scaled(60))
        agent.kill9()
        # While the agent is down: more entries, never read, then the archives are
        # vacuumed; journald goes on in a new file.
        write_journal(archive2, range(150, 200))
        write_journal(os.path.join(jdir, "system.journal"), range(200, 300))
        os.unlink(archive1)
        os.unlink(archive2)
        agent.start()
        later = {n for n in range(200, 300) if matches(n)}
        wait_entries(c, host, later, scaled(60))
        c.wait_for(lambda: losses(c, host), timeout=30, what="a JOURNAL_LOSS event")
        nums, _ = stored(c, host)
        assert len(nums) == len(set(nums)), "entries stored twice"
        assert set(nums) == first | later, sorted(set(nums) ^ (first | later))[:5]
        [loss] = losses(c, host)
        p = sd(loss, "tkloss@32473")
        assert loss["app_name"] == "trailkeep" and loss["severity"] == "warning", loss
        assert p["input"] == "journal" and p["entries"] == "unknown", p
        assert p["from"] == "2026-01-01T00:00:00.148000Z", p  # the last entry spooled (149: cron)
        assert p["to"] == "2026-01-01T00:00:00.200000Z", p    # the first one left after it
        assert loss["chain"] is not None
        rc, out = verify_db(c, host)
        assert rc == 0, out
        log("  loss reported on the chain: %s" % loss["msg"])
        # The collector raises it as an integrity alarm, at the loss event's seq.
        seq = loss["chain"]["s"]
        c.wait_for(lambda: ("journal_loss", seq, seq) in [(k, f, l) for k, _, f, l in
                                                           integrity_alarms(c, host)],
                   what="a journal_loss INTEGRITY_ALARM")
        status, _, body = Api(c).get("/v1/integrity?since=1h&kind=journal_loss", token=admin_token(c))
        listed = json.loads(body)["integrity"] if status == 200 else body
        assert [(e["host"], e["first_seq"], e["detail"]) for e in listed] == \
            [(host, seq, loss["msg"])], listed
        log("  and the collector raised it: journal_loss at seq %d in /v1/integrity" % seq)
        # Reported once: a restart continues after the new file's entries.
        agent.stop()
        write_journal(os.path.join(jdir, "system.journal"), range(300, 310))
        agent.start()
        wait_entries(c, host, {n for n in range(300, 310) if matches(n)}, scaled(60))
        assert len(losses(c, host)) == 1, losses(c, host)
        assert len([a for a in integrity_alarms(c, host) if a[0] == "journal_loss"]) == 1
        nums, _ = stored(c, host)
        assert len(nums) == len(set(nums)), "entries stored twice after the restart"
    finally:
        if agent:
            agent.stop()
        c.stop()


if __name__ == "__main__":
    log("seed %d" % SEED)
    main([test_every_entry_once_across_kill9_and_a_new_file,
          test_archived_files_deleted_while_down_are_reported])
