#!/usr/bin/env python3
"""Plaintext syslog from gear that cannot speak TLS (issue 15, part 2): the opt-in
[[listen.udp]] (RFC 5426) and [[listen.tcp]] (RFC 6587) listeners of a real trailkeepd,
driven by real senders.

  1. util-linux `logger --udp`, `--tcp` and `--tcp --octet-count`, and rsyslog's omfwd over
     UDP and over TCP (octet-counted and LF framing): every message stored once, marked
     udp-syslog / tcp-syslog, unauthenticated, unsigned, filed under the sender's address
     with the claimed HOSTNAME beside it; an address the [plain_syslog.hosts] mapping names
     gets that name, a relay's address speaks for the HOSTNAMEs its patterns allow and no
     other; each listener opened is a PLAINTEXT_LISTENER_OPENED collector event naming its
     transport and address; /metrics counts what arrived.
  2. A flood from one address (127.0.0.2) over UDP, beyond rate_per_source, does not starve
     another (127.0.0.1): every message of the other is stored, the flood's excess is
     dropped and counted in udp_syslog_dropped_total{reason="rate_limit"} (what arrived =
     what was stored + what the limit dropped); over TCP the flood is slowed, not dropped
     (tcp_syslog_rate_limited_total), and the other connection's messages still arrive.

Listeners on port 0; ports from ports.json ("udp", "tcp"). rsyslog is the unpacked Debian
package (tests/peers/fetch-rsyslog.sh), as in rsyslog_test.py.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Collector, log, main, scaled  # noqa: E402
from export_test import token_line  # noqa: E402
from pki import collector_config, shared_pki as pki  # noqa: E402
from rsyslog_test import Rsyslog, ensure_rsyslog  # noqa: E402

TOKEN = "plain-syslog-admin-token"


def config(workdir, plain):
    tokens = os.path.join(workdir, "tokens")
    os.makedirs(workdir, exist_ok=True)
    with open(tokens, "w") as f:
        f.write(token_line("admin", TOKEN, "admin,export,tail"))
    return collector_config(pki()) + '\n[export]\ntoken_file = "%s"\n' % tokens + plain


def metrics(c):
    """{name or name{labels}: value} of GET /metrics."""
    r = subprocess.run(["curl", "-sS", "--http1.1", "--max-time", "20", "--cacert", pki().cert("ca"),
                        "-H", "Authorization: Bearer " + TOKEN,
                        "https://127.0.0.1:%d/metrics" % c.export_port], capture_output=True, timeout=40)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.decode().splitlines():
        m = re.match(r"trailkeep_(\S+) (\S+)$", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def sd(e, sd_id):
    for el in e.get("structured_data") or []:
        if el["id"] == sd_id:
            return {p["name"]: p["value"] for p in el["params"]}
    return {}


def send_udp(source, port, messages, pace=0.0, every=1):
    """Sends each message as one datagram from `source`, sleeping `pace` s after every `every`."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    for i, m in enumerate(messages):
        s.sendto(m, ("127.0.0.1", port))
        if pace and (i + 1) % every == 0:
            time.sleep(pace)
    s.close()


def send_tcp(source, port, messages):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(120)
    s.connect(("127.0.0.1", port))
    s.sendall(b"".join(b"%d %s" % (len(m), m) for m in messages))
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # the collector closes once it read everything
    s.close()


def logger(transport, port, text, *extra):
    harness.run(["logger", transport, "-n", "127.0.0.1", "-P", str(port), "-t", "gear",
                 "-p", "local4.warning"] + list(extra) + [text], timeout=60)


class PlainRsyslog(Rsyslog):
    """rsyslog: imtcp on a loopback port, omfwd in plain UDP or TCP to the collector."""

    def __init__(self, collector, protocol, framing, port):
        super().__init__(collector, "plain-" + protocol, framing)
        self.protocol, self.target = protocol, port

    def config(self, port):
        framing = ' TCP_Framing="%s"' % self.framing if self.protocol == "tcp" else ""
        return """
global(workDirectory="{work}" processInternalMessages="on")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="forward")
ruleset(name="forward") {{
  action(type="omfwd" target="127.0.0.1" port="{cport}" protocol="{protocol}"{framing}
         template="RSYSLOG_SyslogProtocol23Format"
         queue.type="LinkedList" queue.size="100000"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
action(type="omfile" file="{internal}")
""".format(work=os.path.join(self.dir, "work"), port=port, cport=self.target, protocol=self.protocol,
           framing=framing, internal=self.internal_log)


def by_msg(c, needle):
    return [e for e in c.peer_events() if needle in e["msg"]]


