"""Zero loss, zero duplicates: real `trailkeep forward` agents against the
real trailkeepd, with real kill signals (issue: the agent).

  1. two agents stream while the collector is kill -9'ed and restarted at
     random moments: every line stored exactly once, both chains verify;
  2. the same while an agent is kill -9'ed and restarted;
  3. the same through a TCP proxy that cuts (RST) and stalls connections;
  5. log rotation by rename and by copy-truncate mid-stream.

Size: TRAILKEEP_AGENT_FULL=1 runs 200,000 events per agent and 5 kills; the
default (CI) is 20,000 and 3, scaled by TRAILKEEP_TEST_SCALE. The random
seed is printed; TRAILKEEP_SEED=N repeats a run.
"""
import os
import random
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RUN_DIR, Collector, log, scaled  # noqa: E402
from agents import Agent, Proxy, Writer, enroll, integrity_alarms, verify_db, wait_stored  # noqa: E402

FULL = os.environ.get("TRAILKEEP_AGENT_FULL") == "1"
COUNT = 200_000 if FULL else scaled(20_000)
KILLS = 5 if FULL else 3
SEED = int(os.environ.get("TRAILKEEP_SEED") or int(time.time()))
HOSTS = ["agent-a.test", "agent-b.test"]
log("seed %d, %d events per agent, %d kills" % (SEED, COUNT, KILLS))


class Fleet:
    """A collector behind a proxy, and one agent per host writing one file."""

    def __init__(self, name, hosts=HOSTS):
        self.work = tempfile.mkdtemp(prefix=name + "-", dir=RUN_DIR)
        self.collector = Collector(os.path.join(self.work, "collector")).start()
        self.proxy = Proxy()
        self.proxy.target = self.collector.port
        self.proxy.start()
        self.agents = []
        for h in hosts:
            bundle = enroll(self.collector, h)
            self.agents.append(Agent(h, bundle, self.proxy.port, os.path.join(self.work, h)).start())

    def restart_collector(self):
        self.collector.start()
        self.proxy.target = self.collector.port

    def writers(self, count, rate=4000):
        ws = [Writer(a.inputs[0][1], a.host, count, rate) for a in self.agents]
        for w in ws:
            w.start()
        return ws

    def check_exactly_once(self, count, started):
        for a in self.agents:
            nums = wait_stored(self.collector, a.host, count, timeout=scaled(300))
            dupes = len(nums) - len(set(nums))
            assert dupes == 0, "%s: %d events stored twice" % (a.host, dupes)
            assert sorted(nums) == list(range(count)), "%s: stored lines are not 0..%d" % (a.host, count - 1)
            rc, out = verify_db(self.collector, a.host)
            assert rc == 0, "%s: verify failed:\n%s" % (a.host, out)
            alarms = integrity_alarms(self.collector, a.host)
            assert alarms == [], "%s: unexpected integrity alarms %s" % (a.host, alarms)
            log("%s: %d events exactly once, chain verifies (%s) in %.1fs" %
                (a.host, count, out.strip().splitlines()[-1], time.time() - started))

    def close(self):
        for a in self.agents:
            a.stop()
        self.collector.stop()
        self.proxy.close()


def stream_with_disruptions(name, seed, disrupt):
    """Both agents stream COUNT lines while `disrupt(fleet, rnd, elapsed)` runs
    KILLS times at random moments; then every line must be stored once."""
    rnd = random.Random(seed)
    fleet = Fleet(name)
    started = time.time()
    try:
        ws = fleet.writers(COUNT)
        for i, at in enumerate(sorted(rnd.uniform(0.1, COUNT / 4000.0) for _ in range(KILLS))):
            time.sleep(max(0.0, started + at - time.time()))
            disrupt(fleet, rnd, i, time.time() - started)
        for w in ws:
            w.join()
        fleet.check_exactly_once(COUNT, started)
    finally:
        fleet.close()


def kill_collector(fleet, rnd, _, elapsed):
    fleet.collector.kill9()
    time.sleep(rnd.uniform(0.1, 1.0))
    fleet.restart_collector()
    log("collector kill -9 at %.1fs, restarted" % elapsed)


def kill_agent(fleet, rnd, _, elapsed):
    victim = rnd.choice(fleet.agents)
    victim.kill9()
    time.sleep(rnd.uniform(0.1, 1.0))
    victim.start()
    log("agent %s kill -9 at %.1fs, restarted" % (victim.host, elapsed))


def cut_or_stall(fleet, rnd, i, elapsed):
    # Alternate, starting with a cut, so every run has both.
    if i % 2 == 0:
        fleet.proxy.cut()
        log("proxy cut at %.1fs" % elapsed)
    else:
        secs = rnd.uniform(0.5, 2.0)
        log("proxy stall %.1fs at %.1fs" % (secs, elapsed))
        fleet.proxy.stall(secs)


def test_collector_kill9():
    stream_with_disruptions("collector-kill", SEED, kill_collector)


def test_agent_kill9():
    stream_with_disruptions("agent-kill", SEED + 1, kill_agent)


def test_network_cuts_and_stalls():
    stream_with_disruptions("proxy-cuts", SEED + 2, cut_or_stall)


def test_rotation_rename_and_copytruncate():
    fleet = Fleet("rotation", hosts=["agent-r.test"])
    agent = fleet.agents[0]
    path = agent.inputs[0][1]
    n = scaled(3000)
    started = time.time()

    def write(f, first, count):
        f.write("".join(__import__("agents").line(agent.host, i) for i in range(first, first + count)))
        f.flush()

    try:
        f = open(path, "a")
        write(f, 0, 1)
        # The agent must be following the file before it is rotated (a file
        # created and renamed before the agent's first poll is never seen).
        wait_stored(fleet.collector, agent.host, 1)
        write(f, 1, n - 1)
        # Rename rotation: the writer still holds the old file and writes a
        # little more to it before it reopens the path (as daemons do after
        # logrotate's postrotate signal).
        os.rename(path, path + ".1")
        write(f, n, 100)
        time.sleep(0.5)
        f.close()
        f = open(path, "a")
        write(f, n + 100, n)
        wait_stored(fleet.collector, agent.host, 2 * n + 100)
        # Copy-truncate: everything written so far is read (stored), then the
        # file is copied and truncated in place, and writing goes on.
        with open(path) as src, open(path + ".2", "w") as dst:
            dst.write(src.read())
        os.truncate(path, 0)
        f.seek(0)
        write(f, 2 * n + 100, n)
        f.close()
        fleet.check_exactly_once(3 * n + 100, started)
    finally:
        fleet.close()


if __name__ == "__main__":
    harness.main([test_collector_kill9, test_agent_kill9, test_network_cuts_and_stalls,
                  test_rotation_rename_and_copytruncate])
