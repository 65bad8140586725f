"""Test harness for trailkeep integration tests.

Starts the real trailkeepd on loopback (port 0, its own data folder), waits
for ports.json, talks to it with real TLS clients, reads events back with
`trailkeepd query --format json`, and stops it by PID. Standard library only.

Environment:
  TRAILKEEP_BIN        folder holding trailkeepd and trailkeep (set by CTest)
  TRAILKEEP_PEERS      folder where tests/peers/fetch-rsyslog.sh unpacked rsyslog
  TRAILKEEP_TEST_SCALE multiplier for event counts (default 1; CI keeps 1)
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
import time

BIN = os.environ.get("TRAILKEEP_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
PEERS = os.environ.get("TRAILKEEP_PEERS", os.path.join(BIN, "..", "peers"))
SCALE = float(os.environ.get("TRAILKEEP_TEST_SCALE", "1"))


# Every folder a test run makes goes under one temp folder, removed at the end
# when every test passed and kept (path printed) when one failed.
RUN_DIR = tempfile.mkdtemp(prefix="tk-it-%s-" % os.path.splitext(os.path.basename(sys.argv[0]))[0])
tempfile.tempdir = RUN_DIR

# Sanitizer builds (make sanitize): every report of ASan, UBSan, LSan or TSan
# from any binary a test starts, however its output is captured, goes to a file
# in SANITIZER_DIR (one per process); main() fails the test during which one
# appeared and prints it. Harmless with ordinary binaries, which ignore these.
SANITIZER_DIR = os.path.join(RUN_DIR, "sanitizer")
os.makedirs(SANITIZER_DIR)
os.chmod(SANITIZER_DIR, 0o1777)  # a collector that switched users reports too
for _var in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"):
    os.environ[_var] = ":".join(filter(None, (os.environ.get(_var), "log_path=" + SANITIZER_DIR + "/report")))


def _asan_build():
    """Whether trailkeepd is an ASan build (make sanitize): its RSS is then
    its allocator's (redzones, the quarantine) as much as the collector's."""
    try:
        linked = subprocess.run(["ldd", os.path.join(BIN, "trailkeepd")], capture_output=True,
                                timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return b"libasan" in linked


ASAN_BUILD = _asan_build()


def scaled(n):
    return max(1, int(n * SCALE))


def log(*args):
    print(*args, flush=True)


def cannot_run(reason):
    """A test that cannot run on this machine (not root, a tool missing). CI runs as root with
    every tool installed, so under CI=true that is a failure, never a SKIP that passes."""
    if os.environ.get("CI") == "true":
        raise AssertionError("cannot run under CI=true: " + reason)
    log("SKIP: " + reason)


class Process:
    """A child process a test started: `proc` (Popen, None when stopped), its
    log file `logf` at `log_path`."""

    proc = None

    def kill9(self):
        """SIGKILL by PID: no shutdown at all."""
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None
            self.logf.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def read_log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


class Collector(Process):
    """One trailkeepd process. Use as a context manager, or start()/stop()."""

    def __init__(self, workdir=None, config_text=None, extra_args=(), syslog_listen="127.0.0.1:0",
                 audit_listen="127.0.0.1:0", wrapper=()):
        self.wrapper = list(wrapper)  # e.g. setpriv ... : runs trailkeepd through it (exec)
        self.workdir = workdir or tempfile.mkdtemp(prefix="tk-it-")
        os.makedirs(self.workdir, exist_ok=True)
        self.config_text = config_text
        self.extra_args = list(extra_args)
        self.syslog_listen = syslog_listen
        self.audit_listen = audit_listen  # auditd remote protocol (port 60's listener)
        self.proc = None
        self.log_path = os.path.join(self.workdir, "trailkeepd.log")

    # --- paths -----------------------------------------------------------
    @property
    def data_dir(self):
        if self.config_text is not None:
            return os.path.join(self.workdir, "data")
        return os.path.join(self.workdir, "dev", "data")

    @property
    def pki(self):
        return os.path.join(self.workdir, "dev", "pki")

    @property
    def db(self):
        return self.data_dir

    # --- life cycle ------------------------------------------------------
    def start(self, timeout=20):
        args = self.wrapper + [os.path.join(BIN, "trailkeepd")]
        if self.config_text is not None:
            cfg = os.path.join(self.workdir, "trailkeepd.toml")
            with open(cfg, "w") as f:
                f.write(self.config_text.replace("@DATA@", self.data_dir))
            args += ["--config", cfg]
        else:
            args += ["--dev", os.path.join(self.workdir, "dev")]
        args += ["--listen-syslog", self.syslog_listen, "--listen-export", "127.0.0.1:0",
                 "--listen-audit", self.audit_listen] + self.extra_args
        ports = os.path.join(self.data_dir, "ports.json")
        if os.path.exists(ports):
            os.unlink(ports)
        self.logf = open(self.log_path, "a")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("trailkeepd exited with %s:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                with open(ports) as f:
                    info = json.load(f)
                if info.get("pid") == self.proc.pid:
                    self.port = int(info["syslog"][0].rsplit(":", 1)[1])
                    exports = info.get("export") or []
                    self.export_port = int(exports[0].rsplit(":", 1)[1]) if exports else None
                    audits = info.get("audit") or []
                    self.audit_port = int(audits[0].rsplit(":", 1)[1]) if audits else None
                    udp, tcp = info.get("udp") or [], info.get("tcp") or []  # plaintext: opt-in
                    self.udp_port = int(udp[0].rsplit(":", 1)[1]) if udp else None
                    self.tcp_port = int(tcp[0].rsplit(":", 1)[1]) if tcp else None
                    return self
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError("trailkeepd did not write ports.json in %ss:\n%s" % (timeout, self.read_log()))

    def stop(self, timeout=30):
        """SIGTERM by PID and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise RuntimeError("trailkeepd ignored SIGTERM for %ss" % timeout)
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        return rc

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- clients -----------------------------------------------------------
    def tls_context(self, cert="client", ca=None):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca or os.path.join(self.pki, "ca.pem"))
        ctx.check_hostname = False
        if cert:
            if os.path.sep in cert:
                ctx.load_cert_chain(cert + ".pem", cert + ".key")
            else:
                ctx.load_cert_chain(os.path.join(self.pki, cert + ".pem"), os.path.join(self.pki, cert + ".key"))
        return ctx

    def connect(self, cert="client", ca=None, timeout=10):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return self.tls_context(cert, ca).wrap_socket(raw, server_hostname="localhost")

    def send_frames(self, messages, cert="client", octet_counted=True):
        """Sends messages (bytes) over one TLS connection and closes cleanly."""
        s = self.connect(cert)
        payload = b"".join(frame(m) if octet_counted else m + b"\n" for m in messages)
        s.sendall(payload)
        close_tls(s)

    # --- reading back ------------------------------------------------------
    def query(self, *args, check=True):
        out = subprocess.run([os.path.join(BIN, "trailkeepd"), "query", "--db", self.db, "--format", "json"] + list(args),
                             capture_output=True, timeout=120)
        if check and out.returncode != 0:
            raise RuntimeError("query failed: %s" % out.stderr.decode(errors="replace"))
        return [json.loads(l) for l in out.stdout.decode().splitlines() if l.strip()]

    def peer_events(self, *args):
        """Stored events that came from peers (not the collector's own)."""
        return [e for e in self.query(*args) if e["transport"] != "self"]

    def self_events(self, msgid=None):
        return [e for e in self.query() if e["transport"] == "self" and (msgid is None or e["msgid"] == msgid)]

    def wait_for(self, predicate, timeout=30, what="condition"):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(0.2)
        raise AssertionError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))

    def wait_for_count(self, n, timeout=60, *args):
        return self.wait_for(lambda: len(self.peer_events(*args)) >= n and self.peer_events(*args), timeout,
                             "%d stored events" % n)