def test_senders_transports_and_hosts():
    ensure_rsyslog()
    workdir = tempfile.mkdtemp(prefix="tk-plain-")
    plain = """
[[listen.udp]]
address = "127.0.0.1:0"

[[listen.tcp]]
address = "127.0.0.1:0"

[plain_syslog]
receive_buffer_bytes = 1048576

[plain_syslog.hosts]
"127.0.0.2" = "mapped-gear"

[[plain_syslog.relay]]
address = "127.0.0.3/32"
hosts = ["relayed-*"]
"""
    c = Collector(workdir=workdir, config_text=config(workdir, plain)).start()
    try:
        assert c.udp_port and c.tcp_port, "no udp/tcp in ports.json"
        me = socket.gethostname()
        # 1. logger over each transport and framing.
        cases = [("--udp", c.udp_port, (), "udp-syslog"), ("--tcp", c.tcp_port, (), "tcp-syslog"),
                 ("--tcp", c.tcp_port, ("--octet-count",), "tcp-syslog")]
        for i, (flag, port, extra, transport) in enumerate(cases):
            logger(flag, port, "logger case %d %s" % (i, flag), *extra)
        for i, (flag, port, extra, transport) in enumerate(cases):
            [e] = c.wait_for(lambda: by_msg(c, "logger case %d " % i), what="logger case %d" % i)
            assert e["transport"] == transport, e
            assert (e["host"], e["hostname"], e["app_name"]) == ("127.0.0.1", me, "gear"), e
            assert (e["facility"], e["severity"], e["format"]) == ("local4", "warning", "rfc5424"), e
            assert e["peer"]["authenticated"] is False and e["integrity"] == "unsigned", e
            assert e["peer"]["address"].startswith("127.0.0.1:") and e["chain"] is None, e
            assert e["peer"]["listener"] == "127.0.0.1:%d" % port, e
        log("  logger --udp, --tcp, --tcp --octet-count: stored, unauthenticated, host = address")

        # 2. The address mapping and a relay's patterns.
        hdr = b"<165>1 2026-01-02T03:04:05Z %s app - - - %s"
        send_udp("127.0.0.2", c.udp_port, [hdr % (b"claims.example", b"mapped one")])
        send_tcp("127.0.0.3", c.tcp_port, [hdr % (b"relayed-sw1", b"relayed one"),
                                           hdr % (b"web01.example", b"relay overreach")])
        # A chain element from an unauthenticated sender is never judged.
        send_udp("127.0.0.1", c.udp_port, [b"<165>1 2026-01-02T03:04:05Z agent-host app - - "
                                           b"[tk@32473 e=\"5\" s=\"1\" p=\"00\" m=\"00\"] forged chain"])
        want = {"mapped one": ("mapped-gear", "claims.example", "udp-syslog"),
                "relayed one": ("relayed-sw1", "relayed-sw1", "tcp-syslog"),
                "relay overreach": ("127.0.0.3", "web01.example", "tcp-syslog"),
                "forged chain": ("127.0.0.1", "agent-host", "udp-syslog")}
        for text, (host, hostname, transport) in want.items():
            [e] = c.wait_for(lambda: by_msg(c, text), what=text)
            assert (e["host"], e["hostname"], e["transport"]) == (host, hostname, transport), (text, e)
            assert e["integrity"] == "unsigned" and e["chain"] is None, e
        log("  [plain_syslog.hosts] names 127.0.0.2; relay 127.0.0.3 speaks for relayed-* only; "
            "no chain judged")

        # 3. rsyslog omfwd, plain UDP and TCP (both framings).
        n = scaled(100)
        for protocol, framing, port in (("udp", "traditional", c.udp_port),
                                         ("tcp", "octet-counted", c.tcp_port),
                                         ("tcp", "traditional", c.tcp_port)):
            tag = "rsyslog-%s-%s" % (protocol, framing)
            rs = PlainRsyslog(c, protocol, framing, port)
            try:
                rs.start()
                lines = "".join("%s message %04d\n" % (tag, i) for i in range(n))
                harness.run(["logger", "-T", "-n", "127.0.0.1", "-P", str(rs.port), "-t", "viarsyslog",
                             "-p", "authpriv.notice"], input=lines.encode(), timeout=60)
                try:
                    got = c.wait_for(lambda: len(by_msg(c, tag)) >= n and by_msg(c, tag), 60,
                                     "%d events via %s" % (n, tag))
                except AssertionError:
                    log(rs.diagnostics())
                    raise
            finally:
                rs.stop()
            time.sleep(0.5)
            got = by_msg(c, tag)
            assert sorted(e["msg"] for e in got) == ["%s message %04d" % (tag, i) for i in range(n)], tag
            transport = protocol + "-syslog"
            assert all(e["transport"] == transport and e["host"] == "127.0.0.1" and
                       e["app_name"] == "viarsyslog" and e["severity"] == "notice" for e in got), got[0]
            log("  %s: %d messages stored once, %s" % (tag, n, transport))

        # 4. The auditor's view: one PLAINTEXT_LISTENER_OPENED per socket, and /metrics.
        opened = sorted((sd(e, "trailkeep@32473")["transport"], sd(e, "trailkeep@32473")["address"],
                         e["severity"]) for e in c.self_events("PLAINTEXT_LISTENER_OPENED"))
        assert opened == [("tcp-syslog", "127.0.0.1:%d" % c.tcp_port, "warning"),
                          ("udp-syslog", "127.0.0.1:%d" % c.udp_port, "warning")], opened
        m = metrics(c)
        assert m["udp_syslog_datagrams_total"] == 1 + 1 + 1 + n, m.get("udp_syslog_datagrams_total")
        assert m['udp_syslog_dropped_total{reason="rate_limit"}'] == 0, m
        assert m["tcp_syslog_frames_total"] == 2 + 2 + 2 * n, m.get("tcp_syslog_frames_total")
        assert m["tcp_syslog_accepted_total"] >= 5 and m["tcp_syslog_framing_errors_total"] == 0, m
        log("  PLAINTEXT_LISTENER_OPENED for both sockets; /metrics counts every datagram and frame")
    finally:
        c.stop()


