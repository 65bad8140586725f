#!/usr/bin/env python3
"""Live tail (GET /v1/tail) and the network CLI (`trailkeep tail|query|hosts --server`) against the
real trailkeepd (docs/api.md).

  1. `trailkeep tail --format json -n 3` prints the last 3 matching events, then events sent after
     it started, as parseable JSON in ingest order.
  2. A tail client killed with SIGKILL and restarted with `--cursor` (the last ingest_seq it printed)
     misses nothing and repeats nothing, with events sent while it was down; the server drops the
     dead client's subscription at once (/metrics tail_sessions).
  3. `trailkeep query --server` pages to exactly what `trailkeepd query --db` prints (filtered and
     not, more than one page); `trailkeep hosts --server` lists the hosts, also with only a client
     config file (mTLS, https://localhost: the certificate's DNS name is checked).
  4. A token without the tail scope gets 403 (exit 1) and the refusal is an API_DENIED event; the
     tail session itself is an API_ACCESS event.
  5. Text mode under tmux shows an event sent after it started.
  6. Heartbeats: one right after the stored events, then after ~10 s of silence, with a cursor
     that also covers commits the filter does not match.
  7. A subscriber that reads nothing while many events are sent does not slow ingest: every event
     is stored, and the subscriber later reads a {"missed": N, "resume_cursor": "C"} line; a
     `trailkeep tail` stopped with SIGSTOP meanwhile resumes from the store and prints every
     event exactly once.
"""
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, log, scaled  # noqa: E402
from export_test import TOKENS, Api, _sd, start_collector  # noqa: E402

CLI = os.path.join(BIN, "trailkeep")


def client_args(c, token="admin"):
    dev = os.path.join(c.workdir, "dev")
    args = ["--server", "https://127.0.0.1:%d" % c.export_port, "--cacert", os.path.join(c.pki, "ca.pem")]
    if token == "admin":
        args += ["--token-file", os.path.join(dev, "admin.token")]
    else:
        path = os.path.join(c.workdir, token + ".token")
        with open(path, "w") as f:
            f.write(TOKENS[token] + "\n")
        args += ["--token-file", path]
    return args


