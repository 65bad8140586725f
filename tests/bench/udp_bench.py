#!/usr/bin/env python3
"""UDP syslog benchmark: messages/s received and lost at increasing send rates, trailkeepd
([[listen.udp]]) against rsyslog (imudp) and syslog-ng (udp source) in the same run.

For each rate, each receiver in turn: start it on loopback, send RATE messages/s for SECONDS
with `loggen --dgram` (RFC 5424 messages of SIZE bytes, one per datagram), wait until its
stored count stops growing, stop it by PID. Received = stored; lost = what loggen says it
sent minus that; rates are per second of loggen's own sending time. All three keep the system's socket receive buffer (net.core.rmem_default;
trailkeepd's [plain_syslog] receive_buffer_bytes, rsyslog's rcvbufSize and syslog-ng's
so-rcvbuf left unset) and store to disk (trailkeepd: its store, each commit synced;
the others: a file, as their packages ship). Prints one line per run and a markdown table.
Not in CI.

Usage: udp_bench.py BUILD_DIR
Environment:
  RATES=10000,25000,50000,100000   send rates, messages/s
  SECONDS=5          loggen --interval
  SIZE=200           loggen --size
  RECEIVERS=trailkeepd,rsyslog,syslog-ng
  BENCH_DIR=BUILD/udp-bench-work

Needs rsyslog unpacked under BUILD/peers (tests/peers/fetch-rsyslog.sh), syslog-ng and loggen.
Standard library only, with the helpers of bench.py.
"""
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from bench import LineCounter, TrailkeepCounter, die, free_port, log, spawn, stop, tail  # noqa: E402


def udp_bound(port):
    """True when some socket is bound to UDP `port` (/proc/net/udp)."""
    with open("/proc/net/udp") as f:
        next(f)
        return any(int(line.split()[1].split(":")[1], 16) == port for line in f)


