#!/usr/bin/env python3
"""HTTPS API benchmark (issue: SIEM export, live tail): standard-library Python + curl + loggen.

    python3 tests/bench/api_bench.py BUILD_DIR        (make bench-api)

  1. Export throughput: EVENTS (1,000,000) RFC 5424 events of ~200 bytes are loaded with loggen
     over 4 TLS connections into a dev-mode trailkeepd; then curl pulls them all as NDJSON over
     HTTPS in pages of PAGE (10,000, the maximum) by cursor, one curl per page, one page after
     the other. Reported: events pulled, seconds, events/s, MB/s of NDJSON, and the collector's CPU
     per exported event (utime + stime from /proc/PID/stat across the export, over the events):
     on a shared machine that figure is steadier than events/s.
  2. Tail latency: one `curl -N /v1/tail` client follows the collector while a Python TLS sender
     writes TAIL_RATE (10,000) events/s for TAIL_SECONDS (20), in batches every 10 ms, each
     message carrying its send time (time.time_ns(), same machine). Latency = when the tail
     client's line was read - the send time. Reported: p50, p90, p99, max; events seen / sent.
  3. Collector RSS with SUBSCRIBERS (100) tail clients (curl -N, backlog 10) connected while
     1,000 events/s flow for 10 s: VmRSS before they connect and with them, and VmHWM.

Exits 1 when the export returns fewer events than were stored or the tail client misses one.
Every process it starts is stopped by PID.
"""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
BIN = os.path.join(BUILD, "bin")
SETTINGS = {name: int(os.environ.get(name, default)) for name, default in
            (("EVENTS", "1000000"), ("PAGE", "10000"), ("TAIL_RATE", "10000"), ("TAIL_SECONDS", "20"),
             ("SUBSCRIBERS", "100"))}
EVENTS, PAGE = SETTINGS["EVENTS"], SETTINGS["PAGE"]
TAIL_RATE, TAIL_SECONDS, SUBSCRIBERS = SETTINGS["TAIL_RATE"], SETTINGS["TAIL_SECONDS"], SETTINGS["SUBSCRIBERS"]

procs = []


def log(*a):
    print(*a, flush=True)


def spawn(args, **kw):
    p = subprocess.Popen(args, **kw)
    procs.append(p)
    return p


