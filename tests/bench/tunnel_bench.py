#!/usr/bin/env python3
"""Port-60 and reverse-tunnel benchmark (issue 4): audit records per second
through one libssh2 tunnel and through 50 at once, on one machine, in one run.

Everything is real: OpenSSH sshd (one private sshd per node, each in its own
mount namespace, on its own loopback port), Debian's audisp-remote (run by
hand with its config bind-mounted in a private mount namespace), trailkeepd,
and auditd 3.0.9 as the peer receiver (`tcp_listen_port`, run with `-n` and a
private config dir; its pid file lands on a private /run).

audisp-remote sends one record and waits for its ack, so one sender is
bounded by the receiver's commit latency. Each sender gets one warm-up record
first (it connects lazily, on its first record); the clock starts when every
warm-up record has been acknowledged and stops when the last sender has
exited after its last ack. Every record carries a run tag; afterwards the
receiver's store (trailkeepd query, or auditd's log) must hold every record of
the run once, or the run is reported as failed.

Phases:
  one    1 sender, RECORDS records, to: trailkeepd directly; through the
         trailkeepd tunnel; through an OpenSSH `ssh -R` tunnel to the same
         sshd (the by-hand way of the seed guide); auditd directly (flush =
         INCREMENTAL_ASYNC, Debian's default, and flush = DATA, a sync per
         record like trailkeepd's durable ack). Then a protocol client (one
         managed frame, wait for its ack) times LAT_RECORDS round trips on
         each path: p50/p99, once writing as audisp-remote does (header and
         payload in two writes, TCP_NODELAY) and once in a single write. The
         two differ only through an SSH tunnel: the node's sshd leaves Nagle
         on for its session socket, so the payload waits for the collector
         host's (delayed) ACK of the header.
  fleet  FLEET sshd instances, trailkeepd with FLEET [[tunnel]] tables:
         idle RSS with the tunnels up minus with none, idle CPU; then FLEET
         concurrent audisp-remote senders, PER_SENDER records each, through
         the tunnels, straight to the listener, and straight to auditd:
         aggregate records/s, collector CPU (utime+stime from /proc/PID/stat
         over the run), VmRSS/VmHWM, CPU per record, sshd CPU.

Usage: tunnel_bench.py BUILD_DIR      (or: make bench-tunnel)
Environment: RECORDS=2000, LAT_RECORDS=1000, FLEET=50, PER_SENDER=400,
             PHASES=one,fleet, PEER=1 (auditd rows), SETTLE=3, IDLE=5,
             BENCH_DIR=BUILD/bench-work, KEEP=0, SYNCS=0 (1: strace -c
             counts the receiver's fsync/fdatasync calls per run; strace
             slows it, so rates from such a run are not figures).
Needs root, /usr/sbin/sshd, /usr/sbin/audisp-remote, /usr/sbin/auditd.
Standard library only.
"""
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) == 2 else None
if BUILD is None:
    print("usage: tunnel_bench.py BUILD_DIR", file=sys.stderr)
    sys.exit(2)