def wait_udp(p, port, name, logfile, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if p.poll() is not None:
            die("%s exited with %s; its log:\n%s" % (name, p.returncode, tail(logfile)))
        if udp_bound(port):
            return
        time.sleep(0.05)
    die("%s did not bind udp %d; its log:\n%s" % (name, port, tail(logfile)))


class Trailkeepd:
    name = "trailkeepd"

    def __init__(self, build):
        self.bin = os.path.join(build, "bin", "trailkeepd")

    def start(self, run_dir):
        dev = os.path.join(run_dir, "dev")
        port = free_port()
        logfile = os.path.join(run_dir, "trailkeepd.log")
        args = [self.bin, "--dev", dev, "--listen-syslog", "127.0.0.1:0", "--listen-export", "127.0.0.1:0",
                "--listen-udp", "127.0.0.1:%d" % port]
        p = spawn(args, logfile)
        wait_udp(p, port, "trailkeepd", logfile)
        return p, port, TrailkeepCounter(self.bin, os.path.join(dev, "data"))


class Rsyslog:
    name = "rsyslog"

    def __init__(self, build):
        root = os.path.join(build, "peers", "rsyslog")
        self.bin = os.path.join(root, "usr", "sbin", "rsyslogd")
        self.moddir = os.path.join(root, "usr", "lib", "x86_64-linux-gnu", "rsyslog")

    def start(self, run_dir):
        port = free_port()
        out = os.path.join(run_dir, "messages.log")
        work = os.path.join(run_dir, "work")
        os.makedirs(work, exist_ok=True)
        conf = os.path.join(run_dir, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write("""global(workDirectory="%s" maxMessageSize="8k")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="%d" ruleset="bench")
ruleset(name="bench") { action(type="omfile" file="%s" template="RSYSLOG_SyslogProtocol23Format") }
action(type="omfile" file="%s")
""" % (work, port, out, os.path.join(run_dir, "internal.log")))
        logfile = os.path.join(run_dir, "rsyslogd.log")
        p = spawn([self.bin, "-n", "-f", conf, "-i", os.path.join(run_dir, "rsyslogd.pid"), "-M", self.moddir],
                  logfile)
        wait_udp(p, port, "rsyslogd", logfile)
        return p, port, LineCounter(out)


class SyslogNg:
    name = "syslog-ng"

    def __init__(self, build):
        self.bin = "/usr/sbin/syslog-ng"

    def start(self, run_dir):
        port = free_port()
        out = os.path.join(run_dir, "messages.log")
        conf = os.path.join(run_dir, "syslog-ng.conf")
        with open(conf, "w") as f:
            f.write("""@version: 3.38
source s_bench { syslog(ip("127.0.0.1") port(%d) transport("udp")); };
destination d_bench { file("%s"); };
log { source(s_bench); destination(d_bench); };
""" % (port, out))
        logfile = os.path.join(run_dir, "syslog-ng.log")
        p = spawn([self.bin, "-F", "-e", "-f", conf, "--persist-file", os.path.join(run_dir, "persist"),
                   "--pidfile", os.path.join(run_dir, "pid"), "--control", os.path.join(run_dir, "ctl")], logfile)
        wait_udp(p, port, "syslog-ng", logfile)
        return p, port, LineCounter(out)


def sent_count(loggen_log):
    """(count, seconds) of loggen's summary line ("average rate = ..., count=N, time=S, ..."):
    what it sent and over how long (it overshoots the asked rate at the start)."""
    m = re.findall(r"average rate = .*count=(\d+), time=([0-9.]+)", tail(loggen_log, 20))
    return (int(m[-1][0]), float(m[-1][1])) if m else (None, None)


def one_run(receiver, run_dir, rate, seconds, size):
    os.makedirs(run_dir, exist_ok=True)
    p, port, counter = receiver.start(run_dir)
    loggen_log = os.path.join(run_dir, "loggen.log")
    t0 = time.time()
    lg = spawn(["loggen", "--inet", "--dgram", "--syslog-proto", "--no-framing", "--size", str(size),
                "--rate", str(rate), "--interval", str(seconds), "127.0.0.1", str(port)], loggen_log)
    bench.reap(lg, seconds + 60)
    sent, sent_seconds = sent_count(loggen_log)
    if sent is None:
        die("loggen printed no count; its log:\n" + tail(loggen_log))
    # Done when the stored count has not grown for 2 s (UDP: what was lost never comes).
    last, since = -1, time.time()
    while time.time() - since < 2.0:
        n = counter.count(True)
        if n != last:
            last, since = n, time.time()
        time.sleep(0.1)
    elapsed = time.time() - t0
    stop(p)
    received = counter.count(True)
    return {"receiver": receiver.name, "rate": rate, "sent": sent, "received": received,
            "lost": sent - received, "loss_pct": 100.0 * (sent - received) / sent if sent else 0.0,
            "sent_per_s": sent / sent_seconds, "received_per_s": received / sent_seconds,
            "elapsed": elapsed}


def main():
    if len(sys.argv) != 2:
        die("usage: udp_bench.py BUILD_DIR")
    build = os.path.abspath(sys.argv[1])
    rates = [int(r) for r in os.environ.get("RATES", "10000,25000,50000,100000").split(",")]
    seconds = int(os.environ.get("SECONDS", "5"))
    size = int(os.environ.get("SIZE", "200"))
    names = os.environ.get("RECEIVERS", "trailkeepd,rsyslog,syslog-ng").split(",")
    work = os.environ.get("BENCH_DIR", os.path.join(build, "udp-bench-work"))
    shutil.rmtree(work, ignore_errors=True)
    kinds = {"trailkeepd": Trailkeepd, "rsyslog": Rsyslog, "syslog-ng": SyslogNg}
    receivers = [kinds[n](build) for n in names]
    results = []
    try:
        for rate in rates:
            for r in receivers:
                res = one_run(r, os.path.join(work, "%s-%d" % (r.name, rate)), rate, seconds, size)
                results.append(res)
                log("%(receiver)-10s rate %(rate)7d/s: sent %(sent)8d (%(sent_per_s).0f/s), received "
                    "%(received)8d (%(received_per_s).0f/s), lost %(lost)7d (%(loss_pct).2f %%)" % res)
    finally:
        bench.cleanup()
    log("")
    log("| send rate (msg/s) | " + " | ".join("%s received/s (lost %%)" % r.name for r in receivers) + " |")
    log("| --- |" + " --- |" * len(receivers))
    for rate in rates:
        row = [x for x in results if x["rate"] == rate]
        log("| %d | " % rate + " | ".join("%.0f (%.2f %%)" % (x["received_per_s"], x["loss_pct"]) for x in row)
            + " |")


if __name__ == "__main__":
    main()
