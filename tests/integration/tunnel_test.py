"""Reverse SSH tunnels (libssh2) from trailkeepd to a real OpenSSH sshd.

The test starts its own sshd (package openssh-server) on a high loopback port
with its own config, host key and authorized_keys, in a private mount
namespace (/run/sshd is a tmpfs there), as root; it plays the node. trailkeepd
tunnels into it and asks for a remote listener on 127.0.0.1:<high port>; a
client on the "node" side connects there and its bytes must arrive at the
collector's delivery address (forward_to: a TCP echo server the test runs)
and the answers must come back.

Covers: bytes both ways over several channels at once; the whole sshd process
group killed mid-stream and started again (the tunnel comes back by itself,
TUNNEL_TERMINATED then a new TUNNEL_INITIATED); a changed host key, a wrong
user key, AllowTcpForwarding no and a remote port already taken, each giving
its collector event and retries with backoff while trailkeepd stays near
idle (under 1 CPU-second in 10 s) and alive; the taken port freed: the tunnel
comes up by itself; an RSA key refused by --check-config.

Needs root (sshd, unshare -m) and /usr/sbin/sshd; prints SKIP otherwise (under CI=true it fails).
"""
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import harness
from harness import Collector, free_port, log
from pki import collector_config, shared_pki as pki

SSHD = "/usr/sbin/sshd"


def keygen(path, kind, bits=None):
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", path]
    if bits:
        args += ["-b", str(bits)]
    harness.run(args)
    with open(path + ".pub") as f:
        return f.read().strip()


