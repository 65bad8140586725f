"""Port 60: auditd's remote-logging protocol (issue: port 60, parts 1 and 3).

A real `audisp-remote` (package audispd-plugins, run by hand with its config
bind-mounted in a private mount namespace) delivers records to trailkeepd's
[[listen.audit]] listener: every record is stored once, byte-exact, under
the sender's address. A raw client checks the wire contract byte by byte:
acks in request order with the request's sequence id, heartbeats, several
frames per write, ASCII lines, and malformed input (oversize length, bad
header version, a header cut short, a bad magic) answered or closed without
the collector going down; a sender that never reads its acks is pushed back
by TCP once 256 replies wait, and loses nothing. The trailkeep agent in
port60 mode shares the port: its hello, then its usual TLS session, chain
and acks. The listener's counters (trailkeep_audit_remote_*) are on
GET /metrics, read with curl.
"""
import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Collector, log  # noqa: E402
from agents import Agent, Writer, enroll, integrity_alarms, verify_db, wait_stored  # noqa: E402
from pki import collector_config, shared_pki as pki  # noqa: E402

MAGIC = 0xFF0000FE
MESSAGE, HEARTBEAT = 0, 1
ACK, DISKLOW, DISKFULL, GENERIC_ERROR = 0x40000000, 0x50000001, 0x60000001, 0x60000010
AUDISP_REMOTE = "/usr/sbin/audisp-remote"


def frame(kind, seq, payload=b"", header_version=0, length=None):
    n = len(payload) if length is None else length
    return struct.pack("<IBBIHI", MAGIC, header_version, 0, kind, n, seq) + payload


def read_reply(sock):
    head = b""
    while len(head) < 16:
        chunk = sock.recv(16 - len(head))
        if not chunk:
            return None
        head += chunk
    magic, hver, mver, kind, n, seq = struct.unpack("<IBBIHI", head)
    assert magic == MAGIC, head.hex()
    body = b""
    while len(body) < n:
        body += sock.recv(n - len(body))
    return kind, seq, body


def record(i, serial=None):
    serial = 1000 + i if serial is None else serial
    return ("type=SYSCALL msg=audit(1700000000.%03d:%d): arch=c000003e syscall=59 success=yes "
            "exit=0 a0=55d0 items=2 ppid=1 pid=%d auid=1000 uid=0 comm=\"sudo\" exe=\"/usr/bin/sudo\" "
            "key=\"test-%d\"\n" % (i % 1000, serial, 4000 + i, i)).encode()


def big_record(i):
    """An 8 KiB record (a long execve argument), as large as audisp-remote sends."""
    return record(i).rstrip(b"\n") + b" a1=\"" + b"x" * (8000 - len(record(i))) + b"\"\n"


def port60_events(collector, host="127.0.0.1"):
    return [e for e in collector.query("--host", host, "--limit", "1000000")
            if e.get("transport") == "audit-port60"]


def stored_records(collector, host="127.0.0.1"):
    """The records as they arrived (not the grouped events made of them)."""
    return [e for e in port60_events(collector, host) if e.get("audit_member")]


def grouped_serials(collector, host="127.0.0.1"):
    return [e["audit"]["serial"] for e in port60_events(collector, host) if e.get("audit")]


