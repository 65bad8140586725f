"""The audisp shim run as auditd's dispatcher runs it: `trailkeep audisp
--socket PATH` as a child whose stdin is a pipe the test writes audit records
to, one per line, in auditd's string format; a real `trailkeep forward` with an
[audisp] socket, and a real trailkeepd (dev mode, port 0). The contract is
agent/audisp_shim.h:

  - delivery: every record is stored once, in order, chain-verified, and
    grouped into audit events (EOE-terminated, single-record, and EOE-less
    multi-record ones closed by the grouping timeout), though the forwarder
    restarts twice (SIGTERM) on the way; at EOF the shim exits 0, but only
    once every line is acknowledged;
  - forwarder away and back: started before the forwarder exists, the shim
    does not read stdin and retries; what was written meanwhile arrives once
    the forwarder starts; a forwarder killed with SIGKILL mid-stream and
    restarted costs no record (duplicates allowed: "a forwarder crash can at
    worst duplicate lines, never lose them"; counted and printed), and the
    shim keeps running, SIGHUP included;
  - spool full (spool_max_bytes, collector down): the shim stops reading
    stdin, so the test's non-blocking writes hit EAGAIN; nothing is lost, and
    when the collector is back everything is delivered and stdin is read again;
  - SIGTERM with unacknowledged lines: delivered within term_grace_ms when the
    forwarder answers in time (exit 0, nothing reported); otherwise exit 0
    after the grace with the number of records not acknowledged in the log,
    also while the shim waits out a long reconnect backoff.
"""
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, RUN_DIR, Collector, log, scaled  # noqa: E402
from agents import Agent, enroll, verify_db  # noqa: E402

TERM_GRACE_S = 5.0  # ShimOptions::term_grace_ms
MAX_UNACKED_LINES = 20000  # ShimOptions::max_unacked_lines


# --- audit records, auditd's string format -----------------------------------------


