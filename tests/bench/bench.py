#!/usr/bin/env python3
"""Throughput benchmark: trailkeepd against rsyslog and syslog-ng on one machine.

For each receiver, one at a time: start it on loopback with TLS, blast
MESSAGES RFC 5424 messages of ~200 bytes with loggen over CONNECTIONS TLS
connections, wait until the receiver has STORED them all (or stops making
progress), read its CPU time and peak RSS from /proc, stop it by PID.
Receivers are interleaved within each round and the order rotates between
rounds. Prints one line per run and a markdown table of medians at the end.

Usage: bench.py BUILD_DIR   (run through tests/bench/run.sh)

Environment:
  MESSAGES=1000000    total messages per run (split evenly over the connections)
  CONNECTIONS=4       TLS connections (loggen --active-connections; -n counts per connection)
  SIZE=200            loggen --size
  REPEAT=1            rounds; each round runs every receiver once
  RECEIVERS=trailkeepd,rsyslog,syslog-ng   which receivers, in first-round order
  BENCH_DIR=BUILD/bench-work   scratch folder (on a real disk: fsync must cost what it costs)
  STALL_SECONDS=30    give up on a receiver when its stored count stops growing this long
  KEEP=0              1 keeps the scratch folders of every run
  BENCH_NETNS=1       run.sh runs this in a private network namespace (root), so
                      TCPAbortOnClose counts only this benchmark's connections

Standard library only.
"""
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import resource
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_NOTE = "elapsed = first loggen start to the last stored message (store mtime when the count completed)"

CHILDREN = []  # Popen objects we started; killed by PID on any exit


def log(*args):
    print(*args, flush=True)


def die(msg):
    log("bench: ERROR: " + msg)
    sys.exit(1)


# --- process helpers ---------------------------------------------------------

def spawn(args, logfile, env=None):
    f = open(logfile, "ab")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, env=env,
                         start_new_session=True)  # Ctrl-C reaches us, not them: we stop them in order
    f.close()
    CHILDREN.append(p)
    return p


def stop(p, timeout=30):
    """SIGTERM by PID, wait, SIGKILL if needed. Returns the exit code."""
    if p is None:
        return None
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            log("bench: pid %d ignored SIGTERM for %ds, killing it" % (p.pid, timeout))
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
    if p in CHILDREN:
        CHILDREN.remove(p)
    return p.returncode


def cleanup():
    for p in list(CHILDREN):
        try:
            stop(p, timeout=10)
        except Exception as e:  # noqa: BLE001 - best effort on the way out
            log("bench: could not stop pid %d: %s" % (p.pid, e))


def on_signal(signum, _frame):
    log("bench: signal %d, stopping everything we started" % signum)
    cleanup()
    sys.exit(128 + signum)


def reap(p, timeout):
    """Waits for child p (SIGTERM, then SIGKILL after timeout); returns (exit code, CPU seconds)."""
    deadline = time.time() + timeout
    sig = signal.SIGTERM
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            if p in CHILDREN:
                CHILDREN.remove(p)
            return p.returncode, ru.ru_utime + ru.ru_stime
        if time.time() > deadline:
            log("bench: pid %d still running after %ds, sending signal %d" % (p.pid, timeout, sig))
            os.kill(p.pid, sig)
            deadline = time.time() + 10
            sig = signal.SIGKILL
        time.sleep(0.05)


def wait_until(predicate, timeout, what):
    """Polls predicate() until it returns something true, which is returned."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError("timed out after %ss waiting for %s" % (timeout, what))


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def thread_cpu(pid):
    """[(cpu_seconds, tid, comm)] of every thread, busiest first."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw.rsplit(")", 1)[1].split()
        out.append(((int(fields[11]) + int(fields[12])) / CLK_TCK, int(tid), comm))
    return sorted(out, reverse=True)


def abort_on_close():
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            d = dict(zip(names.split()[1:], values.split()[1:]))
            return int(d.get("TCPAbortOnClose", 0))
    return 0


def busy_cpu_seconds():
    """CPU seconds all processes on the machine have used (user + nice + system, all cores).

    irq and softirq time is left out: loopback TCP is processed there, and the kernel
    charges it to no process, so it would count this benchmark's own traffic as noise.
    """
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2]) / CLK_TCK


