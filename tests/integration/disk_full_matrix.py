"""The disk-full policy's full matrix, outside CI (`make test-diskfull`; root).

Every source (TLS syslog from loggen, a trailkeep agent, port 60 from a raw
client and from a real audisp-remote, a reverse SSH tunnel carrying a node's
audisp-remote and its agent, plaintext UDP) against each disk_full_action.
disk_full_test.py (in CI) covers `block` for every source but the tunnel.
Here:
  - block through a tunnel (test_block_through_tunnel): a node (a private
    sshd) whose audisp-remote and port60-mode agent send through the
    collector's reverse tunnel; the disk fills: both are refused (DISKFULL,
    Pause) while the tunnel stays up (no TUNNEL_TERMINATED), and once space
    returns every record and line arrives once, in order, the chain verifies.
  - halt: TLS syslog (loggen), an agent, port 60 (raw client), audisp-remote
    direct and through a tunnel deliver; the disk fills: DISK_FULL (action
    halt), COLLECTOR_STOP with reason disk_full_halt, exit status 3 (which
    deploy/trailkeepd.service lists in RestartPreventExitStatus=); every
    acknowledged agent line and port-60 record is stored; both audisp-remotes
    keep the records given to them while the collector is down; once space is
    freed and the collector started again (the tunnel up again) the agent and
    both audisp-remotes deliver the rest, each line and record once, and the
    chain verifies.
  - rotate (test_rotate): on a 384 MiB tmpfs a busy host (port 60, 8 KiB
    records of random text, which RocksDB cannot compress away) fills the
    disk below admin_space_left while a quiet agent sends a line a second.
    Rotate cuts only what is needed: the busy host keeps at least half of
    what it had stored before the first cut (the cuts are sized from
    RocksDB's estimates to about 7 MiB, a tenth of the level, of more than
    100 MiB), the quiet host its newest event, every acknowledged record
    newer than the cuts is stored; each cut is a RETENTION_CUT with reason
    disk_full_rotate, DISK_SPACE_RECOVERED follows and ingest resumes by
    itself. Meanwhile loggen (TLS syslog) and a node's audisp-remote through a
    tunnel send a few messages a second: each keeps, from its oldest message
    still stored, every one it sent, its newest included. Then the disk is
    filled below the reserve under load and
    SIGTERM stops the collector within 30 s with status 0; `trailkeepd
    verify` (the agent's chain) passes and `verify --seal-key` lists the
    early cuts as early_cut, with no failure.
The rotate test waits on the collector's log while the disk is full, not on
`trailkeepd query`: a query is a RocksDB secondary instance that holds every
file open while it runs, so polling it keeps deleted files on the disk and
moves the free space the rotation reads (docs/operations.md, "A full disk").
"""
import base64
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import free_port, log  # noqa: E402
from agents import Writer, integrity_alarms, stored_lines, verify_db, wait_stored  # noqa: E402
from audit_remote_test import ACK, DISKFULL, DISKLOW, MESSAGE, AudispRemote, frame, port60_events, read_reply, \
    record, stored_records  # noqa: E402
from disk_full_test import MiB, TRAILKEEPD, connect60, free_bytes, mounted_site, loggen_count, loggen_keys, sd, \
    start_loggen  # noqa: E402
from tunnel_e2e_test import start_port60_agent  # noqa: E402
from tunnel_test import Sshd, tunnel_events, tunnel_table  # noqa: E402

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "trailkeepd.service")
KEY_RE = re.compile(r'key="test-(\d+)"')


class Node:
    """A node reached only through the collector's reverse tunnel: a private
    sshd, the tunnel's [[tunnel]] table (delivering to the collector's own
    port-60 listener) and, once started, its audisp-remote sending to the
    tunnel's remote end on the node (`port`)."""

    def __init__(self, name):
        self.name = name
        self.sshd = Sshd().start()
        self.port = free_port()
        self.audisp = None

    def table(self):
        return tunnel_table(self.name, self.sshd, self.port, "").replace('forward_to = ""\n', "")

    def wait_up(self, c, count=1):
        c.wait_for(lambda: len(tunnel_events(c, "TUNNEL_INITIATED", self.name)) >= count, timeout=60,
                   what="tunnel %s up (%d)" % (self.name, count))

    def start_audisp(self, workdir):
        """Its audisp-remote, with its config and stderr in workdir/<name>."""
        own = os.path.join(workdir, self.name)
        os.makedirs(own, exist_ok=True)
        self.audisp = AudispRemote(self.port, own)
        return self.audisp

    def close(self):
        if self.audisp is not None:
            self.audisp.kill()
        self.sshd.kill()


