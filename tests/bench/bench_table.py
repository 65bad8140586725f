#!/usr/bin/env python3
"""One benchmark table: trailkeepd against syslog-ng and rsyslog on the same loads, in one run.

What `make bench` runs (through run.sh, in a private network namespace when root). Each load's
receivers run back to back, one at a time, so that they share the machine's state; then one
markdown table: per row the rate, the receiver's CPU per event, its peak RSS, for trailkeepd the
group commits' p50/p99 (GET /metrics, commit_duration_seconds), and each figure of a row as a
ratio to syslog-ng's on the same load in the same run. How to read it: tests/bench/README.md.

Loads (rows):
  loggen-4      loggen -U, 4 TLS connections, MESSAGES 200-byte RFC 5424 messages, unsigned
                (bench.one_run): trailkeepd (sealed, as deployed), syslog-ng, rsyslog.
  loggen-MANY   the same over MANY (1,000) TLS connections, MANY_MESSAGES in all.
  agents-4      4 verified agents drain a spooled backlog of AGENT_EVENTS signed events
                (agent_bench.drain_backlog); syslog-ng receives as many loggen messages over
                as many TLS connections.
  agents-64     64 agents, the same.
  idle          tests/bench/idle_bench.py BUILD, when that file exists (10,000 idle TLS
                connections): peak RSS in all and per connection.

Stored events are counted by the collector (its /metrics) or in the peers' output files; no
store is opened while a receiver runs.

Usage: bench_table.py BUILD_DIR     (make bench [QUICK=1])
Environment: QUICK=1 (small counts: under 2 minutes), MESSAGES, MANY, MANY_MESSAGES,
AGENT_EVENTS, AGENTS (4,64), IDLE (idle_bench.py's connections: 10000, QUICK 2000),
LOADS (which rows: loggen-4,loggen-many,agents,idle),
STALL_SECONDS (30), BENCH_DIR, KEEP. Exit status 1 when a run failed or lost messages.
Standard library only.
"""
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (the loggen runs and the receivers, /proc readers, /metrics)
import agent_bench  # noqa: E402  (the verified agents' drain; takes BUILD_DIR from argv as we do)
from bench import log  # noqa: E402

QUICK = os.environ.get("QUICK", "0") not in ("", "0")
MESSAGES = int(os.environ.get("MESSAGES", "40000" if QUICK else "1000000"))
MANY = int(os.environ.get("MANY", "1000"))
MANY_MESSAGES = int(os.environ.get("MANY_MESSAGES", str(MESSAGES)))
AGENT_EVENTS = int(os.environ.get("AGENT_EVENTS", "20000" if QUICK else "400000"))
AGENTS = [int(x) for x in os.environ.get("AGENTS", "4,64").split(",") if x.strip()]
LOADS = os.environ.get("LOADS", "loggen-4,loggen-many,agents,idle").split(",")
STALL = int(os.environ.get("STALL_SECONDS", "30"))
KEEP = os.environ.get("KEEP", "0") == "1"
SIZE = 200
PEERS = ["syslog-ng", "rsyslog"]


class Table:
    """The rows, in run order, and the syslog-ng run each row is compared with."""

    def __init__(self):
        self.rows = []
        self.failed = []

    def add(self, load, receiver, **figures):
        row = dict(load=load, receiver=receiver, **figures)
        self.rows.append(row)
        return row

    def reference(self, load):
        for r in self.rows:
            if r["load"] == load and r["receiver"] == "syslog-ng" and r.get("rate"):
                return r
        return None


