"""Disk full on the agent (issue: the agent, test 6).

The agent's spool lives on a 2 MiB tmpfs. With the collector down, the
writer produces far more than fits: the agent must stop reading its input
(file position frozen) and say so, lose nothing, and resume once the
collector is back and acknowledged segments free the space. Every line is
then stored exactly once and the chain verifies.

Needs root (mount); prints SKIP otherwise (under CI=true it fails).
"""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RUN_DIR, Collector, free_port, log, scaled  # noqa: E402
from agents import Agent, Writer, enroll, integrity_alarms, verify_db, wait_stored  # noqa: E402

HOST = "agent-full.test"
# What the agent must say when a spool write hits ENOSPC, and once it works again.
FULL_DISK = re.compile(r"spool append failed: .*No space left on device.*inputs paused")
RESUMED = re.compile(r"spool appends work again: inputs resume")


def test_spool_on_a_full_disk():
    if os.geteuid() != 0:
        harness.cannot_run("test_spool_on_a_full_disk needs root to mount a tmpfs")
        return
    work = tempfile.mkdtemp(prefix="diskfull-", dir=RUN_DIR)
    spool = os.path.join(work, "spool-fs")
    os.makedirs(spool)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", spool],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        harness.cannot_run("test_spool_on_a_full_disk cannot mount a tmpfs: " + mounted.stderr.strip())
        return
    collector = Collector(os.path.join(work, "collector"), syslog_listen="127.0.0.1:%d" % free_port())
    agent = None
    try:
        collector.start()
        bundle = enroll(collector, HOST)
        collector.kill9()  # the collector is away: everything must be spooled
        agent = Agent(HOST, bundle, collector.port, os.path.join(work, "agent"),
                      spool_dir=os.path.join(spool, "s"), extra="segment_bytes = 262144\n").start()
        count = scaled(20000)  # about 6 MiB of signed events: three times the disk
        Writer(agent.inputs[0][1], HOST, count, rate=20000).run()
        deadline = time.time() + 60
        while time.time() < deadline and not FULL_DISK.search(agent.read_log()):
            time.sleep(0.5)
        text = agent.read_log()
        assert FULL_DISK.search(text), "the agent never said its disk is full:\n" + text[-3000:]
        assert agent.alive(), "the agent died on a full disk:\n" + text[-3000:]
        log("agent paused on a full disk: %s" % FULL_DISK.search(text).group(0))
        collector.start()
        nums = wait_stored(collector, HOST, count, timeout=scaled(300))
        assert len(nums) == len(set(nums)) and sorted(nums) == list(range(count)), "loss or duplicates"
        rc, out = verify_db(collector, HOST)
        assert rc == 0, out
        assert integrity_alarms(collector, HOST) == [], integrity_alarms(collector, HOST)
        assert RESUMED.search(agent.read_log()), "no resume message:\n" + agent.read_log()[-3000:]
        log("all %d lines stored once after the disk had room again; %s" % (count, out.strip().splitlines()[-1]))
    finally:
        if agent is not None:
            agent.stop()
        collector.stop()
        subprocess.run(["umount", "-l", spool])


if __name__ == "__main__":
    harness.main([test_spool_on_a_full_disk])