def now_record(i):
    """record(i) stamped now: a port-60 record older than its host's newest
    cut is a replay and is not stored again, so records sent while rotate
    cuts carry the time they are sent."""
    now = time.time()
    return record(i).replace(b"audit(1700000000.%03d:" % (i % 1000),
                             b"audit(%d.%03d:" % (int(now), int(now * 1000) % 1000))


def keys_of(c, host, first=0, end=1 << 30):
    """The key numbers N (test-N) of the port-60 records stored for `host`,
    first <= N < end, in store order."""
    out = []
    for e in stored_records(c, host):
        m = KEY_RE.search(e.get("msg") or "")
        if m and first <= int(m.group(1)) < end:
            out.append(int(m.group(1)))
    return out


def wait_keys(c, host, first, end, timeout=90):
    """Waits until records first..end-1 of `host` are stored; asserts each
    once and in order."""
    seen = []

    def enough():
        seen[:] = keys_of(c, host, first, end)
        return seen if len(seen) >= end - first else None
    try:
        got = c.wait_for(enough, timeout=timeout, what="%s: records %d..%d" % (host, first, end - 1))
    except AssertionError as e:
        missing = sorted(set(range(first, end)) - set(seen))
        raise AssertionError("%s; %d stored, %d missing: %s" % (e, len(seen), len(missing), missing[:12]))
    assert got == list(range(first, end)), "%s: %d stored, %d distinct, of %d" % (
        host, len(got), len(set(got)), end - first)
    return got


def test_block_through_tunnel():
    node = Node("node-full.test")
    site = None
    try:
        site = mounted_site("test_block_through_tunnel", "block-tunnel", 384,
                            {"space_left": '"200MiB"', "admin_space_left": '"160MiB"', "reserve": '"16MiB"',
                             "disk_full_action": '"block"'}, extra=node.table())
        if site is None:
            return
        c = site.collector
        c.start()
        node.wait_up(c)
        audisp = node.start_audisp(site.work)
        # The tunnel is named after its agent's host.
        agent = start_port60_agent(site.config, site.work, node.name, node.port)
        site.agents.append(agent)
        audisp.feed([record(i) for i in range(0, 100)], rate=200)
        Writer(agent.inputs[0][1], agent.host, 300).run()
        wait_keys(c, node.name, 0, 100)
        wait_stored(c, agent.host, 300, timeout=60)

        filler = site.fill(leave_mib=100)
        c.wait_for(lambda: c.self_events("DISK_FULL"), what="DISK_FULL")
        time.sleep(1)
        audisp.feed([record(i) for i in range(100, 200)], rate=200)
        Writer(agent.inputs[0][1], agent.host, 300, start_at=300).run()
        paused = c.wait_for(lambda: re.search(r"paused: .*disk is full", agent.read_log()), what="the agent paused")
        time.sleep(3)
        assert keys_of(c, node.name) == list(range(100)), "audisp-remote's records stored while full"
        assert len(stored_lines(c, agent.host)) == 300, "agent lines stored while full"
        audisp.check_alive()
        assert not tunnel_events(c, "TUNNEL_TERMINATED", node.name), "the tunnel went down while the disk was full"
        log("block through a tunnel: audisp-remote refused (DISKFULL) and the agent %s while the tunnel "
            "stays up" % paused.group(0))

        os.unlink(filler)
        rec = c.wait_for(lambda: c.self_events("DISK_SPACE_RECOVERED"), what="DISK_SPACE_RECOVERED")
        wait_keys(c, node.name, 0, 200)
        nums = wait_stored(c, agent.host, 600, timeout=60)
        assert sorted(nums) == list(range(600)), "agent lines lost or stored twice"
        rc, out = verify_db(c, agent.host)
        assert rc == 0, out
        assert integrity_alarms(c, agent.host) == []
        assert not tunnel_events(c, "TUNNEL_TERMINATED", node.name), "the tunnel went down"
        rc = audisp.close()
        node.audisp = None
        assert rc == 0, "audisp-remote exited with %s" % rc
        log("%s; through the tunnel (up all along): audisp-remote's 200 records (100 queued while full) stored "
            "once, in order; the agent's 600 lines once, chain verifies" % rec[0]["msg"][:90])
    finally:
        if site is not None:
            site.close()
        node.close()


