"""Durability across restarts of trailkeepd on the same data folder.

  1. batch A over TLS, stored; SIGTERM (exit code 0, ports.json removed).
  2. restart on the same --dev folder (new port), batch B; A and B each stored
     exactly once, ingest_seq strictly increasing in query order, unique, and B
     after A.
  3. batch C, polled until stored, then kill -9; restart: C is still there,
     and batch D continues the ingest_seq sequence without reuse.
  4. the collector's own events: one COLLECTOR_START per start (procid = PID),
     one COLLECTOR_STOP per clean stop (none for kill -9), frame counts in the
     stop message; host states agree with the stored events.
  5. kill -9 in the middle of a stream: after restart the stored part is a
     prefix of what was sent (in order, nothing twice), and holds at least what
     the collector reported stored before the kill.
  6. SIGTERM while loggen is sending on 4 connections: exit code 0, and every
     frame the collector says it received (COLLECTOR_STOP) is stored.
"""
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, Collector, b64, log, scaled  # noqa: E402

HOST = "restart.example.com"




def batch(tag, n):
    return [b"<134>1 2026-11-23T10:00:00.000001Z %s restarter %d BATCH_%s - batch %s %06d" %
            (HOST.encode(), os.getpid(), tag.encode(), tag.encode(), i) for i in range(n)]


def hosts(c):
    out = harness.run([os.path.join(BIN, "trailkeepd"), "hosts", "--db", c.db, "--format", "json"], timeout=60)
    return {h["host"]: h for h in (json.loads(l) for l in out.stdout.decode().splitlines() if l.strip())}


def host_events(c):
    h = hosts(c).get(HOST)
    return h["events"] if h else 0


def send(c, msgs, connections=1):
    """Sends over `connections` TLS connections, in order, octet-counted."""
    per = (len(msgs) + connections - 1) // connections
    for k in range(connections):
        part = msgs[k * per:(k + 1) * per]
        if part:
            c.send_frames(part)


def wait_stored(c, total, timeout=60):
    c.wait_for(lambda: host_events(c) >= total, timeout, "%d events of %s" % (total, HOST))


def check_exactly_once(events, msgs, what):
    got = {}
    for e in events:
        r = b64(e)
        got[r] = got.get(r, 0) + 1
    missing = [m for m in msgs if got.get(m, 0) == 0]
    dups = [m for m in msgs if got.get(m, 0) > 1]
    assert not missing and not dups, "%s: %d missing (e.g. %r), %d stored more than once (e.g. %r)" % (
        what, len(missing), missing[:2], len(dups), dups[:2])


def check_seqs(events):
    seqs = [e["ingest_seq"] for e in events]
    assert all(a < b for a, b in zip(seqs, seqs[1:])), "ingest_seq not strictly increasing in query order: %s" % (
        [(a, b) for a, b in zip(seqs, seqs[1:]) if a >= b][:5])
    assert seqs and seqs[0] >= 1


def seqs_of(events, tag):
    return [e["ingest_seq"] for e in events if e["msgid"] == "BATCH_" + tag]