def loggen_row(table, rcv, load, work, messages, conns, reuse=None):
    """One loggen run of `rcv` (bench.one_run); `reuse` maps (receiver, messages, conns) to a
    row already measured in this run with that load, which is repeated rather than re-run."""
    per_conn = messages // conns
    key = (rcv.name, per_conn * conns, conns)
    if reuse is not None and key in reuse:
        same = reuse[key]
        figures = {k: v for k, v in same.items() if k not in ("load", "receiver", "note")}
        return table.add(load, rcv.name, note="the %s run's figures" % same["load"], **figures)
    run_dir = os.path.join(work, "%s-%s" % (load, rcv.name))
    try:
        r = bench.one_run(rcv, run_dir, per_conn, conns, SIZE, STALL)
    except SystemExit as e:  # bench.die: the receiver did not come up or died
        if e.code and e.code >= 128:
            raise  # a signal: stop everything
        table.failed.append("%s %s" % (load, rcv.name))
        return table.add(load, rcv.name, note="failed (see the log above)")
    except (RuntimeError, OSError) as e:  # e.g. /metrics could not be read
        log("%s %s: failed: %s" % (load, rcv.name, e))
        bench.cleanup()
        table.failed.append("%s %s" % (load, rcv.name))
        return table.add(load, rcv.name, note="failed: %s" % e)
    finally:
        if not KEEP:
            shutil.rmtree(run_dir, ignore_errors=True)
    log("%-12s %-10s stored %d/%d in %.2fs = %.0f/s, CPU %.2fs under load, peak RSS %.1f MiB%s; loggen rc %s"
        % (load, rcv.name, r["stored"], r["expected"], r["elapsed"], r["rate"], r["load_cpu"], r["hwm_mib"],
           commit_note(r), r["loggen_rc"]))
    log("    threads: " + bench.fmt_threads(r["threads"], r["pid"]))
    if r["stored"] < r["expected"]:
        table.failed.append("%s %s stored %d of %d" % (load, rcv.name, r["stored"], r["expected"]))
    row = table.add(load, rcv.name, events=r["stored"], expected=r["expected"], conns=conns, rate=r["rate"],
                    cpu_us=1e6 * r["load_cpu"] / max(r["stored"], 1), rss_mib=r["hwm_mib"],
                    p50=r.get("commit_p50_ms"), p99=r.get("commit_p99_ms"), other_cpu=r["other_cpu"])
    if reuse is not None:
        reuse[key] = row
    return row


def commit_note(r):
    if r.get("commit_p50_ms") is None:
        return ""
    return ", %d group commits, p50 %.2f ms, p99 %.2f ms" % (r["commits"], r["commit_p50_ms"], r["commit_p99_ms"])


def agents_row(table, agents, work):
    load = "agents-%d" % agents
    lines = AGENT_EVENTS // agents
    try:
        r = agent_bench.drain_backlog(agents, lines, os.path.join(work, load), STALL)
    except (RuntimeError, OSError) as e:
        log("%s: failed: %s" % (load, e))
        table.failed.append(load)
        table.add(load, "trailkeepd", note="failed: %s" % e)
        return None
    if r["events"] < r["expected"]:
        table.failed.append("%s stored %d of %d" % (load, r["events"], r["expected"]))
    table.add(load, "trailkeepd", events=r["events"], expected=r["expected"], conns=agents, rate=r["rate"],
              cpu_us=1e6 * r["collector_cpu"] / max(r["events"], 1), rss_mib=r["hwm_mib"],
              p50=r.get("commit_p50_ms"), p99=r.get("commit_p99_ms"), other_cpu=r["other_cpu"],
              note="verified: mutual TLS, acks, HMAC chain, WAL synced")
    return lines * agents


def idle_row(table, build, work):
    script = os.path.join(HERE, "idle_bench.py")
    if not os.path.exists(script):
        return table.add("idle", "trailkeepd", note="not run (idle_bench.py missing)")
    out = os.path.join(work, "idle_bench.log")
    t0 = time.time()
    with open(out, "w") as f:
        rc = subprocess.run([sys.executable, script, build], stdout=f, stderr=subprocess.STDOUT,
                            env=dict(os.environ, BENCH_DIR=os.path.join(work, "idle"),
                                     IDLE=os.environ.get("IDLE", "2000" if QUICK else "10000"))).returncode
    text = bench.tail(out, 400)
    for line in text.splitlines():
        log("    idle: " + line)
    if rc != 0:
        table.failed.append("idle (exit %d)" % rc)
        return table.add("idle", "trailkeepd", note="idle_bench.py exited %d after %.0fs" % (rc, time.time() - t0))
    figures = {}
    for line in text.splitlines():
        if line.startswith("json:"):
            try:
                d = json.loads(line[5:])
            except ValueError:
                continue
            figures = d[0] if isinstance(d, list) and d else d if isinstance(d, dict) else {}
    if not figures:
        figures = idle_figures_from_text(text)
    rss = first(figures, "rss_mib", "total_rss_mib", "peak_rss_mib", "hwm_mib")
    conns = first(figures, "connections", "conns", "idle")
    per = first(figures, "per_connection_kib", "kib_per_connection")
    if per is None and rss is not None and conns:
        per = rss * 1024.0 / conns
    last = [x for x in text.splitlines() if x.strip()][-1:] or ["no output"]
    if rss is None:
        return table.add("idle", "trailkeepd", note="idle_bench.py: " + last[0])
    return table.add("idle", "trailkeepd", rss_mib=rss, conns=conns,
                     note="RSS with %s idle TLS connections open; %.1f KiB per connection (idle_bench.py)"
                     % (fmt_int(conns), per or 0.0))