def test_halt():
    with open(UNIT) as f:
        prevent = re.search(r"^RestartPreventExitStatus=(.*)$", f.read(), re.M)
    assert prevent and "3" in prevent.group(1).split(), "the unit would restart a halted collector"
    node = Node("node-halt.test")
    site = mounted_site("test_halt", "halt", 384, {"space_left": '"200MiB"', "admin_space_left": '"160MiB"',
                                                    "reserve": '"16MiB"', "disk_full_action": '"halt"'},
                        extra=node.table())
    if site is None:
        node.close()
        return
    c = site.collector
    direct = None
    try:
        c.start()
        node.wait_up(c)
        # audisp-remote straight to port 60 (records test-100..) and the node's through its tunnel.
        direct = AudispRemote(c.audit_port, site.work)
        direct.feed([record(i) for i in range(100, 200)], rate=200)
        tunnelled = node.start_audisp(site.work)
        tunnelled.feed([record(i) for i in range(0, 100)], rate=200)
        wait_keys(c, "127.0.0.1", 100, 200)
        wait_keys(c, node.name, 0, 100)
        agent = site.enroll("agent-halt.test")
        Writer(agent.inputs[0][1], agent.host, 500).run()
        wait_stored(c, agent.host, 500, timeout=60)
        sent = loggen_count(start_loggen(c, 1000, 10000))
        c.wait_for(lambda: len(loggen_keys(c)) >= sent, what="loggen stored")
        s = connect60(c)
        for i in range(1, 6):
            s.sendall(frame(MESSAGE, i + 1, record(i)))
            assert read_reply(s)[:2] == (ACK, i + 1)
        s.close()
        filler = site.fill(leave_mib=100)
        proc = c.proc
        rc = proc.wait(60)
        assert rc == 3, "trailkeepd exited with %s, not 3:\n%s" % (rc, c.read_log()[-3000:])
        c.proc = None
        c.logf.close()
        full = [e for e in c.self_events("DISK_FULL")]
        assert len(full) == 1 and sd(full[0])["action"] == "halt", full
        stop = c.self_events("COLLECTOR_STOP")[-1]
        assert sd(stop).get("reason") == "disk_full_halt", stop
        assert keys_of(c, "127.0.0.1", 0, 100) == list(range(1, 6))
        log("halt: exit status 3, %s; %s" % (full[0]["msg"][:90], stop["msg"][:80]))
        # While it is down both audisp-remotes are given more; they retry (network_retry_time
        # 1 s, for up to 120 s) and keep what they could not send.
        direct.feed([record(i) for i in range(200, 250)], rate=200)
        tunnelled.feed([record(i) for i in range(100, 150)], rate=200)
        # The agent spools while the collector is down; space returns; start again.
        Writer(agent.inputs[0][1], agent.host, 500, start_at=500).run()
        os.unlink(filler)
        c.start()
        node.wait_up(c, count=2)
        # audisp-remote 3.0.9 connects again after its server closed the connection only
        # when its next record arrives (auditd keeps sending them): one more each.
        direct.feed([record(250)], rate=1)
        tunnelled.feed([record(150)], rate=1)
        nums = wait_stored(c, agent.host, 1000, timeout=90)
        assert sorted(nums) == list(range(1000)), "agent lines lost or stored twice"
        rc, out = verify_db(c, agent.host)
        assert rc == 0, out
        assert integrity_alarms(c, agent.host) == []
        keys = loggen_keys(c)
        assert len(keys) == len(set(keys)) == sent
        wait_keys(c, "127.0.0.1", 100, 251)
        wait_keys(c, node.name, 0, 151)
        for sender in (direct, tunnelled):
            rc = sender.close()
            assert rc == 0, "audisp-remote exited with %s" % rc
        direct = node.audisp = None
        log("halt: after the restart every agent line stored once, chain verifies; audisp-remote direct "
            "(151 records, 50 given while the collector was down) and through the tunnel (151, 50) each "
            "record once, in order")
    finally:
        if direct is not None:
            direct.kill()
        site.close()
        node.close()


def random_record(i, rng):
    """An 8 KiB port-60 record of now (see now_record) whose argument is
    random text: RocksDB cannot compress it away, so the disk fills as the
    records arrive."""
    head = now_record(i).rstrip(b"\n")
    return head + b' a1="' + base64.b64encode(rng.randbytes(6000))[:8000 - len(head)] + b'"\n'


