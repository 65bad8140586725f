#!/ usr / bin / env python3
"""Cost of NDcPP classification (issue 5): prints figures, asserts nothing.

  python3 tests/bench/ndcpp_bench.py BUILD_DIR

1. `trailkeep classify` over LINES lines (default 1,000,000), NOISE_PCT % of
   them unclassifiable noise from many programs and the rest lines the rules
   classify (tests/ndcpp/corpus.tsv), once with the shipped rules and once
   with an empty rules file. Both runs parse and print every line the same
   way, so the difference is the classification: µs/event = (t_rules -
   t_empty) / LINES, t = CPU time (user+sys) of the process. Output (the
   text form) goes to /dev/null.
2. The collector's ingest stage (IngestPipeline::Offer: parse, host, chain
   check, classification) on the same lines, with and without the rules,
   in one process (bin/ingest_pipeline_bench): CPU µs per event.
3. Collector ingest with classification on and off in the same run: a real
   trailkeepd (--dev, `--rules none` for off) receives MESSAGES RFC 5424
   frames of the same mix over CONNECTIONS TLS connections from this
   process; measured until `trailkeepd hosts` counts them all: events/s of
   wall time and the collector's CPU µs per event (/proc utime+stime, which
   the other engineers' load on this shared machine disturbs less). On and
   off alternate for REPEAT rounds.

Environment: LINES, NOISE_PCT=95, MESSAGES=200000, CONNECTIONS=2, REPEAT=5.
The machine is shared: min (least disturbed run) and median are printed.
Standard library only.
"""
import json
import os
import random
import resource
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LINES = int(os.environ.get("LINES", "1000000"))
NOISE_PCT = int(os.environ.get("NOISE_PCT", "95"))
MESSAGES = int(os.environ.get("MESSAGES", "200000"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "2"))
REPEAT = int(os.environ.get("REPEAT", "5"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

NOISE = [
    "Mar  3 10:22:{s:02d} web{h:02d} myapp[{p}]: GET /api/v1/items/{n} 200 {n2}ms user=svc-{h}",
    "Mar  3 10:22:{s:02d} web{h:02d} kernel: [{n}.{n2:06d}] IPv6: ADDRCONF(NETDEV_CHANGE): eth{h}: link becomes ready",
    "Mar  3 10:22:{s:02d} web{h:02d} systemd[1]: Started Session {n} of User alice.",
    "Mar  3 10:22:{s:02d} web{h:02d} CRON[{p}]: (root) CMD (/usr/lib/php/sessionclean {n})",
    "Mar  3 10:22:{s:02d} web{h:02d} postfix/qmgr[{p}]: 4F{n:X}: from=<app@example.org>, size={n2}, nrcpt=1 (queue active)",
    "Mar  3 10:22:{s:02d} web{h:02d} sshd[{p}]: Connection closed by 192.0.2.{h} port {n} [preauth]",
    "Mar  3 10:22:{s:02d} web{h:02d} nginx: 192.0.2.{h} - - [03/Mar/2024:10:22:{s:02d} +0000] \"GET /static/{n}.js HTTP/1.1\" 200 {n2}",
    "Mar  3 10:22:{s:02d} web{h:02d} chronyd[611]: Selected source 192.0.2.{h} (2.debian.pool.ntp.org)",
    "Mar  3 10:22:{s:02d} web{h:02d} dockerd[{p}]: time=\"2024-03-03T10:22:{s:02d}Z\" level=info msg=\"ignoring event\" container={n:x}",
    "Mar  3 10:22:{s:02d} web{h:02d} java[{p}]: INFO  [pool-{h}-thread-{n2}] c.e.OrderService - order {n} shipped",
]


def corpus_positives():
    out = []
    with open(os.path.join(ROOT, "tests", "ndcpp", "corpus.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            refs, text = line.rstrip("\n").split("\t", 1)
            if refs != "-":
                out.append(text)
    return out


def make_lines(n, rnd):
    pos = corpus_positives()
    lines = []
    for i in range(n):
        if rnd.randrange(100) < NOISE_PCT:
            t = NOISE[i % len(NOISE)]
            lines.append(t.format(s=i % 60, h=i % 50, p=1000 + i % 30000, n=i, n2=i % 997))
        else:
            lines.append(pos[i % len(pos)])
    return lines


def time_classify(binary, rules, path):
    """CPU seconds (user+sys) of one classify run: on this shared machine the
    CPU time moves far less with the other engineers' load than wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(os.devnull, "wb") as devnull:
        r = subprocess.run([binary, "classify", "--rules", rules, "--format", "text", path],
                           stdout=devnull, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("classify failed: %s" % r.stderr.decode(errors="replace"))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_classify(build, work, rnd):
    path = os.path.join(work, "lines.txt")
    lines = make_lines(LINES, rnd)
    classified_share = 100 - NOISE_PCT
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    empty = os.path.join(work, "empty_rules.toml")
    with open(empty, "w") as f:
        f.write("# no rules\n")
    binary = os.path.join(build, "bin", "trailkeep")
    rules = os.path.join(ROOT, "deploy", "ndcpp_rules.toml")
    on, off = [], []
    for _ in range(REPEAT):
        off.append(time_classify(binary, empty, path))
        on.append(time_classify(binary, rules, path))
    print("classify: %d lines (%d%% noise, %d%% corpus lines the rules classify), %d runs each" %
          (LINES, NOISE_PCT, classified_share, REPEAT))
    for name, f in (("min", min), ("median", statistics.median)):
        t_on, t_off = f(on), f(off)
        print("  %-6s with rules %.2f s CPU (%.2f µs/line), empty rules %.2f s CPU (%.2f µs/line):"
              " classification %.3f µs/event" % (name, t_on, t_on / LINES * 1e6, t_off,
                                                  t_off / LINES * 1e6, (t_on - t_off) / LINES * 1e6))
    # The collector's ingest stage alone, same lines (tests/bench/ingest_pipeline_bench.cc).
    print("ingest stage (IngestPipeline::Offer, in process, no network or store):", flush=True)
    subprocess.run([os.path.join(build, "bin", "ingest_pipeline_bench"), rules, path, str(REPEAT)],
                   check=True)
    return lines


def frames(lines, host_prefix):
    out = []
    for i, l in enumerate(lines):
#RFC 5424 with the line 's program and message (the collector parses both forms).
        parts = l.split(" ", 5)
        prog = parts[4].split("[")[0].rstrip(":") if len(parts) > 5 else "app"
        msg = parts[5] if len(parts) > 5 else l
        m = ("<38>1 2024-03-03T10:22:00.%06dZ %s%02d %s - - - %s" % (i % 1000000, host_prefix, i % 20,
                                                                   prog, msg)).encode()
        out.append(str(len(m)).encode() + b" " + m)
    return out


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def stored(build, db):
    out = subprocess.run([os.path.join(build, "bin", "trailkeepd"), "hosts", "--db", db, "--format", "json"],
                         capture_output=True, text=True, timeout=120).stdout
    return sum(json.loads(l)["events"] for l in out.splitlines()
               if l.strip() and json.loads(l)["host"].startswith("bench"))


def ingest_once(build, work, payloads, rules_off):
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import harness  # noqa: E402 - the integration tests' collector wrapper
    harness.BIN = os.path.join(build, "bin")
    c = harness.Collector(tempfile.mkdtemp(prefix="ndcpp-ingest-", dir=work),
                          extra_args=["--rules", "none"] if rules_off else [])
    c.start()
    try:
        ctx = c.tls_context()
        cpu0 = cpu_seconds(c.proc.pid)
        t0 = time.perf_counter()

        def send(blob):
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", c.port)), server_hostname="localhost")
            s.sendall(blob)
            harness.close_tls(s)
        threads = [threading.Thread(target=send, args=(b,)) for b in payloads]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        while stored(build, c.db) < MESSAGES:
            time.sleep(0.3)
        elapsed = time.perf_counter() - t0
        cpu = cpu_seconds(c.proc.pid) - cpu0
    finally:
        c.stop()
    return elapsed, cpu


def bench_ingest(build, work, lines):
    fr = frames(lines[:MESSAGES], "bench")
    per = (len(fr) + CONNECTIONS - 1) // CONNECTIONS
    payloads = [b"".join(fr[i * per:(i + 1) * per]) for i in range(CONNECTIONS)]
    res = {"on": [], "off": []}
    for r in range(REPEAT):
        for mode in (("on", "off") if r % 2 == 0 else ("off", "on")):
            elapsed, cpu = ingest_once(build, work, payloads, mode == "off")
            res[mode].append((elapsed, cpu))
            print("  ingest round %d classification %-3s: %.2f s, %.0f events/s, CPU %.2f µs/event" %
                  (r + 1, mode, elapsed, MESSAGES / elapsed, cpu / MESSAGES * 1e6), flush=True)
    print("ingest: %d messages over %d TLS connections, %d runs each" % (MESSAGES, CONNECTIONS, REPEAT))
    for name, f in (("min", min), ("median", statistics.median)):
        rate = {m: MESSAGES / f(e for e, _ in res[m]) for m in res}
        cpu = {m: f(c for _, c in res[m]) / MESSAGES * 1e6 for m in res}
        print("  %-6s classification on: %.0f events/s, %.2f µs CPU/event; off: %.0f events/s, "
              "%.2f µs CPU/event; on/off throughput %.1f%%, CPU +%.1f%%" %
              (name, rate["on"], cpu["on"], rate["off"], cpu["off"], 100.0 * rate["on"] / rate["off"],
               100.0 * (cpu["on"] - cpu["off"]) / cpu["off"]))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    build = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="ndcpp-bench-", dir=os.path.join(build))
    rnd = random.Random(5)
    lines = bench_classify(build, work, rnd)
    bench_ingest(build, work, lines)
    subprocess.run(["rm", "-rf", work])
    return 0


if __name__ == "__main__":
    sys.exit(main())