def idle_figures_from_text(text):
    """idle_bench.py's figures from its log lines, when it prints no json: line:
    "idle: N stored, N open; RSS K KiB (M MiB), peak ..." and "idle: per connection K KiB ..."."""
    d = {}
    m = re.search(r"idle: (\d+) stored, (\d+) open; RSS (\d+) KiB", text)
    if m:
        d["connections"], d["rss_mib"] = int(m.group(2)), int(m.group(3)) / 1024.0
    m = re.search(r"idle: per connection ([\d.]+) KiB", text)
    if m:
        d["per_connection_kib"] = float(m.group(1))
    return d


def first(d, *keys):
    for k in keys:
        if d.get(k) is not None:
            return d[k]
    return None


# --- output ------------------------------------------------------------------------

def fmt_int(v):
    return "—" if v is None else "{:,}".format(int(v))


def fmt(v, spec):
    return "—" if v is None else spec % v


def ratio(a, b):
    return "—" if a is None or not b else "%.2f" % (a / b)


def print_table(table):
    log("| load | receiver | stored / sent | events/s | CPU µs/event | peak RSS MiB | commit p50 / p99 ms "
        "| ÷ syslog-ng: rate | CPU/event | RSS | other CPU s | note |")
    log("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in table.rows:
        ref = table.reference(r["load"]) if r["receiver"] != "syslog-ng" else None
        commit = "—" if r.get("p50") is None else "%.2f / %.2f" % (r["p50"], r["p99"])
        stored = "—" if r.get("events") is None else "%s / %s" % (fmt_int(r["events"]), fmt_int(r.get("expected")))
        log("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            load_name(r), r["receiver"], stored, fmt_int(r.get("rate")), fmt(r.get("cpu_us"), "%.1f"),
            fmt(r.get("rss_mib"), "%.1f"), commit,
            ratio(r.get("rate"), ref and ref["rate"]), ratio(r.get("cpu_us"), ref and ref["cpu_us"]),
            ratio(r.get("rss_mib"), ref and ref["rss_mib"]), fmt(r.get("other_cpu"), "%.1f"), r.get("note", "")))


def load_name(r):
    if r["load"].startswith("loggen-"):
        return "loggen, %s TLS conns" % fmt_int(r.get("conns") or r["load"].split("-")[1])
    if r["load"].startswith("agents-"):
        return "%s agents drain backlog" % r["load"].split("-")[1]
    return "idle TLS conns"


def targets(table):
    """Issue 17's targets, each met or not by this run's figures."""
    out = []

    def row(load, receiver="trailkeepd"):
        return next((r for r in table.rows if r["load"] == load and r["receiver"] == receiver and r.get("rate")), None)

    for load in ["loggen-4"] + ["agents-%d" % a for a in AGENTS]:
        r, ref = row(load), table.reference(load)
        if r and ref:
            c, q = r["cpu_us"] / ref["cpu_us"], r["rate"] / ref["rate"]
            out.append("%s: CPU/event %.2f× syslog-ng (target ≤ 0.67: %s), rate %.2f× (target ≥ 1: %s)"
                       % (load, c, met(c <= 0.67), q, met(q >= 1.0)))
    many, four = row("loggen-%d" % MANY), row("loggen-4")
    if many and four:
        q = many["rate"] / four["rate"]
        out.append("loggen at %s connections: %.2f× the 4-connection rate (target ≥ 0.80: %s)"
                   % (fmt_int(MANY), q, met(q >= 0.8)))
    if four:
        out.append("peak RSS, loggen-4 (%s messages): %.1f MiB (target ≤ 64 MiB for 1,000,000: %s)"
                   % (fmt_int(four["events"]), four["rss_mib"], met(four["rss_mib"] <= 64)))
    idle = next((r for r in table.rows if r["load"] == "idle" and r.get("rss_mib") is not None), None)
    if idle:
        conns = idle.get("conns") or 0
        if conns >= 10000:
            out.append("idle: %.1f MiB with %s connections (target < 256 MiB for 10,000: %s)"
                       % (idle["rss_mib"], fmt_int(conns), met(idle["rss_mib"] < 256)))
        else:
            out.append("idle: %.1f MiB with %s connections (the target is for 10,000: not judged)"
                       % (idle["rss_mib"], fmt_int(conns)))
    return out