class Busy(threading.Thread):
    """Sends records i = 0, 1, ... on port 60, 16 in flight, about 2 MiB/s (a
    busy auditd; the collector checks its disk every 2 s); a record answered
    DISKFULL is sent again (as audisp-remote would) until acknowledged.
    `acked` is how many of the first records are acknowledged."""

    def __init__(self, c):
        super().__init__(daemon=True)
        self.c, self.acked, self.diskfull, self.stop, self.error = c, 0, 0, threading.Event(), None
        self.rng = random.Random(16)

    def run(self):
        try:
            s = connect60(self.c)
            s.settimeout(120)
            while not self.stop.is_set():
                first = self.acked
                for i in range(first, first + 16):
                    s.sendall(frame(MESSAGE, i + 2, random_record(i, self.rng)))
                refused = False
                for i in range(first, first + 16):
                    kind, seq, _ = read_reply(s)
                    assert seq == i + 2, (seq, i + 2)
                    kind = ACK if kind == DISKLOW else kind  # stored, below space_left
                    if kind == ACK and not refused:
                        self.acked = i + 1
                    elif kind == DISKFULL or kind == ACK:
                        # Acknowledged after a refused one: stored; sent again below, as
                        # records are numbered by position (the test counts it once).
                        refused = refused or kind == DISKFULL
                        self.diskfull += kind == DISKFULL
                    else:
                        raise AssertionError("reply %x to record %d" % (kind, i))
                time.sleep(0.2 if refused else 1 / 16)
            s.close()
        except (OSError, AssertionError, TypeError) as e:  # TypeError: read_reply None (closed)
            self.error = e


class Trickle(threading.Thread):
    """Gives a node's audisp-remote one record stamped now (now_record) every
    `interval` seconds until stopped; `given` is how many."""

    def __init__(self, audisp, interval=0.2):
        super().__init__(daemon=True)
        self.audisp, self.interval, self.given, self.stop = audisp, interval, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.audisp.feed([now_record(self.given)], rate=1000)
            self.given += 1
            time.sleep(self.interval)


def assert_newest_kept(name, numbers, newest):
    """`numbers` (stored, in any order) hold each number once, from the
    oldest kept to `newest`, with no hole: what rotate may remove is the
    oldest part only."""
    assert len(numbers) == len(set(numbers)), "%s: stored twice" % name
    assert numbers and max(numbers) == newest, "%s: newest %s not stored" % (name, newest)
    assert sorted(numbers) == list(range(min(numbers), newest + 1)), "%s: a hole among %d..%d" % (
        name, min(numbers), newest)