os.environ.setdefault("TRAILKEEP_BIN", os.path.join(BUILD, "bin"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import bench  # noqa: E402  (process helpers, /proc readers)
from bench import log, proc_cpu_seconds, proc_status_kib, wait_until  # noqa: E402
import harness  # noqa: E402
from harness import Collector  # noqa: E402
from pki import collector_config, shared_pki  # noqa: E402
from tunnel_test import Sshd, tunnel_table  # noqa: E402  (a private sshd in a private mount namespace)

RECORDS = int(os.environ.get("RECORDS", "2000"))
LAT_RECORDS = int(os.environ.get("LAT_RECORDS", "1000"))
FLEET = int(os.environ.get("FLEET", "50"))
PER_SENDER = int(os.environ.get("PER_SENDER", "400"))
PHASES = os.environ.get("PHASES", "one,fleet").split(",")
PEER = os.environ.get("PEER", "1") == "1"
SETTLE = float(os.environ.get("SETTLE", "3"))
IDLE = float(os.environ.get("IDLE", "5"))
WORK = os.path.abspath(os.environ.get("BENCH_DIR", os.path.join(BUILD, "bench-work")))
KEEP = os.environ.get("KEEP", "0") == "1"
SYNCS = os.environ.get("SYNCS", "0") == "1"  # count the receiver's fsync/fdatasync calls with strace (slows it)

AUDISP_REMOTE = "/usr/sbin/audisp-remote"
AUDITD = "/usr/sbin/auditd"
MAGIC, MESSAGE, ACK = 0xFF0000FE, 0, 0x40000000


def record(tag, i):
    """A ~230-byte SYSCALL record; `tag` (in key=) tells the runs apart in the store."""
    return ("type=SYSCALL msg=audit(1700000000.%03d:%d): arch=c000003e syscall=59 success=yes exit=0 "
            "a0=55d0 items=2 ppid=1 pid=%d auid=1000 uid=0 comm=\"sudo\" exe=\"/usr/bin/sudo\" "
            "key=\"%s-%06d\"\n" % (i % 1000, 1000 + i, 4000 + i, tag, i)).encode()


def tcp_connections(port):
    """ESTABLISHED loopback TCP sockets whose remote port is `port` (read from /proc)."""
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(path) as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] == "01" and int(cols[2].rsplit(":", 1)[1], 16) == port:
                    n += 1
    return n


def listening_any(port):
    """True when a socket LISTENs on `port` on any address (auditd binds [::])."""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(path) as f:
            next(f)
            if any(c[3] == "0A" and int(c[1].rsplit(":", 1)[1], 16) == port for c in (l.split() for l in f)):
                return True
    return False


# --- senders -----------------------------------------------------------------

class AudispRemote:
    """One real audisp-remote pointed at 127.0.0.1:port, records fed on stdin."""

    def __init__(self, workdir, name, port):
        self.port = port
        self.conf = os.path.join(workdir, "audisp-remote-%s.conf" % name)
        with open(self.conf, "w") as f:
            f.write("remote_server = 127.0.0.1\nport = %d\nformat = managed\nmode = immediate\n"
                    "heartbeat_timeout = 0\nnetwork_failure_action = syslog\nqueue_depth = %d\n"
                    % (port, max(RECORDS, PER_SENDER) + 100))
        os.chmod(self.conf, 0o640)
        self.err_path = os.path.join(workdir, "audisp-remote-%s.err" % name)
        self.proc = None
        self.exited_at = None

    def start(self):
        err = open(self.err_path, "ab")
        # unshare -> sh -> exec audisp-remote: proc.pid is audisp-remote itself.
        self.proc = subprocess.Popen(
            ["unshare", "-m", "sh", "-c",
             "mount --bind %s /etc/audit/audisp-remote.conf && exec %s" % (self.conf, AUDISP_REMOTE)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
            restore_signals=False)  # SIGPIPE ignored, as under auditd
        err.close()
        bench.CHILDREN.append(self.proc)
        return self

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def finish(self, timeout=600):
        """Closes stdin, waits for the exit; the exit time is the end of its run."""
        self.proc.stdin.close()
        rc = self.proc.wait(timeout)
        self.exited_at = time.time()
        bench.CHILDREN.remove(self.proc)
        if rc != 0:
            with open(self.err_path, errors="replace") as f:
                raise RuntimeError("audisp-remote exited with %s: %s" % (rc, f.read()[-2000:]))
        return rc


def audisp_run(ports, tag, per_sender, workdir, probe):
    """len(ports) audisp-remote senders, one per port, `per_sender` records each, all at once.

    Returns (elapsed seconds from the first timed record written to the last
    sender's exit, after its last ack; probe() taken just before the clock
    starts; probe() taken when the last sender has exited)."""
    baseline = {p: tcp_connections(p) for p in set(ports)}
    want = {p: baseline[p] + ports.count(p) for p in set(ports)}
    senders = [AudispRemote(workdir, "%s-%d" % (tag, i), p).start() for i, p in enumerate(ports)]
    try:
        # audisp-remote connects on its first record: a warm-up record each, then
        # the clock starts once every sender is connected (the warm-up's own ack
        # may still be on its way: one commit out of per_sender).
        for i, s in enumerate(senders):
            s.send(record("%s-warm" % tag, i))
        wait_until(lambda: all(tcp_connections(p) >= n for p, n in want.items()), 60,
                   "%d senders of %s connected" % (len(senders), tag))
        payloads = [b"".join(record("%s-%d" % (tag, i), n) for n in range(per_sender))
                    for i in range(len(senders))]
        errors = []

        def feed(s, data):
            try:
                s.send(data)
                s.finish()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=feed, args=(s, d)) for s, d in zip(senders, payloads)]
        before = probe()
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        after = probe()
        if errors:
            raise errors[0]
        return max(s.exited_at for s in senders) - t0, before, after
    finally:
        for s in senders:
            if s.proc is not None and s.proc.poll() is None:
                bench.stop(s.proc, timeout=5)