class Sshd:
    """One private sshd on 127.0.0.1:port, stopped by killing its process group."""

    def __init__(self, extra_config=()):
        self.dir = tempfile.mkdtemp(prefix="tk-sshd-")
        self.port = free_port()
        self.host_pub = keygen(os.path.join(self.dir, "hk_ecdsa"), "ecdsa")
        self.user_pub = keygen(os.path.join(self.dir, "id_ed25519"), "ed25519")
        with open(os.path.join(self.dir, "authorized_keys"), "w") as f:
            f.write(self.user_pub + "\n")
        self.conf = os.path.join(self.dir, "sshd_config")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "Port %d" % self.port,
                "ListenAddress 127.0.0.1",
                "HostKey %s" % os.path.join(self.dir, "hk_ecdsa"),
                "PidFile %s" % os.path.join(self.dir, "sshd.pid"),
                "AuthorizedKeysFile %s" % os.path.join(self.dir, "authorized_keys"),
                "StrictModes no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "PermitRootLogin prohibit-password",
                "GatewayPorts no",
                "ClientAliveInterval 5",
                "LogLevel DEBUG1",
            ] + list(extra_config)) + "\n")
        self.proc = None
        self.log_path = os.path.join(self.dir, "sshd.log")

    @property
    def key(self):
        return os.path.join(self.dir, "id_ed25519")

    def known_hosts(self, pub=None):
        """A known_hosts file holding this sshd's host key (or `pub`)."""
        path = os.path.join(tempfile.mkdtemp(prefix="tk-kh-"), "known_hosts")
        with open(path, "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (self.port, " ".join((pub or self.host_pub).split()[:2])))
        return path

    def start(self):
        logf = open(self.log_path, "a")
        # exec chain: unshare -> sh -> sshd, so proc.pid is sshd, leader of its own group.
        self.proc = subprocess.Popen(
            ["unshare", "-m", "sh", "-c",
             "mount -t tmpfs none /run && mkdir -p /run/sshd && exec %s -D -e -f %s" % (SSHD, self.conf)],
            stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        logf.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited: %s" % self.read_log())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("sshd did not listen on %d" % self.port)

    def descendants(self):
        """PIDs below sshd: its sessions call setsid(), so they leave its process group."""
        children = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                children.setdefault(ppid, []).append(int(d))
        out, todo = [], [self.proc.pid]
        while todo:
            for c in children.get(todo.pop(), []):
                out.append(c)
                todo.append(c)
        return out

    def signal_sessions(self, sig):
        for pid in self.descendants():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def kill(self):
        """SIGKILL to sshd's process group and to every session below it: the node's
        sshd gone at once, as in a crash."""
        if self.proc is None:
            return
        sessions = self.descendants()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in sessions:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.proc = None

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


class EchoServer:
    """The delivery end: echoes every byte back, prefixed per connection with nothing.

    Records the peers it saw (the relay connects from 127.0.0.1) and the bytes received."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.peers = []
        self.received = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, peer = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.peers.append(peer)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        with c:
            while True:
                try:
                    data = c.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                with self.lock:
                    self.received += len(data)
                c.sendall(data)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port


def tunnel_table(name, sshd, remote_port, forward_to, key=None, known_hosts=None, **extra):
    lines = [
        "",
        "[[tunnel]]",
        'name = "%s"' % name,
        'host = "127.0.0.1"',
        "port = %d" % sshd.port,
        'user = "root"',
        'private_key_file = "%s"' % (key or sshd.key),
        'known_hosts_file = "%s"' % (known_hosts or sshd.known_hosts()),
        'remote_bind = "127.0.0.1:%d"' % remote_port,
        'forward_to = "%s"' % forward_to,
        "keepalive_seconds = 2",
        "liveness_seconds = 6",
        "connect_timeout_seconds = 5",
        "backoff_min_ms = 200",
        "backoff_max_ms = 2000",
    ]
    lines += ["%s = %s" % (k, v) for k, v in extra.items()]
    return "\n".join(lines) + "\n"


METRICS_TOKEN = "tk_tunnel_test_" + os.urandom(8).hex()


def collector(tunnels_text):
    tokens = os.path.join(tempfile.mkdtemp(prefix="tk-tok-"), "tokens")
    with open(tokens, "w") as f:
        f.write("ops %s admin *\n" % hashlib.sha256(METRICS_TOKEN.encode()).hexdigest())
    os.chmod(tokens, 0o600)
    export = '\n[export]\ntoken_file = "%s"\n' % tokens
    return Collector(config_text=collector_config(pki(), client_auth="optional") + export + tunnels_text)


def tunnel_metrics(c):
    """trailkeep_tunnel_* samples from GET /metrics: {(name, tunnel): value}."""
    r = subprocess.run(["curl", "-sS", "--cacert", pki().cert("ca"), "-H", "Authorization: Bearer " + METRICS_TOKEN,
                        "https://127.0.0.1:%d/metrics" % c.export_port], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.decode().splitlines():
        m = re.match(r'trailkeep_(tunnel_\w+)\{tunnel="([^"]*)"\} (\S+)$', line)
        if m:
            out[(m.group(1), m.group(2))] = float(m.group(3))
    return out


def tunnel_events(c, msgid, name):
    return [e for e in c.self_events(msgid) if ("tunnel " + name + " ") in e["msg"]]


def echo_roundtrip(port, payload, timeout=10):
    """Connects to the tunnel's remote end, sends payload, reads the echo back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        # Send while reading: a large echo must not wait on our own receive buffer.
        def send():
            try:
                s.sendall(payload)
            except OSError:
                pass  # the short echo tells

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        sender.join(timeout)
        return got


def wait_roundtrip(port, payload, timeout=30):
    """Retries until the tunnel's remote listener is there and echoes."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            got = echo_roundtrip(port, payload)
            if got == payload:
                return got
            last = "short echo: %d of %d bytes" % (len(got), len(payload))
        except OSError as e:
            last = e
        time.sleep(0.2)
    raise AssertionError("no echo through the tunnel on %d: %s" % (port, last))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_bytes_both_ways_over_many_channels():
    sshd = Sshd().start()
    echo = EchoServer()
    rport = free_port()
    c = collector(tunnel_table("node-a", sshd, rport, echo.address))
    try:
        c.start()
        wait_roundtrip(rport, b"hello through the tunnel\n")
        # Eight channels at once share one SSH socket: one pump must serve all.
        payloads = [os.urandom(200_000 + i) for i in range(8)]
        results = [None] * len(payloads)

        def run(i):
            results[i] = echo_roundtrip(rport, payloads[i], timeout=30)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(payloads))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for i, p in enumerate(payloads):
            assert results[i] == p, "channel %d: %s of %d bytes echoed" % (
                i, None if results[i] is None else len(results[i]), len(p))
        with echo.lock:
            assert all(peer[0] == "127.0.0.1" for peer in echo.peers), echo.peers
            assert len(set(peer[1] for peer in echo.peers)) == len(echo.peers), "relay ports reused at once"
        up = c.wait_for(lambda: tunnel_events(c, "TUNNEL_INITIATED", "node-a"), what="TUNNEL_INITIATED")
        assert "127.0.0.1:%d" % rport in up[0]["msg"], up[0]["msg"]
        assert "FTP_ITC.1" in up[0]["refs"], up[0]["refs"]
        # The tunnel's state in /metrics: up, 9 channels served, the bytes both ways.
        m = c.wait_for(lambda: (lambda m: m.get(("tunnel_channels_open", "node-a")) == 0 and m)(tunnel_metrics(c)),
                       what="every channel closed in /metrics")
        assert m[("tunnel_up", "node-a")] == 1, m
        assert m[("tunnel_channels_total", "node-a")] == 9, m
        sent = sum(map(len, payloads)) + len(b"hello through the tunnel\n")
        assert m[("tunnel_bytes_from_node_total", "node-a")] == sent, (m, sent)
        assert m[("tunnel_bytes_to_node_total", "node-a")] == sent, (m, sent)
        log("8 channels echoed %d bytes; %s" % (sum(map(len, payloads)), up[0]["msg"]))
        assert c.alive()
    finally:
        c.stop()
        sshd.kill()


def test_sshd_killed_mid_stream_and_restarted():
    sshd = Sshd().start()
    echo = EchoServer()
    rport = free_port()
    c = collector(tunnel_table("node-b", sshd, rport, echo.address))
    try:
        c.start()
        wait_roundtrip(rport, b"before\n")
        # A stream in progress when the node's sshd dies.
        s = socket.create_connection(("127.0.0.1", rport), timeout=10)
        s.sendall(os.urandom(100_000))
        sshd.kill()
        s.close()
        c.wait_for(lambda: tunnel_events(c, "TUNNEL_TERMINATED", "node-b"), what="TUNNEL_TERMINATED")
        sshd.start()
        wait_roundtrip(rport, b"after the restart\n", timeout=60)
        ups = c.wait_for(lambda: len(tunnel_events(c, "TUNNEL_INITIATED", "node-b")) >= 2 and
                         tunnel_events(c, "TUNNEL_INITIATED", "node-b"), what="second TUNNEL_INITIATED")
        down = tunnel_events(c, "TUNNEL_TERMINATED", "node-b")
        log("tunnel came back: %s / %s" % (down[0]["msg"], ups[-1]["msg"]))
        assert c.alive()
    finally:
        c.stop()
        sshd.kill()


def test_silent_node_detected_by_liveness_timer():
    """sshd's session frozen (SIGSTOP): the TCP connection stays open but nothing
    answers; the liveness timer on inbound bytes ends the session (keepalives alone
    track no replies in libssh2 1.10) and the tunnel comes back once sshd runs."""
    sshd = Sshd().start()
    echo = EchoServer()
    rport = free_port()
    c = collector(tunnel_table("node-frozen", sshd, rport, echo.address))
    try:
        c.start()
        wait_roundtrip(rport, b"alive\n")
        sshd.signal_sessions(signal.SIGSTOP)
        down = c.wait_for(lambda: tunnel_events(c, "TUNNEL_TERMINATED", "node-frozen"), timeout=60,
                          what="TUNNEL_TERMINATED")
        assert "no data from" in down[0]["msg"], down[0]["msg"]
        log(down[0]["msg"])
        # The frozen session still holds the remote port: kill it, the tunnel comes back.
        sshd.signal_sessions(signal.SIGKILL)
        wait_roundtrip(rport, b"back\n", timeout=60)
        assert c.alive()
    finally:
        c.stop()
        sshd.kill()


def test_failures_retry_with_backoff_and_stay_idle():
    good = Sshd().start()
    no_fwd = Sshd(extra_config=["AllowTcpForwarding no"]).start()
    echo = EchoServer()
    # A changed host key: known_hosts names another key for [127.0.0.1]:port.
    other_host_pub = keygen(os.path.join(tempfile.mkdtemp(prefix="tk-k-"), "other_hk"), "ecdsa")
    # A user key sshd does not know.
    wrong_key = os.path.join(tempfile.mkdtemp(prefix="tk-k-"), "wrong_ed25519")
    keygen(wrong_key, "ed25519")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    taken_port = taken.getsockname()[1]
    text = (tunnel_table("changed-hostkey", good, free_port(), echo.address,
                         known_hosts=good.known_hosts(other_host_pub)) +
            tunnel_table("wrong-userkey", good, free_port(), echo.address, key=wrong_key) +
            tunnel_table("no-forwarding", no_fwd, free_port(), echo.address) +
            tunnel_table("port-taken", good, taken_port, echo.address))
    c = collector(text)
    try:
        c.start()
        expect = [("changed-hostkey", "SSH_SESSION_FAILED", "HOST KEY CHANGED"),
                  ("wrong-userkey", "SSH_SESSION_FAILED", "authentication"),
                  ("no-forwarding", "TUNNEL_FAILED", "refused to listen"),
                  ("port-taken", "TUNNEL_FAILED", "refused to listen")]
        refs = {"SSH_SESSION_FAILED": "FCS_SSHS_EXT.1", "TUNNEL_FAILED": "FTP_ITC.1"}
        for name, msgid, text_part in expect:
            ev = c.wait_for(lambda: tunnel_events(c, msgid, name), what="%s for %s" % (msgid, name))
            assert text_part in ev[0]["msg"], ev[0]["msg"]
            assert refs[msgid] in ev[0]["refs"], ev[0]["refs"]
            log("%s: %s" % (name, ev[0]["msg"]))
        assert not [e for e in c.self_events("TUNNEL_INITIATED")], "a refused tunnel came up"
        # Retrying, with backoff, and near idle while doing so.
        before = cpu_seconds(c.proc.pid)
        time.sleep(10)
        used = cpu_seconds(c.proc.pid) - before
        log("trailkeepd CPU while 4 tunnels retried for 10 s: %.2f s" % used)
        assert used < 1.0, used
        assert c.alive()
        logtext = c.read_log()
        for name, _, _ in expect:
            retries = logtext.count("tunnel %s: retrying in" % name)
            assert retries >= 3, "%s retried %d times" % (name, retries)
        # The taken port freed: that tunnel comes up by itself.
        taken.close()
        wait_roundtrip(taken_port, b"port free again\n", timeout=30)
        c.wait_for(lambda: tunnel_events(c, "TUNNEL_INITIATED", "port-taken"), what="port-taken up")
        assert not tunnel_events(c, "TUNNEL_INITIATED", "changed-hostkey")
        assert c.stop() == 0
    finally:
        c.stop()
        good.kill()
        no_fwd.kill()


def test_audit_frames_through_tunnel_carry_the_node_identity():
    """No forward_to: channels go to the collector's own port-60 listener, which
    takes the sender's identity from the tunnel (handed over with the channel, in process), not the address."""
    import struct
    magic, message, heartbeat, ack = 0xFF0000FE, 0, 1, 0x40000000

    def frame(kind, seq, payload=b""):
        return struct.pack("<IBBIHI", magic, 0, 0, kind, len(payload), seq) + payload

    def reply(s):
        head = b""
        while len(head) < 16:
            chunk = s.recv(16 - len(head))
            assert chunk, "connection closed before the reply"
            head += chunk
        _, _, _, kind, n, seq = struct.unpack("<IBBIHI", head)
        body = b""
        while len(body) < n:
            body += s.recv(n - len(body))
        return kind, seq

    sshd = Sshd().start()
    rport = free_port()
    text = tunnel_table("node-audit", sshd, rport, "").replace('forward_to = ""\n', "")
    c = collector(text)
    try:
        c.start()
        assert c.audit_port, "no port-60 listener in ports.json"
        c.wait_for(lambda: tunnel_events(c, "TUNNEL_INITIATED", "node-audit"), what="tunnel up")
        records = [("type=USER_CMD msg=audit(1700000100.%03d:%d): pid=%d uid=0 auid=1000 "
                    "msg='cwd=\"/root\" cmd=6C73 exe=\"/usr/bin/sudo\" res=success'\n" % (i, 5000 + i, 100 + i)).encode()
                   for i in range(20)]
        with socket.create_connection(("127.0.0.1", rport), timeout=10) as s:
            s.sendall(frame(heartbeat, 1))
            assert reply(s) == (ack, 1)
            for i, r in enumerate(records):
                s.sendall(frame(message, 2 + i, r))
                assert reply(s) == (ack, 2 + i), "record %d not acknowledged" % i
        on_node = [e for e in c.query("--host", "node-audit", "--limit", "100000")
                   if e.get("transport") == "audit-port60"]
        stored = [e for e in on_node if e.get("audit_member")]
        assert len(stored) == len(records), (len(stored), [e.get("host") for e in c.query()][:5])
        assert sorted(e["msg"] for e in stored) == sorted(r.decode().rstrip("\n") for r in records)
        # Each record is an event of its own: grouped, under the tunnel's node too.
        c.wait_for(lambda: len([e for e in c.query("--host", "node-audit", "--limit", "100000")
                                          if e.get("msgid") == "USER_CMD"]) == len(records) or None,
                             what="grouped events under node-audit")
        assert all(e["peer"]["address"].startswith("127.0.0.1:") for e in stored), stored[0]["peer"]
        log("%d records acknowledged through the tunnel, stored and grouped under host node-audit" %
            len(stored))
    finally:
        c.stop()
        sshd.kill()


def test_rsa_key_refused_at_startup():
    sshd = Sshd()
    rsa = os.path.join(tempfile.mkdtemp(prefix="tk-k-"), "id_rsa")
    keygen(rsa, "rsa", 2048)
    c = collector(tunnel_table("rsa-node", sshd, free_port(), "127.0.0.1:9", key=rsa))
    cfg = os.path.join(c.workdir, "check.toml")
    with open(cfg, "w") as f:
        f.write(c.config_text.replace("@DATA@", c.data_dir))
    r = subprocess.run([os.path.join(harness.BIN, "trailkeepd"), "--check-config", "--config", cfg],
                       capture_output=True, timeout=60)
    err = r.stderr.decode(errors="replace")
    assert r.returncode != 0, err
    assert "RSA" in err and "SHA-1" in err and "Ed25519" in err, err
    log(err.strip().splitlines()[-1])


if __name__ == "__main__":
    if os.geteuid() != 0 or not os.path.exists(SSHD):
        harness.cannot_run("tunnel_test needs root and %s (openssh-server)" % SSHD)
        sys.exit(0)
    harness.main([test_bytes_both_ways_over_many_channels, test_audit_frames_through_tunnel_carry_the_node_identity,
                  test_sshd_killed_mid_stream_and_restarted, test_silent_node_detected_by_liveness_timer,
                  test_failures_retry_with_backoff_and_stay_idle, test_rsa_key_refused_at_startup])
