"""rsyslog omfwd over TLS into trailkeepd (docs/formats/syslog.md, "Senders and their quirks").

logger (util-linux) -> rsyslog imtcp (plain TCP on loopback) -> rsyslog omfwd
(TLS with the dev client certificate, server checked by x509/name against
"localhost") -> trailkeepd. Runs with the "ossl" and "gtls" stream drivers, with
octet-counted framing (RFC 5425) and "traditional" LF framing. Each run checks
that every message arrives exactly once with app_name, msg, facility authpriv,
severity notice, the certificate identity, and the raw bytes rsyslog's
RSYSLOG_SyslogProtocol23Format produces.

rsyslog is the unpacked Debian package (tests/peers/fetch-rsyslog.sh), run with
its own config, work folder and pidfile in the test's temp folder and stopped
by PID.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import PEERS, Collector, b64, log, scaled  # noqa: E402

RSYSLOG_ROOT = os.path.join(PEERS, "rsyslog")
RSYSLOGD = os.path.join(RSYSLOG_ROOT, "usr", "sbin", "rsyslogd")
MODDIR = os.path.join(RSYSLOG_ROOT, "usr", "lib", "x86_64-linux-gnu", "rsyslog")
FETCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers", "fetch-rsyslog.sh")




def ensure_rsyslog():
    if not (os.access(RSYSLOGD, os.X_OK) and os.path.exists(os.path.join(MODDIR, "lmnsd_ossl.so"))):
        log("rsyslog not unpacked under %s; running %s" % (PEERS, FETCH))
        harness.run(["sh", FETCH, PEERS], timeout=600)
    for drv in ("ossl", "gtls"):
        assert os.path.exists(os.path.join(MODDIR, "lmnsd_%s.so" % drv)), "rsyslog %s driver missing" % drv


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening_inodes(port):
    inodes = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                inodes.add(inode)
    return inodes


def pid_listens_on(pid, port):
    """True when `port` is a listening socket owned by process `pid`."""
    wanted = {"socket:[%s]" % i for i in listening_inodes(port)}
    if not wanted:
        return False
    fd_dir = "/proc/%d/fd" % pid
    try:
        for fd in os.listdir(fd_dir):
            try:
                if os.readlink(os.path.join(fd_dir, fd)) in wanted:
                    return True
            except OSError:
                pass
    except OSError:
        pass
    return False


class Rsyslog:
    """One private rsyslogd: imtcp on a free loopback port, omfwd to the collector.

    `tls` = (ca, cert, key) paths; by default the collector's dev PKI and its client
    certificate. `name` tells its folder apart from another rsyslog of the collector."""

    def __init__(self, collector, driver, framing, tls=None, name=None):
        self.c = collector
        self.driver = driver
        self.framing = framing
        pki = collector.pki
        self.tls = tls or (pki + "/ca.pem", pki + "/client.pem", pki + "/client.key")
        self.dir = os.path.join(collector.workdir, "rsyslog-" + (name or "%s-%s" % (driver, framing)))
        os.makedirs(os.path.join(self.dir, "work"), exist_ok=True)
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        self.internal_log = os.path.join(self.dir, "internal.log")
        self.out_path = os.path.join(self.dir, "rsyslogd.out")
        self.proc = None
        self.port = None

    def config(self, port):
        ca, cert, key = self.tls
        # Internal messages (start, TLS errors) stay in rsyslog: to a file here,
        # not to the machine's logger. Only what arrives on imtcp is forwarded.
        return """