def steal_cpu_seconds():
    """CPU seconds the hypervisor gave to other guests although this VM wanted them."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[7] / CLK_TCK if len(v) > 7 else 0.0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port):
    """True when something LISTENs on 127.0.0.1:port (read from /proc, no probe connection)."""
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if cols[1] == want and cols[3] == "0A":
                return True
    return False


def wait_listening(p, port, name, logfile, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if p.poll() is not None:
            die("%s exited with %s before listening on port %d; end of %s (KEEP=1 keeps it):\n%s"
                % (name, p.returncode, port, logfile, tail(logfile)))
        if listening(port):
            return
        time.sleep(0.05)
    die("%s did not listen on 127.0.0.1:%d within %ds; end of %s (KEEP=1 keeps it):\n%s"
        % (name, port, timeout, logfile, tail(logfile)))


def tail(path, n=40):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)"


# --- stored-message counters -------------------------------------------------

class LineCounter:
    """Counts LF in an output file, reading only what was appended since the last call."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.lines = 0

    def count(self, sender_done=False):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                while True:
                    chunk = f.read(1 << 22)
                    if not chunk:
                        break
                    self.lines += chunk.count(b"\n")
                    self.offset += len(chunk)
        except FileNotFoundError:
            pass
        return self.lines

    def progress(self):
        return self.lines

    def last_write(self):
        try:
            return os.stat(self.path).st_mtime
        except FileNotFoundError:
            return None


def wal_state(store):
    """(newest mtime, total size) of the RocksDB WAL files in `store`: a stat() each."""
    latest, size = 0.0, 0
    try:
        names = os.listdir(store)
    except FileNotFoundError:
        return latest, size
    for name in names:
        if name.endswith(".log"):
            try:
                st = os.stat(os.path.join(store, name))
            except FileNotFoundError:
                continue
            latest = max(latest, st.st_mtime)
            size += st.st_size
    return latest, size