def test_restart_keeps_everything_once():
    n = scaled(2000)
    a, b, c_, d = batch("A", n), batch("B", n), batch("C", n), batch("D", n)
    pids = []
    first = Collector()
    workdir = first.workdir
    collectors = [first]
    try:
        # 1. batch A, clean stop
        first.start()
        pids.append(first.proc.pid)
        send(first, a)
        wait_stored(first, n)
        rc = first.stop()
        assert rc == 0, "trailkeepd exited with %s on SIGTERM:\n%s" % (rc, first.read_log())
        assert not os.path.exists(os.path.join(first.data_dir, "ports.json")), "ports.json left after a clean stop"
        old_port = first.port

        # 2. restart on the same folder, batch B
        second = Collector(workdir=workdir)
        collectors.append(second)
        second.start()
        pids.append(second.proc.pid)
        log("restarted: port %d -> %d" % (old_port, second.port))
        send(second, b, connections=2)
        wait_stored(second, 2 * n)
        events = second.query()
        check_seqs(events)
        peers = [e for e in events if e["transport"] != "self"]
        assert len(peers) == 2 * n, "expected %d peer events, got %d" % (2 * n, len(peers))
        check_exactly_once(peers, a, "batch A after restart")
        check_exactly_once(peers, b, "batch B")
        assert max(seqs_of(events, "A")) < min(seqs_of(events, "B")), "batch B seqs overlap batch A"
        # Order inside one connection is kept.
        assert [b64(e) for e in peers if e["msgid"] == "BATCH_A"] == a

        # 3. batch C, then kill -9 as soon as it is stored
        send(second, c_)
        wait_stored(second, 3 * n, timeout=60)
        os.kill(second.proc.pid, signal.SIGKILL)
        rc = second.stop()  # reaps the killed process
        assert rc == -signal.SIGKILL, rc

        third = Collector(workdir=workdir)
        collectors.append(third)
        third.start()
        pids.append(third.proc.pid)
        events = third.query()
        check_seqs(events)
        peers = [e for e in events if e["transport"] != "self"]
        assert len(peers) == 3 * n, "after kill -9: expected %d peer events, got %d" % (3 * n, len(peers))
        check_exactly_once(peers, c_, "batch C after kill -9")
        t_before_d = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        send(third, d)
        wait_stored(third, 4 * n)
        rc = third.stop()
        assert rc == 0, "trailkeepd exited with %s on SIGTERM:\n%s" % (rc, third.read_log())

        # 4. the whole history, read from the stopped store
        events = third.query()
        check_seqs(events)
        peers = [e for e in events if e["transport"] != "self"]
        assert len(peers) == 4 * n, "expected %d peer events, got %d" % (4 * n, len(peers))
        for tag, msgs in (("A", a), ("B", b), ("C", c_), ("D", d)):
            check_exactly_once(peers, msgs, "batch " + tag)
        assert max(seqs_of(events, "C")) < min(seqs_of(events, "D")), "ingest_seq reused after kill -9"
        all_seqs = [e["ingest_seq"] for e in events]
        assert len(set(all_seqs)) == len(all_seqs)

        starts = [e for e in events if e["transport"] == "self" and e["msgid"] == "COLLECTOR_START"]
        stops = [e for e in events if e["transport"] == "self" and e["msgid"] == "COLLECTOR_STOP"]
        assert [e["procid"] for e in starts] == [str(p) for p in pids], (
            "COLLECTOR_START procids %s, collector PIDs %s" % ([e["procid"] for e in starts], pids))
        assert [e["procid"] for e in stops] == [str(pids[0]), str(pids[2])], (
            "COLLECTOR_STOP procids %s, cleanly stopped PIDs %s" % ([e["procid"] for e in stops],
                                                                      [pids[0], pids[2]]))
        for e in starts + stops:
            assert e["format"] == "internal" and e["app_name"] == "trailkeepd" and e["facility"] == "audit", e
            assert e["severity"] == "notice" and e["peer"]["authenticated"] is True, e
        assert "frames received" in stops[0]["msg"] and (" %d frames received" % n) in stops[0]["msg"], stops[0]["msg"]
        assert (" %d frames received" % n) in stops[1]["msg"], stops[1]["msg"]
        # Each start precedes that run's events, each stop follows them.
        seq = {k: seqs_of(events, k) for k in "ABCD"}
        assert starts[0]["ingest_seq"] < min(seq["A"]) and max(seq["A"]) < stops[0]["ingest_seq"] < starts[1]["ingest_seq"]
        assert starts[1]["ingest_seq"] < min(seq["B"]) and max(seq["C"]) < starts[2]["ingest_seq"] < min(seq["D"])
        assert max(seq["D"]) < stops[1]["ingest_seq"]
        for i, s in enumerate(starts):
            port = [first.port, second.port, third.port][i]
            assert s["msg"].endswith("127.0.0.1:%d" % port), (s["msg"], port)

        # Indexes survive restarts: per-host history and time ranges.
        by_host = third.query("--host", HOST)
        assert [e["ingest_seq"] for e in by_host] == [e["ingest_seq"] for e in peers], "--host after restarts"
        since = third.query("--since", t_before_d)
        assert [e["ingest_seq"] for e in since] == seq["D"] + [stops[1]["ingest_seq"]], (
            "--since %s after restarts returned %d events" % (t_before_d, len(since)))
        until = third.query("--until", t_before_d)
        assert [e["ingest_seq"] for e in until] == [e["ingest_seq"] for e in events
                                                     if e["ingest_seq"] < min(seq["D"])], "--until after restarts"

        # Host state persisted with the events, also across kill -9.
        h = hosts(third)[HOST]
        assert h["events"] == 4 * n, h
        assert h["last_ingest_seq"] == max(seq["D"]), h
        assert h["unauthenticated_events"] == 0, h
    finally:
        for col in collectors:
            if col.proc is not None:
                try:
                    col.stop()
                except Exception as e:  # noqa: BLE001
                    log("stop failed: %s" % e)