def stop(p, timeout=30):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def proc_cpu_seconds(pid):
    """utime + stime of the process so far, in seconds (/proc/PID/stat fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Collector:
    """A dev-mode trailkeepd on loopback ports chosen by the kernel."""

    def __init__(self, work):
        self.dev = os.path.join(work, "dev")
        self.logf = open(os.path.join(work, "trailkeepd.log"), "w")
        self.proc = spawn([os.path.join(BIN, "trailkeepd"), "--dev", self.dev, "--listen-syslog", "127.0.0.1:0",
                           "--listen-export", "127.0.0.1:0"], stdout=self.logf, stderr=subprocess.STDOUT)
        ports_file = os.path.join(self.dev, "data", "ports.json")
        deadline = time.time() + 30
        while True:
            try:
                with open(ports_file) as f:
                    ports = json.load(f)
                if ports.get("pid") == self.proc.pid:
                    break
            except (FileNotFoundError, ValueError):
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("trailkeepd did not start; see %s" % self.logf.name)
            time.sleep(0.1)
        self.syslog_port = int(ports["syslog"][0].rsplit(":", 1)[1])
        self.api = "https://127.0.0.1:%s" % ports["export"][0].rsplit(":", 1)[1]
        self.ca = os.path.join(self.dev, "pki", "ca.pem")
        with open(os.path.join(self.dev, "admin.token")) as f:
            self.token = f.read().strip()

    def curl(self, path, *extra):
        return ["curl", "-sS", "--http1.1", "--cacert", self.ca, "-H", "Authorization: Bearer " + self.token] + \
            list(extra) + [self.api + path]

    def stored(self):
        out = subprocess.run(self.curl("/v1/hosts"), capture_output=True, check=True).stdout
        return sum(h["events"] for h in json.loads(out) if h["last_transport"] != "self")

    def wait_stored(self, n):
        """Waits until n peer events are stored; fails when the count stops for a minute."""
        last, last_change = -1, time.time()
        while True:
            got = self.stored()
            if got >= n:
                return got
            if got != last:
                last, last_change = got, time.time()
            elif time.time() - last_change > 60:
                raise RuntimeError("only %d of %d events stored" % (got, n))
            time.sleep(1)


# --- 1. export throughput --------------------------------------------------------------------

def load(c, n):
    per = n // 4
    t0 = time.time()
    loggen = spawn(["loggen", "-U", "-P", "--size", "200", "--active-connections", "4", "-n", str(per), "-r",
                    "100000000", "-I", "3600", "127.0.0.1", str(c.syslog_port)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    loggen.wait()
    got = c.wait_stored(per * 4)
    log("load: %d events stored in %.1f s (loggen -U -P --size 200 --active-connections 4 -n %d)" %
        (got, time.time() - t0, per))
    return got


def export_all(c):
    """Pulls everything after cursor 0; returns (events, seconds, bytes, pages)."""
    cursor, events, nbytes, pages = 0, 0, 0, 0
    t0 = time.time()
    while True:
        body = subprocess.run(c.curl("/v1/events?format=ndjson&limit=%d&cursor=%d" % (PAGE, cursor)),
                              capture_output=True, check=True).stdout
        last_line = body.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        n = body.count(b"\n") - 1  # the last line is {"next_cursor": ...}
        events += n
        nbytes += len(body)
        pages += 1
        cursor = int(json.loads(last_line)["next_cursor"])
        if n < PAGE:
            return events, time.time() - t0, nbytes, pages


# --- 2. tail latency -------------------------------------------------------------------------

def tls_sender(c):
    ctx = ssl.create_default_context(cafile=c.ca)
    ctx.check_hostname = False
    ctx.load_cert_chain(os.path.join(c.dev, "pki", "client.pem"), os.path.join(c.dev, "pki", "client.key"))
    s = socket.create_connection(("127.0.0.1", c.syslog_port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ctx.wrap_socket(s, server_hostname="localhost")


def send_at_rate(c, rate, seconds, tag, sent):
    """rate events/s in batches every 10 ms; each message: "TAG N SEND_TIME_NS"."""
    s = tls_sender(c)
    per_tick = max(1, rate // 100)
    start = time.time()
    i = 0
    while time.time() - start < seconds:
        delay = start + (i // per_tick) * 0.01 - time.time()
        if delay > 0:
            time.sleep(delay)
        now = time.time_ns()
        batch = []
        for _ in range(per_tick):
            m = b"<134>1 - bench-%s app 1 - - %s %d %d" % (tag.encode(), tag.encode(), i, now)
            batch.append(b"%d %s" % (len(m), m))
            i += 1
        s.sendall(b"".join(batch))
    sent.append(i)
    s.close()


def tail_latency(c):
    # Buffered reads: readline() returns a line as soon as a read brings it in.
    tail = spawn(c.curl("/v1/tail?backlog=0&host=bench-lat", "-N"), stdout=subprocess.PIPE,
                 stderr=subprocess.DEVNULL)
    first = tail.stdout.readline()  # the first heartbeat: the subscription is live
    assert b"heartbeat" in first, first
    sent = []
    sender = threading.Thread(target=send_at_rate, args=(c, TAIL_RATE, TAIL_SECONDS, "lat", sent))
    sender.start()
    latencies, seen, deadline = [], set(), None
    while True:
        line = tail.stdout.readline()
        now = time.time_ns()
        if not line:
            break
        if b'"missed"' in line:
            log("tail: the client fell behind: %s" % line.decode().strip())
        elif b'"msg"' in line:
            _, n, sent_ns = json.loads(line)["msg"].split()
            seen.add(int(n))
            latencies.append((now - int(sent_ns)) / 1e6)
        if sent:
            deadline = deadline or time.time() + 30
            if len(seen) >= sent[0] or time.time() > deadline:
                break
    stop(tail)
    sender.join()
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))]
    return sent[0], len(seen), pct(0.5), pct(0.9), pct(0.99), latencies[-1]


# --- 3. RSS with many tail subscribers --------------------------------------------------------

def metric(c, name):
    text = subprocess.run(c.curl("/metrics"), capture_output=True, check=True).stdout.decode()
    return next(float(l.split()[1]) for l in text.splitlines() if l.startswith("trailkeep_%s " % name))


def rss_with_subscribers(c):
    """VmRSS (KiB) before, with the subscribers connected, after 10,000 events reached them; VmHWM;
    tail sessions; events the hub dropped for subscribers that fell behind."""
    before = proc_status(c.proc.pid, "VmRSS")
    missed_before = metric(c, "tail_missed_total")
    subs = [spawn(c.curl("/v1/tail?backlog=10", "-N"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(SUBSCRIBERS)]
    for _ in range(150):
        sessions = int(metric(c, "tail_sessions"))
        if sessions >= SUBSCRIBERS:
            break
        time.sleep(0.2)
    connected = proc_status(c.proc.pid, "VmRSS")
    send_at_rate(c, 1000, 10, "rss", [])
    time.sleep(2)
    after = proc_status(c.proc.pid, "VmRSS")
    hwm = proc_status(c.proc.pid, "VmHWM")
    missed = metric(c, "tail_missed_total") - missed_before
    for p in subs:
        stop(p)
    return before, connected, after, hwm, sessions, missed


def main():
    for tool in ("curl", "loggen"):
        if shutil.which(tool) is None:
            sys.exit("api_bench: %s is missing" % tool)
    work = tempfile.mkdtemp(prefix="tk-api-bench-", dir=os.environ.get("BENCH_DIR"))
    rc = 0
    try:
        c = Collector(work)
        log("api_bench: %s; %d CPUs; work %s" %
            (" ".join("%s=%d" % kv for kv in SETTINGS.items()), os.cpu_count(), work))
        loaded = load(c, EVENTS)
        cpu0 = proc_cpu_seconds(c.proc.pid)
        events, dt, nbytes, pages = export_all(c)
        cpu = proc_cpu_seconds(c.proc.pid) - cpu0
        log("export: %d events in %d pages (NDJSON over HTTPS, one curl per page) in %.2f s = %.0f events/s, "
            "%.1f MB/s; collector CPU %.2f s = %.2f us per event (%.0f events per CPU-second)" %
            (events, pages, dt, events / dt, nbytes / dt / 1e6, cpu, cpu / max(events, 1) * 1e6,
             events / max(cpu, 1e-9)))
        if events < loaded:
            log("export: FEWER events than stored (%d < %d)" % (events, loaded))
            rc = 1
        sent, seen, p50, p90, p99, worst = tail_latency(c)
        log("tail latency at %d events/s for %d s: %d sent, %d seen; p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, "
            "max %.1f ms" % (TAIL_RATE, TAIL_SECONDS, sent, seen, p50, p90, p99, worst))
        if seen < sent:
            rc = 1
        before, connected, after, hwm, sessions, missed = rss_with_subscribers(c)
        log("rss: %.0f MiB before; %.0f MiB with %d tail subscribers connected (%d tail sessions in /metrics); "
            "%.0f MiB after 10,000 events at 1,000/s reached them (%d events dropped for slow subscribers); "
            "VmHWM %.0f MiB" % (before / 1024, connected / 1024, SUBSCRIBERS, sessions, after / 1024, missed,
                                hwm / 1024))
    finally:
        for p in procs:
            stop(p)
        if os.environ.get("KEEP", "0") != "1":
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