def latency_client(port, tag, count, split=True):
    """Managed frames one at a time, each waiting for its ack, timing each round trip
    (milliseconds). split=True writes exactly as audisp-remote 3.0.9 does (strace:
    TCP_NODELAY, then write(header of 16 bytes), write(payload), poll, read(ack));
    split=False sends header and payload in one write."""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(count + 1):  # frame 0 is a warm-up, not timed
            payload = record(tag, i)
            head = struct.pack("<IBBIHI", MAGIC, 0, 0, MESSAGE, len(payload), i + 1)
            t = time.perf_counter()
            if split:
                s.sendall(head)
                s.sendall(payload)
            else:
                s.sendall(head + payload)
            reply = b""
            while len(reply) < 16:
                chunk = s.recv(16 - len(reply))
                if not chunk:
                    raise RuntimeError("%s: connection closed after %d records" % (tag, i))
                reply += chunk
            rtt = time.perf_counter() - t
            _, _, _, kind, n, seq = struct.unpack("<IBBIHI", reply)
            while n:
                n -= len(s.recv(n))
            if kind != ACK or seq != i + 1:
                raise RuntimeError("%s: reply %#x seq %d to record %d" % (tag, kind, seq, i + 1))
            if i:
                out.append(rtt * 1000.0)
    return out


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


# --- receivers ---------------------------------------------------------------

class Trailkeepd:
    """trailkeepd with the integration tests' config and `tunnels` [[tunnel]] tables."""

    def __init__(self, workdir, tunnels_text=""):
        self.c = Collector(workdir=workdir,
                           config_text=collector_config(shared_pki(), client_auth="optional") + tunnels_text)
        self.tags = {}  # tag prefix -> count, filled by count_tags()

    def start(self):
        self.c.start(timeout=60)
        return self

    @property
    def pid(self):
        return self.c.proc.pid

    @property
    def audit_port(self):
        return self.c.audit_port

    def stored(self, tag):
        """Stored port-60 records (not the grouped events made of them) of run `tag`,
        warm-up records left out."""
        needle, warm = ' key="%s-' % tag, ' key="%s-warm-' % tag
        return sum(1 for e in self.c.query("--limit", "100000000")
                   if e.get("transport") == "audit-port60" and e.get("audit_member")
                   and needle in e["msg"] and warm not in e["msg"])

    def stop(self):
        try:
            self.c.stop()
        except RuntimeError as e:
            log("bench: " + str(e))


class Auditd:
    """auditd 3.0.9 as a remote receiver only (local_events = no), its own config dir."""

    def __init__(self, workdir, flush):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.port = bench.free_port()
        self.log_path = os.path.join(workdir, "audit.log")
        with open(os.path.join(workdir, "auditd.conf"), "w") as f:
            f.write("\n".join([
                "local_events = no", "write_logs = yes", "log_file = %s" % self.log_path,
                "log_group = root", "log_format = RAW", "flush = %s" % flush, "freq = 50",
                "max_log_file = 8000", "num_logs = 5", "max_log_file_action = ROTATE",
                "space_left = 75", "space_left_action = IGNORE", "admin_space_left = 50",
                "admin_space_left_action = IGNORE", "disk_full_action = IGNORE",
                "disk_error_action = IGNORE", "tcp_listen_port = %d" % self.port,
                "tcp_listen_queue = 128", "tcp_max_per_addr = 1024", "tcp_client_max_idle = 0",
                "transport = TCP", "distribute_network = no", "q_depth = 20000",
                "overflow_action = SYSLOG", "plugin_dir = %s" % os.path.join(workdir, "plugins.d"),
                "name_format = NONE", "priority_boost = 0", "end_of_event_timeout = 2", ""]))
        os.chmod(os.path.join(workdir, "auditd.conf"), 0o640)
        os.makedirs(os.path.join(workdir, "plugins.d"), exist_ok=True)
        self.proc = None
        self.flush = flush

    def start(self):
        # -n: no fork (proc.pid is auditd after the execs); -s nochange: leave the
        # kernel's audit flag alone; /run is private so its pid file is ours.
        self.proc = bench.spawn(["unshare", "-m", "sh", "-c",
                                 "mount -t tmpfs none /run && exec %s -n -s nochange -c %s" % (AUDITD, self.dir)],
                                os.path.join(self.dir, "auditd.out"))
        wait_until(lambda: self.proc.poll() is not None or listening_any(self.port), 30, "auditd listening")
        if self.proc.poll() is not None:
            raise RuntimeError("auditd exited with %s: %s" % (self.proc.returncode,
                                                              bench.tail(os.path.join(self.dir, "auditd.out"))))
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stored(self, tag):
        """Records of run `tag` in auditd's log, warm-up records left out."""
        needle, warm = (' key="%s-' % tag).encode(), (' key="%s-warm-' % tag).encode()
        with open(self.log_path, "rb") as f:
            return sum(1 for line in f if needle in line and warm not in line)

    def stop(self):
        bench.stop(self.proc, timeout=10)