def test_kill_during_stream():
    n = scaled(30000)
    msgs = batch("S", n)
    payload = b"".join(harness.frame(m) for m in msgs)
    first = Collector()
    collectors = [first]
    try:
        first.start()
        s = first.connect()
        errors = []

        def writer():
            try:
                for i in range(0, len(payload), 4096):
                    s.sendall(payload[i:i + 4096])
            except OSError as e:  # the collector is killed under it
                errors.append(e)

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        seen = first.wait_for(lambda: host_events(first) >= min(n // 4, 2000) and host_events(first), 60,
                              "part of the stream stored")
        os.kill(first.proc.pid, signal.SIGKILL)
        assert first.stop() == -signal.SIGKILL
        t.join(30)
        s.close()

        second = Collector(workdir=first.workdir)
        collectors.append(second)
        second.start()
        events = second.query()
        check_seqs(events)
        got = [b64(e) for e in events if e["transport"] != "self"]
        log("kill -9 mid-stream: %d of %d stored (%d reported before the kill)" % (len(got), n, seen))
        assert len(got) >= seen, "only %d events after restart, %d were reported stored before kill -9" % (
            len(got), seen)
        assert got == msgs[:len(got)], "stored events are not a prefix of the stream (first difference at %d)" % (
            next(i for i, (a, b) in enumerate(zip(got, msgs)) if a != b))
        assert hosts(second)[HOST]["events"] == len(got)
        # Sequence numbers continue after the crash.
        last = max(e["ingest_seq"] for e in events)
        second.send_frames(batch("T", 10))
        wait_stored(second, len(got) + 10)
        after = [e for e in second.query() if e["msgid"] == "BATCH_T"]
        assert len(after) == 10 and min(e["ingest_seq"] for e in after) > last
        assert second.stop() == 0
    finally:
        for col in collectors:
            if col.proc is not None:
                col.stop()


def test_sigterm_under_load():
    per = scaled(20000)
    c = Collector()
    loggen = None
    try:
        c.start()
        # 4 x 5000 msg/s for about 4 s: still sending when SIGTERM comes.
        loggen = subprocess.Popen(["loggen", "-U", "-P", "--active-connections", "4", "-n", str(per), "-r",
                                   "5000", "-I", "60", "127.0.0.1", str(c.port)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        c.wait_for(lambda: sum(h["unauthenticated_events"] for h in hosts(c).values()) >= scaled(5000), 60,
                   "loggen events stored")
        still_sending = loggen.poll() is None
        rc = c.stop()
        assert rc == 0, "trailkeepd exited with %s on SIGTERM under load:\n%s" % (rc, c.read_log()[-3000:])
        out, _ = loggen.communicate(timeout=120)
        sent = int((re.findall(rb"count=(\d+)", out) or [b"-1"])[-1])
        stops = [e for e in c.query() if e["transport"] == "self" and e["msgid"] == "COLLECTOR_STOP"]
        assert len(stops) == 1, stops
        m = re.search(r" (\d+) frames received", stops[0]["msg"])
        assert m, stops[0]["msg"]
        received = int(m.group(1))
        stored = sum(h["unauthenticated_events"] for h in hosts(c).values())
        log("SIGTERM under load (loggen still sending: %s): loggen count %d, collector received %d, stored %d" % (
            still_sending, sent, received, stored))
        assert stored == received, "collector received %d frames but stored %d" % (received, stored)
        events = c.peer_events()
        assert len(events) == stored
        seen = set()
        for e in events:
            key = re.match(r"seq: (\d+), thread: (\d+)", e["msg"]).groups()
            assert key not in seen, "stored twice: %s" % (key,)
            seen.add(key)
    finally:
        if loggen is not None and loggen.poll() is None:
            loggen.kill()
            loggen.wait()
        if c.proc is not None:
            c.stop()


if __name__ == "__main__":
    harness.main([test_restart_keeps_everything_once, test_kill_during_stream, test_sigterm_under_load])
