#!/usr/bin/env python3
"""Journal input benchmark: `trailkeep forward` with a kind = "journal" input -> trailkeepd,
on one machine, with journal files written by systemd-journal-remote (no journald needed).

  e2e     ENTRIES journal entries (MESSAGE of about 150 bytes, the fields a journald entry has)
          are waiting in the journal folder; one agent is started against a running collector.
          Rate = entries / (agent started -> last WAL write once everything is stored). Every
          entry is read with sd-journal, mapped, signed, spooled (fsync), sent, verified,
          committed and acknowledged on the way.
  steady  One agent follows the journal while systemd-journal-remote writes RATE entries/s
          into it for SECONDS (one long-running journal-remote fed on a pipe): the agent's CPU
          (% of one core, over the steady part) and its RSS.

Usage: journal_bench.py BUILD_DIR
Environment: ENTRIES=100000, RATE=1000, SECONDS=60, PHASES=e2e,steady,
             BENCH_DIR=BUILD/bench-work, KEEP=0. Standard library only.
"""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) == 2 else None
if BUILD is None:
    print("usage: journal_bench.py BUILD_DIR", file=sys.stderr)
    sys.exit(2)
os.environ.setdefault("TRAILKEEP_BIN", os.path.join(BUILD, "bin"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import bench  # noqa: E402
from bench import log, proc_cpu_seconds, proc_status_kib  # noqa: E402
import harness  # noqa: E402
from agents import Agent, enroll  # noqa: E402

JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
ENTRIES = int(os.environ.get("ENTRIES", "100000"))
RATE = int(os.environ.get("RATE", "1000"))
SECONDS = int(os.environ.get("SECONDS", "60"))
PHASES = os.environ.get("PHASES", "e2e,steady").split(",")
WORK = os.path.abspath(os.environ.get("BENCH_DIR", os.path.join(BUILD, "bench-work")))
KEEP = os.environ.get("KEEP", "0") == "1"
T0 = 1767225600000000


def entry(n):
    msg = ("pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0) "
           "entry %07d " % n).ljust(150, "x")
    return ("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n"
            "_BOOT_ID=0123456789abcdef0123456789abcdef\nSYSLOG_IDENTIFIER=sshd\n_PID=%d\n"
            "PRIORITY=6\nSYSLOG_FACILITY=10\n_HOSTNAME=bench\n_UID=0\n_GID=0\n_COMM=sshd\n"
            "_EXE=/usr/sbin/sshd\n_SYSTEMD_UNIT=ssh.service\n_TRANSPORT=syslog\nMESSAGE=%s\n\n"
            % (T0 + n, n + 1, 1000 + n % 5000, msg)).encode()


class Setup:
    """A collector (dev mode) and one enrolled agent reading `work`/journal."""

    def __init__(self, work, tag):
        self.work = work
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        self.jdir = os.path.join(work, "journal")
        os.makedirs(self.jdir)
        self.collector = harness.Collector(os.path.join(work, "collector"),
                                           syslog_listen="127.0.0.1:%d" % harness.free_port())
        self.collector.start()
        host = "%s.bench" % tag
        self.agent = Agent(host, enroll(self.collector, host), self.collector.port,
                           os.path.join(work, host), inputs=[("journal", self.jdir, "journal")])
        self.counter = bench.TrailkeepCounter(os.path.join(BUILD, "bin", "trailkeepd"),
                                              self.collector.data_dir)

    def wait_stored(self, expected, stall=60):
        return self.counter.wait_for(expected, stall)

    def close(self):
        self.agent.stop()
        self.collector.stop()
        if not KEEP:
            shutil.rmtree(self.work, ignore_errors=True)


def phase_e2e():
    s = Setup(os.path.join(WORK, "journal-e2e"), "je2e")
    try:
        subprocess.run([JOURNAL_REMOTE, "--output=" + os.path.join(s.jdir, "system.journal"), "-"],
                       input=b"".join(entry(n) for n in range(ENTRIES)), check=True,
                       capture_output=True)
        ccpu0 = proc_cpu_seconds(s.collector.proc.pid)
        t0 = time.time()
        s.agent.start()
        end = s.wait_stored(ENTRIES + 1)  # and the inventory event
        acpu = proc_cpu_seconds(s.agent.proc.pid)
        ahwm = proc_status_kib(s.agent.proc.pid, "VmHWM") / 1024.0
        afile = proc_status_kib(s.agent.proc.pid, "RssFile") / 1024.0
        ccpu = proc_cpu_seconds(s.collector.proc.pid) - ccpu0
        elapsed = end - t0
        log("e2e: %d journal entries in %.2fs = %.0f entries/s; agent %.2f CPU-s (%.1f us/entry), "
            "peak RSS %.1f MiB (%.1f MiB of it mapped files at the end); collector %.2f CPU-s"
            % (ENTRIES, elapsed, ENTRIES / elapsed, acpu, 1e6 * acpu / ENTRIES, ahwm, afile, ccpu))
    finally:
        s.close()


def phase_steady():
    s = Setup(os.path.join(WORK, "journal-steady"), "jsteady")
    writer = None
    try:
        writer = subprocess.Popen([JOURNAL_REMOTE, "--output=" + os.path.join(s.jdir, "system.journal"),
                                   "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        writer.stdin.write(entry(0))
        writer.stdin.flush()
        time.sleep(0.5)
        s.agent.start()
        s.wait_stored(2)  # inventory and entry 0: the agent is up and connected
        count, chunk = RATE * SECONDS, max(1, RATE // 50)
        warm = min(10, SECONDS // 3)
        n, due, started = 1, time.time(), time.time()
        cpu0 = t0 = w0 = None
        while n <= count:
            if cpu0 is None and time.time() - started >= warm:
                cpu0, t0, w0 = proc_cpu_seconds(s.agent.proc.pid), time.time(), n
            k = min(chunk, count + 1 - n)
            writer.stdin.write(b"".join(entry(i) for i in range(n, n + k)))
            writer.stdin.flush()
            n += k
            due += k / RATE
            time.sleep(max(0.0, due - time.time()))
        cpu1, t1 = proc_cpu_seconds(s.agent.proc.pid), time.time()
        writer.stdin.close()
        writer.wait(60)
        s.wait_stored(count + 2)
        pid = s.agent.proc.pid
        log("steady: agent at %.0f entries/s over %.0fs: %.2f%% of one core, RSS %.1f MiB (peak %.1f "
            "MiB; of the RSS, %.1f MiB anonymous, %.1f MiB mapped files: the journal's)"
            % ((n - w0) / (t1 - t0), t1 - t0, 100.0 * (cpu1 - cpu0) / (t1 - t0),
               proc_status_kib(pid, "VmRSS") / 1024.0, proc_status_kib(pid, "VmHWM") / 1024.0,
               proc_status_kib(pid, "RssAnon") / 1024.0, proc_status_kib(pid, "RssFile") / 1024.0))
    finally:
        if writer and writer.poll() is None:
            writer.kill()
            writer.wait()
        s.close()


if __name__ == "__main__":
    log("journal bench: ENTRIES=%d RATE=%d SECONDS=%d, load %s" % (ENTRIES, RATE, SECONDS,
                                                                  open("/proc/loadavg").read().strip()))
    if "e2e" in PHASES:
        phase_e2e()
    if "steady" in PHASES:
        phase_steady()