# --- tunnels -----------------------------------------------------------------

def start_sshds(n):
    nodes = []
    try:
        for _ in range(n):
            nodes.append(Sshd().start())
    except Exception:
        for s in nodes:
            s.kill()
        raise
    return nodes


def kill_sshds(nodes):
    for s in nodes:
        try:
            s.kill()
        except Exception as e:  # noqa: BLE001 - best effort on the way out
            log("bench: could not kill sshd %s: %s" % (s.proc.pid if s.proc else "?", e))


def tunnels_text(nodes, rports):
    out = ""
    for i, (node, rport) in enumerate(zip(nodes, rports)):
        # No forward_to: channels go to the collector's own port-60 listener.
        out += tunnel_table("node-%02d" % i, node, rport, "").replace('forward_to = ""\n', "")
    return out


def sshd_cpu(nodes):
    """CPU seconds of every sshd process (listeners and their sessions)."""
    total = 0.0
    for s in nodes:
        for pid in [s.proc.pid] + s.descendants():
            try:
                total += proc_cpu_seconds(pid)
            except OSError:
                pass
    return total


class OpenSshTunnel:
    """`ssh -N -R 127.0.0.1:rport:127.0.0.1:to_port root@node`, OpenSSH's own client."""

    def __init__(self, node, rport, to_port, logfile):
        self.proc = bench.spawn(
            ["ssh", "-N", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
             "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=%s" % node.known_hosts(),
             "-i", node.key, "-p", str(node.port), "-R", "127.0.0.1:%d:127.0.0.1:%d" % (rport, to_port),
             "root@127.0.0.1"], logfile)
        bench.wait_listening(self.proc, rport, "ssh -R", logfile)

    def stop(self):
        bench.stop(self.proc, timeout=5)


# --- phases ------------------------------------------------------------------

class SyncCounter:
    """strace -c on every thread of `pid`: fsync/fdatasync calls while it runs (SYNCS=1 only)."""

    def __init__(self, pid, workdir):
        self.out = os.path.join(workdir, "strace-%d.txt" % pid)
        args = ["strace", "-f", "-c", "-e", "trace=fsync,fdatasync,sync_file_range", "-o", self.out]
        for tid in os.listdir("/proc/%d/task" % pid):
            args += ["-p", tid]
        self.proc = bench.spawn(args, self.out + ".log")
        time.sleep(1.0)  # attached

    def stop(self):
        os.kill(self.proc.pid, 2)
        self.proc.wait(30)
        bench.CHILDREN.remove(self.proc)
        calls = {}
        with open(self.out) as f:
            for line in f:
                cols = line.split()
                if cols and cols[-1] in ("fsync", "fdatasync", "sync_file_range"):
                    calls[cols[-1]] = int(cols[3])
        return calls


def check_stored(receiver, tag, expected):
    got = receiver.stored(tag)
    if got != expected:
        raise RuntimeError("%s: %d records stored, %d sent" % (tag, got, expected))
    return got


def tag_of(label):
    return "".join(c if c.isalnum() else "_" for c in label)