class TailProc:
    """`trailkeep tail` as a subprocess; stdout lines collected by a thread."""

    def __init__(self, c, *extra, token="admin"):
        self.stderr_path = os.path.join(c.workdir, "tail-%d.stderr" % time.monotonic_ns())
        with open(self.stderr_path, "w") as err:
            self.proc = subprocess.Popen([CLI, "tail"] + client_args(c, token) + list(extra),
                                         stdout=subprocess.PIPE, stderr=err)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.decode())

    def take(self, n, timeout=30):
        out, deadline = [], time.time() + timeout
        while len(out) < n:
            try:
                out.append(json.loads(self.lines.get(timeout=max(0.1, deadline - time.time()))))
            except queue.Empty:
                raise AssertionError("tail printed %d of %d lines in %ss (stderr: %s)" %
                                     (len(out), n, timeout, self.stderr_so_far()))
        return out

    def drain(self, quiet=1.5):
        out = []
        while True:
            try:
                out.append(json.loads(self.lines.get(timeout=quiet)))
            except queue.Empty:
                return out

    def stderr_so_far(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            raise AssertionError("trailkeep tail ignored signal %d; stderr: %s" % (sig, self.stderr_so_far()))


def send(c, host, tag, n, start=0):
    msgs = [b"<38>1 - %s app 7 - - %s event %d" % (host.encode(), tag.encode(), i) for i in range(start, start + n)]
    c.send_frames(msgs, cert=None)
    return n


def msgs(events):
    return [e["msg"] for e in events]


def test_tail_json_backlog_then_live():
    c = start_collector()
    try:
        send(c, "bk-1", "old", 5)
        c.wait_for_count(5)
        t = TailProc(c, "--format", "json", "-n", "3", "--host", "bk-*")
        try:
            first = t.take(3)
            assert msgs(first) == ["old event 2", "old event 3", "old event 4"], msgs(first)
            time.sleep(0.5)
            send(c, "bk-1", "new", 5)
            send(c, "other-1", "noise", 3)
            live = t.take(5)
            assert msgs(live) == ["new event %d" % i for i in range(5)], msgs(live)
            seqs = [e["ingest_seq"] for e in first + live]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
            assert all(e["host"] == "bk-1" and "raw_b64" in e for e in first + live)
            assert t.drain() == [], "extra lines"
        finally:
            assert t.kill(signal.SIGINT) == 0, "Ctrl-C should exit cleanly"
        access = [e for e in c.self_events("API_ACCESS") if _sd(e, "path") == "/v1/tail"]
        assert access and _sd(access[0], "host") == "bk-*", access
    finally:
        c.stop()


def test_killed_tail_resumes_without_gaps_or_repeats():
    c = start_collector()
    try:
        t = TailProc(c, "--format", "json", "-n", "0", "--host", "rs-*")
        time.sleep(1.0)
        send(c, "rs-1", "a", scaled(50))
        got = t.take(scaled(50))
        t.kill()  # SIGKILL: no chance to say anything
        resume = got[-1]["ingest_seq"]
        # The server notices the vanished client and drops its subscription.
        c.wait_for(lambda: tail_sessions(c) == 0, 10, "tail_sessions to drop to 0")
        send(c, "rs-1", "b", scaled(200))
        send(c, "rs-2", "b", scaled(100))
        t = TailProc(c, "--format", "json", "--cursor", str(resume), "--host", "rs-*")
        try:
            got += t.take(scaled(300))
            send(c, "rs-1", "c", scaled(50))
            got += t.take(scaled(50))
            assert t.drain() == []
        finally:
            t.kill(signal.SIGTERM)
        want = c.query("--host", "rs-*")
        assert [e["ingest_seq"] for e in got] == [e["ingest_seq"] for e in want], \
            "tail printed %d events, the store holds %d" % (len(got), len(want))
        assert got == want
        log("  %d events across a SIGKILL, none missed or repeated" % len(got))
    finally:
        c.stop()


def tail_sessions(c):
    status, _, body = Api(c).get("/metrics", token=TOKENS["admin"])
    assert status == 200, status
    for line in body.decode().splitlines():
        if line.startswith("trailkeep_tail_sessions "):
            return int(float(line.split()[1]))
    raise AssertionError("no trailkeep_tail_sessions in /metrics")


def run_cli(c, *args, token="admin", check=True):
    r = subprocess.run([CLI] + list(args[:1]) + client_args(c, token) + list(args[1:]),
                       capture_output=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError("trailkeep %s failed (%d): %s" % (args[0], r.returncode, r.stderr.decode()))
    return r


def test_query_and_hosts_match_the_store():
    c = start_collector()
    try:
        n = send(c, "pg-1", "page", 1500) + send(c, "pg-2", "page", 700) + send(c, "zz-1", "other", 30)
        c.wait_for_count(n)
        for flt in ([], ["--host", "pg-*"], ["--host", "zz-1"], ["--text", "EVENT 1"]):
            cli_flt = [("-q" if a == "--text" else a) for a in flt]
            r = run_cli(c, "query", "--format", "json", *cli_flt)
            got = [json.loads(l) for l in r.stdout.decode().splitlines()]
            want = c.query(*flt)
            # The API's own accesses are stored events too: compare the peers' events.
            got_p = [e for e in got if e["transport"] != "self"]
            want_p = [e for e in want if e["transport"] != "self"]
            assert got_p == want_p, "filter %r: %d via the API, %d via trailkeepd query" % (flt, len(got_p), len(want_p))
            assert got_p, flt
            log("  query %r: %d events" % (flt, len(got_p)))
        r = run_cli(c, "query", "--format", "json", "--host", "pg-1", "--limit", "1200")
        assert len(r.stdout.decode().splitlines()) == 1200
        r = run_cli(c, "hosts", "--format", "json")
        hosts = {json.loads(l)["host"] for l in r.stdout.decode().splitlines()}
        assert {"pg-1", "pg-2", "zz-1"} <= hosts, hosts
        r = run_cli(c, "hosts")
        assert "pg-1" in r.stdout.decode() and "events=1500" in r.stdout.decode(), r.stdout
        # The client config: an admin types neither the server nor the credentials.
        cfg_home = os.path.join(c.workdir, "xdg")
        os.makedirs(os.path.join(cfg_home, "trailkeep"))
        with open(os.path.join(cfg_home, "trailkeep", "client.toml"), "w") as f:
            f.write('server = "https://localhost:%d"\ncacert = "%s"\ncert = "%s"\nkey = "%s"\n' % (
                c.export_port, os.path.join(c.pki, "ca.pem"), os.path.join(c.pki, "client.pem"),
                os.path.join(c.pki, "client.key")))
        r = subprocess.run([CLI, "hosts"], capture_output=True, timeout=30,
                           env=dict(os.environ, XDG_CONFIG_HOME=cfg_home))
        assert r.returncode == 0 and "pg-2" in r.stdout.decode(), (r.returncode, r.stderr)
        # (No token anywhere: the client certificate from the config file did it.)
    finally:
        c.stop()


def test_tail_needs_the_tail_scope():
    c = start_collector()
    try:
        r = subprocess.run([CLI, "tail"] + client_args(c, "siem"), capture_output=True, timeout=30)
        assert r.returncode == 1 and b"403" in r.stderr, (r.returncode, r.stderr)
        denied = c.wait_for(lambda: [e for e in c.self_events("API_DENIED") if "/v1/tail" in _sd(e, "path")],
                            20, "API_DENIED for /v1/tail")
        assert _sd(denied[0], "status") == "403" and _sd(denied[0], "who") == "siem (token)", denied
        # The tail scope alone is enough; a wrong CA is refused by the client.
        t = TailProc(c, "--format", "json", "-n", "1", token="tailer")
        try:
            assert len(t.take(1)) == 1
        finally:
            t.kill(signal.SIGTERM)
        r = subprocess.run([CLI, "hosts", "--server", "https://127.0.0.1:%d" % c.export_port,
                            "--cacert", "/etc/ssl/certs/ca-certificates.crt", "--token-file",
                            os.path.join(c.workdir, "dev", "admin.token")], capture_output=True, timeout=30)
        assert r.returncode == 1 and b"certificate" in r.stderr, r.stderr
    finally:
        c.stop()


def test_text_mode_under_tmux():
    c = start_collector()
    session = "tk-tail-%d" % os.getpid()
    try:
        cmd = " ".join([CLI, "tail", "-n", "0"] + client_args(c) + ["--host", "tm-*"])
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "50", cmd], check=True)
        time.sleep(1.5)
        send(c, "tm-1", "seen-under-tmux", 1)

        def pane():
            return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True).stdout.decode()
        text = c.wait_for(lambda: "seen-under-tmux event 0" in pane() and pane(), 20, "the event in the tmux pane")
        line = [l for l in text.splitlines() if "seen-under-tmux" in l][0]
        assert " tm-1 app[7] <auth.info> ~ seen-under-tmux event 0" in line, line
        subprocess.run(["tmux", "send-keys", "-t", session, "C-c"], check=True)
        c.wait_for(lambda: subprocess.run(["tmux", "has-session", "-t", session],
                                          capture_output=True).returncode != 0, 10, "tail to exit on Ctrl-C")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        c.stop()


