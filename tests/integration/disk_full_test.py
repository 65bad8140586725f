"""The disk-full policy, disk_full_action = "block" (issue 16, part 2).

A collector whose data folder is a tmpfs it can fill takes data from every
source: TLS syslog (syslog-ng's loggen), a trailkeep agent (`trailkeep
forward`), auditd's remote protocol on port 60 (a real `audisp-remote`, and
a raw client speaking it byte for byte), plaintext TCP (RFC 6587,
octet-counted) and plaintext UDP. The test fills
the disk below [store] admin_space_left and checks that ingest stops with
nothing acknowledged lost:
  - DISK_FULL is recorded once (free bytes, level, action);
  - nothing more is stored while full: loggen and the plaintext TCP sender
    are pushed back by TCP, the
    agent is told to pause (it logs it, keeps its connection and spools),
    port 60 answers DISKFULL at once (a heartbeat is still acknowledged;
    audisp-remote keeps its records queued and stays up),
    UDP datagrams are dropped and counted (udp_syslog_dropped_total
    {reason="disk_full"}, trailkeep_store_disk_full 1 on /metrics);
then frees the space: DISK_SPACE_RECOVERED (with the UDP drops), ingest
resumes by itself, every loggen message, plaintext TCP message and agent
line is stored exactly
once, the agent's chain verifies, the refused port-60 record resent is
stored once, and audisp-remote delivers what it queued while the disk was
full, each record once, and exits 0 on EOF. (audisp-remote keeps a record
answered DISKFULL with its default disk_full_action, warn_once, and sends it
again after its next heartbeat: heartbeat_timeout must be above 0 for that,
docs/operations.md, "A full disk".)

Needs root (mount); under CI=true a missing capability fails, never skips.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RUN_DIR, Collector, free_port, log  # noqa: E402
from agents import Agent, Writer, integrity_alarms, stored_lines, verify_db, wait_stored  # noqa: E402
from audit_remote_test import ACK, AUDISP_REMOTE, DISKFULL, HEARTBEAT, MESSAGE, AudispRemote, frame, read_reply, \
    record, stored_records  # noqa: E402
from export_test import token_line  # noqa: E402
from pki import collector_config, shared_pki as pki  # noqa: E402
from plain_syslog_test import TOKEN, metrics  # noqa: E402
from tls_ingest_test import LOGGEN_RE  # noqa: E402

TRAILKEEPD = os.path.join(harness.BIN, "trailkeepd")
MiB = 1 << 20


class Site:
    """A collector on a tmpfs of `size_mib` with [store] `store` keys (and
    `extra` configuration after them), its agents enrolled with `trailkeepd
    enroll --config`."""

    def __init__(self, name, size_mib, store, extra=""):
        self.work = tempfile.mkdtemp(prefix=name + "-", dir=RUN_DIR)
        cdir = os.path.join(self.work, "collector")
        keys = os.path.join(cdir, "keys")  # beside the data folder: where verify --db looks
        os.makedirs(keys, mode=0o700)
        tokens = os.path.join(self.work, "tokens")
        with open(tokens, "w") as f:
            f.write(token_line("admin", TOKEN, "admin,export,tail"))
        text = (collector_config(pki(), client_auth="optional") +
                '\n[agents]\nkeys_dir = "%s"\nenroll_ca_cert = "%s"\nenroll_ca_key = "%s"\n'
                % (keys, pki().cert("ca"), pki().key("ca")) +
                '\n[export]\ntoken_file = "%s"\n' % tokens +
                "\n[store]\n" + "".join("%s = %s\n" % kv for kv in store.items()) + extra)
        # Fixed syslog and port-60 ports: agents and audisp-remote find a restarted
        # collector (halt) where they left it.
        self.collector = Collector(cdir, config_text=text, syslog_listen="127.0.0.1:%d" % free_port(),
                                   audit_listen="127.0.0.1:%d" % free_port(),
                                   extra_args=["--listen-udp", "127.0.0.1:0", "--listen-tcp", "127.0.0.1:0"])
        self.config = os.path.join(cdir, "trailkeepd.toml")
        self.data = self.collector.data_dir
        os.makedirs(self.data)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % size_mib, "tmpfs", self.data],
                           capture_output=True, text=True)
        self.mounted = r.returncode == 0
        self.mount_error = r.stderr.strip()
        self.agents = []

    def enroll(self, host):
        out = os.path.join(self.work, "enroll-" + host)
        r = subprocess.run([TRAILKEEPD, "enroll", host, "--config", self.config, "--out", out],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        agent = Agent(host, out, self.collector.port, os.path.join(self.work, host)).start()
        self.agents.append(agent)
        return agent

    def fill(self, leave_mib, name="filler"):
        """A file `name` that leaves about `leave_mib` free on the data
        folder's disk (another name for a second one: the file is rewritten)."""
        filler = os.path.join(self.data, name)
        free = free_bytes(self.data)
        with open(filler, "wb") as f:
            f.truncate(0)
            left = free - leave_mib * MiB
            while left > 0:
                n = min(left, 4 * MiB)
                f.write(b"\0" * n)
                left -= n
        return filler

    def close(self):
        for a in self.agents:
            a.stop()
        self.collector.stop()
        if self.mounted:
            subprocess.run(["umount", "-l", self.data])


