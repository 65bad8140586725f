#!/usr/bin/env python3
"""Agent benchmark: `trailkeep forward` -> trailkeepd with the HMAC chain, acks
and durable commits, on one machine, in one run.

Three measurements (real processes, folders under BENCH_DIR on the real disk):

  e2e      LINES lines of 200 bytes are waiting in each agent's input file;
           1 agent, then 4 agents, are started against a running collector.
           Rate = lines / (agents started -> last WAL write once everything
           is stored). Every event is read, signed, spooled (fsync), sent,
           verified, committed and acknowledged on the way.
  steady   One agent follows a file written at RATE lines/s for SECONDS:
           the agent's CPU (% of one core, over the steady part) and its
           RSS (VmRSS at the end, VmHWM).
  syncs    e2e with 1 agent run under `strace -f -y -T -e trace=fsync,fdatasync`:
           the agent's syncs by file (segment, checkpoint, directory) and per
           spool batch (an append is one segment fdatasync), and the time
           spent in them. strace slows the agent: its rate is not e2e's.
           With SYNCS_RATE=N: the lines are written at N lines/s for SECONDS
           while the agent follows the file (small batches) instead.
  spool    1 agent spools LINES waiting lines with the collector down: the
           agent's own rate (start -> last segment write), no network.
  verify   The collector's own rate with verification on versus unsigned:
           4 agents spool LINES lines each while the collector is down and
           are stopped; the collector is started, then the agents, which
           drain their spools (drain_backlog: they only read their spool and
           send, so the collector is the bottleneck; `make bench` runs it with
           4 and 64 agents). Same run: the foundation's unsigned path, loggen
           over 4 TLS connections with the same number of 200-byte messages
           (bench.py's run). Stored events are counted from /metrics.

Usage: agent_bench.py BUILD_DIR      (or: make bench-agent)
Environment: LINES=100000 (per agent), RATE=1000, SECONDS=60,
             PHASES=e2e,steady,verify (also: e2e1, 1 agent only; syncs; spool),
             BENCH_DIR=BUILD/bench-work, KEEP=0.
Standard library only.
"""
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) == 2 else None
if BUILD is None:
    print("usage: agent_bench.py BUILD_DIR", file=sys.stderr)
    sys.exit(2)