def raw_tail(c, query, token=None, ca=None):
    """A TLS socket with a /v1/tail request sent (the admin token unless `token`);
    returns (socket, line reader). The reader raises AssertionError when the response ends."""
    raw = socket.create_connection(("127.0.0.1", c.export_port), timeout=30)
    s = c.tls_context(cert=None, ca=ca).wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"GET /v1/tail?" + query.encode() + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
              + (token or TOKENS["admin"]).encode() + b"\r\n\r\n")
    buf = [b""]

    def next_object():
        # Chunked body: every chunk holds whole lines; skip chunk-size lines.
        while True:
            while b"\n" in buf[0]:
                line, _, buf[0] = buf[0].partition(b"\n")
                line = line.strip()
                if line.startswith(b"{"):
                    return json.loads(line)
            data = s.recv(65536)
            if not data:
                raise AssertionError("the tail response ended")
            buf[0] += data
    return s, next_object


def test_heartbeats_carry_the_resume_point():
    c = start_collector()
    try:
        s, next_object = raw_tail(c, "backlog=0&host=nomatch-%2A")
        first = next_object()
        assert "heartbeat" in first and int(first["cursor"]) >= 1, first
        send(c, "other-1", "unmatched", 20)
        stored = c.wait_for_count(20)
        t0 = time.time()
        beat = next_object()  # ~10 s of silence
        assert "heartbeat" in beat and 5 < time.time() - t0 < 15, (beat, time.time() - t0)
        # Commits the filter does not match still move the resume point.
        assert int(beat["cursor"]) >= stored[-1]["ingest_seq"], (beat, stored[-1]["ingest_seq"])
        s.close()
    finally:
        c.stop()