def mounted_site(test, name, size_mib, store, extra=""):
    """A Site on a mounted tmpfs, or None when this machine cannot make one
    (not root, no tmpfs): a SKIP, a failure under CI=true."""
    if os.geteuid() != 0:
        harness.cannot_run(test + " needs root to mount a tmpfs")
        return None
    site = Site(name, size_mib, store, extra)
    if not site.mounted:
        harness.cannot_run(test + " cannot mount a tmpfs: " + site.mount_error)
        return None
    return site


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def sd(e, sd_id="trailkeep@32473"):
    for el in e.get("structured_data") or []:
        if el["id"] == sd_id:
            return {p["name"]: p["value"] for p in el["params"]}
    return {}


def loggen_keys(c):
    """(runid, thread, seq) of every stored loggen message, with repeats."""
    keys = []
    for e in c.query("--host", "localhost", "--limit", "10000000"):
        m = LOGGEN_RE.match(e.get("msg") or "")
        if m and e["transport"] == "tls-syslog":
            keys.append((m.group(3), int(m.group(2)), int(m.group(1))))
    return keys


def start_loggen(c, n, rate, size=256):
    return subprocess.Popen(["loggen", "-U", "-P", "-n", str(n), "-r", str(rate), "-s", str(size), "-I", "120",
                             "127.0.0.1", str(c.port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def loggen_count(p):
    out, _ = p.communicate(timeout=180)
    text = out.decode(errors="replace")
    assert p.returncode == 0, "loggen failed (%d): %s" % (p.returncode, text)
    return int(re.findall(r"count=(\d+)", text)[-1])


def connect60(c):
    s = socket.create_connection(("127.0.0.1", c.audit_port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class PlainTcp:
    """One plaintext TCP syslog connection (RFC 6587, octet-counted) sending
    "tcp-gear" messages of about 1 KiB numbered from 0; `send` returns once
    the kernel took them (it blocks while the collector pushes back)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sent = 0

    def send(self, n):
        pad = b"x" * 1000
        msgs = [b"<13>1 - tcp-gear app - - - %s plain tcp %05d" % (pad, i) for i in range(self.sent, self.sent + n)]
        self.sock.sendall(b"".join(b"%d %s" % (len(m), m) for m in msgs))
        self.sent += n

    def close(self):
        self.sock.close()


def plain_tcp_numbers(c):
    return [int(e["msg"].rsplit(" ", 1)[1]) for e in c.query("--host", "127.0.0.1", "--limit", "1000000")
            if e.get("transport") == "tcp-syslog" and " plain tcp " in (e.get("msg") or "")]


def send_udp(port, n, tag):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(n):
        s.sendto(b"<13>1 - udp-gear app - - - %s %04d" % (tag.encode(), i), ("127.0.0.1", port))
        time.sleep(0.002)
    s.close()


def keyed_records(c, first, end):
    """The port-60 records stored whose key is test-N, first <= N < end."""
    return [e["msg"] for e in stored_records(c)
            if first <= int(re.search(r'key="test-(\d+)"', e["msg"]).group(1)) < end]


def test_block_stops_every_source_and_resumes():
    for tool in ("loggen", "curl", "unshare", AUDISP_REMOTE):
        if shutil.which(tool) is None:
            harness.cannot_run("test_block_stops_every_source_and_resumes needs " + tool)
            return
    site = mounted_site("test_block_stops_every_source_and_resumes", "block", 384, {
        "space_left": '"200MiB"', "admin_space_left": '"160MiB"', "reserve": '"16MiB"',
        "disk_full_action": '"block"'})
    if site is None:
        return
    c = site.collector
    loggen = None
    audisp = None
    tcp = None
    try:
        c.start()
        # audisp-remote's records are test-100.. (the raw client's test-1 and test-2).
        audisp = AudispRemote(c.audit_port, site.work)
        audisp.feed([record(i) for i in range(100, 150)], rate=200)
        agent = site.enroll("agent-block.test")
        host = agent.host
        # Before: every source stores.
        Writer(agent.inputs[0][1], host, 500).run()
        wait_stored(c, host, 500, timeout=60)
        before = loggen_count(start_loggen(c, 1000, 10000))
        c.wait_for(lambda: len(loggen_keys(c)) >= before, what="loggen's first run stored")
        s60 = connect60(c)
        s60.sendall(frame(MESSAGE, 2, record(1)))
        assert read_reply(s60)[:2] == (ACK, 2)
        c.wait_for(lambda: len(keyed_records(c, 100, 150)) == 50, what="audisp-remote's first 50 records")
        tcp = PlainTcp(c.tcp_port)
        tcp.send(100)
        c.wait_for(lambda: len(plain_tcp_numbers(c)) == 100, what="100 plaintext TCP messages")

        # Full: below admin_space_left, above the reserve.
        filler = site.fill(leave_mib=100)
        full = c.wait_for(lambda: c.self_events("DISK_FULL"), what="DISK_FULL")
        f = sd(full[0])
        assert f["action"] == "block" and int(f["admin_space_left_bytes"]) == 160 * MiB, f
        assert int(f["free_bytes"]) < 160 * MiB, f
        log("DISK_FULL: %s" % full[0]["msg"])
        time.sleep(1)  # what was taken before the level was crossed commits
        stored_agent = len(stored_lines(c, host))
        stored_loggen = len(loggen_keys(c))

        # While full: loggen sends into back-pressure, the agent spools, port 60
        # gets DISKFULL, UDP is dropped and counted, audisp-remote is refused.
        # 16 MiB: more than the socket buffers on both sides hold.
        loggen = start_loggen(c, 4000, 4000, size=4096)
        writer = Writer(agent.inputs[0][1], host, 1500, start_at=500)
        writer.start()
        # 16 MiB of plaintext TCP: more than the socket buffers hold, so the send blocks.
        tcp_sender = threading.Thread(target=tcp.send, args=(16000,), daemon=True)
        tcp_sender.start()
        started = time.time()
        s60.sendall(frame(MESSAGE, 3, record(2)))
        kind, seq, _ = read_reply(s60)
        waited = time.time() - started
        assert (kind, seq) == (DISKFULL, 3), (hex(kind), seq)
        assert waited < 1.5, "DISKFULL took %.1fs" % waited
        s60.sendall(frame(HEARTBEAT, 4))
        assert read_reply(s60)[:2] == (ACK, 4), "heartbeats are acknowledged while full"
        s60.close()
        audisp.feed([record(i) for i in range(150, 200)], rate=200)
        send_udp(c.udp_port, 40, "while-full")
        m = c.wait_for(lambda: (lambda m: m if m.get('udp_syslog_dropped_total{reason="disk_full"}') == 40
                                else None)(metrics(c)), what="40 UDP datagrams dropped and counted")
        assert m["store_disk_full"] == 1, m
        c.wait_for(lambda: metrics(c).get("audit_remote_disk_full_replies_total", 0) >= 2,
                   what="audisp-remote answered DISKFULL")
        writer.join()
        paused = c.wait_for(lambda: re.search(r"paused: .*disk is full", agent.read_log()), what="the agent paused")
        time.sleep(3)
        assert len(stored_lines(c, host)) == stored_agent, "agent lines stored while full"
        assert len(loggen_keys(c)) == stored_loggen, "loggen messages stored while full"
        assert keyed_records(c, 0, 100) == [record(1).decode().rstrip("\n")], "port 60 stored while full"
        assert len(keyed_records(c, 100, 200)) == 50, "audisp-remote's records stored while full"
        audisp.check_alive()
        assert loggen.poll() is None, "loggen finished: it was not pushed back"
        assert len(plain_tcp_numbers(c)) == 100, "plaintext TCP stored while full"
        assert tcp_sender.is_alive(), "the plaintext TCP sender was not pushed back"
        reconnects = agent.read_log().count("reconnecting in")
        assert reconnects == 0, "the paused agent reconnected %d times" % reconnects
        log("while full: nothing stored for 3 s (loggen and plaintext TCP pushed back, agent %s, port 60 DISKFULL "
            "in %.2fs, heartbeat acknowledged, audisp-remote answered DISKFULL %d times and still up, "
            "40 UDP datagrams dropped and counted)" % (paused.group(0), waited,
                                                       metrics(c)["audit_remote_disk_full_replies_total"]))

        # Space returns: ingest resumes by itself.
        os.unlink(filler)
        rec = c.wait_for(lambda: c.self_events("DISK_SPACE_RECOVERED"), what="DISK_SPACE_RECOVERED")
        assert sd(rec[0])["udp_datagrams_dropped"] == "40", sd(rec[0])
        assert len(c.self_events("DISK_FULL")) == 1, "DISK_FULL recorded more than once"
        sent = loggen_count(loggen)
        loggen = None
        keys = c.wait_for(lambda: (lambda k: k if len(k) >= before + sent else None)(loggen_keys(c)),
                          timeout=60, what="every loggen message stored")
        assert len(keys) == len(set(keys)) == before + sent, "loggen: %d stored, %d distinct, %d sent" % (
            len(keys), len(set(keys)), before + sent)
        nums = wait_stored(c, host, 2000, timeout=60)
        assert sorted(nums) == list(range(2000)), "agent lines lost or stored twice"
        tcp_sender.join(60)
        got = c.wait_for(lambda: (lambda n: n if len(n) >= tcp.sent else None)(plain_tcp_numbers(c)),
                         timeout=60, what="every plaintext TCP message")
        assert sorted(got) == list(range(tcp.sent)), "plaintext TCP: %d stored, %d distinct, of %d" % (
            len(got), len(set(got)), tcp.sent)
        rc, out = verify_db(c, host)
        assert rc == 0, out
        assert integrity_alarms(c, host) == [], integrity_alarms(c, host)
        assert re.search(r"proceed: sending again", agent.read_log()), agent.read_log()[-2000:]
        s60 = connect60(c)  # as audisp-remote does after DISKFULL: resend
        s60.sendall(frame(MESSAGE, 2, record(2)))
        c.wait_for(lambda: read_reply(s60)[:2] == (ACK, 2), timeout=30, what="the resent record's ack")
        s60.close()
        want = [r.decode().rstrip("\n") for r in [record(1), record(2)]]
        got = c.wait_for(lambda: (lambda g: g if len(g) >= len(want) else None)(
            keyed_records(c, 0, 100)), timeout=60, what="every port-60 record")
        assert sorted(got) == sorted(want), "port 60: %d stored, %d expected" % (len(got), len(want))
        # audisp-remote resends what it queued after its next heartbeat.
        want = [record(i).decode().rstrip("\n") for i in range(100, 200)]
        got = c.wait_for(lambda: (lambda g: g if len(g) >= len(want) else None)(
            keyed_records(c, 100, 200)), timeout=60, what="audisp-remote's 100 records")
        assert got == want, "audisp-remote: %d stored, %d distinct, of %d" % (len(got), len(set(got)), len(want))
        rc = audisp.close()
        audisp = None
        assert rc == 0, "audisp-remote exited with %s" % rc
        log("%s; %d loggen messages (%d sent while full) stored once; 2000 agent lines once, chain "
            "verifies; %d plaintext TCP messages (%d sent into back-pressure) once; the refused port-60 "
            "record stored once when resent; audisp-remote's 100 records (50 queued while full) stored "
            "once, in order, exit status 0" % (rec[0]["msg"], before + sent, sent, tcp.sent, tcp.sent - 100))
    finally:
        if audisp is not None:
            audisp.kill()
        if tcp is not None:
            tcp.close()
        if loggen is not None and loggen.poll() is None:
            loggen.kill()
            loggen.wait()
        site.close()


if __name__ == "__main__":
    harness.main([test_block_stops_every_source_and_resumes])