def connect(collector):
    s = socket.create_connection(("127.0.0.1", collector.audit_port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def test_wire_contract():
    with Collector() as c:
        s = connect(c)
        s.sendall(frame(HEARTBEAT, 2))
        assert read_reply(s) == (ACK, 2, b""), "heartbeat not acknowledged"
        # Three records and a heartbeat in one write: four replies, in order.
        s.sendall(frame(MESSAGE, 3, record(1)) + frame(MESSAGE, 4, record(2)) +
                  frame(HEARTBEAT, 5) + frame(MESSAGE, 6, record(3)))
        assert [read_reply(s)[:2] for _ in range(4)] == [(ACK, 3), (ACK, 4), (ACK, 5), (ACK, 6)]
        # An ack means stored: the records are there now, byte-exact.
        msgs = [e["msg"] for e in stored_records(c)]
        assert msgs == [record(i).decode().rstrip("\n") for i in (1, 2, 3)], msgs
        # A frame split inside its header, sent a byte at a time.
        for b in frame(MESSAGE, 7, record(4)):
            s.send(bytes([b]))
        assert read_reply(s)[:2] == (ACK, 7)
        # format = ascii: a line, stored, no reply.
        s.sendall(record(5))
        c.wait_for(lambda: len(stored_records(c)) == 5, what="the ASCII record")
        s.sendall(frame(HEARTBEAT, 8))
        assert read_reply(s) == (ACK, 8, b""), "an ASCII line must get no reply"
        # Oversize length: a fatal reply and the connection closes.
        s.sendall(frame(MESSAGE, 9, b"", length=9000))
        kind, seq, text = read_reply(s)
        assert kind == GENERIC_ERROR and b"9000" in text, (hex(kind), text)
        assert read_reply(s) is None, "the connection stays open after a fatal reply"
        s.close()
        # A bad header version, the same.
        s = connect(c)
        s.sendall(frame(MESSAGE, 2, record(6), header_version=3))
        assert read_reply(s)[0] == GENERIC_ERROR
        s.close()
        # A header cut short at disconnect: reported, the collector stays up.
        s = connect(c)
        s.sendall(frame(MESSAGE, 2, record(7))[:10])
        s.close()
        c.wait_for(lambda: [e for e in c.self_events("TRUNCATED_FRAME")], what="the truncated frame event")
        errors = c.self_events("FRAMING_ERROR")
        assert len(errors) == 2, [e["msg"] for e in errors]
        s = connect(c)
        s.sendall(frame(HEARTBEAT, 2))
        assert read_reply(s) == (ACK, 2, b"")
        s.close()
        assert len(stored_records(c)) == 5
        log("acks in order, heartbeats, split headers, ASCII lines, 2 framing errors and a "
            "truncated frame reported; collector up")


def fill(path):
    """Writes zeros to `path` until the file system is full; returns the file."""
    filler = os.path.join(path, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
        except OSError:
            pass
    return filler


@contextlib.contextmanager
def collector_on_tmpfs(size_mib, space_warning_mb, admin_space_left="0"):
    """A started collector whose data_dir is a tmpfs of `size_mib`, with
    [store] space_warning_mb (the older spelling of space_left, still read)
    and admin_space_left ("0": no disk_full_action, commits stop at the
    reserve; disk_full_test.py covers the policy); None when no tmpfs can be
    mounted."""
    c = Collector(config_text=collector_config(pki()) +
                  "\n[store]\nspace_warning_mb = %d\nadmin_space_left = \"%s\"\n" % (
                      space_warning_mb, admin_space_left))
    data = c.data_dir
    os.makedirs(data)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mib, "tmpfs", data],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        harness.cannot_run("cannot mount a tmpfs: " + mounted.stderr.strip())
        yield None
        return
    try:
        yield c.start()
    finally:
        c.stop()
        subprocess.run(["umount", "-l", data])


def free_mib(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize / 1048576


def test_full_disk_answers_diskfull_and_loses_nothing():
    if os.geteuid() != 0:
        harness.cannot_run("test_full_disk_answers_diskfull_and_loses_nothing needs root to mount a tmpfs")
        return
    with collector_on_tmpfs(64, 0) as c:  # no low-space warning here: ACK until DISKFULL
        if c is None:
            return
        data = c.data_dir
        s = connect(c)
        s.sendall(frame(MESSAGE, 2, record(1)))
        assert read_reply(s)[:2] == (ACK, 2)
        filler = fill(data)
        # RocksDB writes into WAL space it preallocated: records are still
        # stored (and acknowledged) until that is used up too.
        acked = [record(1)]
        for i in range(2, 4000):
            started = time.time()
            s.sendall(frame(MESSAGE, i + 1, big_record(i)))
            kind, seq, text = read_reply(s)
            waited = time.time() - started
            assert seq == i + 1 and kind in (ACK, DISKFULL), (hex(kind), seq, text)
            if kind == DISKFULL:
                refused = big_record(i)
                break
            acked.append(big_record(i))
        else:
            raise AssertionError("4000 records of 8 KiB acknowledged on a full 64 MiB disk")
        # Answered before audisp-remote's 5 s reply timeout.
        assert waited < 5, "DISKFULL came after %.1fs" % waited
        s.sendall(frame(HEARTBEAT, 1))
        assert read_reply(s) == (ACK, 1, b""), "heartbeats must be answered while the disk is full"
        s.close()
        os.unlink(filler)
        # As audisp-remote does after DISKFULL: reconnect and resend the record.
        s = connect(c)
        s.sendall(frame(MESSAGE, 2, refused))
        c.wait_for(lambda: read_reply(s)[:2] == (ACK, 2), timeout=60, what="the resent record's ack")
        s.close()
        msgs = [e["msg"] for e in stored_records(c)]
        want = [r.decode().rstrip("\n") for r in acked + [refused]]
        assert len(msgs) == len(set(msgs)), "stored twice"
        assert msgs == want, "%d stored, %d expected" % (len(msgs), len(want))
        log("%d records acknowledged, then DISKFULL after %.1fs on a full disk (heartbeat still "
            "acknowledged); the resent record stored once when space returned"
            % (len(acked), waited))


def test_low_space_answers_disklow_and_recovers():
    """Below [store] space_warning_mb the collector records STORAGE_LOW
    (FAU_STG.3/LocSpace) and answers stored records DISKLOW, as auditd does
    past its space_left; with room again STORAGE_RECOVERED, and ACK."""
    if os.geteuid() != 0:
        harness.cannot_run("test_low_space_answers_disklow_and_recovers needs root to mount a tmpfs")
        return
    with collector_on_tmpfs(160, 48, "20MiB") as c:  # 24 MiB left: low, not full
        if c is None:
            return
        s = connect(c)
        s.sendall(frame(MESSAGE, 2, record(1)))
        assert read_reply(s)[:2] == (ACK, 2), "%d MiB free is above the warning level" % free_mib(c.data_dir)
        filler = os.path.join(c.data_dir, "filler")
        with open(filler, "wb") as f:  # leave 24 MiB: below the 48 MiB level, above the reserve
            f.write(b"\0" * int((free_mib(c.data_dir) - 24) * 1048576))
        low = c.wait_for(lambda: c.self_events("STORAGE_LOW"), what="STORAGE_LOW")
        assert low[0]["refs"] == ["FAU_STG.3/LocSpace"], low[0]
        s.sendall(frame(MESSAGE, 3, record(2)))
        assert read_reply(s)[:2] == (DISKLOW, 3), "a stored record below the warning level"
        os.unlink(filler)
        c.wait_for(lambda: c.self_events("STORAGE_RECOVERED"), what="STORAGE_RECOVERED")
        s.sendall(frame(MESSAGE, 4, record(3)))
        assert read_reply(s)[:2] == (ACK, 4)
        s.close()
        msgs = [e["msg"] for e in stored_records(c)]
        assert msgs == [record(i).decode().rstrip("\n") for i in (1, 2, 3)], msgs
        log("%s; then DISKLOW for a stored record; %s" % (low[0]["msg"], c.self_events("STORAGE_RECOVERED")[0]["msg"]))


def start_audisp_remote(conf, stderr):
    """audisp-remote as auditd runs it, reading records from our stdin.

    It reads only /etc/audit/audisp-remote.conf: it gets ours in a private
    mount namespace. auditd ignores every signal and its plugins inherit that
    (they catch only the ones they handle), so SIGPIPE stays ignored here too
    (restore_signals=False keeps Python's SIG_IGN): a write to a connection
    the far end already closed is an EPIPE audisp-remote handles, where the
    default action would kill it.
    """
    return subprocess.Popen(["unshare", "-m", "sh", "-c",
                             "mount --bind %s /etc/audit/audisp-remote.conf && exec %s" % (conf, AUDISP_REMOTE)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr,
                            restore_signals=False)


class AudispRemote:
    """audisp-remote run by hand: stdin is ours, its config bind-mounted in a
    private mount namespace (it reads only /etc/audit/audisp-remote.conf).

    It keeps a record it could not deliver: network_failure_action =
    warn_once, and disk_full_action = warn_once (its default, written out),
    which leaves a record answered DISKFULL queued (ignore, syslog and
    warn_once_continue would drop it). After DISKFULL it has closed its
    connection and connects again only to send a heartbeat, so
    heartbeat_timeout = 1 is what makes it resend once space returns (with
    0, Debian's default, the records wait in its queue until it restarts).
    """

    CONFIG = ("remote_server = 127.0.0.1\nport = %d\nformat = managed\nmode = immediate\n"
              "heartbeat_timeout = 1\nqueue_depth = 20000\n"
              "network_retry_time = 1\nmax_tries_per_record = 120\nmax_time_per_record = 120\n"
              "network_failure_action = warn_once\ndisk_full_action = warn_once\n")

    def __init__(self, port, workdir):
        conf = os.path.join(workdir, "audisp-remote.conf")
        with open(conf, "w") as f:
            f.write(self.CONFIG % port)
        os.chmod(conf, 0o640)
        self.stderr_path = os.path.join(workdir, "audisp-remote.err")
        self.err = open(self.stderr_path, "w")
        self.proc = start_audisp_remote(conf, stderr=self.err)

    def feed(self, records, rate):
        """Writes records (each followed by its EOE, which audisp-remote drops)
        at about `rate` records per second."""
        due = time.time()
        for r in records:
            self.proc.stdin.write(r + r.split(b" ", 1)[0].replace(b"SYSCALL", b"EOE") + b" " +
                                  r.split(b" ")[1] + b" \n")
            self.proc.stdin.flush()
            due += 1.0 / rate
            time.sleep(max(0.0, due - time.time()))

    def check_alive(self):
        """True while it runs; once it has exited, an AssertionError naming
        its exit status (a negative one is the signal that killed it)."""
        rc = self.proc.poll()
        if rc is not None:
            self.err.flush()
            with open(self.stderr_path, errors="replace") as f:
                raise AssertionError("audisp-remote exited early with %s: %s" % (rc, f.read()))
        return True

    def close(self, timeout=60):
        """EOF on stdin: it drains its queue and exits; returns its exit code."""
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout)
        finally:
            self.err.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_audisp_remote(port, records, workdir, fmt="managed"):
    conf = os.path.join(workdir, "audisp-remote.conf")
    with open(conf, "w") as f:
        f.write("remote_server = 127.0.0.1\nport = %d\nformat = %s\nmode = immediate\n"
                "heartbeat_timeout = 1\nnetwork_failure_action = syslog\n"
                "queue_depth = 20000\n" % (port, fmt))
    os.chmod(conf, 0o640)
    p = start_audisp_remote(conf, stderr=subprocess.PIPE)
    for r in records:
        p.stdin.write(r)
        # An EOE closes each event; audisp-remote filters it out.
        p.stdin.write(r.split(b" ", 1)[0].replace(b"SYSCALL", b"EOE") + b" " +
                      r.split(b" ")[1] + b" \n")
    p.stdin.flush()
    time.sleep(2)  # idle long enough for a heartbeat
    p.stdin.close()
    rc = p.wait(120)
    return rc, p.stderr.read().decode(errors="replace")


def test_audisp_remote_delivers_every_record_once():
    if os.geteuid() != 0 or not os.path.exists(AUDISP_REMOTE) or shutil.which("unshare") is None:
        harness.cannot_run("test_audisp_remote_delivers_every_record_once needs root, unshare and audispd-plugins")
        return
    count = harness.scaled(2000)
    records = [record(i) for i in range(count)]
    with Collector() as c:
        started = time.time()
        rc, err = run_audisp_remote(c.audit_port, records, c.workdir)
        assert rc == 0, "audisp-remote exited with %s: %s" % (rc, err)
        got = [e["msg"] for e in stored_records(c)]
        want = [r.decode().rstrip("\n") for r in records]
        assert len(got) == len(set(got)), "stored twice: %d of %d distinct" % (len(set(got)), len(got))
        assert got == want, "missing or reordered: %d stored of %d" % (len(got), len(want))
        e = stored_records(c)[0]
        assert e["host"] == "127.0.0.1" and e["app_name"] == "auditd", e
        # audisp-remote drops EOE records, so each event closes on the grouping
        # timeout and becomes one grouped event (issue 5's enrichment).
        serials = c.wait_for(lambda: (lambda g: g if len(g) >= count else None)(grouped_serials(c)),
                             timeout=60, what="one grouped event per record")
        assert sorted(int(x) for x in serials) == [1000 + i for i in range(count)], "groups differ"
        log("audisp-remote: %d records stored once, in order, byte-exact, in %.1fs"
            % (count, time.time() - started))


def test_agent_over_port60():
    """The trailkeep agent with transport = "port60": hello, then its TLS
    session, chain and acks as on the syslog port; a collector restart
    mid-stream loses and duplicates nothing."""
    host = "agent-p60.test"
    c = Collector(audit_listen="127.0.0.1:%d" % harness.free_port())
    agent = None
    try:
        c.start()
        bundle = enroll(c, host)
        agent = Agent(host, bundle, c.audit_port, os.path.join(c.workdir, "agent"),
                      collector_extra='transport = "port60"\n').start()
        count = harness.scaled(4000)
        writer = Writer(agent.inputs[0][1], host, count, rate=2000)
        writer.start()
        wait_stored(c, host, count // 4)
        c.kill9()
        c.start()
        writer.join()
        nums = wait_stored(c, host, count)
        assert len(nums) == len(set(nums)) and sorted(nums) == list(range(count)), "loss or duplicates"
        rc, out = verify_db(c, host)
        assert rc == 0, out
        assert integrity_alarms(c, host) == [], integrity_alarms(c, host)
        connected = [l for l in agent.read_log().splitlines() if "ALPN trailkeep/1" in l]
        assert connected, "the agent never ran trailkeep/1 over port 60:\n" + agent.read_log()[-2000:]
        log("agent over port 60: %d events once across a collector kill -9, %s; %s"
            % (count, out.strip().splitlines()[-1], connected[-1].split(" info ")[-1]))
    finally:
        if agent is not None:
            agent.stop()
        c.stop()


def test_unknown_hello_is_refused():
    with Collector() as c:
        s = connect(c)
        s.sendall(b"\0hello there\n" + b"x" * 20)
        kind, _, text = read_reply(s)
        assert kind == GENERIC_ERROR and b"NUL" in text, (hex(kind), text)
        s.close()
        log("a NUL-led stream that is not the agent's hello: refused (%s)" % text.decode())


def padded_record(i, size=1024):
    """A record of about `size` bytes (a long key), so a flood outgrows socket buffers."""
    base = record(i).rstrip(b"\n")
    return base + b" a1=\"" + b"y" * max(0, size - len(base) - 7) + b"\"\n"


def test_ackless_flood_loses_nothing():
    """A sender that never reads its acks: the collector queues at most 256
    replies per connection and stops reading while they wait, so what it holds
    is bounded by that and the kernel's socket buffers (about 4 MiB of acks on
    loopback, which is why every record here may be taken before TCP pushes
    back). Other connections are served meanwhile, and every record is
    acknowledged in order once the sender reads. (RSS is logged, not asserted:
    its growth is mostly RocksDB's memtables taking the 20 MiB.)"""
    count = harness.scaled(20000)
    with Collector() as c:
        rss_before = c.rss_kib()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # acks back up at once
        s.connect(("127.0.0.1", c.audit_port))
        payload = b"".join(frame(MESSAGE, i, padded_record(i)) for i in range(1, count + 1))
        sent = [0]

        def flood():
            view = memoryview(payload)
            while sent[0] < len(view):
                sent[0] += s.send(view[sent[0]:sent[0] + 65536])

        sender = threading.Thread(target=flood, daemon=True)
        sender.start()
        last = [-1]

        def stalled():
            now, before = sent[0], last[0]
            last[0] = now
            time.sleep(1)
            return now == before or now == len(payload)

        c.wait_for(stalled, what="the flood to stall or finish")
        grown = c.rss_kib() - rss_before
        other = connect(c)
        other.sendall(frame(HEARTBEAT, 1))
        assert read_reply(other) == (ACK, 1, b""), "a second connection is not served during a flood"
        other.close()
        s.settimeout(30)
        seqs = []
        for _ in range(count):
            reply = read_reply(s)
            assert reply is not None and reply[0] == ACK, reply
            seqs.append(reply[1])
        sender.join(30)
        s.close()
        assert seqs == list(range(1, count + 1)), "acks out of order or missing"
        assert len(stored_records(c)) == count
        log("ack-less flood of %d records (%.1f MiB): %.1f MiB taken before the sender read, collector RSS "
            "grew %d KiB meanwhile, a second connection was served, all acked in order and stored once"
            % (count, len(payload) / 1048576, sent[0] / 1048576, grown))


def test_bad_magic_is_read_as_ascii_as_auditd_does():
    """auditd's receiver tells framings apart by the magic: anything else is an
    ASCII line. A header with a wrong magic and a payload without a newline is
    then a line over the limit: a fatal reply, the channel closed, a
    FRAMING_ERROR event, nothing stored from it, the collector up."""
    with Collector() as c:
        s = connect(c)
        bad = struct.pack("<IBBIHI", 0x12345678, 0, 0, MESSAGE, 9000, 1) + b"z" * 9000
        s.sendall(bad)
        kind, _, text = read_reply(s)
        assert kind == GENERIC_ERROR and b"ASCII line longer" in text, (hex(kind), text)
        assert read_reply(s) is None, "the channel stays open after a fatal reply"
        s.close()
        c.wait_for(lambda: c.self_events("FRAMING_ERROR"), what="the framing error event")
        s = connect(c)
        s.sendall(frame(MESSAGE, 2, record(1)))
        assert read_reply(s)[:2] == (ACK, 2)
        s.close()
        assert len(stored_records(c)) == 1
        log("bad magic: read as ASCII, over-long line refused (%s); collector up" % text.decode())


def audit_remote_metrics(c):
    """trailkeep_audit_remote_* samples of GET /metrics (curl, the dev admin token): {name: value}."""
    with open(os.path.join(c.workdir, "dev", "admin.token")) as f:
        token = f.read().strip()
    r = subprocess.run(["curl", "-sS", "--http1.1", "--fail", "--cacert", os.path.join(c.pki, "ca.pem"),
                        "-H", "Authorization: Bearer " + token,
                        "https://127.0.0.1:%d/metrics" % c.export_port], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.decode().splitlines():
        m = re.match(r"trailkeep_(audit_remote_\w+) (\S+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def test_port60_counters_reach_metrics():
    """The port-60 listener's counters are on /metrics (they were counted, never shown)."""
    with Collector() as c:
        assert audit_remote_metrics(c) == {
            "audit_remote_connections": 0, "audit_remote_accepted_total": 0, "audit_remote_records_total": 0,
            "audit_remote_heartbeats_total": 0, "audit_remote_ascii_lines_total": 0,
            "audit_remote_disk_full_replies_total": 0, "audit_remote_framing_errors_total": 0,
        }, audit_remote_metrics(c)
        s = connect(c)
        s.sendall(frame(HEARTBEAT, 2) + frame(MESSAGE, 3, record(1)) + frame(MESSAGE, 4, record(2)))
        assert [read_reply(s)[:2] for _ in range(3)] == [(ACK, 2), (ACK, 3), (ACK, 4)]
        s.sendall(record(3))  # format = ascii: stored, no reply
        c.wait_for(lambda: len(stored_records(c)) == 3, what="the ASCII record")
        m = audit_remote_metrics(c)
        assert (m["audit_remote_connections"], m["audit_remote_accepted_total"], m["audit_remote_records_total"],
                m["audit_remote_heartbeats_total"], m["audit_remote_ascii_lines_total"]) == (1, 1, 2, 1, 1), m
        # A bad header version: a framing error, and the connection closes.
        bad = connect(c)
        bad.sendall(frame(MESSAGE, 2, record(4), header_version=3))
        assert read_reply(bad)[0] == GENERIC_ERROR
        bad.close()
        s.close()
        m = c.wait_for(lambda: (lambda m: m if m["audit_remote_connections"] == 0 else None)(audit_remote_metrics(c)),
                       what="both port-60 connections closed in /metrics")
        assert (m["audit_remote_accepted_total"], m["audit_remote_framing_errors_total"]) == (2, 1), m
        peer = "raw client"
        if os.geteuid() == 0 and os.path.exists(AUDISP_REMOTE) and shutil.which("unshare"):
            # And stock audisp-remote, as a node runs it.
            rc, err = run_audisp_remote(c.audit_port, [record(i) for i in range(10, 15)], c.workdir)
            assert rc == 0, "audisp-remote exited with %s: %s" % (rc, err)
            m = c.wait_for(lambda: (lambda m: m if m["audit_remote_records_total"] == 7 else None)(
                audit_remote_metrics(c)), what="audisp-remote's 5 records in /metrics")
            assert m["audit_remote_accepted_total"] == 3, m
            peer += " and audisp-remote"
        log("port-60 counters on /metrics (%s): %s" % (peer, sorted(m.items())))


if __name__ == "__main__":
    harness.main([test_wire_contract, test_audisp_remote_delivers_every_record_once,
                  test_full_disk_answers_diskfull_and_loses_nothing, test_low_space_answers_disklow_and_recovers,
                  test_agent_over_port60,
                  test_unknown_hello_is_refused, test_ackless_flood_loses_nothing,
                  test_bad_magic_is_read_as_ascii_as_auditd_does, test_port60_counters_reach_metrics])
