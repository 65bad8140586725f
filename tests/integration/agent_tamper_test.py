"""Tamper evidence: each manipulation is detected with the right kind and
range, and nothing else is flagged (issue: the agent, test 4).

Real agents and a real collector; the spool is edited between a kill -9 of
the agent and its restart, while the collector is down, so the edited bytes
are what the agent sends. Forged and replayed events come from Python's own
TLS client and its own HMAC (docs/formats/hmac_chain.md).
"""
import base64
import hashlib
import hmac
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, RUN_DIR, Collector, close_tls, frame, free_port, log  # noqa: E402
from agents import (Agent, Writer, enroll, integrity_alarms, read_records, spool_segments,  # noqa: E402
                    wait_stored, write_records)

HOST = "agent-t.test"


class One:
    """A collector and one agent writing one file."""

    def __init__(self, name):
        self.work = tempfile.mkdtemp(prefix=name + "-", dir=RUN_DIR)
        self.collector = Collector(os.path.join(self.work, "collector"), syslog_listen="127.0.0.1:%d" % free_port())
        self.collector.start()
        self.bundle = enroll(self.collector, HOST)
        self.agent = Agent(HOST, self.bundle, self.collector.port, os.path.join(self.work, "agent")).start()
        self.next_line = 0

    def write(self, n, wait=True):
        w = Writer(self.agent.inputs[0][1], HOST, n, start_at=self.next_line)
        w.run()
        self.next_line += n
        if wait:
            wait_stored(self.collector, HOST, self.next_line)

    def spooled(self, text, timeout=30):
        """Waits until a spool record holds `text`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for seg in spool_segments(self.agent.spool_dir):
                if any(text.encode() in r for r in read_records(seg)):
                    return
            time.sleep(0.2)
        raise AssertionError("%r never reached the spool:\n%s" % (text, self.agent.read_log()))

    def offline_then(self, n, edit):
        """Collector down; n more lines spooled; agent kill -9; edit(); both back."""
        self.collector.kill9()
        first = self.next_line
        self.write(n, wait=False)
        self.spooled("line %07d" % (first + n - 1))
        time.sleep(0.3)
        self.agent.kill9()
        edit()
        self.collector.start()
        self.agent.start()

    def alarms(self):
        return [(k, f, l) for k, _, f, l in integrity_alarms(self.collector, HOST)]

    def events(self):
        return [e for e in self.collector.query("--host", HOST, "--limit", "1000000") if e["transport"] != "self"]

    def seq_of(self, n):
        for e in self.events():
            if e["msg"] == "line %07d" % n:
                return e["chain"]["s"]
        raise AssertionError("line %d not stored" % n)

    def close(self):
        self.agent.stop()
        self.collector.stop()


def send_raw(one, messages, bundle=None):
    """Sends messages over TLS with an enrolled certificate, without ALPN."""
    bundle = bundle or one.bundle
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=os.path.join(bundle, "ca.pem"))
    ctx.check_hostname = False
    ctx.load_cert_chain(os.path.join(bundle, "agent.pem"), os.path.join(bundle, "agent.key"))
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", one.collector.port), timeout=10),
                        server_hostname="localhost")
    s.sendall(b"".join(frame(m) for m in messages))
    close_tls(s)


def forge(epoch, seq, prev_hex, text, key):
    m = ('<134>1 2026-11-23T05:08:37.000000Z %s myapp 4242 - [tk@32473 e="%d" s="%d" p="%s" m=""] %s' %
         (HOST, epoch, seq, prev_hex, text)).encode()
    mac = hmac.new(key, m, hashlib.sha256).hexdigest().encode()
    return m.replace(b'm=""', b'm="' + mac + b'"', 1)


def wait_alarms(one, expected, timeout=30):
    """Waits for `expected` (kind, first, last) alarms; returns all alarms."""
    deadline = time.time() + timeout
    got = []
    while time.time() < deadline:
        got = one.alarms()
        if all(x in got for x in expected):
            return got
        time.sleep(0.3)
    raise AssertionError("expected alarms %s, got %s" % (expected, got))


def host_state(one):
    import json
    out = subprocess.run([os.path.join(BIN, "trailkeepd"), "hosts", "--db", one.collector.db, "--format", "json"],
                         capture_output=True, timeout=60).stdout.decode()
    for l in out.splitlines():
        h = json.loads(l)
        if h["host"] == HOST:
            return h
    return None


def test_edited_event_is_a_bad_mac():
    one = One("edit")
    try:
        one.write(10)

        def edit():
            for seg in spool_segments(one.agent.spool_dir):
                recs = read_records(seg)
                for i, r in enumerate(recs):
                    if b"line 0000015" in r:
                        recs[i] = r.replace(b"line 0000015", b"line 0000099")
                        write_records(seg, recs)
                        return
            raise AssertionError("record of line 15 not in the spool")
        one.offline_then(10, edit)
        wait_stored(one.collector, HOST, 19)
        s = one.seq_of(99)
        got = wait_alarms(one, [("bad_mac", s, s)])
        time.sleep(2)
        got = one.alarms()
        assert got == [("bad_mac", s, s)], got
        edited = [e for e in one.events() if e["msg"] == "line 0000099"]
        assert edited and edited[0]["integrity"] == "bad_mac", edited
    finally:
        one.close()


def test_deleted_event_is_a_gap():
    one = One("delete")
    try:
        one.write(10)

        def edit():
            for seg in spool_segments(one.agent.spool_dir):
                recs = read_records(seg)
                kept = [r for r in recs if b"line 0000015" not in r]
                if len(kept) != len(recs):
                    write_records(seg, kept)
                    return
            raise AssertionError("record of line 15 not in the spool")
        one.offline_then(10, edit)
        wait_stored(one.collector, HOST, 19)
        s16 = one.seq_of(16)
        got = wait_alarms(one, [("gap", s16 - 1, s16 - 1)])
        time.sleep(2)
        assert one.alarms() == [("gap", s16 - 1, s16 - 1)], one.alarms()
    finally:
        one.close()


def test_truncated_tail():
    one = One("tail")
    try:
        one.write(10)

        def edit():
            segs = spool_segments(one.agent.spool_dir)
            recs = read_records(segs[-1])
            assert len(recs) >= 3 and b"line 0000019" in recs[-1], "newest records not at the end"
            write_records(segs[-1], recs[:-3])
        one.offline_then(10, edit)
        wait_stored(one.collector, HOST, 17)
        s16 = one.seq_of(16)
        wait_alarms(one, [("truncated_tail", s16 + 1, s16 + 3)])
        # The agent numbers on after its head: no gap is raised for the same range.
        one.write(5)
        time.sleep(2)
        assert one.alarms() == [("truncated_tail", s16 + 1, s16 + 3)], one.alarms()
    finally:
        one.close()


def test_replays_and_forgeries():
    one = One("forge")
    try:
        one.write(10)
        events = one.events()
        old = base64.b64decode(events[3]["raw_b64"])
        epoch = int(events[-1]["chain"]["e"])
        head = max(e["chain"]["s"] for e in events)
        dup_before = host_state(one)["chain"]["duplicates_dropped"]

        # An old event resent with its original MAC: dropped, counted, no alarm.
        send_raw(one, [old])
        one.collector.wait_for(lambda: host_state(one)["chain"]["duplicates_dropped"] > dup_before,
                               what="duplicate counted")
        assert one.alarms() == [], one.alarms()

        # A forged event (wrong key) at an unused seq: bad_mac, nothing else.
        wrong = os.urandom(32)
        send_raw(one, [forge(epoch, 1_000_000, "0" * 64, "forged far ahead", wrong)])
        wait_alarms(one, [("bad_mac", 1_000_000, 1_000_000)])

        # A forged event at the next seq, sent before the real one: the real
        # one still arrives and is stored; a conflict is recorded.
        send_raw(one, [forge(epoch, head + 1, "0" * 64, "forged at a used seq", wrong)])
        wait_alarms(one, [("bad_mac", head + 1, head + 1)])
        one.write(1)
        wait_alarms(one, [("conflict", head + 1, head + 1)])
        real = [e for e in one.events() if e["msg"] == "line 0000010"]
        assert real and real[0]["integrity"] == "verified", real
        time.sleep(1)
        assert sorted(one.alarms()) == sorted([("bad_mac", 1_000_000, 1_000_000), ("bad_mac", head + 1, head + 1),
                                               ("conflict", head + 1, head + 1)]), one.alarms()

        # The agent starts a new chain (its spool is lost): chain_restart;
        # then an event of the old epoch is replayed: replay.
        one.agent.stop()
        import shutil
        shutil.rmtree(one.agent.spool_dir)
        one.agent.start()
        one.write(2)
        send_raw(one, [old])
        got = wait_alarms(one, [("replay", events[3]["chain"]["s"], events[3]["chain"]["s"])])
        assert [a for a in got if a[0] == "chain_restart"], got
    finally:
        one.close()


def test_other_certificate_with_the_right_host_name_is_refused():
    one = One("intruder")
    try:
        one.write(5)
        intruder = enroll(one.collector, "intruder.test")
        fake = Agent(HOST, intruder, one.collector.port, os.path.join(one.work, "intruder"), cert_bundle=intruder)
        with open(fake.inputs[0][1], "w") as f:
            f.write("Nov 23 05:08:37 x myapp[1]: intruder line 0000001\n")
        fake.start()
        one.collector.wait_for(lambda: one.collector.self_events("AGENT_REFUSED"), what="AGENT_REFUSED")
        fake.stop()
        assert not [e for e in one.events() if "intruder" in e["msg"]], "the intruder's event was stored"
        refused = one.collector.self_events("AGENT_REFUSED")
        assert "does not match" in refused[0]["msg"], refused[0]["msg"]
        assert one.alarms() == [], one.alarms()
    finally:
        one.close()


if __name__ == "__main__":
    harness.main([test_edited_event_is_a_bad_mac, test_deleted_event_is_a_gap, test_truncated_tail,
                  test_replays_and_forgeries, test_other_certificate_with_the_right_host_name_is_refused])