def timed_run(label, receiver, ports, per_sender, workdir, extra_cpu=None):
    tag = tag_of(label)

    def probe():  # receiver CPU, sshd CPU, whole machine's busy CPU: over the timed window only
        return (proc_cpu_seconds(receiver.pid), extra_cpu() if extra_cpu else 0.0, bench.busy_cpu_seconds())

    syncs = SyncCounter(receiver.pid, workdir) if SYNCS else None
    n = len(ports) * per_sender
    try:
        elapsed, before, after = audisp_run(ports, tag, per_sender, workdir, probe)
        stored = check_stored(receiver, tag, n)
    except RuntimeError as e:  # a sender gave up, or records are missing: say so, go on
        log("%-34s %5d sender(s) FAILED: %s" % (label, len(ports), e))
        return {"run": label, "senders": len(ports), "records": n, "failed": str(e)}
    finally:
        calls = syncs.stop() if syncs else None
    cpu, xcpu, busy = (a - b for a, b in zip(after, before))
    xcpu = xcpu if extra_cpu else None
    r = {"run": label, "senders": len(ports), "records": n, "stored": stored, "elapsed": elapsed,
         "rate": n / elapsed, "receiver_cpu": cpu, "cpu_us_per_record": 1e6 * cpu / n,
         "rss_mib": proc_status_kib(receiver.pid, "VmRSS") / 1024.0,
         "hwm_mib": proc_status_kib(receiver.pid, "VmHWM") / 1024.0, "sshd_cpu": xcpu,
         "machine_busy_cpu": busy, "syncs": calls}
    if calls is not None:
        log("  (strace) %s: %s for %d records (+%d warm-up)" % (label, calls, n, len(ports)))
    log("%-34s %5d sender(s) %6d/%-6d stored in %6.2fs = %7.0f records/s; receiver %.2f CPU-s "
        "(%.0f us/record), RSS %.1f MiB (peak %.1f)%s; all processes %.2f CPU-s"
        % (label, len(ports), stored, n, elapsed, r["rate"], cpu, r["cpu_us_per_record"], r["rss_mib"],
           r["hwm_mib"], "" if xcpu is None else "; sshd %.2f CPU-s" % xcpu, busy))
    return r


def latency_run(label, port, count, split=True):
    label = "%s (%s)" % (label, "2 writes" if split else "1 write")
    rtts = latency_client(port, "lat_" + tag_of(label), count, split)
    r = {"run": "latency " + label, "records": len(rtts), "p50_ms": pct(rtts, 50), "p99_ms": pct(rtts, 99),
         "max_ms": max(rtts), "mean_ms": statistics.mean(rtts), "rate_1_client": 1000.0 / statistics.mean(rtts)}
    log("latency %-37s %5d round trips: p50 %.3f ms, p99 %.3f ms, max %.3f ms (mean %.3f ms = %.0f records/s)"
        % (label, len(rtts), r["p50_ms"], r["p99_ms"], r["max_ms"], r["mean_ms"], r["rate_1_client"]))
    return r


def phase_one():
    work = os.path.join(WORK, "tunnel-one")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    results = []
    node = Sshd().start()
    tk = ssh_r = None
    peers = []
    try:
        rport, oport = bench.free_port(), bench.free_port()
        tk = Trailkeepd(os.path.join(work, "trailkeepd"), tunnels_text([node], [rport])).start()
        wait_until(lambda: bench.listening(rport), 60, "the trailkeepd tunnel's remote listener")
        ssh_r = OpenSshTunnel(node, oport, tk.audit_port, os.path.join(work, "ssh-R.log"))
        if PEER:
            peers = [Auditd(os.path.join(work, "auditd-async"), "INCREMENTAL_ASYNC").start(),
                     Auditd(os.path.join(work, "auditd-data"), "DATA").start()]
        results.append(timed_run("trailkeepd direct", tk, [tk.audit_port], RECORDS, work))
        results.append(timed_run("trailkeepd via libssh2 tunnel", tk, [rport], RECORDS, work,
                                 lambda: sshd_cpu([node])))
        results.append(timed_run("trailkeepd via ssh -R", tk, [oport], RECORDS, work,
                                 lambda: sshd_cpu([node])))
        for a in peers:
            results.append(timed_run("auditd %s direct" % a.flush, a, [a.port], RECORDS, work))
        for split in (True, False):
            results.append(latency_run("trailkeepd direct", tk.audit_port, LAT_RECORDS, split))
            results.append(latency_run("trailkeepd libssh2 tunnel", rport, LAT_RECORDS, split))
            results.append(latency_run("trailkeepd ssh -R", oport, LAT_RECORDS, split))
            for a in peers:
                results.append(latency_run("auditd %s" % a.flush, a.port, LAT_RECORDS, split))
        return results
    finally:
        for a in peers:
            a.stop()
        if ssh_r:
            ssh_r.stop()
        if tk:
            tk.stop()
        node.kill()
        if not KEEP:
            shutil.rmtree(work, ignore_errors=True)