def test_rotate():
    node = Node("node-rotate.test")
    site = mounted_site("test_rotate", "rotate", 384,
                        {"space_left": '"96MiB"', "admin_space_left": '"64MiB"', "reserve": '"16MiB"',
                         "disk_full_action": '"rotate"', "retention": '"forever"'},
                        extra='\n[seal]\nperiod = "30s"\n' + node.table())
    if site is None:
        node.close()
        return
    c = site.collector
    busy = trickle = loggen = None
    try:
        # Sealed: the verification key outside the data folder (seal_test.py).
        cfg = os.path.join(site.work, "seal-setup.toml")
        with open(cfg, "w") as f:
            f.write(c.config_text.replace("@DATA@", c.data_dir))
        seal_key = os.path.join(site.work, "seal-verification.key")
        r = subprocess.run([TRAILKEEPD, "seal-setup", "--config", cfg, "--verification-key-out", seal_key],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        c.start()
        node.wait_up(c)
        agent = site.enroll("agent-quiet.test")
        quiet = Writer(agent.inputs[0][1], agent.host, 100000, rate=1)
        quiet.start()
        wait_stored(c, agent.host, 1, timeout=60)
        # Two more quiet sources: a node's audisp-remote through its tunnel and
        # loggen over TLS syslog, 5 messages a second each (loggen for 2 minutes).
        trickle = Trickle(node.start_audisp(site.work))
        trickle.start()
        loggen = start_loggen(c, 600, 5)
        busy = Busy(c)
        busy.start()
        # About 32 MiB of records first (more on disk: port 60 stores each record and
        # the audit event grouped from it), then a file leaves 40 MiB more for them.
        c.wait_for(lambda: busy.acked >= 4000 or busy.error, timeout=300, what="4000 records")
        assert busy.error is None, busy.error
        filler = site.fill(leave_mib=64 + 40)
        started = time.time()
        # The waits read the collector's log, not the store: a `trailkeepd query` is a
        # RocksDB secondary instance with every file open while it runs, so the files a
        # compaction deletes stay on the disk meanwhile, and polling it (every 0.2 s,
        # each reading the whole store) moves the very free space the rotation reads.
        c.wait_for(lambda: "DISK_FULL:" in c.read_log(), timeout=300, what="DISK_FULL")
        # The first episodes may end with no cut: what RocksDB's write-ahead logs hold
        # is given back first. The records keep coming until a cut is needed.
        c.wait_for(lambda: "RETENTION_CUT:" in c.read_log() or busy.error, timeout=300,
                   what="an early cut")
        assert busy.error is None, busy.error
        c.wait_for(lambda: "DISK_SPACE_RECOVERED:" in c.read_log().split("RETENTION_CUT:", 1)[1],
                   timeout=120, what="DISK_SPACE_RECOVERED after the cut")
        took = time.time() - started
        def recovered_after_a_cut(events):
            cut = [e["ingest_seq"] for e in events if e["msgid"] == "RETENTION_CUT"][:1]
            return cut and any(e["msgid"] == "DISK_SPACE_RECOVERED" and e["ingest_seq"] > cut[0]
                               for e in events) and events
        events = c.wait_for(lambda: recovered_after_a_cut(c.self_events()), what="those events stored")
        full = [e for e in events if e["msgid"] == "DISK_FULL"]
        assert sd(full[0])["action"] == "rotate", sd(full[0])
        first_cut = [e for e in events if e["msgid"] == "RETENTION_CUT"][0]
        rec = [e for e in events if e["msgid"] == "DISK_SPACE_RECOVERED" and e["ingest_seq"] > first_cut["ingest_seq"]]
        assert rec, "no DISK_SPACE_RECOVERED stored after the first cut"
        cuts = [e for e in events if e["msgid"] == "RETENTION_CUT" and e["ingest_seq"] < rec[0]["ingest_seq"]]
        assert cuts and all(sd(e).get("reason") == "disk_full_rotate" for e in cuts), cuts
        # Ingest resumes by itself: more records are acknowledged after the recovery.
        acked_at_recovery = busy.acked
        c.wait_for(lambda: busy.acked >= acked_at_recovery + 200 or busy.error, timeout=60,
                   what="records acknowledged after the recovery")
        assert busy.error is None, busy.error
        busy.stop.set()
        busy.join(60)
        acked = busy.acked
        time.sleep(2)
        kept = set(keys_of(c, "127.0.0.1"))  # a record acknowledged after a refused one is sent again
        assert kept, "every busy record removed"
        first_kept = min(kept)
        missing = sorted(set(range(first_kept, acked)) - kept)
        assert not missing, "acknowledged records newer than the cuts missing: %d, first %s" % (
            len(missing), missing[:10])
        removed = first_kept
        # Before the first cut the busy host had stored the 4000 records sent before the
        # filler and those that took the next 40 MiB: some 70 MiB or more on disk. The cuts
        # are sized from RocksDB's estimates to what is needed to be 10 % above the level,
        # from where the disk was read: about 7 MiB (a tenth of admin_space_left), however
        # far RocksDB's own files move the free space, plus one block; so at most a small
        # part of the busy host goes, and half is a bound with room to spare (the unsized
        # rotate removed every record). The bound is on the first episode's cuts alone (up
        # to DISK_SPACE_RECOVERED): the busy host keeps sending after it, and later episodes
        # cut again. A cut counts events, and port 60 stores each record and the audit event
        # grouped from it: the store's own ratio turns events into records.
        stored_before_cut = c.wait_for(lambda: acked_before_cut(c, first_cut), what="the records before the cut")
        per_record = len(port60_events(c)) / max(1, len(stored_records(c)))
        cut_events = sum(int(sd(e).get("events", 0)) for e in cuts if sd(e).get("host") == "127.0.0.1")
        removed_first = int(round(cut_events / per_record))
        assert removed_first <= stored_before_cut // 2, (
            "the first episode's cuts removed %d events (%d records) of the %d records stored before it" % (
                cut_events, removed_first, stored_before_cut))
        # The quiet host keeps its newest event (and everything after the cuts): its
        # backlog from while ingest was held arrives.
        lines = c.wait_for(lambda: (lambda n: n if n and max(n) >= quiet.written - 3 else None)(
            stored_lines(c, agent.host)), timeout=60, what="the quiet host's newest lines")
        assert sorted(lines) == list(range(min(lines), max(lines) + 1)), "a hole among the quiet host's lines"
        # The node's audisp-remote (through its tunnel) and loggen keep their newest.
        trickle.stop.set()
        trickle.join(30)
        node_keys = c.wait_for(lambda: (lambda k: k if k and max(k) == trickle.given - 1 else None)(
            keys_of(c, node.name)), timeout=90, what="the node's newest record")
        assert_newest_kept(node.name, node_keys, trickle.given - 1)
        sent = loggen_count(loggen)
        loggen = None
        seqs = c.wait_for(lambda: (lambda k: k if k and max(k) >= sent - 1 else None)(
            [seq for _, _, seq in loggen_keys(c)]), timeout=90, what="loggen's newest message")
        assert_newest_kept("loggen", seqs, max(seqs))
        hosts = [json.loads(l) for l in subprocess.run(
            [TRAILKEEPD, "hosts", "--db", c.db, "--format", "json"], capture_output=True, text=True).stdout.splitlines()]
        early = {h.get("host") or h.get("name") for h in hosts if (h.get("retention") or {}).get("reason") == "disk_full_rotate"}
        assert "127.0.0.1" in early, hosts
        rc, out = verify_db(c, agent.host)
        assert rc == 0, out
        assert integrity_alarms(c, agent.host) == []
        log("rotate: DISK_FULL to DISK_SPACE_RECOVERED in %.1fs, %d early cut(s) (%s); busy host: the first "
            "episode removed %d of the %d records stored before it (%.1f%%), all episodes %d (%.1f%%); %d "
            "acknowledged all stored from #%d; quiet host keeps lines %d..%d; the node (tunnel) records %d..%d; "
            "loggen %d..%d of %d; %s" % (
                took, len(cuts), "; ".join(sd(e).get("host", "?") + " " + sd(e).get("events", "?") + " events"
                                           for e in cuts),
                removed_first, stored_before_cut, 100.0 * removed_first / stored_before_cut, removed,
                100.0 * removed / stored_before_cut, acked, first_kept, min(lines), max(lines), min(node_keys),
                max(node_keys), min(seqs), max(seqs), sent, rec[0]["msg"][:70]))

        # SIGTERM while held under rotate, with a commit refused below the reserve.
        busy = Busy(c)
        busy.acked = acked
        busy.start()
        passes = c.read_log().count("disk_full_action rotate:")
        extra = site.fill(leave_mib=8, name="filler2") if free_bytes(c.data_dir) > 8 * MiB else None
        c.wait_for(lambda: c.read_log().count("disk_full_action rotate:") > passes, timeout=60,
                   what="a rotation pass after the disk is below the reserve")
        time.sleep(1)
        t0 = time.time()
        rc = c.stop(timeout=30)
        stop_s = time.time() - t0
        assert rc == 0, "trailkeepd exited with %s" % rc
        busy.stop.set()
        log("rotate: SIGTERM below the reserve, held under rotate: exit status 0 in %.1fs (%s)" % (
            stop_s, [l for l in open(c.log_path).read().splitlines() if "stopped:" in l][-1:]))
        for p in (filler, extra):
            if p:
                os.unlink(p)
        rc, out = verify_db(c, agent.host)
        assert rc == 0, out
        r = subprocess.run([TRAILKEEPD, "verify", "--seal-key", seal_key, "--db", os.path.join(c.data_dir, "store")],
                           capture_output=True, timeout=300)
        out = r.stdout.decode(errors="replace")
        assert r.returncode == 0, out + r.stderr.decode(errors="replace")
        findings = [l for l in out.splitlines() if re.match(r"^[a-z_]+ host=", l)]
        assert findings and all(l.startswith("early_cut ") for l in findings), out
        log("rotate: verify --seal-key: %d early_cut listing(s), no failure; %s" % (
            len(findings), out.strip().splitlines()[-1]))
    finally:
        for thread in (busy, trickle):
            if thread is not None:
                thread.stop.set()
        if loggen is not None and loggen.poll() is None:
            loggen.kill()
            loggen.wait()
        site.close()
        node.close()


def acked_before_cut(c, cut):
    """How many busy records were stored when the first cut was made: each
    one stored before it has a lower ingest_seq."""
    seq = int(cut["ingest_seq"])
    nums = [int(KEY_RE.search(e["msg"]).group(1)) for e in stored_records(c) if KEY_RE.search(e.get("msg") or "")
            and int(e["ingest_seq"]) < seq]
    return max(nums) + 1 if nums else None


if __name__ == "__main__":
    harness.main([t for t in (test_block_through_tunnel, test_halt, test_rotate) if len(sys.argv) < 2 or t.__name__ in sys.argv[1:]])