def free_port():
    """A loopback port that was free a moment ago (for a listener that must
    keep its port across restarts)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def frame(msg):
    return str(len(msg)).encode() + b" " + msg


def close_tls(s):
    """close_notify, then wait for the server's close so nothing is lost in flight."""
    try:
        s = s.unwrap()
    except (ssl.SSLError, OSError):
        pass
    try:
        s.settimeout(5)
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()


def sd_param(e, name):
    """The value of structured-data parameter `name` in an event's JSON ("" when absent)."""
    for el in e.get("structured_data", []):
        params = el.get("params", el)
        if isinstance(params, dict):
            if name in params:
                return params[name]
        else:
            for p in params:
                if p.get("name") == name:
                    return p.get("value")
    return ""


def b64(e):
    import base64
    return base64.b64decode(e["raw_b64"])


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr.decode(errors="replace")))
    return r


def sanitizer_reports(seen=set()):  # noqa: B006 - the reports already failed a test
    """Raises with every sanitizer report written since the last call."""
    new = sorted(set(os.listdir(SANITIZER_DIR)) - seen)
    seen.update(new)
    if new:
        text = "".join(open(os.path.join(SANITIZER_DIR, n), errors="replace").read() for n in new)
        log(text)
        raise AssertionError("%d sanitizer report(s) in %s" % (len(new), SANITIZER_DIR))


def main(tests):
    """Runs test functions in order; prints a summary; exit 1 on any failure."""
    only = sys.argv[1:]
    failed = 0
    for t in tests:
        if only and t.__name__ not in only:
            continue
        start = time.time()
        try:
            try:
                t()
            finally:
                sanitizer_reports()
            log("PASS %s (%.1fs)" % (t.__name__, time.time() - start))
        except Exception as e:  # noqa: BLE001 - report every failure
            failed += 1
            import traceback
            traceback.print_exc()
            log("FAIL %s: %s" % (t.__name__, e))
    if failed:
        log("test folders kept in %s" % RUN_DIR)
    else:
        shutil.rmtree(RUN_DIR, ignore_errors=True)
    sys.exit(1 if failed else 0)