os.environ.setdefault("TRAILKEEP_BIN", os.path.join(BUILD, "bin"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import bench  # noqa: E402  (process helpers, the unsigned loggen run, the /metrics counter)
from bench import log, proc_cpu_seconds, proc_status_kib  # noqa: E402
import harness  # noqa: E402
from agents import Agent, Writer, enroll, spool_segments, read_records  # noqa: E402

LINE_BYTES = 200
LINES = int(os.environ.get("LINES", "100000"))
RATE = int(os.environ.get("RATE", "1000"))
SECONDS = int(os.environ.get("SECONDS", "60"))
PHASES = os.environ.get("PHASES", "e2e,steady,verify").split(",")
WORK = os.path.abspath(os.environ.get("BENCH_DIR", os.path.join(BUILD, "bench-work")))
KEEP = os.environ.get("KEEP", "0") == "1"


def padded_line(host, n):
    head = "Nov 23 05:08:37 %s myapp[4242]: line %07d " % (host, n)
    return head + "x" * (LINE_BYTES - 1 - len(head)) + "\n"


def prefill(path, host, count):
    with open(path, "w") as f:
        for start in range(0, count, 10000):
            f.write("".join(padded_line(host, i) for i in range(start, min(count, start + 10000))))


class Fleet:
    """A collector (dev mode, fixed port) and `count` enrolled agents in `work`."""

    def __init__(self, work, count, tag):
        self.work = work
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        self.collector = harness.Collector(os.path.join(work, "collector"),
                                           syslog_listen="127.0.0.1:%d" % harness.free_port())
        self.collector.start()
        self.hosts = ["%s-%d.bench" % (tag, i) for i in range(count)]
        self.agents = []
        for h in self.hosts:
            bundle = enroll(self.collector, h)
            self.agents.append(Agent(h, bundle, self.collector.port, os.path.join(work, h)))
        self.counter = self.metrics_counter()

    def metrics_counter(self):
        """A new count of stored events from the collector's /metrics (after each start)."""
        dev = os.path.join(self.collector.workdir, "dev")
        with open(os.path.join(dev, "admin.token")) as f:
            token = f.read().strip()
        client = bench.MetricsClient("127.0.0.1:%d" % self.collector.export_port, token,
                                     os.path.join(dev, "pki", "ca.pem"))
        return bench.MetricsCounter(client, self.collector.data_dir)

    def wait_stored(self, expected, stall=60):
        """Blocks until `expected` events are stored; returns the last WAL write time."""
        return self.counter.wait_for(expected, stall)

    def stop_agents(self):
        """SIGTERM to every agent at once, then waits for each (an agent may take a few
        seconds to give up on a collector that is down)."""
        for a in self.agents:
            if a.proc is not None and a.proc.poll() is None:
                a.proc.terminate()
        for a in self.agents:
            a.stop()

    def agent_figures(self):
        return (sum(proc_cpu_seconds(a.proc.pid) for a in self.agents),
                max(proc_status_kib(a.proc.pid, "VmHWM") for a in self.agents) / 1024.0)

    def close(self):
        self.stop_agents()
        self.counter.client.close()
        self.collector.stop()
        if not KEEP:
            shutil.rmtree(self.work, ignore_errors=True)


def expected_events(agents):
    return agents * (LINES + 1)  # each agent's lines plus its inventory event


def phase_e2e(agents):
    fleet = Fleet(os.path.join(WORK, "agent-e2e-%d" % agents), agents, "e2e%d" % agents)
    try:
        for a in fleet.agents:
            prefill(a.inputs[0][1], a.host, LINES)
        ccpu0 = proc_cpu_seconds(fleet.collector.proc.pid)
        t0 = time.time()
        for a in fleet.agents:
            a.start()
        end = fleet.wait_stored(expected_events(agents))
        acpu, ahwm = fleet.agent_figures()
        ccpu = proc_cpu_seconds(fleet.collector.proc.pid) - ccpu0
        elapsed = end - t0
        r = {"phase": "e2e", "agents": agents, "events": agents * LINES, "elapsed": elapsed,
             "rate": agents * LINES / elapsed, "agent_cpu": acpu, "agent_hwm_mib": ahwm,
             "collector_cpu": ccpu,
             "collector_hwm_mib": proc_status_kib(fleet.collector.proc.pid, "VmHWM") / 1024.0}
        log("e2e %d agent(s): %d events in %.2fs = %.0f events/s; agents %.2f CPU-s, peak RSS %.1f MiB; "
            "collector %.2f CPU-s, peak RSS %.1f MiB" % (agents, r["events"], elapsed, r["rate"], acpu,
                                                        ahwm, ccpu, r["collector_hwm_mib"]))
        return r
    finally:
        fleet.close()


def start_traced(agent, out):
    """Starts `agent` under strace, which logs its fsync/fdatasync calls with file names to `out`."""
    agent.logf = open(agent.log_path, "a")
    agent.proc = subprocess.Popen(["strace", "-f", "-qq", "-y", "-T", "-e", "trace=fsync,fdatasync", "-o", out,
                                   os.path.join(harness.BIN, "trailkeep"), "forward", "--config", agent.config],
                                  stdout=agent.logf, stderr=subprocess.STDOUT)


def stop_traced(agent):
    """SIGTERM to the traced agent (strace's child, by pid), then waits for strace to exit."""
    with open("/proc/%d/task/%d/children" % (agent.proc.pid, agent.proc.pid)) as f:
        children = [int(p) for p in f.read().split()]
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    agent.proc.wait(60)
    agent.proc = None
    agent.logf.close()


def count_syncs(path, spool_dir):
    """({kind: calls}, seconds in them) from an strace -T log; kinds: segment, checkpoint (state),
    checkpoint tmp, directory, other."""
    counts = collections.Counter()
    seconds = 0.0
    call = re.compile(r"(fsync|fdatasync)\(\d+<([^>]*)>\).*<([0-9.]+)>\s*$")
    with open(path) as f:
        for line in f:
            m = call.search(line)
            if not m:
                continue
            name = m.group(2)
            if name.endswith(".tks"):
                kind = "segment"
            elif name.endswith("/state"):
                kind = "state"
            elif name.endswith("/state.tmp"):
                kind = "state.tmp"
            elif os.path.realpath(name) == os.path.realpath(spool_dir):
                kind = "spool dir"
            else:
                kind = "other"
            counts["%s %s" % (m.group(1), kind)] += 1
            seconds += float(m.group(3))
    return counts, seconds


def phase_syncs():
    fleet = Fleet(os.path.join(WORK, "agent-syncs"), 1, "syncs")
    try:
        agent = fleet.agents[0]
        rate = int(os.environ.get("SYNCS_RATE", "0"))
        count = rate * SECONDS if rate else LINES
        if rate:
            open(agent.inputs[0][1], "w").close()
        else:
            prefill(agent.inputs[0][1], agent.host, LINES)
        trace = os.path.join(fleet.work, "strace.txt")
        t0 = time.time()
        start_traced(agent, trace)
        if rate:
            Writer(agent.inputs[0][1], agent.host, count, rate=rate, make_line=padded_line).run()
        end = fleet.wait_stored(count + 1)
        stop_traced(agent)
        counts, seconds = count_syncs(trace, agent.spool_dir)
        batches = counts["fdatasync segment"]
        total = sum(counts.values())
        r = {"phase": "syncs", "events": count, "rate": rate, "elapsed_traced": end - t0, "batches": batches,
             "syncs": total, "syncs_per_batch": total / max(batches, 1), "by_file": dict(counts),
             "sync_seconds": seconds}
        log("syncs: 1 agent under strace, %d events %s in %.2fs: %d spool batches, %d syncs = %.2f per batch, "
            "%.2fs in them = %.1f ms per batch (%s)"
            % (count, "written at %d/s" % rate if rate else "waiting", end - t0, batches, total, r["syncs_per_batch"], seconds, 1000 * seconds / max(batches, 1),
               ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
        return r
    finally:
        if fleet.agents[0].proc is not None:
            stop_traced(fleet.agents[0])
        fleet.close()


def phase_spool():
    fleet = Fleet(os.path.join(WORK, "agent-spool"), 1, "spool")
    try:
        fleet.collector.stop()
        agent = fleet.agents[0]
        prefill(agent.inputs[0][1], agent.host, LINES)
        t0 = time.time()
        agent.start()
        deadline = t0 + 600
        while spooled(agent) < LINES + 1:
            if time.time() > deadline:
                raise RuntimeError("the agent did not spool %d events in 600s" % (LINES + 1))
            time.sleep(0.5)
        end = max(os.stat(p).st_mtime for p in spool_segments(agent.spool_dir))
        cpu = proc_cpu_seconds(agent.proc.pid)
        r = {"phase": "spool", "events": LINES, "elapsed": end - t0, "rate": LINES / (end - t0), "agent_cpu": cpu}
        log("spool: 1 agent spooled %d events in %.2fs = %.0f events/s (collector down); agent %.2f CPU-s"
            % (LINES, r["elapsed"], r["rate"], cpu))
        return r
    finally:
        fleet.close()


def phase_steady():
    fleet = Fleet(os.path.join(WORK, "agent-steady"), 1, "steady")
    try:
        agent = fleet.agents[0]
        open(agent.inputs[0][1], "w").close()
        agent.start()
        fleet.wait_stored(1)  # the inventory event: the agent is up and connected
        count = RATE * SECONDS
        writer = Writer(agent.inputs[0][1], agent.host, count, rate=RATE, make_line=padded_line)
        writer.start()
        warm = min(10, SECONDS // 3)
        time.sleep(warm)
        cpu0, t0, w0 = proc_cpu_seconds(agent.proc.pid), time.time(), writer.written
        writer.join()
        cpu1, t1, w1 = proc_cpu_seconds(agent.proc.pid), time.time(), writer.written
        fleet.wait_stored(count + 1)
        pid = agent.proc.pid
        r = {"phase": "steady", "target_rate": RATE, "rate": (w1 - w0) / (t1 - t0),
             "cpu_pct": 100.0 * (cpu1 - cpu0) / (t1 - t0), "rss_mib": proc_status_kib(pid, "VmRSS") / 1024.0,
             "hwm_mib": proc_status_kib(pid, "VmHWM") / 1024.0, "window": t1 - t0}
        log("steady: agent at %.0f lines/s over %.0fs: %.2f%% of one core, RSS %.1f MiB (peak %.1f MiB)"
            % (r["rate"], r["window"], r["cpu_pct"], r["rss_mib"], r["hwm_mib"]))
        return r
    finally:
        fleet.close()


def spooled(agent):
    try:
        return sum(len(read_records(p)) for p in spool_segments(agent.spool_dir))
    except FileNotFoundError:
        return 0


def drain_backlog(agents, lines, work=None, stall=60):
    """`agents` enrolled agents read `lines` lines each and spool them while the collector is
    down, and are stopped; the collector is started, then the agents, which send what they
    spooled: every event is signed, and the collector verifies the chain, commits with the WAL
    synced and acknowledges. The agents only read their spool and send, so the collector is the
    bottleneck. Rate = events stored / (agents started -> last WAL write); the collector's CPU is
    counted from the agents' start (its own start-up is left out). Counts come from /metrics."""
    fleet = Fleet(work or os.path.join(WORK, "agent-drain-%d" % agents), agents, "drain%d" % agents)
    try:
        fleet.collector.stop()  # the agents spool everything first
        for a in fleet.agents:
            prefill(a.inputs[0][1], a.host, lines)
            a.start()
        deadline = time.time() + 600
        while any(spooled(a) < lines + 1 for a in fleet.agents):
            if time.time() > deadline:
                raise RuntimeError("agents did not spool %d events in 600s" % (lines + 1))
            time.sleep(0.5)
        fleet.stop_agents()
        backlog = sum(spooled(a) for a in fleet.agents)
        fleet.counter.client.close()
        fleet.collector.start()
        fleet.counter = fleet.metrics_counter()
        cpid = fleet.collector.proc.pid
        before = fleet.counter.n
        cpu0 = proc_cpu_seconds(cpid)
        busy0 = bench.busy_cpu_seconds()
        t0 = time.time()
        for a in fleet.agents:
            a.start()
        # Each agent sends its spool and the inventory event it makes at every start.
        end = fleet.wait_stored(before + backlog + agents, stall)
        cpu = proc_cpu_seconds(cpid) - cpu0
        busy = bench.busy_cpu_seconds() - busy0
        events = fleet.counter.n - before
        elapsed = end - t0
        r = {"phase": "drain", "agents": agents, "events": events, "expected": backlog + agents,
             "elapsed": elapsed, "rate": events / elapsed, "collector_cpu": cpu,
             "hwm_mib": proc_status_kib(cpid, "VmHWM") / 1024.0, "agent_cpu": fleet.agent_figures()[0],
             "threads": bench.thread_cpu(cpid)[:6], "pid": cpid}
        # CPU that neither the collector nor the agents used while the clock ran: the noise.
        r["other_cpu"] = max(0.0, busy - cpu - r["agent_cpu"])
        r.update(fleet.counter.summary())
        log("drain %d agents: collector stored %d signed events from their spools in %.2fs = %.0f events/s "
            "(collector %.2f CPU-s = %.1f us/event: %s; agents %.2f CPU-s)"
            % (agents, events, elapsed, r["rate"], cpu, 1e6 * cpu / max(events, 1),
               bench.fmt_threads(r["threads"], cpid), r["agent_cpu"]))
        return r
    finally:
        fleet.close()


def phase_verify():
    agents = 4
    r = dict(drain_backlog(agents, LINES), phase="verify")
    run_dir = os.path.join(WORK, "agent-unsigned")
    shutil.rmtree(run_dir, ignore_errors=True)
    # bench.py's sealed collector on a certificate of its own, as in `make bench`.
    u = bench.one_run(bench.Trailkeepd(BUILD, bench.make_pki(WORK)), run_dir, LINES, agents, LINE_BYTES, 30)
    log("unsigned: loggen over 4 TLS connections, %d events stored in %.2fs = %.0f events/s (CPU %.2fs)"
        % (u["stored"], u["elapsed"], u["rate"], u["cpu"]))
    if not KEEP:
        shutil.rmtree(run_dir, ignore_errors=True)
    return [r, dict(u, phase="unsigned", threads=None)]


def main():
    os.makedirs(WORK, exist_ok=True)
    log("agent bench: LINES=%d per agent, %d-byte lines, RATE=%d, SECONDS=%d, build %s (%s)"
        % (LINES, LINE_BYTES, RATE, SECONDS, BUILD, bench.build_type(BUILD)))
    results = []
    if "e2e" in PHASES:
        results += [phase_e2e(1), phase_e2e(4)]
    elif "e2e1" in PHASES:
        results.append(phase_e2e(1))
    if "syncs" in PHASES:
        results.append(phase_syncs())
    if "spool" in PHASES:
        results.append(phase_spool())
    if "steady" in PHASES:
        results.append(phase_steady())
    if "verify" in PHASES:
        results += phase_verify()
    log("json: " + json.dumps(results))


if __name__ == "__main__":
    try:
        main()
    finally:
        bench.cleanup()