def idle_figures(tk, seconds):
    cpu0 = proc_cpu_seconds(tk.pid)
    time.sleep(seconds)
    return proc_status_kib(tk.pid, "VmRSS") / 1024.0, proc_cpu_seconds(tk.pid) - cpu0


def phase_fleet():
    work = os.path.join(WORK, "tunnel-fleet")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    results = []
    nodes, tk, peer = [], None, None
    try:
        tk0 = Trailkeepd(os.path.join(work, "trailkeepd-0")).start()
        try:
            time.sleep(SETTLE)
            rss0, cpu0 = idle_figures(tk0, IDLE)
        finally:
            tk0.stop()
        nodes = start_sshds(FLEET)
        rports = [bench.free_port() for _ in nodes]
        t_up = time.time()
        tk = Trailkeepd(os.path.join(work, "trailkeepd-%d" % FLEET), tunnels_text(nodes, rports)).start()
        wait_until(lambda: all(bench.listening(p) for p in rports), 120, "%d tunnels up" % FLEET)
        up = time.time() - t_up
        time.sleep(SETTLE)
        rss, cpu = idle_figures(tk, IDLE)
        r = {"run": "idle", "tunnels": FLEET, "up_seconds": up, "rss0_mib": rss0, "rss_mib": rss,
             "rss_per_tunnel_kib": (rss - rss0) * 1024.0 / FLEET, "idle_cpu0": cpu0, "idle_cpu": cpu,
             "idle_seconds": IDLE}
        log("idle: %d tunnels up %.1fs after start; VmRSS %.1f MiB with them, %.1f MiB with none = %.0f KiB "
            "per tunnel; CPU over %.0fs idle: %.2f s with them, %.2f s with none"
            % (FLEET, up, rss, rss0, r["rss_per_tunnel_kib"], IDLE, cpu, cpu0))
        results.append(r)
        results.append(timed_run("trailkeepd via %d libssh2 tunnels" % FLEET, tk, rports, PER_SENDER, work,
                                 lambda: sshd_cpu(nodes)))
        results.append(timed_run("trailkeepd direct, %d senders" % FLEET, tk, [tk.audit_port] * FLEET,
                                 PER_SENDER, work))
        if PEER:
            for flush in ("INCREMENTAL_ASYNC", "DATA"):
                peer = Auditd(os.path.join(work, "auditd-" + flush), flush).start()
                try:
                    results.append(timed_run("auditd %s direct, %d senders" % (flush, FLEET), peer,
                                             [peer.port] * FLEET, PER_SENDER, work))
                finally:
                    peer.stop()
                    peer = None
        return results
    finally:
        if peer:
            peer.stop()
        if tk:
            tk.stop()
        kill_sshds(nodes)
        if not KEEP:
            shutil.rmtree(work, ignore_errors=True)


def uptime():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    for tool in ("/usr/sbin/sshd", AUDISP_REMOTE) + ((AUDITD,) if PEER else ()):
        if not os.path.exists(tool):
            bench.die("%s is missing" % tool)
    if os.geteuid() != 0:
        bench.die("needs root (sshd, unshare -m, bind mounts)")
    os.makedirs(WORK, exist_ok=True)
    log("tunnel bench: RECORDS=%d LAT_RECORDS=%d FLEET=%d PER_SENDER=%d, build %s (%s), load average %s"
        % (RECORDS, LAT_RECORDS, FLEET, PER_SENDER, BUILD, bench.build_type(BUILD), uptime()))
    results = []
    if "one" in PHASES:
        results += phase_one()
    if "fleet" in PHASES:
        results += phase_fleet()
    log("load average at the end: %s" % uptime())
    log("json: " + json.dumps(results))


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so every finally: stops what it started (sshd
    # process groups, trailkeepd, auditd, audisp-remote) by PID.
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        main()
    finally:
        bench.cleanup()
        if not KEEP:
            shutil.rmtree(harness.RUN_DIR, ignore_errors=True)
