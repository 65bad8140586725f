#!/usr/bin/env python3
"""Instructions per event on the ingest, agent and port-60 paths, counted by
callgrind: a figure that does not depend on the machine's load, so a change
can be compared with its base on a busy two-core machine (issue "One ingest
spine": within 3 % on the ingest and agent paths).

Each measurement runs one process under `valgrind --tool=callgrind
--instr-atstart=no` and its peers natively, on loopback (port 0 listeners,
addresses from ports.json):

  ingest/collector  trailkeepd under callgrind; loggen sends EVENTS unsigned
                    RFC 5424 messages of 200 bytes over CONNECTIONS TLS
                    connections (RFC 5425, octet-counted), as `make bench`.
  agent/collector   trailkeepd under callgrind; one native `trailkeep
                    forward` delivers EVENTS chained events (mutual TLS,
                    trailkeep/1 acks, HMAC chain verified, WAL synced).
  agent/agent       the same, the agent under callgrind, the collector native.
  port60/collector  trailkeepd under callgrind; one audisp-remote (Debian's,
                    managed format: one record, then its ack) sends
                    PORT60_RECORDS audit records to the port-60 listener.
                    Each record is stored, and so is the audit event grouped
                    from it: the figure is per record.
  tunnel/collector  the same records from an audisp-remote on the "node", a
                    private OpenSSH sshd that trailkeepd's [[tunnel]] (libssh2)
                    asked for a remote listener (tunnel_test.py's sshd).

Window. The process starts with instrumentation off. When it is up and its
peers are connected (agent, audisp-remote) and it has gone idle,
`callgrind_control -i on` opens the window; the load is sent; the window is
closed (`-i off`) when the sender is done and the measured process has been
idle (no runnable thread, no CPU) for IDLE_SECONDS. Only then is /metrics read
(so the scrape is not counted) to check that every event was stored: the
count is the collector's own `trailkeep_source_events_total` for the sending
host, before and after. A short count reopens the window and is reported.

Per event. Each path runs once with a base load of the same shape (ingest:
one message per connection, so the same handshakes; agent: no lines; port 60
and tunnel: no records) and REPEAT times with the full load. Instructions per
event = (Ir(full) - Ir(base)) / (events(full) - events(base)): handshakes and
the window's idle timers cancel out (start-up and shutdown are outside it).
The table gives the median over the full runs, each run, and the collector's
commits and refused offers (back-pressure: a refused batch is parsed again)
over each full window, which explain most of the difference between two runs.

Instruction counts are valgrind's synthetic CPU (no AVX-512, so OpenSSL takes
its AVX2 paths): compare figures from this script with each other only.

Usage: callgrind_paths.py BUILD_DIR [--json] [--paths=ingest,agent,agent-self,port60,tunnel]
       (or: make bench-callgrind [CALLGRIND_ARGS="--json --paths=ingest"])
Environment: EVENTS=20000, CONNECTIONS=4, PORT60_RECORDS=2000, REPEAT (full
             runs of every path; default 3 for ingest, 1 for the others),
             IDLE_SECONDS=2, BENCH_DIR=BUILD/callgrind-work, KEEP=0 (1 keeps
             each run's folder with its callgrind.out.* for callgrind_annotate).
Needs valgrind, loggen; port 60 and tunnel need root (audisp-remote reads a
fixed config path, bind-mounted in a private mount namespace; sshd).
Standard library only.
"""
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import bench  # noqa: E402  (spawn/stop/cleanup of child processes by PID, /proc readers)
from bench import log, proc_cpu_seconds, wait_until  # noqa: E402

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
if len(ARGS) != 1:
    print(__doc__.split("\n\n", 1)[0] + "\n\nusage: callgrind_paths.py BUILD_DIR [--json] [--paths LIST]",
          file=sys.stderr)
    sys.exit(2)