def met(ok):
    return "met" if ok else "NOT met"


def git_commit():
    try:
        sha = subprocess.run(["git", "-C", HERE, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             timeout=10).stdout.decode().strip()
        dirty = subprocess.run(["git", "-C", HERE, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, timeout=10).stdout.strip()
        return sha + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def loads_avg():
    return " ".join("%.2f" % x for x in os.getloadavg())


def main():
    build = os.path.abspath(sys.argv[1])
    bench.raise_nofile()
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, bench.on_signal)
    base = os.environ.get("BENCH_DIR", os.path.join(build, "bench-work"))
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="table-", dir=base)
    started = time.time()
    command = "make bench%s" % (" QUICK=1" if QUICK else "")
    log("bench: %s; %s UTC; commit %s; build type %s" % (command, time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                                                        git_commit(), bench.build_type(build)))
    log("bench: machine %s, %d CPUs (%s), kernel %s; load average %s at the start; %s"
        % (platform.node(), os.cpu_count(), bench.cpu_model(), platform.release(), loads_avg(),
           os.environ.get("BENCH_NETNS_NOTE", "shared network namespace")))
    log("bench: loggen %s messages over 4 and %s over %s TLS connections; agents %s drain %s events each row; "
        "syslog-ng %s; rsyslog %s" % (fmt_int(MESSAGES), fmt_int(MANY_MESSAGES), fmt_int(MANY),
                                      ",".join(map(str, AGENTS)), fmt_int(AGENT_EVENTS),
                                      bench.tool_version(["/usr/sbin/syslog-ng", "-V"]),
                                      bench.tool_version([os.path.join(build, "peers/rsyslog/usr/sbin/rsyslogd"), "-v"]).split(" compiled")[0]))
    pki = bench.make_pki(work)
    trailkeepd = bench.Trailkeepd(build, pki)
    peers = {"syslog-ng": bench.SyslogNg(build, pki), "rsyslog": bench.Rsyslog(build, pki)}
    table = Table()
    reuse = {}
    try:
        if "loggen-4" in LOADS:
            for rcv in [trailkeepd] + [peers[p] for p in PEERS]:
                loggen_row(table, rcv, "loggen-4", work, MESSAGES, 4, reuse)
        if "loggen-many" in LOADS:
            for rcv in [trailkeepd] + [peers[p] for p in PEERS]:
                loggen_row(table, rcv, "loggen-%d" % MANY, work, MANY_MESSAGES, MANY, reuse)
        if "agents" in LOADS:
            for agents in AGENTS:
                events = agents_row(table, agents, work)
                if events:
                    loggen_row(table, peers["syslog-ng"], "agents-%d" % agents, work, events, agents, reuse)
        if "idle" in LOADS:
            idle_row(table, build, work)
    finally:
        bench.cleanup()
        if not KEEP:
            shutil.rmtree(work, ignore_errors=True)
            try:
                os.rmdir(base)
            except OSError:
                pass
    log("")
    log("%s — %s UTC, commit %s, %s (%d CPUs), load average %s at the end, %.0f s"
        % (command, time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)), git_commit(), bench.cpu_model(),
           os.cpu_count(), loads_avg(), time.time() - started))
    log("")
    print_table(table)
    log("")
    for line in targets(table):
        log("- " + line)
    log("")
    log("json: " + json.dumps({"quick": QUICK, "rows": table.rows, "failed": table.failed}))
    if KEEP:
        log("bench: kept %s" % work)
    if table.failed:
        log("bench: failed or lost messages: " + "; ".join(table.failed))
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: bench_table.py BUILD_DIR", file=sys.stderr)
        sys.exit(2)
    try:
        sys.exit(main())
    finally:
        bench.cleanup()