class TrailkeepCounter:
    """Sums per-host event counts of peer hosts (`trailkeepd hosts --format json`).

    That command opens the store as a RocksDB secondary and replays the WAL, which
    costs CPU on the same cores as the run. So it is only run once the sender has
    finished AND the WAL has been quiet for a moment (no synced group commit for
    QUIET seconds); until then the WAL's size and mtime, which cost a stat(), show
    progress. The clock stops at the mtime of the last WAL write.
    """

    QUIET = 0.3

    def __init__(self, trailkeepd, data_dir):
        self.trailkeepd = trailkeepd
        self.data_dir = data_dir
        self.store = os.path.join(data_dir, "store")
        self.poll_cpu = 0.0  # CPU the counting itself cost (it shares the two cores)
        self.polls = 0
        self.n = 0
        self.sig = None
        self.sig_since = time.time()
        self.counted_sig = None

    def wal(self):
        return wal_state(self.store)

    def count(self, sender_done):
        sig = self.wal()
        now = time.time()
        if sig != self.sig:
            self.sig, self.sig_since = sig, now
        if sender_done and now - self.sig_since >= self.QUIET and self.counted_sig != sig:
            self.n = self.hosts_count()
            self.counted_sig = sig
        return self.n

    def progress(self):
        return (self.n, self.sig)

    def hosts_count(self):
        r0 = os.times()
        out = subprocess.run([self.trailkeepd, "hosts", "--db", self.data_dir, "--format", "json"],
                             capture_output=True, timeout=300)
        r1 = os.times()
        self.poll_cpu += (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
        self.polls += 1
        if out.returncode != 0:
            log("bench: trailkeepd hosts failed: " + out.stderr.decode(errors="replace").strip())
            return self.n
        n = 0
        for line in out.stdout.decode().splitlines():
            if line.strip():
                h = json.loads(line)
                if h.get("last_transport") != "self":
                    n += int(h.get("events", 0))
        return n

    def last_write(self):
        """mtime of the newest RocksDB WAL write: the last synced group commit."""
        return self.wal()[0] or None

    def wait_for(self, expected, stall=60):
        """Blocks until `expected` events are stored (RuntimeError after `stall` s without
        progress); returns the last WAL write time."""
        token, since = None, time.time()
        while self.count(True) < expected:
            if self.progress() != token:
                token, since = self.progress(), time.time()
            if time.time() - since > stall:
                raise RuntimeError("stored %d of %d, no progress for %ds" % (self.n, expected, stall))
            time.sleep(0.1)
        return self.last_write()


# --- the collector's own counters (GET /metrics) -------------------------------

def parse_metrics(text):
    """{(name, labels): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+)(\{[^}]*\})? (\S+)$", line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


class MetricsClient:
    """GET /metrics of a running trailkeepd over one keep-alive HTTPS connection (a new TLS
    handshake per scrape would cost the collector more CPU than the scrape itself)."""

    def __init__(self, address, token, cafile):
        self.host, self.port = address.rsplit(":", 1)
        self.token = token
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.ctx.check_hostname = False
        self.conn = None
        self.scrapes = 0

    def scrape(self):
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(self.host, int(self.port), context=self.ctx,
                                                            timeout=300)
                self.conn.request("GET", "/metrics", headers={"Authorization": "Bearer " + self.token})
                r = self.conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise RuntimeError("GET /metrics: HTTP %d: %s" % (r.status, body[:200]))
                self.scrapes += 1
                return parse_metrics(body.decode())
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        return {}

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def stored_events(metrics, host=None):
    """trailkeep_source_events_total of `host`, or summed over every host but the collector's own."""
    own = socket.gethostname()
    n = 0
    for (name, labels), v in metrics.items():
        if name == "trailkeep_source_events_total":
            h = re.search(r'host="([^"]*)"', labels).group(1)
            if (host is not None and h == host) or (host is None and h != own):
                n += int(v)
    return n


def histogram_quantile(before, after, family, q):
    """The q-quantile (seconds) of what histogram `family` counted between two scrapes,
    interpolated within its bucket as Prometheus's histogram_quantile does; None if empty."""
    buckets = []
    for (name, labels), v in after.items():
        if name == family + "_bucket":
            le = re.search(r'le="([^"]*)"', labels).group(1)
            buckets.append((float(le), v - before.get((name, labels), 0.0)))
    buckets.sort()
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if bound == float("inf"):
                return lower  # above every finite bound: the largest one, as Prometheus says
            return lower + (bound - lower) * (rank - below) / max(cumulative - below, 1e-12)
        lower, below = bound, cumulative
    return lower


class MetricsCounter:
    """Events stored, as the collector counts them (trailkeep_source_events_total of every host
    but its own, or of `host`, from GET /metrics): the store is never opened while it runs. The
    clock's end is the mtime of the newest WAL write (a stat()). summary() gives the group
    commits' p50/p99 since this counter was made (commit_duration_seconds) and the scrapes'
    count."""

    POLL = 0.2  # seconds between scrapes in one_run

    def __init__(self, client, data_dir, host=None):
        self.client = client
        self.store = os.path.join(data_dir, "store")
        self.host = host
        self.first = client.scrape()
        self.last = self.first
        self.n = stored_events(self.first, host)

    def count(self, sender_done=False):
        self.last = self.client.scrape()
        self.n = stored_events(self.last, self.host)
        return self.n

    def progress(self):
        return self.n

    def last_write(self):
        return wal_state(self.store)[0] or None

    def wait_for(self, expected, stall=60, poll=0.2):
        """Blocks until `expected` events are stored (RuntimeError after `stall` s without
        progress); returns the last WAL write time."""
        token, since = None, time.time()
        while self.count(True) < expected:
            if self.n != token:
                token, since = self.n, time.time()
            if time.time() - since > stall:
                raise RuntimeError("stored %d of %d, no progress for %ds" % (self.n, expected, stall))
            time.sleep(poll)
        return self.last_write()

    def summary(self):
        d = "trailkeep_commit_duration_seconds"
        commits = self.last.get(("trailkeep_commits_total", ""), 0) - self.first.get(("trailkeep_commits_total", ""), 0)
        return {"commit_p50_ms": ms(histogram_quantile(self.first, self.last, d, 0.5)),
                "commit_p99_ms": ms(histogram_quantile(self.first, self.last, d, 0.99)),
                "commits": int(commits), "scrapes": self.client.scrapes}


def ms(seconds):
    return None if seconds is None else seconds * 1e3


def raise_nofile():
    """Soft RLIMIT_NOFILE up to the hard one: loggen, rsyslog and syslog-ng with 1,000
    connections need more than the usual 1,024 descriptors (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- receivers ---------------------------------------------------------------

OPENSSL_NO_TICKETS = """openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
NumTickets = 0
"""


def make_pki(work):
    """One EC P-256 server certificate for the peers (trailkeepd's dev PKI is P-256 too)."""
    pki = os.path.join(work, "pki")
    os.makedirs(pki, exist_ok=True)
    key, cert = os.path.join(pki, "server.key"), os.path.join(pki, "server.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], capture_output=True)
    if r.returncode != 0:
        die("openssl could not make the peers' certificate:\n" + r.stderr.decode(errors="replace"))
    conf = os.path.join(work, "openssl-no-tickets.cnf")
    with open(conf, "w") as f:
        f.write(OPENSSL_NO_TICKETS)
    return cert, key, conf


class Receiver:
    def notes(self, run_dir):
        return ""


class Trailkeepd(Receiver):
    """trailkeepd from a config file on the bench's certificate, sealed (`trailkeepd seal-setup`,
    as a deployment is) or, as "trailkeepd-unsealed", with no seal state: the one difference
    between the two rows is the seal's HMAC per stored event and its ticks."""
    name = "trailkeepd"

    def notes(self, run_dir):
        """trailkeepd's own shutdown summary (events committed in how many group commits) and,
        sealed, how long the stopped store's seal takes to verify."""
        summary = ""
        for line in reversed(tail(os.path.join(run_dir, "trailkeepd.log"), 20).splitlines()):
            if "committed in" in line:
                summary = line.split(" info ", 1)[-1].strip()
                break
        if self.sealed:
            summary += "; " + self.verify_seal(run_dir)
        return summary

    def verify_seal(self, run_dir):
        """`trailkeepd verify --seal-key` over the stopped store, timed (wall and CPU)."""
        t0, c0 = time.time(), os.times()
        r = subprocess.run([self.bin, "verify", "--seal-key", os.path.join(run_dir, "seal-verification.key"),
                            "--db", os.path.join(run_dir, "data")], capture_output=True, timeout=1800)
        wall, c1 = time.time() - t0, os.times()
        cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
        out = r.stdout.decode(errors="replace").strip().splitlines()
        m = re.search(r"(\d+) events", out[-1] if out else "")
        n = int(m.group(1)) if m else 0
        per_million = " = %.2f s per million events" % (wall * 1e6 / n) if n else ""
        return "verify --seal-key: %s in %.2f s wall, %.2f s CPU%s (exit %d)" % (
            out[-1] if out else "no output", wall, cpu, per_million, r.returncode)

    def __init__(self, build, pki, sealed=True):
        self.bin = os.path.join(build, "bin", "trailkeepd")
        self.cert, self.key, _ = pki
        self.sealed = sealed
        if not sealed:
            self.name = "trailkeepd-unsealed"

    def start(self, run_dir, conns=4):
        data = os.path.join(run_dir, "data")
        conf = os.path.join(run_dir, "trailkeepd.toml")
        # An admin token for GET /metrics, which counts what is stored (docs/api.md, Auth).
        token = "tk_" + os.urandom(32).hex()
        tokens = os.path.join(run_dir, "api-tokens")
        with open(tokens, "w") as f:
            f.write("bench %s admin *\n" % hashlib.sha256(token.encode()).hexdigest())
        with open(conf, "w") as f:
            f.write("\n".join([
                'data_dir = "%s"' % data,
                "[[listen.syslog]]",
                'address = "127.0.0.1:0"',
                "[[listen.export]]",
                'address = "127.0.0.1:0"',
                "[export]",
                'token_file = "%s"' % tokens,
                # Every connection comes from 127.0.0.1, and loggen opens all of them at once.
                "[limits]",
                "max_handshakes = %d" % max(1000, conns + 16),
                "max_handshakes_per_peer = %d" % max(64, conns + 16),
                "[tls]",
                'cert_file = "%s"' % self.cert,
                'key_file = "%s"' % self.key,
                'client_auth = "none"',
                "[store]",
                'retention = "forever"',
                # TRAILKEEPD_STORE: more [store] lines, e.g. the memory settings
                # ("memtable_bytes = 16777216; block_cache_bytes = 8388608").
            ] + [x.strip() for x in os.environ.get("TRAILKEEPD_STORE", "").split(";") if x.strip()]) + "\n")
        if self.sealed:
            r = subprocess.run([self.bin, "seal-setup", "--config", conf, "--verification-key-out",
                                os.path.join(run_dir, "seal-verification.key")], capture_output=True)
            if r.returncode != 0:
                die("trailkeepd seal-setup failed:\n" + r.stderr.decode(errors="replace"))
        logfile = os.path.join(run_dir, "trailkeepd.log")
        p = spawn([self.bin, "--config", conf], logfile)
        ports = os.path.join(data, "ports.json")
        deadline = time.time() + 30
        while time.time() < deadline:
            if p.poll() is not None:
                die("trailkeepd exited with %s before listening; its log (%s):\n%s"
                    % (p.returncode, logfile, tail(logfile)))
            try:
                with open(ports) as f:
                    info = json.load(f)
                if info.get("pid") == p.pid:
                    port = int(info["syslog"][0].rsplit(":", 1)[1])
                    return p, port, MetricsCounter(MetricsClient(info["export"][0], token, self.cert), data)
            except (FileNotFoundError, ValueError, KeyError, IndexError):
                pass
            time.sleep(0.05)
        die("trailkeepd did not write %s within 30s; its log (%s):\n%s" % (ports, logfile, tail(logfile)))


class Rsyslog(Receiver):
    name = "rsyslog"

    def __init__(self, build, pki):
        root = os.path.join(build, "peers", "rsyslog")
        self.bin = os.path.join(root, "usr", "sbin", "rsyslogd")
        self.moddir = os.path.join(root, "usr", "lib", "x86_64-linux-gnu", "rsyslog")
        self.cert, self.key, self.openssl_conf = pki

    def start(self, run_dir, conns=4):
        port = free_port()
        work = os.path.join(run_dir, "work")
        os.makedirs(work, exist_ok=True)
        out = os.path.join(run_dir, "messages.log")
        conf = os.path.join(run_dir, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write("""# trailkeep bench: rsyslog as a TLS receiver (imtcp + ossl), file output
global(workDirectory="%(work)s"
       maxMessageSize="8k"
       DefaultNetstreamDriverCertFile="%(cert)s"
       DefaultNetstreamDriverKeyFile="%(key)s")
module(load="imtcp" StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"
       MaxSessions="%(sessions)d")
input(type="imtcp" address="127.0.0.1" port="%(port)d" ruleset="bench")
ruleset(name="bench") {
  action(type="omfile" file="%(out)s" template="RSYSLOG_SyslogProtocol23Format")
}
# rsyslogd's own messages go elsewhere so the output holds only loggen's
action(type="omfile" file="%(internal)s")
""" % {"work": work, "cert": self.cert, "key": self.key, "port": port, "out": out,
                "sessions": max(200, conns + 10),
                "internal": os.path.join(run_dir, "rsyslog-internal.log")})
        env = dict(os.environ, OPENSSL_CONF=self.openssl_conf)
        logfile = os.path.join(run_dir, "rsyslogd.log")
        p = spawn([self.bin, "-n", "-f", conf, "-i", os.path.join(run_dir, "rsyslogd.pid"), "-M", self.moddir],
                  logfile, env=env)
        wait_listening(p, port, "rsyslogd", logfile)
        return p, port, LineCounter(out)


class SyslogNg(Receiver):
    name = "syslog-ng"

    def __init__(self, build, pki):
        self.bin = "/usr/sbin/syslog-ng"
        self.cert, self.key, self.openssl_conf = pki

    def start(self, run_dir, conns=4):
        port = free_port()
        out = os.path.join(run_dir, "messages.log")
        conf = os.path.join(run_dir, "syslog-ng.conf")
        # The window (log-iw-size) is shared by max-connections: 100 per connection at most.
        max_conns = max(10, conns + 10)
        with open(conf, "w") as f:
            f.write("""@version: 3.38
# trailkeep bench: syslog-ng as a TLS receiver (syslog() source), file output.
# flow-control: a full destination queue slows the sender instead of dropping.
source s_bench {
  syslog(ip("127.0.0.1") port(%(port)d) transport("tls") max-connections(%(max_conns)d)%(iw)s
         tls(key-file("%(key)s") cert-file("%(cert)s") peer-verify(optional-untrusted)));
};
destination d_bench { file("%(out)s"); };
log { source(s_bench); destination(d_bench); flags(flow-control); };
""" % {"port": port, "key": self.key, "cert": self.cert, "out": out, "max_conns": max_conns,
                "iw": "" if max_conns == 10 else " log-iw-size(%d)" % (100 * max_conns)})
        env = dict(os.environ, OPENSSL_CONF=self.openssl_conf)
        logfile = os.path.join(run_dir, "syslog-ng.log")
        p = spawn([self.bin, "-F", "-e", "-f", conf,
                   "--persist-file", os.path.join(run_dir, "syslog-ng.persist"),
                   "--pidfile", os.path.join(run_dir, "syslog-ng.pid"),
                   "--control", os.path.join(run_dir, "syslog-ng.ctl")], logfile, env=env)
        wait_listening(p, port, "syslog-ng", logfile)
        return p, port, LineCounter(out)


# --- one run -----------------------------------------------------------------

def one_run(receiver, run_dir, per_conn, conns, size, stall_seconds):
    os.makedirs(run_dir, exist_ok=True)
    expected = per_conn * conns
    p, port, counter = receiver.start(run_dir, conns)
    aborts0 = abort_on_close()
    loggen_log = os.path.join(run_dir, "loggen.log")
    cpu0 = proc_cpu_seconds(p.pid)
    busy0 = busy_cpu_seconds()
    steal0 = steal_cpu_seconds()
    t0 = time.time()
    lg = spawn(["loggen", "-U", "-P", "--size", str(size), "--active-connections", str(conns),
                "-n", str(per_conn), "-r", "100000000", "-I", "3600", "127.0.0.1", str(port)], loggen_log)
    loggen_rc = None
    loggen_cpu = None
    stored = 0
    token = None
    last_progress = time.time()
    done_at = None
    while True:
        if loggen_rc is None:
            pid, status, ru = os.wait4(lg.pid, os.WNOHANG)
            if pid == lg.pid:
                loggen_rc = os.waitstatus_to_exitcode(status)
                lg.returncode = loggen_rc
                CHILDREN.remove(lg)
                loggen_cpu = ru.ru_utime + ru.ru_stime
        if p.poll() is not None:
            die("%s died during the run (exit %s); see %s" % (receiver.name, p.returncode, run_dir))
        n = counter.count(loggen_rc is not None)
        now = time.time()
        stored = max(stored, n)
        if counter.progress() != token:
            token = counter.progress()
            last_progress = now
        if stored >= expected:
            done_at = now
            break
        if now - last_progress > stall_seconds:
            log("bench: %s stored %d of %d and made no progress for %ds%s: counting it as lost"
                % (receiver.name, stored, expected, stall_seconds,
                   "" if loggen_rc is not None else " while loggen was still sending"))
            break
        # Cheap polling: a file count reads only what was appended; trailkeepd's
        # WAL is stat()ed and its count taken only when the sender is done and the WAL is quiet;
        # the collector's /metrics is read over one keep-alive connection.
        time.sleep(getattr(counter, "POLL", 0.1))
    # Read the receiver's figures before stopping it.
    cpu = proc_cpu_seconds(p.pid)
    busy = busy_cpu_seconds() - busy0
    steal = steal_cpu_seconds() - steal0
    hwm = proc_status_kib(p.pid, "VmHWM")
    threads = thread_cpu(p.pid)
    last = counter.last_write()
    end = min(done_at or time.time(), last) if last else (done_at or time.time())
    if loggen_rc is None:
        # Everything stored before loggen had exited (it is closing), or a stall: give it
        # 30 s to finish, then stop it.
        loggen_rc, loggen_cpu = reap(lg, 30)
    # CPU that neither the receiver, loggen nor the count used while the clock ran:
    # other processes on the machine, i.e. the noise.
    other = busy - (cpu - cpu0) - (loggen_cpu or 0.0) - getattr(counter, "poll_cpu", 0.0)
    time.sleep(0.2)
    aborts = abort_on_close() - aborts0
    rc = stop(p)
    if hasattr(counter, "client"):
        counter.client.close()
    elapsed = end - t0
    r = {
        "receiver": receiver.name, "expected": expected, "stored": stored, "elapsed": elapsed,
        "rate": stored / elapsed if elapsed > 0 else 0.0, "cpu": cpu, "load_cpu": cpu - cpu0,
        "hwm_mib": hwm / 1024.0,
        "aborts": aborts, "other_cpu": max(0.0, other), "steal": steal, "loggen_rc": loggen_rc, "loggen_cpu": loggen_cpu, "exit": rc,
        "threads": threads[:6], "pid": p.pid,
        "notes": receiver.notes(run_dir),
        "poll_cpu": getattr(counter, "poll_cpu", None), "polls": getattr(counter, "polls", None),
        "loggen_summary": tail(loggen_log, 3).strip().replace("\n", " | "),
    }
    if hasattr(counter, "summary"):
        r.update(counter.summary())
        r["polls"] = r["scrapes"]
    return r


def fmt_threads(threads, pid):
    return ", ".join("%s/%d%s %.2fs" % (c, t, " (main)" if t == pid else "", s)
                     for s, t, c in threads if s >= 0.01)


def main():
    if len(sys.argv) != 2:
        die("usage: bench.py BUILD_DIR")
    build = os.path.abspath(sys.argv[1])
    total = int(os.environ.get("MESSAGES", "1000000"))
    conns = int(os.environ.get("CONNECTIONS", "4"))
    size = int(os.environ.get("SIZE", "200"))
    repeat = int(os.environ.get("REPEAT", "1"))
    stall = int(os.environ.get("STALL_SECONDS", "30"))
    keep = os.environ.get("KEEP", "0") == "1"
    names = [n.strip() for n in os.environ.get(
        "RECEIVERS", "trailkeepd,trailkeepd-unsealed,rsyslog,syslog-ng").split(",") if n.strip()]
    if total < conns or conns < 1 or repeat < 1:
        die("need MESSAGES >= CONNECTIONS >= 1 and REPEAT >= 1")
    per_conn = total // conns

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    base = os.environ.get("BENCH_DIR", os.path.join(build, "bench-work"))
    os.makedirs(base, exist_ok=True)
    work = tempfile.mkdtemp(prefix="run-", dir=base)
    pki = make_pki(work)
    kinds = {"trailkeepd": Trailkeepd, "trailkeepd-unsealed": lambda b, p: Trailkeepd(b, p, sealed=False),
             "rsyslog": Rsyslog, "syslog-ng": SyslogNg}
    for n in names:
        if n not in kinds:
            die("unknown receiver %r (RECEIVERS takes %s)" % (n, ", ".join(kinds)))
    receivers = [kinds[n](build, pki) for n in names]

    log("bench: %d messages (%d connections x %d), loggen --size %d, TLS; %d round(s); receivers %s"
        % (per_conn * conns, conns, per_conn, size, repeat, ", ".join(names)))
    log("bench: trailkeepd build type %s; rsyslogd %s; %s" % (build_type(build), tool_version(
        [os.path.join(build, "peers/rsyslog/usr/sbin/rsyslogd"), "-v"]), tool_version(["/usr/sbin/syslog-ng", "-V"])))
    log("bench: %d CPUs (%s); load average %s; %s; scratch %s"
        % (os.cpu_count(), cpu_model(), " ".join("%.2f" % x for x in os.getloadavg()),
           os.environ.get("BENCH_NETNS_NOTE", "shared network namespace"), work))
    results = []
    try:
        for rnd in range(repeat):
            order = receivers[rnd % len(receivers):] + receivers[:rnd % len(receivers)]
            for rcv in order:
                run_dir = os.path.join(work, "%s-%d" % (rcv.name, rnd + 1))
                r = one_run(rcv, run_dir, per_conn, conns, size, stall)
                r["round"] = rnd + 1
                results.append(r)
                extra = ""
                if r["poll_cpu"] is not None:
                    extra = ", count polls %d (%.2f CPU s)" % (r["polls"], r["poll_cpu"])
                log("round %d %-10s stored %d/%d in %.2fs = %.0f msg/s, CPU %.2fs, peak RSS %.1f MiB, "
                    "TCPAbortOnClose +%d, loggen rc %s CPU %.2fs, other processes %.2f CPU s, steal %.2f s%s"
                    % (r["round"], r["receiver"], r["stored"], r["expected"], r["elapsed"], r["rate"], r["cpu"],
                       r["hwm_mib"], r["aborts"], r["loggen_rc"], r["loggen_cpu"] or 0.0, r["other_cpu"],
                       r["steal"], extra))
                log("    threads (busiest first): " + fmt_threads(r["threads"], r["pid"]))
                if r["notes"]:
                    log("    %s: %s" % (r["receiver"], r["notes"]))
                log("    loggen: " + r["loggen_summary"])
                if r["loggen_rc"] != 0:
                    log("bench: WARNING: loggen exited with %s; see %s/loggen.log" % (r["loggen_rc"], run_dir))
                if not keep:
                    shutil.rmtree(run_dir, ignore_errors=True)
    finally:
        cleanup()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
            try:
                os.rmdir(base)  # only when empty
            except OSError:
                pass

    log("")
    log("load average at the end: " + " ".join("%.2f" % x for x in os.getloadavg()))
    log("")
    log("| receiver | stored / sent | elapsed s | msg/s | receiver CPU s | peak RSS MiB | TCPAbortOnClose delta "
        "| loggen CPU s | other CPU s | steal s |")
    log("|---|---|---|---|---|---|---|---|---|---|")
    for rcv in receivers:
        rs = [r for r in results if r["receiver"] == rcv.name]
        med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
        stored = "%d / %d" % (min(r["stored"] for r in rs), rs[0]["expected"])
        rates = "%.0f" % med("rate")
        if len(rs) > 1:
            rates += " (%s)" % ", ".join("%.0f" % r["rate"] for r in rs)
        log("| %s | %s | %.2f | %s | %.2f | %.1f | %d | %.2f | %.2f | %.2f |"
            % (rcv.name, stored, med("elapsed"), rates, med("cpu"), max(r["hwm_mib"] for r in rs),
               sum(r["aborts"] for r in rs), med("loggen_cpu"), med("other_cpu"), med("steal")))
    if repeat > 1:
        log("")
        log("Medians over %d rounds (per-round msg/s in brackets); stored is the lowest count of any round." % repeat)
    for r in results:
        if "verify --seal-key" in r["notes"]:
            log("round %d trailkeepd, %s" % (r["round"], r["notes"].split("; ", 1)[-1]))
    log(PAGE_NOTE + ".")
    log("receiver CPU = utime+stime of the whole process; other CPU = user+system time of all other processes "
        "from loggen's start until the count was complete (noise); steal = CPU time the hypervisor withheld.")
    lost = [r for r in results if r["stored"] < r["expected"]]
    if keep:
        log("bench: kept %s" % work)
    if lost:
        log("bench: %d run(s) stored fewer messages than were sent" % len(lost))
        return 1
    return 0


def build_type(build):
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    # CMakeLists.txt picks RelWithDebInfo when the cache leaves it empty.
                    return line.split("=", 1)[1].strip() or "RelWithDebInfo (the default)"
    except OSError:
        pass
    return "unknown"


def tool_version(args):
    try:
        out = subprocess.run(args, capture_output=True, timeout=10).stdout.decode(errors="replace")
        return out.splitlines()[0].strip() if out else "unknown version"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown version"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        cleanup()