def event_records(k):
    """The records of audit event k (serial 4567 + k), as auditd's dispatcher
    hands them to a string-format plugin. Four shapes: execve with EOE,
    open() without EOE (closed by the collector's grouping timeout), a
    single-record user-space message, and connect() with EOE."""
    stamp = "msg=audit(%d.%03d:%d):" % (1764000000 + k // 1000, k % 1000, 4567 + k)
    ids = ("ppid=1 pid=%d auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 "
           "sgid=1000 fsgid=1000 tty=pts0 ses=3" % (2000 + k))
    shape = k % 4
    if shape == 0:
        return [
            "type=SYSCALL %s arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 "
            "a3=0 items=2 %s comm=\"id\" exe=\"/usr/bin/id\" key=\"exec\"" % (stamp, ids),
            "type=EXECVE %s argc=2 a0=\"id\" a1=\"-u%d\"" % (stamp, k),
            "type=CWD %s cwd=\"/home/alice\"" % stamp,
            "type=PATH %s item=0 name=\"/usr/bin/id\" inode=1054 dev=08:01 mode=0100755 ouid=0 "
            "ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0" % stamp,
            "type=PROCTITLE %s proctitle=6964002D75" % stamp,
            "type=EOE %s" % stamp,
        ]
    if shape == 1:
        return [
            "type=SYSCALL %s arch=c000003e syscall=257 success=no exit=-13 a0=ffffff9c a1=7ffd "
            "a2=0 a3=0 items=1 %s comm=\"cat\" exe=\"/usr/bin/cat\" key=\"shadow\"" % (stamp, ids),
            "type=CWD %s cwd=\"/tmp/w%d\"" % (stamp, k),
            "type=PATH %s item=0 name=\"/etc/shadow\" inode=2101 dev=08:01 mode=0100640 ouid=0 "
            "ogid=42 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0" % stamp,
            "type=PROCTITLE %s proctitle=636174002F6574632F736861646F77" % stamp,
        ]
    if shape == 2:
        return [
            "type=USER_AUTH %s pid=%d uid=0 auid=4294967295 ses=4294967295 "
            "msg='op=PAM:authentication grantors=? acct=\"alice\" exe=\"/usr/sbin/sshd\" "
            "hostname=10.1.2.%d addr=10.1.2.%d terminal=ssh res=failed'" % (stamp, 3000 + k,
                                                                          k % 250, k % 250),
        ]
    return [
        "type=SYSCALL %s arch=c000003e syscall=42 success=no exit=-111 a0=3 a1=7ffd a2=10 a3=0 "
        "items=0 %s comm=\"nc\" exe=\"/usr/bin/nc\" key=(null)" % (stamp, ids),
        "type=SOCKADDR %s saddr=02000D3DC0A80101000000000000000000" % stamp,
        "type=PROCTITLE %s proctitle=6E63002D7A0031302E302E302E31" % stamp,
        "type=EOE %s" % stamp,
    ]


def records(first_event, min_lines):
    """Whole events from `first_event` on, at least min_lines records; returns
    (lines, next event number)."""
    out, k = [], first_event
    while len(out) < min_lines:
        out += event_records(k)
        k += 1
    return out, k


def encode(lines):
    return "".join(l + "\n" for l in lines).encode()


# --- the pipe auditd's dispatcher would write to --------------------------------------


def pipe_bytes(fd):
    """Bytes waiting in the pipe (FIONREAD on the test's copy of its read end)."""
    buf = fcntl.ioctl(fd, termios.FIONREAD, struct.pack("i", 0))
    return struct.unpack("i", buf)[0]


class Shim(harness.Process):
    """`trailkeep audisp --socket PATH` with a pipe as stdin. The test keeps a
    copy of the pipe's read end to see what the shim has not read yet."""

    def __init__(self, socket_path, workdir, name="shim"):
        self.socket_path = socket_path
        self.log_path = os.path.join(workdir, name + ".log")
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.write_fd, False)
        self.logf = open(self.log_path, "a")
        self.proc = subprocess.Popen([os.path.join(BIN, "trailkeep"), "audisp", "--socket", socket_path],
                                     stdin=self.read_fd, stdout=self.logf, stderr=subprocess.STDOUT)

    def write(self, data, timeout=30):
        """Writes all of `data`, waiting (bounded) while the pipe is full."""
        deadline = time.time() + timeout
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.write_fd, view)
                view = view[n:]
            except BlockingIOError:
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("the shim did not read its stdin for %ss (%d bytes left)" %
                                         (timeout, len(view)))
                select.select([], [self.write_fd], [], min(left, 0.2))

    def write_until_blocked(self, lines, still_s=2.0, timeout=60):
        """Writes `lines` without blocking until the pipe stays full for
        still_s; returns how many went in. Each write is whole lines of at
        most PIPE_BUF bytes, which a pipe takes entirely or not at all
        (EAGAIN), so the count is exact."""
        deadline = time.time() + timeout
        blocked_since = None
        written = 0
        while time.time() < deadline:
            if written == len(lines):
                raise AssertionError("the shim read all %d lines: it never stopped reading" % written)
            chunk, n = b"", 0
            while written + n < len(lines):
                line = (lines[written + n] + "\n").encode()
                if len(chunk) + len(line) > select.PIPE_BUF:
                    break
                chunk += line
                n += 1
            try:
                assert os.write(self.write_fd, chunk) == len(chunk)
                written += n
                blocked_since = None
            except BlockingIOError:
                now = time.time()
                if blocked_since is None:
                    blocked_since = now
                elif now - blocked_since >= still_s:
                    return written
                time.sleep(0.05)
        raise AssertionError("writes to the shim's stdin never blocked in %ss (%d lines)" % (timeout, written))

    def stream(self, lines, rate):
        """Writes `lines` at about `rate` lines/s from a thread, as auditd
        would while the test does something else; join_stream() waits."""
        self.stream_errors = []

        def writer():
            try:
                t0 = time.time()
                for at in range(0, len(lines), 100):
                    self.write(encode(lines[at:at + 100]), timeout=60)
                    time.sleep(max(0.0, t0 + (at + 100) / rate - time.time()))
            except Exception as e:  # noqa: BLE001 - reported by join_stream
                self.stream_errors.append(e)
        self.writer = threading.Thread(target=writer, daemon=True)
        self.writer.start()

    def join_stream(self, timeout=90):
        self.writer.join(timeout)
        assert not self.writer.is_alive(), "writing to the shim took more than %ss" % timeout
        assert not self.stream_errors, self.stream_errors

    def wait_drained(self, timeout, what="the shim did not read its stdin"):
        """Waits until the shim has read everything written to its stdin."""
        deadline = time.time() + timeout
        while pipe_bytes(self.read_fd) > 0 and time.time() < deadline:
            time.sleep(0.05)
        assert pipe_bytes(self.read_fd) == 0, "%s (%d bytes left)" % (what, pipe_bytes(self.read_fd))

    def close_stdin(self):
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("the shim did not exit within %ss:\n%s" % (timeout, self.read_log()[-3000:]))

    def stop(self):
        """By PID: SIGKILL if still running; closes the pipe."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.close_stdin()
        if self.read_fd is not None:
            os.close(self.read_fd)
            self.read_fd = None
        if not self.logf.closed:
            self.logf.close()


# --- the forwarder and the collector ---------------------------------------------------


class Rig:
    """A collector, an enrolled host, and a forwarder with an [audisp] socket."""

    def __init__(self, name, agent_extra="", fixed_port=False):
        self.work = tempfile.mkdtemp(prefix=name + "-", dir=RUN_DIR)
        self.host = name + ".test"
        listen = "127.0.0.1:%d" % harness.free_port() if fixed_port else "127.0.0.1:0"
        self.collector = Collector(os.path.join(self.work, "collector"), syslog_listen=listen).start()
        self.socket = os.path.join(self.work, "agent", "run", "audisp.sock")
        self.shims = []
        try:
            self.bundle = enroll(self.collector, self.host)
            self.agent = Agent(self.host, self.bundle, self.collector.port,
                               os.path.join(self.work, "agent"), extra=agent_extra)
            with open(self.agent.config, "a") as f:
                f.write("\n[audisp]\nsocket = \"%s\"\n" % self.socket)
        except BaseException:
            self.collector.stop()
            raise

    def shim(self, name="shim"):
        s = Shim(self.socket, self.work, name)
        self.shims.append(s)
        return s

    def start_agent(self, timeout=20):
        """Starts the forwarder and waits for its start line (its socket
        listens from then on)."""
        self.agent.start()
        deadline = time.time() + timeout
        while not self.agent.read_log().count("inputs: ") > self.agent_starts:
            if time.time() > deadline or not self.agent.alive():
                raise AssertionError("the forwarder did not start:\n" + self.agent.read_log()[-3000:])
            time.sleep(0.05)
        self.agent_starts += 1

    agent_starts = 0

    def freeze_agent(self):
        os.kill(self.agent.proc.pid, signal.SIGSTOP)

    def thaw_agent(self):
        if self.agent.proc is not None:
            os.kill(self.agent.proc.pid, signal.SIGCONT)

    def members(self):
        """The stored audit records (audit_member events) as (integrity mark,
        record), in ingest order. The text format of `trailkeepd query` is read
        (a tenth of the JSON's bytes): members are the host's auditd lines with
        a chain mark; grouped events carry none (`~`, built by the collector)."""
        r = subprocess.run([os.path.join(BIN, "trailkeepd"), "query", "--db", self.collector.db,
                            "--host", self.host, "--limit", "10000000"], capture_output=True, timeout=300)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        out = []
        for line in r.stdout.decode().splitlines():
            # RECEIVE_TIME HOST APP [<FAC.SEV>] [[REFS]] MARK MSG (docs/event-schema.md)
            _time, _host, app, rest = line.split(" ", 3)
            for optional in "<[":
                if rest.startswith(optional):
                    rest = rest.split(" ", 1)[1]
            if app == "auditd" and rest[0] != "~":
                out.append((rest[0], rest[2:]))
        return out

    def host_counts(self):
        """`trailkeepd hosts` rows by host (cheap: no event is read)."""
        r = subprocess.run([os.path.join(BIN, "trailkeepd"), "hosts", "--db", self.collector.db,
                            "--format", "json"], capture_output=True, timeout=60)
        if r.returncode != 0:
            return {}
        rows = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
        return {row["host"]: row for row in rows}

    def wait_members(self, lines, timeout):
        """Waits until every line of `lines` is stored; returns the members.
        The host's event count gates the (costly) full query."""
        want = set(lines)
        deadline = time.time() + timeout
        while True:
            if self.host_counts().get(self.host, {}).get("events", 0) >= len(want):
                evs = self.members()
                missing = want - {msg for _, msg in evs}
                if not missing:
                    return evs
            else:
                missing = want
            if time.time() > deadline:
                raise AssertionError("%d of %d records not stored after %ss, e.g. %r" %
                                     (len(missing), len(want), timeout, sorted(missing)[:2]))
            time.sleep(0.5)

    def check_chain(self, members):
        bad = [(mark, msg) for mark, msg in members if mark != "="]  # "=": verified
        assert not bad, "records not chain-verified: %r" % bad[:5]
        rc, out = verify_db(self.collector, self.host)
        assert rc == 0, "verify --db failed:\n%s" % out
        # The collector's own events (INTEGRITY_ALARM among them) are under its own host.
        own = [h for h, row in self.host_counts().items() if row.get("last_transport") == "self"]
        alarms = [e for h in own for e in self.collector.query("--host", h)
                  if e["transport"] == "self" and e["msgid"] == "INTEGRITY_ALARM"]
        assert alarms == [], "integrity alarms: %r" % [e["msg"] for e in alarms]

    def close(self):
        for s in self.shims:
            s.stop()
        self.thaw_agent()
        self.agent.stop()
        self.collector.stop()


def assert_exactly_once_in_order(members, lines):
    got = [msg for _, msg in members]
    if got != lines:
        seen = set()
        dups = sum(1 for g in got if g in seen or seen.add(g))
        first_diff = next((i for i, (a, b) in enumerate(zip(got, lines)) if a != b), min(len(got), len(lines)))
        raise AssertionError("stored %d records (%d duplicates) for %d written; first difference at %d: %r vs %r" %
                             (len(got), dups, len(lines), first_diff, got[first_diff:first_diff + 1],
                              lines[first_diff:first_diff + 1]))


def check_grouped(rig, first_event, end_event, lines_by_event, timeout=30):
    """Every event in [first_event, end_event) is stored once as a grouped
    audit event holding its records byte-exact, in order."""
    want = {4567 + k: lines_by_event[k] for k in range(first_event, end_event)}

    def grouped():
        evs = [e for e in rig.collector.query("--host", rig.host, "--limit", "10000000") if e.get("audit")]
        return evs if len({e["audit"]["serial"] for e in evs} & set(want)) == len(want) else None
    evs = rig.collector.wait_for(grouped, timeout=timeout, what="%d grouped audit events" % len(want))
    by_serial = {}
    for e in evs:
        by_serial.setdefault(e["audit"]["serial"], []).append(e)
    for serial, recs in want.items():
        got = by_serial[serial]
        assert len(got) == 1, "event %d grouped %d times" % (serial, len(got))
        a = got[0]["audit"]
        assert [r["text"] for r in a["records"]] == recs, (serial, a["records"])
        shape = (serial - 4567) % 4
        assert a["complete"] == (shape != 1), (serial, a["complete"])  # shape 1 has no EOE
        assert all(r["chain_seq"] > 0 for r in a["records"]), a["records"]
    return len(want)


# --- the tests ---------------------------------------------------------------------------


def test_delivery_once_in_order():
    """N records through the shim, the forwarder restarted twice on the way:
    stored once, in order, verified, grouped; closing stdin ends the shim
    with 0 only once every line is acknowledged."""
    rig = Rig("audisp-deliver")
    try:
        rig.start_agent()
        shim = rig.shim()
        by_event, lines, k = {}, [], 0
        target = scaled(4000)
        while len(lines) < target:
            by_event[k] = event_records(k)
            lines += by_event[k]
            k += 1
        # A steady stream, during which the forwarder restarts twice (SIGTERM):
        # a stop that spools lines must also acknowledge them, or the shim
        # sends them again.
        split = len(lines) - sum(len(by_event[j]) for j in range(k - 20, k))
        rate = 3000.0
        shim.stream(lines[:split], rate)
        for _ in range(2):
            time.sleep(split / rate / 3)
            assert rig.agent.stop() == 0
            rig.start_agent()
        os.kill(shim.proc.pid, signal.SIGHUP)  # auditd's reconfigure: ignored
        shim.join_stream()
        rig.wait_members(lines[:split], timeout=60)
        # The last events go in while the forwarder is frozen: the shim reads
        # them, gets no ACK, and must not exit at EOF until it does.
        rig.freeze_agent()
        shim.write(encode(lines[split:]))
        shim.close_stdin()
        shim.wait_drained(10)
        time.sleep(1.0)
        assert shim.proc.poll() is None, \
            "the shim exited at EOF with lines unacknowledged:\n" + shim.read_log()
        rig.thaw_agent()
        t0 = time.time()
        rc = shim.wait(20)
        assert rc == 0, "shim exit %s:\n%s" % (rc, shim.read_log())
        assert "end of input, everything acknowledged" in shim.read_log(), shim.read_log()
        log("EOF: the shim waited for the frozen forwarder, then exited 0 %.2fs after it resumed" %
            (time.time() - t0))

        members = rig.wait_members(lines, timeout=60)
        assert_exactly_once_in_order(members, lines)
        rig.check_chain(members)
        n_events = check_grouped(rig, 0, k, by_event)
        log("%d records (%d events) stored exactly once, in order, chain-verified; grouped into %d events"
            % (len(lines), k, n_events))
    finally:
        rig.close()


def test_forwarder_away_and_back():
    """The shim starts before the forwarder; then the forwarder is killed with
    SIGKILL mid-stream and restarted."""
    rig = Rig("audisp-away")
    try:
        shim = rig.shim()
        early, k = records(0, 100)
        data = encode(early)
        assert len(data) < 60000, len(data)  # fits in the pipe: the shim must not read it yet
        shim.write(data, timeout=5)
        deadline = time.time() + 10
        while "cannot connect" not in shim.read_log() and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # a few retries
        assert shim.alive(), "the shim exited without its forwarder:\n" + shim.read_log()
        assert "cannot connect" in shim.read_log(), shim.read_log()
        assert pipe_bytes(shim.read_fd) == len(data), \
            "the shim read stdin with no forwarder (%d of %d bytes left)" % (pipe_bytes(shim.read_fd), len(data))
        rig.start_agent()
        rig.wait_members(early, timeout=30)
        log("%d records written before the forwarder existed were delivered once it started" % len(early))

        # A steady stream; the forwarder is killed with SIGKILL in the middle.
        stream, k = records(k, scaled(6000))
        rate = 3000.0
        shim.stream(stream, rate)
        time.sleep(0.3 + len(stream) / rate / 3)
        rig.agent.kill9()
        log("forwarder killed with SIGKILL mid-stream")
        time.sleep(0.5)
        assert shim.alive(), "the shim exited when its forwarder died:\n" + shim.read_log()
        rig.start_agent()
        os.kill(shim.proc.pid, signal.SIGHUP)  # auditd's reconfigure: ignored
        shim.join_stream()
        assert shim.alive(), "the shim exited:\n" + shim.read_log()
        shim.close_stdin()
        rc = shim.wait(30)
        assert rc == 0, "shim exit %s:\n%s" % (rc, shim.read_log())
        slog = shim.read_log()
        assert "lost the forwarder" in slog, slog
        resent = [int(l.split("; ")[1].split()[0]) for l in slog.splitlines()
                  if "unacknowledged record(s) to resend" in l]

        lines = early + stream
        members = rig.wait_members(lines, timeout=60)
        got = [msg for _, msg in members]
        assert set(got) == set(lines), "records stored that were never written"
        first = {}
        for i, g in enumerate(got):
            first.setdefault(g, i)
        order = [first[l] for l in lines]
        assert order == sorted(order), "records first stored out of order"
        duplicates = len(got) - len(set(got))
        rig.check_chain(members)
        log("forwarder away and back: %d records, none lost; %d unacknowledged at the SIGKILL were "
            "resent, %d stored twice" % (len(lines), resent[-1], duplicates))
    finally:
        rig.close()


def test_spool_full():
    """spool_max_bytes of 1 MiB with the collector stopped: the shim stops
    reading stdin; when the collector returns, everything is delivered once
    and the shim reads again."""
    rig = Rig("audisp-full", agent_extra="spool_max_bytes = 1048576\nsegment_bytes = 65536\n",
              fixed_port=True)
    try:
        assert rig.collector.stop() == 0
        rig.start_agent()
        shim = rig.shim()
        candidates, k = records(0, MAX_UNACKED_LINES + 40000)
        t0 = time.time()
        n = shim.write_until_blocked(candidates, still_s=2.0, timeout=60)
        alog = rig.agent.read_log()
        assert "spool full" in alog, alog[-3000:]
        assert shim.alive(), shim.read_log()
        log("spool full: the shim stopped reading after %d records (%.1fs); pipe holds %d bytes" %
            (n, time.time() - t0, pipe_bytes(shim.read_fd)))
        assert n > MAX_UNACKED_LINES, n

        rig.collector.start()
        shim.wait_drained(60, "the shim did not read stdin again")
        written = candidates[:n]
        tail = candidates[n:n + 200]  # the next lines, as auditd would go on
        shim.write(encode(tail), timeout=20)
        written += tail
        shim.close_stdin()
        rc = shim.wait(60)
        assert rc == 0, "shim exit %s:\n%s" % (rc, shim.read_log())
        members = rig.wait_members(written, timeout=90)
        assert_exactly_once_in_order(members, written)
        rig.check_chain(members)
        assert "inputs resume" in rig.agent.read_log()
        log("after the collector returned: all %d records stored exactly once, in order (%.1fs in all)" %
            (len(written), time.time() - t0))
    finally:
        rig.close()


def test_sigterm_with_unacknowledged_lines():
    """SIGTERM while the forwarder has not acknowledged: delivered within the
    grace when it answers in time; else exit after the grace, what remains
    reported, even while the shim waits out a long reconnect backoff."""
    rig = Rig("audisp-term")
    try:
        rig.start_agent()
        # 1. The forwarder answers within the grace.
        lines, k = records(0, 200)
        rig.freeze_agent()
        shim = rig.shim("shim-a")
        shim.write(encode(lines))
        shim.wait_drained(10)
        os.kill(shim.proc.pid, signal.SIGTERM)
        t0 = time.time()
        time.sleep(1.0)
        assert shim.alive(), "the shim gave up at once:\n" + shim.read_log()
        rig.thaw_agent()
        rc = shim.wait(TERM_GRACE_S + 2)
        took = time.time() - t0
        assert rc == 0, "shim exit %s:\n%s" % (rc, shim.read_log())
        assert took < TERM_GRACE_S, took
        assert "not acknowledged" not in shim.read_log(), shim.read_log()
        assert_exactly_once_in_order(rig.wait_members(lines, timeout=30), lines)
        log("SIGTERM, forwarder back within the grace: %d records delivered, exit 0 after %.2fs" %
            (len(lines), took))

        # 2. The forwarder takes the records but dies before spooling them
        # (frozen, then SIGKILL); the shims retry with a growing backoff (100 ms
        # doubling to 5 s: waits of 2.5 s or more after 6.4 s at the latest).
        # Three shims: where each is in its backoff when SIGTERM comes is
        # chance, and a shim that slept through its grace shows in most.
        more, k = records(k, 300)
        rig.freeze_agent()
        shims = [rig.shim("shim-b%d" % i) for i in range(3)]
        for s in shims:
            s.write(encode(more))
        for s in shims:
            s.wait_drained(10)
        rig.thaw_agent()
        rig.agent.kill9()
        time.sleep(7.0)
        for s in shims:
            assert s.alive(), s.read_log()
        t0 = time.time()
        for s in shims:
            os.kill(s.proc.pid, signal.SIGTERM)
        exited = {}
        while len(exited) < len(shims) and time.time() - t0 < TERM_GRACE_S + 6:
            for i, s in enumerate(shims):
                if i not in exited and s.proc.poll() is not None:
                    exited[i] = time.time() - t0
            time.sleep(0.02)
        took = [exited.get(i, float("inf")) for i in range(len(shims))]
        for s in shims:
            rc = s.wait(1)
            assert rc == 0, "shim exit %s:\n%s" % (rc, s.read_log())
            want = "exiting with %d audit record(s) not acknowledged" % len(more)
            assert want in s.read_log(), s.read_log()
        assert all(TERM_GRACE_S - 0.5 <= t <= TERM_GRACE_S + 0.5 for t in took), \
            "exits %s s after SIGTERM; term_grace_ms is %.0f" % (["%.2f" % t for t in took], TERM_GRACE_S * 1000)
        log("SIGTERM, forwarder gone: each shim exited 0 after %s s, reporting the %d records it held" %
            ("/".join("%.2f" % t for t in took), len(more)))
    finally:
        rig.close()


def test_acks_before_a_close_count():
    """ACKs the forwarder sent before closing count, however many: the shim
    must read them all before it drops the connection, or it sends
    acknowledged lines again. Here the forwarder's end is the test's own
    socket (one "ACK 1" per line, 6 KiB of them, then close), to show the
    edge the real forwarder only reaches by chance."""
    work = tempfile.mkdtemp(prefix="audisp-acks-", dir=RUN_DIR)
    path = os.path.join(work, "audisp.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    server.settimeout(10)
    shim = Shim(path, work)
    conns = []
    try:
        lines, _ = records(0, 3000)
        shim.stream(lines, 1e9)  # all at once, from a thread
        conn, _ = server.accept()
        conns.append(conn)
        conn.settimeout(10)
        got = b""
        while got.count(b"\n") < 1000:
            data = conn.recv(65536)
            assert data, "the shim closed early"
            got += data
        conn.sendall(b"ACK 1\n" * 1000)  # more than one read of the shim's
        conn.close()  # with lines unread: the shim's next send fails
        conn, _ = server.accept()
        conns.append(conn)
        conn.settimeout(10)
        buf = b""
        while b"\n" not in buf:
            data = conn.recv(65536)
            assert data, "the shim closed early"
            buf += data
        first = buf.split(b"\n", 1)[0].decode()
        assert first == lines[1000], "after 1000 ACKs the shim resent from line %d" % lines.index(first)
        # Acknowledge the rest as it comes; the shim ends at EOF.
        shim.join_stream()
        shim.close_stdin()
        seen = buf.count(b"\n")
        conn.sendall(b"ACK %d\n" % seen)
        while seen < len(lines) - 1000:
            data = conn.recv(65536)
            assert data, "the shim closed early"
            conn.sendall(b"ACK %d\n" % data.count(b"\n"))
            seen += data.count(b"\n")
        assert shim.wait(10) == 0, shim.read_log()
        log("1000 ACKs then a close: the shim resent from line 1000, exit 0 at EOF")
    finally:
        shim.stop()
        for c in conns:
            c.close()
        server.close()


if __name__ == "__main__":
    harness.main([test_delivery_once_in_order, test_forwarder_away_and_back, test_spool_full,
                  test_sigterm_with_unacknowledged_lines, test_acks_before_a_close_count])
