"""Real `trailkeep forward` agents for integration tests, and the peers they
need: enrolment through `trailkeepd enroll`, log writers, and a TCP proxy that
cuts and stalls connections on demand.
"""
import base64
import json
import os
import random
import signal
import socket
import struct
import subprocess
import threading
import time
import zlib

from harness import BIN, Process, log

# --- enrolment and configuration ------------------------------------------


def enroll(collector, host):
    """Runs `trailkeepd enroll HOST` against the collector's dev folder."""
    out = os.path.join(collector.workdir, "enroll-" + host)
    r = subprocess.run([os.path.join(BIN, "trailkeepd"), "enroll", host, "--dev",
                        os.path.join(collector.workdir, "dev"), "--out", out],
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("enroll %s failed: %s" % (host, r.stderr.decode(errors="replace")))
    return out


class Agent(Process):
    """One `trailkeep forward` process with its own folder, inputs and spool."""

    def __init__(self, host, bundle, port, workdir, inputs=None, extra="", spool_dir=None,
                 cert_bundle=None, collector_extra=""):
        self.host = host
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.spool_dir = spool_dir or os.path.join(workdir, "spool")
        self.log_path = os.path.join(workdir, "agent.log")
        self.inputs = inputs or [("app", os.path.join(workdir, "app.log"))]
        certs = cert_bundle or bundle
        passwd = os.path.join(workdir, "passwd")
        group = os.path.join(workdir, "group")
        with open(passwd, "w") as f:
            f.write("root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n")
        with open(group, "w") as f:
            f.write("root:x:0:\nalice:x:1000:\n")
        text = ("[agent]\nhost = \"%s\"\nspool_dir = \"%s\"\nhmac_key_file = \"%s\"\n"
                "heartbeat_interval_ms = 1000\nidentity_files = [\"%s\", \"%s\"]\n%s\n"
                "[collector]\naddress = \"127.0.0.1:%d\"\nserver_name = \"localhost\"\n"
                "ca_file = \"%s\"\ncert_file = \"%s\"\nkey_file = \"%s\"\n"
                "reconnect_min_ms = 100\nreconnect_max_ms = 1000\n%s" %
                (host, self.spool_dir, os.path.join(bundle, "hmac.key"), passwd, group, extra,
                 port, os.path.join(certs, "ca.pem"), os.path.join(certs, "agent.pem"),
                 os.path.join(certs, "agent.key"), collector_extra))
        for name, path, *kind in self.inputs:  # (name, path[, kind]), e.g. kind "audit"
            if kind and kind[0] == "journal":  # path: the journal_dir; kind[1]: more keys
                text += "\n[[input]]\nname = \"%s\"\nkind = \"journal\"\njournal_dir = \"%s\"\n" \
                    "start = \"beginning\"\n%s" % (name, path, kind[1] if len(kind) > 1 else "")
                continue
            text += "\n[[input]]\nname = \"%s\"\npath = \"%s\"\nstart = \"beginning\"\n" % (name, path)
            if kind:
                text += "kind = \"%s\"\n" % kind[0]
        self.config = os.path.join(workdir, "agent.toml")
        with open(self.config, "w") as f:
            f.write(text)
        self.proc = None

    def start(self):
        self.logf = open(self.log_path, "a")
        self.proc = subprocess.Popen([os.path.join(BIN, "trailkeep"), "forward", "--config", self.config],
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        return self

    def stop(self, timeout=20):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.logf.close()
        return rc


# --- hand-made chains -------------------------------------------------------


def signed_messages(host, key, epoch, count, pen=32473):
    """`count` chained RFC 5424 messages of `host` ("msg 1" ...), built and MAC'd by Python's
    hmac following docs/formats/hmac_chain.md, independently of the C++ agent."""
    import datetime
    import hashlib
    import hmac
    prev = bytes(32)
    out = []
    for seq in range(1, count + 1):
        ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        unsigned = '<134>1 %s %s app - - [tk@%d e="%d" s="%d" p="%s" m=""] msg %d' % (
            ts, host, pen, epoch, seq, prev.hex(), seq)
        mac = hmac.new(key, unsigned.encode(), hashlib.sha256).digest()
        assert unsigned.count('m=""') == 1
        out.append(unsigned.replace('m=""', 'm="%s"' % mac.hex()).encode())
        prev = mac
    return out


def send_as_agent(port, bundle, messages):
    """RFC 5425 frames over mutual TLS with an enrolment bundle's certificate."""
    import ssl
    from harness import close_tls, frame
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=os.path.join(bundle, "ca.pem"))
    ctx.check_hostname = False
    ctx.load_cert_chain(os.path.join(bundle, "agent.pem"), os.path.join(bundle, "agent.key"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"".join(frame(m) for m in messages))
    close_tls(s)


# --- log writers --------------------------------------------------------------


def line(host, n, tag="line"):
    return "Nov 23 05:08:37 %s myapp[4242]: %s %07d\n" % (host, tag, n)


class Writer(threading.Thread):
    """Appends numbered lines to a file at about `rate` lines per second."""

    def __init__(self, path, host, count, rate=4000, tag="line", start_at=0, make_line=None):
        super().__init__(daemon=True)
        self.path, self.host, self.count, self.rate, self.tag = path, host, count, rate, tag
        self.start_at = start_at
        self.make_line = make_line or (lambda host, n: line(host, n, tag))
        self.written = 0

    def run(self):
        chunk = max(1, self.rate // 50)
        due = time.time()  # paced by the clock, so writing time does not lower the rate
        with open(self.path, "a") as f:
            n = self.start_at
            end = self.start_at + self.count
            while n < end:
                k = min(chunk, end - n)
                f.write("".join(self.make_line(self.host, i) for i in range(n, n + k)))
                f.flush()
                n += k
                self.written = n - self.start_at
                due += k / self.rate
                time.sleep(max(0.0, due - time.time()))


# --- reading back --------------------------------------------------------------


def stored_lines(collector, host, tag="line"):
    """The numbers of the stored `tag NNNNNNN` events of `host`, in store order."""
    events = collector.query("--host", host, "--limit", "10000000")
    nums = []
    prefix = tag + " "
    for e in events:
        msg = e.get("msg") or ""
        if e.get("transport") != "self" and msg.startswith(prefix):
            nums.append(int(msg[len(prefix):]))
    return nums


def wait_stored(collector, host, count, timeout=180, tag="line"):
    deadline = time.time() + timeout
    nums = []
    while time.time() < deadline:
        nums = stored_lines(collector, host, tag)
        if len(set(nums)) >= count:
            return nums
        time.sleep(1.0)
    raise AssertionError("%s: %d of %d events stored after %ss" % (host, len(set(nums)), count, timeout))


def integrity_alarms(collector, host=None):
    """(kind, epoch, first, last) of the collector's INTEGRITY_ALARM events."""
    out = []
    for e in collector.self_events("INTEGRITY_ALARM"):
        params = {p["name"]: p["value"] for el in e.get("structured_data") or [] for p in el["params"]}
        if host is None or params.get("host") == host:
            out.append((params.get("kind"), params.get("epoch"), int(params.get("first_seq", 0)),
                        int(params.get("last_seq", 0))))
    return out


def verify_db(collector, host):
    r = subprocess.run([os.path.join(BIN, "trailkeepd"), "verify", "--db", collector.db, "--host", host],
                       capture_output=True, timeout=300)
    return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


# --- the spool (docs: agent/spool.h): [len BE32][crc32 BE32][payload] records ---


def spool_segments(spool_dir):
    return sorted(os.path.join(spool_dir, f) for f in os.listdir(spool_dir) if f.endswith(".tks"))


def read_records(path):
    with open(path, "rb") as f:
        data = f.read()
    recs, at = [], 0
    while at + 8 <= len(data):
        n, crc = struct.unpack(">II", data[at:at + 8])
        if at + 8 + n > len(data):
            break
        recs.append(data[at + 8:at + 8 + n])
        at += 8 + n
    return recs


def write_records(path, recs):
    with open(path, "wb") as f:
        for r in recs:
            f.write(struct.pack(">II", len(r), zlib.crc32(r) & 0xffffffff))
            f.write(r)


# --- a TCP proxy that cuts and stalls ---------------------------------------------


class Proxy(threading.Thread):
    """Forwards 127.0.0.1:port to the collector's current port. `prelude`, when
    set, is called with each new upstream socket before any byte is copied; a
    false answer drops the connection."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.target = None
        self.prelude = None
        self.lock = threading.Lock()
        self.conns = []
        self.stalled = threading.Event()
        self.stalled.set()  # set = flowing

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            target = self.target
            if target is None:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", target), timeout=5)
                if self.prelude is not None and not self.prelude(u):
                    raise OSError("prelude refused")
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns.append((c, u))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                self.stalled.wait()
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Resets every open connection (RST), as a dead network would."""
        with self.lock:
            conns, self.conns = self.conns, []
        for c, u in conns:
            for s in (c, u):
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
                except OSError:
                    pass

    def stall(self, seconds):
        self.stalled.clear()
        time.sleep(seconds)
        self.stalled.set()

    def close(self):
        self.sock.close()
        self.cut()