BUILD = os.path.abspath(ARGS[0])
BIN = os.path.join(BUILD, "bin")
JSON_OUT = "--json" in sys.argv
PATHS = ["ingest", "agent", "agent-self", "port60", "tunnel"]
for a in sys.argv[1:]:
    if a.startswith("--paths="):
        PATHS = a.split("=", 1)[1].split(",")

EVENTS = int(os.environ.get("EVENTS", "20000"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "4"))
PORT60_RECORDS = int(os.environ.get("PORT60_RECORDS", "2000"))
IDLE_SECONDS = float(os.environ.get("IDLE_SECONDS", "2"))
# Full runs per path: the ingest path varies most (1-2 %: how the four connections' records fall
# into reads and group commits), so it takes the median of three by default.
REPEAT = {p: int(os.environ.get("REPEAT", "3" if p == "ingest" else "1"))
          for p in ("ingest", "agent", "agent-self", "port60", "tunnel")}
WORK = os.path.abspath(os.environ.get("BENCH_DIR", os.path.join(BUILD, "callgrind-work")))
KEEP = os.environ.get("KEEP", "0") == "1"
LINE_BYTES = 200
AGENT_HOST = "cg-agent.bench"
AUDISP_REMOTE = "/usr/sbin/audisp-remote"
PORT60_STORED_PER_RECORD = 2  # each record is stored, and so is the audit event grouped from it


# --- processes -----------------------------------------------------------------

def runnable_threads(pid):
    """Threads of pid in state R (running or waiting for a CPU)."""
    n = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "R":
                    n += 1
        except FileNotFoundError:
            pass
    return n


def wait_idle(pid, seconds=None, timeout=3600):
    """Blocks until pid has had no runnable thread and used (almost) no CPU for
    `seconds`. Runnable counts as busy, so a process starved by a loaded machine
    is not taken for an idle one."""
    seconds = IDLE_SECONDS if seconds is None else seconds
    deadline = time.time() + timeout
    quiet_since, cpu0 = time.time(), proc_cpu_seconds(pid)
    while time.time() < deadline:
        time.sleep(0.1)
        cpu = proc_cpu_seconds(pid)
        if runnable_threads(pid) or cpu - cpu0 > 0.02 * (time.time() - quiet_since + 0.1):
            quiet_since, cpu0 = time.time(), cpu
        elif time.time() - quiet_since >= seconds:
            return
    raise RuntimeError("pid %d did not go idle in %ds" % (pid, timeout))


class Callgrind:
    """A command under `valgrind --tool=callgrind --instr-atstart=no`; the window is
    opened and closed with callgrind_control; `stop()` returns the window's Ir."""

    def __init__(self, args, workdir, name):
        self.out = os.path.join(workdir, "callgrind.out.%s" % name)
        self.log_path = os.path.join(workdir, "%s.log" % name)
        self.proc = bench.spawn(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                                 "--callgrind-out-file=" + self.out] + args, self.log_path)
        self.pid = self.proc.pid  # valgrind runs the program in its own process

    def instrument(self, on):
        r = subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(self.pid)],
                           capture_output=True, timeout=120)
        if r.returncode != 0 or b"OK" not in r.stdout:
            raise RuntimeError("callgrind_control -i %s %d: %s%s" % ("on" if on else "off", self.pid,
                                                                    r.stdout.decode(), r.stderr.decode()))

    def stop(self):
        rc = bench.stop(self.proc, timeout=600)
        if rc != 0:
            raise RuntimeError("%s exited with %s; see %s" % (self.out, rc, self.log_path))
        with open(self.out) as f:
            for line in f:
                if line.startswith("totals:"):
                    return int(line.split()[1])
        raise RuntimeError("no totals in " + self.out)


class Native:
    def __init__(self, args, workdir, name):
        self.log_path = os.path.join(workdir, "%s.log" % name)
        self.proc = bench.spawn(args, self.log_path)
        self.pid = self.proc.pid

    def stop(self):
        return bench.stop(self.proc, timeout=120)