def test_slow_subscriber_does_not_slow_ingest():
    c = start_collector()
    try:
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", c.export_port))
        s = c.tls_context(cert=None).wrap_socket(raw, server_hostname="localhost")
        s.sendall(b"GET /v1/tail?backlog=0&host=sl-%2A HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                  + TOKENS["admin"].encode() + b"\r\n\r\n")
        # And the real CLI, stopped (SIGSTOP) while the flood comes: when it continues it is told it
        # missed events, resumes from the store and prints every event exactly once.
        t = TailProc(c, "--format", "json", "-n", "0", "--host", "sl-*")
        time.sleep(1.0)
        os.kill(t.proc.pid, signal.SIGSTOP)
        time.sleep(0.5)
        n = scaled(30000)
        start = time.time()
        for i in range(0, n, 5000):
            send(c, "sl-1", "flood", min(5000, n - i), start=i)
        c.wait_for_count(n, timeout=120)
        log("  %d events stored in %.1fs while the subscriber read nothing" % (n, time.time() - start))
        s.settimeout(30)
        data = b""
        while b"missed" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        assert b'"missed"' in data, "no missed line in %d bytes" % len(data)
        line = [l for l in data.split(b"\n") if b'"missed"' in l][0]
        missed = json.loads(line[line.index(b"{"):])
        assert missed["missed"] > 0 and int(missed["resume_cursor"]) > 0, missed
        # Everything before resume_cursor was sent; the rest is in the store.
        sent = [json.loads(l[l.index(b"{"):]) for l in data.split(b"\n") if b'"ingest_seq"' in l]
        if sent:
            assert sent[-1]["ingest_seq"] <= int(missed["resume_cursor"])
        log("  subscriber told: %s (after %d events)" % (missed, len(sent)))
        s.close()
        os.kill(t.proc.pid, signal.SIGCONT)
        try:
            got = t.take(n, timeout=120)
            assert t.drain() == []
        finally:
            t.kill(signal.SIGTERM)
        want = c.query("--host", "sl-*")
        assert [e["ingest_seq"] for e in got] == [e["ingest_seq"] for e in want], (len(got), len(want))
        err = t.stderr_so_far()
        assert "fell behind" in err, err
        log("  the stopped CLI resumed: %d events, none missed or repeated; it said: %s" % (len(got), err.strip()))
    finally:
        c.stop()


if __name__ == "__main__":
    harness.main([test_tail_json_backlog_then_live, test_killed_tail_resumes_without_gaps_or_repeats,
                  test_query_and_hosts_match_the_store, test_tail_needs_the_tail_scope,
                  test_text_mode_under_tmux, test_heartbeats_carry_the_resume_point,
                  test_slow_subscriber_does_not_slow_ingest])