def test_a_flood_does_not_starve_the_others():
    workdir = tempfile.mkdtemp(prefix="tk-plain-flood-")
    rate = 200
    # The kernel's socket buffer is shared by every sender: the flood must not fill it faster
    # than the collector drains it (then the kernel drops anyone's datagrams; docs/configuration.md).
    plain = "\n[plain_syslog]\nrate_per_source = %d\nburst_per_source = %d\nreceive_buffer_bytes = %d\n" % (
        rate, rate, 8 << 20)
    c = Collector(workdir=workdir, config_text=config(workdir, plain),
                  extra_args=["--listen-udp", "127.0.0.1:0", "--listen-tcp", "127.0.0.1:0"]).start()
    try:
        # UDP: 127.0.0.2 floods at about 20,000/s (100 times its limit) while 127.0.0.1 sends 100
        # messages at 50/s.
        flood_n = scaled(20000)
        start = time.time()
        flood = threading.Thread(target=send_udp, args=(
            "127.0.0.2", c.udp_port, [b"<134>1 - flood app - - - udp flood %06d" % i for i in range(flood_n)],
            0.01, 200))
        flood.start()
        send_udp("127.0.0.1", c.udp_port, [b"<134>1 - calm app - - - udp calm %03d" % i for i in range(100)],
                 pace=0.02)
        flood.join()
        took = time.time() - start
        calm = c.wait_for(lambda: len(by_msg(c, "udp calm")) >= 100 and by_msg(c, "udp calm"), 30, "the calm source")
        time.sleep(1)
        assert sorted(e["msg"] for e in by_msg(c, "udp calm")) == ["udp calm %03d" % i for i in range(100)]
        flooded = len(by_msg(c, "udp flood"))
        m = metrics(c)
        dropped = m['udp_syslog_dropped_total{reason="rate_limit"}']
        # What arrived was either stored or dropped by the limit, and counted.
        assert m["udp_syslog_datagrams_total"] == 100 + flooded + dropped, (m, flooded)
        assert dropped > 0 and flooded <= rate + rate * (took + 2), (flooded, dropped, took)
        assert all(e["host"] == "127.0.0.1" for e in calm)
        log("  UDP: flood of %d from 127.0.0.2 in %.1f s: %d stored, %d dropped by the limit (counted); "
            "all 100 of 127.0.0.1 stored" % (flood_n, took, flooded, dropped))

        # TCP: the same flood is slowed by back-pressure, never dropped; the other connection goes on.
        tcp_n = 1000
        flood = threading.Thread(target=send_tcp, args=(
            "127.0.0.2", c.tcp_port, [b"<134>1 - flood app - - - tcp flood %06d" % i for i in range(tcp_n)]))
        start = time.time()
        flood.start()
        time.sleep(0.5)
        send_tcp("127.0.0.1", c.tcp_port, [b"<134>1 - calm app - - - tcp calm %03d" % i for i in range(100)])
        c.wait_for(lambda: len(by_msg(c, "tcp calm")) >= 100, 10, "the calm TCP source beside the flood")
        calm_at = time.time() - start
        flood.join(120)
        flood_at = time.time() - start
        assert len(by_msg(c, "tcp flood")) == tcp_n, len(by_msg(c, "tcp flood"))
        assert calm_at < flood_at, (calm_at, flood_at)
        m = metrics(c)
        assert m["tcp_syslog_rate_limited_total"] > 0, m
        log("  TCP: flood of %d slowed to %.1f s (back-pressure, none lost); the other source's 100 "
            "stored after %.1f s" % (tcp_n, flood_at, calm_at))
    finally:
        c.stop()


if __name__ == "__main__":
    main([test_senders_transports_and_hosts, test_a_flood_does_not_starve_the_others])