# --- the collector -------------------------------------------------------------

def make_template():
    """A dev folder (PKI, admin token, store) and an enrolled agent, made natively
    once: each run starts from a copy, so no run pays for key generation."""
    tpl = os.path.join(WORK, "template")
    shutil.rmtree(tpl, ignore_errors=True)
    os.makedirs(tpl)
    c = Collector(tpl, valgrind=False)
    c.start()
    c.stop()
    r = subprocess.run([os.path.join(BIN, "trailkeepd"), "enroll", AGENT_HOST, "--dev", os.path.join(tpl, "dev"),
                        "--out", os.path.join(tpl, "enroll")], capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("enroll failed: " + r.stderr.decode(errors="replace"))
    return tpl


class Collector:
    """trailkeepd on loopback, port 0 listeners, natively or under callgrind: --dev, or
    with `tunnels` ([[tunnel]] tables) a config file over the same dev PKI, store and token."""

    def __init__(self, workdir, valgrind, template=None, tunnels=None):
        self.workdir = workdir
        self.dev = os.path.join(workdir, "dev")
        if template:
            shutil.copytree(os.path.join(template, "dev"), self.dev)
            shutil.copytree(os.path.join(template, "enroll"), os.path.join(workdir, "enroll"))
        self.valgrind = valgrind
        self.tunnels = tunnels
        self.p = None

    def mode_args(self):
        if self.tunnels is None:
            return ["--dev", self.dev]
        pki = os.path.join(self.dev, "pki")
        cfg = os.path.join(self.workdir, "trailkeepd.toml")
        with open(cfg, "w") as f:
            f.write('data_dir = "%s"\n\n[[listen.syslog]]\naddress = "127.0.0.1:0"\n\n[tls]\ncert_file = "%s"\n'
                    'key_file = "%s"\nca_file = "%s"\nclient_auth = "optional"\n\n[export]\ntoken_file = "%s"\n%s'
                    % (os.path.join(self.dev, "data"), os.path.join(pki, "server.pem"), os.path.join(pki, "server.key"),
                       os.path.join(pki, "ca.pem"), os.path.join(self.dev, "export-tokens"), self.tunnels))
        return ["--config", cfg]

    def start(self):
        ports = os.path.join(self.dev, "data", "ports.json")
        if os.path.exists(ports):
            os.unlink(ports)
        args = [os.path.join(BIN, "trailkeepd")] + self.mode_args() + ["--listen-syslog", "127.0.0.1:0",
                                                                        "--listen-export", "127.0.0.1:0",
                                                                        "--listen-audit", "127.0.0.1:0"]
        self.p = (Callgrind if self.valgrind else Native)(args, self.workdir, "trailkeepd")

        def up():
            if self.p.proc.poll() is not None:
                raise RuntimeError("trailkeepd exited with %s: %s" % (self.p.proc.returncode,
                                                                      bench.tail(self.p.log_path)))
            try:
                with open(ports) as f:
                    info = json.load(f)
                return info if info.get("pid") == self.pid else None
            except (FileNotFoundError, ValueError):
                return None
        info = wait_until(up, 300, "trailkeepd's ports.json")
        self.syslog = info["syslog"][0]
        self.export = info["export"][0]
        self.audit = info["audit"][0]
        with open(os.path.join(self.dev, "admin.token")) as f:
            self.token = f.read().strip()
        return self

    @property
    def pid(self):
        return self.p.pid

    def metrics(self):
        """{(name, labels): value} from GET /metrics."""
        client = bench.MetricsClient(self.export, self.token, os.path.join(self.dev, "pki", "ca.pem"))
        try:
            return client.scrape()
        finally:
            client.close()

    def stored(self, host=None, metrics=None):
        """trailkeep_source_events_total of `host`, or summed over every host but the collector's own."""
        return bench.stored_events(metrics or self.metrics(), host)

    def stop(self):
        return self.p.stop()


# Counters that explain a difference between two runs of the same path: how the
# events were grouped into commits, and how often back-pressure made a batch wait
# (a refused batch is parsed again). Absent counters are reported as None.
DIAGNOSTICS = {"commits": "trailkeep_commits_total", "refused_offers": "trailkeep_commit_offers_refused_total"}


def diagnostics(before, after):
    return {k: (int(after[(m, "")] - before[(m, "")]) if (m, "") in before and (m, "") in after else None)
            for k, m in DIAGNOSTICS.items()}


# --- the load ---------------------------------------------------------------------

def padded_line(n):
    head = "Dec  5 12:00:00 %s myapp[4242]: line %07d " % (AGENT_HOST, n)
    return head + "x" * (LINE_BYTES - 1 - len(head)) + "\n"


def agent_config(workdir, collector):
    bundle = os.path.join(collector.workdir, "enroll")
    passwd, group = os.path.join(workdir, "passwd"), os.path.join(workdir, "group")
    with open(passwd, "w") as f:
        f.write("root:x:0:0:root:/root:/bin/bash\n")
    with open(group, "w") as f:
        f.write("root:x:0:\n")
    path = os.path.join(workdir, "agent.toml")
    with open(path, "w") as f:  # the shipped defaults otherwise (heartbeat 10 s, poll 200 ms)
        f.write('[agent]\nhost = "%s"\nspool_dir = "%s"\nhmac_key_file = "%s"\nidentity_files = ["%s", "%s"]\n\n'
                '[collector]\naddress = "%s"\nserver_name = "localhost"\nca_file = "%s"\ncert_file = "%s"\n'
                'key_file = "%s"\n\n[[input]]\nname = "app"\npath = "%s"\nstart = "beginning"\n'
                % (AGENT_HOST, os.path.join(workdir, "spool"), os.path.join(bundle, "hmac.key"), passwd, group,
                   collector.syslog, os.path.join(bundle, "ca.pem"), os.path.join(bundle, "agent.pem"),
                   os.path.join(bundle, "agent.key"), os.path.join(workdir, "app.log")))
    open(os.path.join(workdir, "app.log"), "w").close()
    return path


def audit_record(i):
    """A ~230-byte SYSCALL record with its own serial (one audit event each)."""
    return ("type=SYSCALL msg=audit(1700000000.%03d:%d): arch=c000003e syscall=59 success=yes exit=0 "
            "a0=55d0 items=2 ppid=1 pid=%d auid=1000 uid=0 comm=\"sudo\" exe=\"/usr/bin/sudo\" "
            "key=\"cg-%06d\"\n" % (i % 1000, 1000 + i, 4000 + i, i)).encode()


def audisp_remote(workdir, address, records):
    host, port = address.rsplit(":", 1)
    conf = os.path.join(workdir, "audisp-remote.conf")
    with open(conf, "w") as f:
        f.write("remote_server = %s\nport = %s\nformat = managed\nmode = immediate\nheartbeat_timeout = 0\n"
                "network_failure_action = syslog\nqueue_depth = %d\n" % (host, port, records + 100))
    os.chmod(conf, 0o640)
    err = open(os.path.join(workdir, "audisp-remote.err"), "ab")
    p = subprocess.Popen(["unshare", "-m", "sh", "-c", "mount --bind %s /etc/audit/audisp-remote.conf && exec %s"
                          % (conf, AUDISP_REMOTE)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
                         start_new_session=True,
                         restore_signals=False)  # SIGPIPE ignored, as under auditd
    err.close()
    bench.CHILDREN.append(p)
    return p


# --- one measurement ------------------------------------------------------------------

def measure(path, events, run_dir, template):
    """One window on `path` with `events` events: {ir (of the window), events (stored), reopened (times
    the window was closed too early), commits, refused_offers (collector counters over the window)}."""
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    node = tunnels = None
    if path == "tunnel":
        from tunnel_test import Sshd, tunnel_table  # a private sshd (root), the [[tunnel]] table of the tests
        node = Sshd().start()
        rport = bench.free_port()
        # No forward_to (channels go to the port-60 listener); the shipped keepalive and liveness.
        tunnels = re.sub(r'(forward_to = ""|keepalive_seconds = \d+|liveness_seconds = \d+)\n', "",
                         tunnel_table("cg-node", node, rport, ""))
    collector = Collector(run_dir, valgrind=(path != "agent-self"), template=template, tunnels=tunnels).start()
    agent = sender = None
    host = AGENT_HOST if path.startswith("agent") else None
    measured = collector.p
    try:
        if path.startswith("agent"):
            cfg = agent_config(run_dir, collector)
            args = [os.path.join(BIN, "trailkeep"), "forward", "--config", cfg]
            agent = Callgrind(args, run_dir, "agent") if path == "agent-self" else Native(args, run_dir, "agent")
            if path == "agent-self":
                measured = agent
            # Connected, inventory event stored: the hello and the handshake are outside the window.
            wait_until(lambda: collector.stored(AGENT_HOST) >= 1, 600, "the agent's inventory event")
        elif path in ("port60", "tunnel"):
            address = collector.audit
            if path == "tunnel":
                wait_until(lambda: bench.listening(rport), 600, "the tunnel's remote listener on the node")
                address = "127.0.0.1:%d" % rport
            sender = audisp_remote(run_dir, address, events + 1)
            sender.stdin.write(audit_record(0))  # it connects on its first record: outside the window
            sender.stdin.flush()
            # The record and the audit event grouped from it (port 60 stores both).
            wait_until(lambda: collector.stored() >= PORT60_STORED_PER_RECORD, 600, "audisp-remote's first record")
        wait_idle(collector.pid)
        m0 = collector.metrics()
        before = collector.stored(host, m0)
        measured.instrument(True)
        if path == "ingest":
            per_conn = events // CONNECTIONS
            sender = bench.spawn(["loggen", "-U", "-P", "--size", str(LINE_BYTES), "--active-connections",
                                  str(CONNECTIONS), "-n", str(per_conn), "-r", "100000000", "-I", "3600",
                                  "127.0.0.1", collector.syslog.rsplit(":", 1)[1]], os.path.join(run_dir, "loggen.log"))
            events = per_conn * CONNECTIONS
            rc = sender.wait()
            bench.CHILDREN.remove(sender)
            if rc != 0:
                raise RuntimeError("loggen exited with %d: %s" % (rc, bench.tail(os.path.join(run_dir, "loggen.log"))))
        elif path.startswith("agent"):
            with open(os.path.join(run_dir, "app.log"), "a") as f:
                f.write("".join(padded_line(i) for i in range(events)))
        else:
            sender.stdin.write(b"".join(audit_record(i + 1) for i in range(events)))
            sender.stdin.close()
            rc = sender.wait(3600)
            bench.CHILDREN.remove(sender)
            if rc != 0:
                raise RuntimeError("audisp-remote exited with %d" % rc)
        per_unit = PORT60_STORED_PER_RECORD if path in ("port60", "tunnel") else 1
        expected = events * per_unit
        reopened = 0
        while True:
            if path == "agent-self":  # the collector is native: ask it while the window is open
                wait_until(lambda: collector.stored(host) - before >= expected, 3600, "%d events stored" % expected)
            wait_idle(measured.pid)
            if path == "agent-self":
                wait_idle(collector.pid)
                wait_idle(measured.pid)  # the last acks
            measured.instrument(False)
            m1 = collector.metrics()
            stored = collector.stored(host, m1) - before
            if stored >= expected:
                break
            reopened += 1
            log("callgrind: %s: %d of %d stored when the window closed; reopening it" % (path, stored, expected))
            measured.instrument(True)
        if agent is not None:
            if path == "agent-self":
                ir = agent.stop()
                collector.stop()
            else:
                agent.stop()
                ir = collector.stop()
        else:
            ir = collector.stop()
        return dict(ir=ir, events=stored // per_unit, reopened=reopened, **diagnostics(m0, m1))
    finally:
        bench.cleanup()  # on an error: whatever is still running, by PID
        if node is not None:
            node.kill()


LABELS = {
    "ingest": ("ingest: loggen, unsigned RFC 5425 over TLS", "trailkeepd"),
    "agent": ("agent: trailkeep forward, chained, acked", "trailkeepd"),
    "agent-self": ("agent: trailkeep forward, chained, acked", "trailkeep forward"),
    "port60": ("port 60: audisp-remote, one record per ack", "trailkeepd"),
    "tunnel": ("port 60 through a libssh2 tunnel: audisp-remote on the node", "trailkeepd"),
}


def base_events(path):
    return CONNECTIONS if path == "ingest" else 0


def main():
    signal.signal(signal.SIGTERM, bench.on_signal)
    signal.signal(signal.SIGINT, bench.on_signal)
    os.makedirs(WORK, exist_ok=True)
    for tool in ("valgrind", "callgrind_control", "loggen"):
        if shutil.which(tool) is None:
            bench.die("%s is not installed" % tool)
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    log("callgrind: build %s (%s), commit %s, EVENTS=%d over %d connections, PORT60_RECORDS=%d"
        % (BUILD, bench.build_type(BUILD), commit, EVENTS, CONNECTIONS, PORT60_RECORDS))
    template = make_template()
    results = []
    for path in PATHS:
        full = PORT60_RECORDS if path in ("port60", "tunnel") else EVENTS
        row = {"path": path, "measured": LABELS[path][1], "runs": []}
        for i, (kind, n) in enumerate([("base", base_events(path))] + [("full", full)] * REPEAT[path]):
            t0 = time.time()
            r = measure(path, n, os.path.join(WORK, "%s-%s-%d" % (path, kind, i)), template)
            log("callgrind: %-10s %-4s %6d events stored, window Ir %d, %s commits, %s refused offers%s (%.0fs)"
                % (path, kind, r["events"], r["ir"], r["commits"], r["refused_offers"],
                   ", window reopened %d times" % r["reopened"] if r["reopened"] else "", time.time() - t0))
            if kind == "base":
                row["base"] = r
            else:
                r["ir_per_event"] = (r["ir"] - row["base"]["ir"]) / float(r["events"] - row["base"]["events"])
                row["runs"].append(r)
        row["ir_per_event"] = statistics.median(r["ir_per_event"] for r in row["runs"])
        results.append(row)
    if not KEEP:
        shutil.rmtree(WORK, ignore_errors=True)
    log("")
    log("Instructions (callgrind Ir) per event, window minus base window; build %s, commit %s" % (BUILD, commit))
    log("")
    log("| path | measured process | events | Ir per event | each run | commits, refused offers (full run) |")
    log("|---|---|---|---|---|---|")
    for row in results:
        log("| %s | %s | %d | **%.0f** | %s | %s |" % (
            LABELS[row["path"]][0], row["measured"], row["runs"][0]["events"], row["ir_per_event"],
            ", ".join("%.0f" % r["ir_per_event"] for r in row["runs"]),
            "; ".join("%s, %s" % (r["commits"], r["refused_offers"]) for r in row["runs"])))
    if JSON_OUT:
        print(json.dumps({"commit": commit, "build": BUILD, "events": EVENTS, "connections": CONNECTIONS,
                          "port60_records": PORT60_RECORDS, "repeat": REPEAT, "results": results}))


if __name__ == "__main__":
    try:
        main()
    finally:
        bench.cleanup()
        if "harness" in sys.modules:  # imported with tunnel_test: its temp folder (sshd's keys)
            shutil.rmtree(sys.modules["harness"].RUN_DIR, ignore_errors=True)