global(workDirectory="{work}"
       processInternalMessages="on"
       DefaultNetstreamDriverCAFile="{ca}"
       DefaultNetstreamDriverCertFile="{cert}"
       DefaultNetstreamDriverKeyFile="{key}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="forward")
ruleset(name="forward") {{
  action(type="omfwd" target="127.0.0.1" port="{cport}" protocol="tcp"
         StreamDriver="{driver}" StreamDriverMode="1"
         StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"
         TCP_Framing="{framing}" template="RSYSLOG_SyslogProtocol23Format"
         queue.type="LinkedList" queue.size="100000"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
action(type="omfile" file="{internal}")
""".format(work=os.path.join(self.dir, "work"), ca=ca, cert=cert, key=key, port=port, cport=self.c.port, driver=self.driver,
           framing=self.framing, internal=self.internal_log)

    def diagnostics(self):
        out = []
        for p in (self.out_path, self.internal_log):
            try:
                with open(p, errors="replace") as f:
                    out.append("--- %s\n%s" % (p, f.read()[-4000:]))
            except FileNotFoundError:
                pass
        return "\n".join(out)

    def start(self, attempts=5):
        for attempt in range(attempts):
            port = free_port()
            with open(self.conf, "w") as f:
                f.write(self.config(port))
            if attempt == 0:
                r = subprocess.run([RSYSLOGD, "-N1", "-f", self.conf, "-M", MODDIR], capture_output=True,
                                   timeout=60)
                text = (r.stdout + r.stderr).decode(errors="replace")
                assert r.returncode == 0 and "error" not in text.lower(), "rsyslogd -N1 refused the config:\n" + text
            if os.path.exists(self.pidfile):
                os.unlink(self.pidfile)
            self.out = open(self.out_path, "a")
            self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", self.conf, "-i", self.pidfile, "-M", MODDIR],
                                         stdout=self.out, stderr=subprocess.STDOUT)
            deadline = time.time() + 15
            while time.time() < deadline and self.proc.poll() is None:
                if pid_listens_on(self.proc.pid, port):
                    self.port = port
                    return self
                time.sleep(0.1)
            log("rsyslogd did not listen on %d (attempt %d):\n%s" % (port, attempt + 1, self.diagnostics()))
            self.stop()
        raise AssertionError("rsyslogd never listened on its imtcp port:\n" + self.diagnostics())

    def stop(self):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.out.close()
        return rc


def logger(port, *args, stdin=None):
    cmd = ["logger", "-T", "-n", "127.0.0.1", "-P", str(port), "-t", "audittest", "-p", "authpriv.notice"]
    harness.run(cmd + list(args), input=stdin, timeout=60)


def run_case(driver, framing):
    ensure_rsyslog()
    n = scaled(200)
    tag = "%s-%s" % (driver, framing)
    texts = ["audit message %s %05d: user=alice action=login result=ok" % (tag, i) for i in range(n)]
    bsd_text = "hello bsd via rsyslog %s" % tag
    with Collector() as c:
        rs = Rsyslog(c, driver, framing)
        try:
            rs.start()
            # A few as single invocations, the rest as stdin lines of one logger.
            single = min(20, n)
            for t in texts[:single]:
                logger(rs.port, t)
            if n > single:
                logger(rs.port, stdin=("\n".join(texts[single:]) + "\n").encode())
            logger(rs.port, "--rfc3164", bsd_text)
            want = n + 1
            try:
                c.wait_for(lambda: len(c.peer_events()) >= want, 60, "%d events via rsyslog" % want)
            except AssertionError:
                log(rs.diagnostics())
                raise
            rc = rs.stop()
            assert rc == 0, "rsyslogd exited with %s:\n%s" % (rc, rs.diagnostics())
        finally:
            rs.stop()
        time.sleep(0.5)
        events = c.peer_events()  # after rsyslog stopped: nothing re-sent on shutdown
        assert len(events) == want, "expected exactly %d events, got %d" % (want, len(events))
        check_events(c, events, texts, bsd_text, framing)
        log("%s: %d events via rsyslog, peer %s" % (tag, len(events), events[0]["peer"]["address"]))


def check_events(c, events, texts, bsd_text, framing):
    hostname = socket.gethostname()
    errors = []
    by_msg = {}
    for e in events:
        by_msg.setdefault(e["msg"], []).append(e)
    # rsyslog's %msg% of an RFC 3164 message keeps the SP that followed the tag;
    # the collector stores MSG as sent.
    expected_msgs = list(texts) + [" " + bsd_text]
    for m in expected_msgs:
        if len(by_msg.get(m, [])) != 1:
            errors.append("msg %r stored %d times" % (m, len(by_msg.get(m, []))))
    extra = set(by_msg) - set(expected_msgs)
    if extra:
        errors.append("unexpected messages: %r" % sorted(extra)[:5])
    for e in events:
        raw = b64(e)
        bsd = e["msg"] == " " + bsd_text
        want = {
            "transport": "tls-syslog", "format": "rfc5424", "parse_error": "", "version": 1,
            "pri": 85, "facility": "authpriv", "severity": "notice",
            "app_name": "audittest", "procid": "", "msgid": "", "msg_has_bom": False,
            "hostname": hostname.split(".")[0] if bsd else hostname,
            "host": hostname.split(".")[0] if bsd else hostname,
            "event_time_inferred": False,
            "peer.authenticated": True, "peer.cert_dns_names": ["dev-client"],
            "peer.cert_subject": "CN=dev-client,O=trailkeep dev",
            "peer.listener": "127.0.0.1:%d" % c.port,
        }
        for key, value in want.items():
            got = e
            for part in key.split("."):
                got = got[part]
            if got != value:
                errors.append("%r: %s is %r, expected %r" % (e["msg"][:40], key, got, value))
        sd_ids = [s["id"] for s in e["structured_data"]]
        if sd_ids != ([] if bsd else ["timeQuality"]):
            errors.append("%r: structured_data ids %r" % (e["msg"][:40], sd_ids))
        # RSYSLOG_SyslogProtocol23Format ends with LF; in octet-counted frames the
        # LF is inside the count (kept in raw), with traditional framing it is the
        # frame delimiter.
        sd_text = "-" if bsd else '[timeQuality tzKnown="1" isSynced="%s"' % (
            e["structured_data"][0]["params"][1]["value"] if e["structured_data"] else "")
        expected_raw = ("<85>1 %s %s audittest - - " % (e["timestamp"], e["hostname"])).encode()
        if not raw.startswith(expected_raw + sd_text.encode()):
            errors.append("raw %r does not start with %r" % (raw[:100], expected_raw))
        tail = (" " + e["msg"] + ("\n" if framing == "octet-counted" else "")).encode()
        if not raw.endswith(tail):
            errors.append("raw %r does not end with %r" % (raw[-60:], tail))
        if len(errors) > 20:
            break
    assert not errors, "\n".join(errors[:20])
    # One TLS connection from rsyslog carried everything.
    assert len({e["peer"]["address"] for e in events}) == 1, {e["peer"]["address"] for e in events}


def test_ossl_octet_counted():
    run_case("ossl", "octet-counted")


def test_gtls_octet_counted():
    run_case("gtls", "octet-counted")


def test_ossl_traditional():
    run_case("ossl", "traditional")


def test_gtls_traditional():
    run_case("gtls", "traditional")


if __name__ == "__main__":
    harness.main([test_ossl_octet_counted, test_gtls_octet_counted, test_ossl_traditional, test_gtls_traditional])
