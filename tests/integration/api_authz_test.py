"""What a caller of the HTTPS API may see, tried as an attacker on loopback
would (issue 12, part 1 c, d, f), against the real trailkeepd with curl:

- host patterns bind every row of every endpoint: reports (a glob that passes
  the text check, `*[!-web-]*` under `*-web-*`, or `web-*` under `web-?`),
  /v1/hosts, /v1/events, /v1/tail, /v1/integrity, /v1/verify;
- /metrics: a host-limited token sees only its hosts' samples (store and
  tunnels), nothing fleet-wide; an unrestricted admin sees everything;
- a token removed by SIGHUP ends its open /v1/tail; a token that stays keeps
  its tail;
- a secret in the query string is not stored in API_DENIED's path;
- error bodies do not name key files (the log does);
- two Authorization headers are a 400; the scheme is case-insensitive;
- denial records are limited per peer: a noisy peer does not hide another's;
- an impossible time is a 400.
"""
import hashlib
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Collector, free_port, log  # noqa: E402
from pki import collector_config, shared_pki as pki  # noqa: E402
from tail_test import raw_tail  # noqa: E402

HOSTS = ["a-web-1", "db-1", "secret-1", "web-1", "web-10", "web-secret", "web-5.evil"]
TOKENS = {
    "admin": ("export,tail,admin", "*"),
    "starweb": ("export,tail,admin", "*-web-*"),
    "webq": ("export,tail,admin", "web-?"),
    "tailer": ("tail", "web-?"),
    "keeper": ("tail", "web-?"),
}


def secret(name):
    return "tk_authz_%s_0123456789abcdef" % name


def token_file_text(names):
    return "".join("%s %s %s %s\n" % (n, hashlib.sha256(secret(n).encode()).hexdigest(), *TOKENS[n])
                   for n in names)


class Setup:
    """A collector (config mode) with the tokens above, two tunnels that never
    come up (web-7, secret-vault-7: their metrics exist all the same), an empty
    keys_dir, and one failed sshd login per host."""

    def __init__(self):
        d = tempfile.mkdtemp(prefix="tk-authz-")
        self.token_path = os.path.join(d, "tokens")
        self.write_tokens(TOKENS)
        self.keys_dir = os.path.join(d, "keys")
        os.makedirs(self.keys_dir)
        key = os.path.join(d, "id_ed25519")
        harness.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key])
        with open(key + ".pub") as f:
            pub = " ".join(f.read().split()[:2])
        closed = free_port()
        known = os.path.join(d, "known_hosts")
        with open(known, "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (closed, pub))
        tunnels = "".join(
            '\n[[tunnel]]\nname = "%s"\nhost = "127.0.0.1"\nport = %d\nprivate_key_file = "%s"\n'
            'known_hosts_file = "%s"\nremote_bind = "127.0.0.1:%d"\nbackoff_min_ms = 5000\n'
            'backoff_max_ms = 60000\n' % (name, closed, key, known, free_port())
            for name in ("web-7", "secret-vault-7"))
        extra = ('\n[export]\ntoken_file = "%s"\n\n[agents]\nkeys_dir = "%s"\n' % (self.token_path, self.keys_dir))
        # A long window: a denial the per-kind limit swallowed would show only in
        # the summary, long after this test looks.
        config = collector_config(pki(), client_auth="optional", self_audit={"window_seconds": 300}) + extra
        self.c = Collector(config_text=config + tunnels).start()
        self.base = "https://127.0.0.1:%d" % self.c.export_port
        s = self.c.connect(cert=pki().base("client"), ca=pki().cert("ca"))
        s.sendall(b"".join(harness.frame(self.line(h, i)) for i, h in enumerate(HOSTS)))
        harness.close_tls(s)
        self.c.wait_for(lambda: len(self.c.peer_events()) == len(HOSTS), what="one event per host")

    @staticmethod
    def line(host, i):
        return ("<38>Nov 23 10:00:%02d %s sshd[%d]: Failed password for root from 203.0.113.%d port 5%04d ssh2"
                % (i, host, 1000 + i, i + 1, i)).encode()

    def write_tokens(self, names):
        with open(self.token_path, "w") as f:
            f.write(token_file_text(names))
        os.chmod(self.token_path, 0o600)

    def reload_tokens(self):
        before = len(self.c.self_events("API_TOKENS_RELOADED"))
        os.kill(self.c.proc.pid, signal.SIGHUP)
        self.c.wait_for(lambda: len(self.c.self_events("API_TOKENS_RELOADED")) > before, what="API_TOKENS_RELOADED")

    def curl(self, path, token=None, headers=(), interface=None, extra=()):
        """(status, body) of one GET; `path` may be a list (one connection, many requests)."""
        args = ["curl", "-sS", "--http1.1", "--cacert", pki().cert("ca"), "--max-time", "30",
                "-w", "\n%{http_code}\n"]
        if token is not None:
            args += ["-H", "Authorization: Bearer " + secret(token)]
        for h in headers:
            args += ["-H", h]
        if interface:
            args += ["--interface", interface]
        if isinstance(path, list):
            urls = [a for p in path for a in ("-o", "/dev/null", self.base + p)]
        else:
            urls = [self.base + path]
        r = subprocess.run(args + list(extra) + urls, capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        if isinstance(path, list):
            return [int(x) for x in r.stdout.decode().split()], b""
        body, _, code = r.stdout.rstrip(b"\n").rpartition(b"\n")
        return int(code), body

    def get_json(self, path, token):
        status, body = self.curl(path, token)
        assert status == 200, (path, token, status, body[:300])
        return json.loads(body)

    def stop(self):
        self.c.stop()


def params(e):
    return {p["name"]: p["value"] for sd in e.get("structured_data", []) for p in sd["params"]}


def report_hosts(s, token, query):
    return sorted({r["host"] for r in s.get_json("/v1/report/auth?format=json" + query, token)["rows"]})


def open_tail(s, token, query):
    """A raw /v1/tail response: (socket, reader of the next JSON object)."""
    return raw_tail(s.c, query, token=secret(token), ca=pki().cert("ca"))


def ended(next_object):
    try:
        o = next_object()
    except (AssertionError, ConnectionError, ssl.SSLEOFError):  # a timeout is not an end
        return True
    raise AssertionError("the tail went on: %r" % o)


def tail_until_heartbeat(next_object):
    events = []
    while True:
        o = next_object()
        if "heartbeat" in o:
            return events
        events.append(o)


def test_host_patterns_bind_every_endpoint(s):
    # Reports: the glob passes the text check but selects other hosts; rows must not.
    for token, query, want in (("starweb", "&host=*%5B%21-web-%5D*", ["a-web-1"]),
                               ("webq", "&host=web-*", ["web-1"]),
                               ("webq", "", ["web-1"]),  # no host=: the caller's hosts
                               ("admin", "", sorted(HOSTS))):
        got = report_hosts(s, token, query)
        assert got == want, (token, query, got)
    ndcpp = s.get_json("/v1/report/ndcpp?format=json&host=web-*", "webq")
    fia = [r for r in ndcpp["rows"] if r["sfr"] == "FIA_UIA_EXT.1"]
    assert fia and fia[0]["events"] == 1 and fia[0]["hosts"] == 1, fia
    status, _ = s.curl("/v1/report/auth?host=db-*", "webq")
    assert status == 403, status
    # The other endpoints. web-7 is a tunnel's node: it has a host state too.
    hosts = sorted(h["host"] for h in s.get_json("/v1/hosts", "webq"))
    assert hosts == ["web-1", "web-7"], hosts
    hosts = sorted(h["host"] for h in s.get_json("/v1/hosts", "admin"))
    assert set(HOSTS) | {"secret-vault-7"} <= set(hosts), hosts
    status, body = s.curl("/v1/events?host=web-*", "webq")
    assert status == 200, (status, body)
    got = [json.loads(l) for l in body.decode().splitlines() if l.strip()][:-1]
    assert [e["host"] for e in got] == ["web-1"], got
    integrity = s.get_json("/v1/integrity?since=1h&host=web-*", "webq")
    assert integrity["count"] == 0, integrity
    status, _ = s.curl("/v1/verify?host=web-10", "webq")
    assert status == 403, status
    sock, next_object = open_tail(s, "webq", "host=web-%2A&backlog=100")
    try:
        assert [e["host"] for e in tail_until_heartbeat(next_object)] == ["web-1"]
    finally:
        sock.close()
    log("host patterns: reports, hosts, events, integrity, verify and tail show only the caller's hosts")


SAMPLE = re.compile(r'trailkeep_(\w+?)(\{(\w+)="([^"]*)"\})? (\S+)$')


def metrics(s, token):
    status, body = s.curl("/metrics", token)
    assert status == 200, (status, body[:300])
    out = []
    for line in body.decode().splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, line
        out.append((m.group(1), m.group(3), m.group(4), float(m.group(5))))
    return out


def test_metrics_show_only_the_callers_hosts(s):
    everything = metrics(s, "admin")
    names = {m[0] for m in everything}
    labelled = {(m[1], m[2]) for m in everything}
    assert {"integrity_events_total", "events_committed_total", "api_requests_total"} <= names, names
    assert {("tunnel", "secret-vault-7"), ("tunnel", "web-7"), ("host", "db-1"), ("host", "web-1")} <= labelled
    limited = metrics(s, "webq")
    assert limited, "no samples at all"
    for name, label, value, _ in limited:
        assert (label, value) in (("host", "web-1"), ("host", "web-7"), ("tunnel", "web-7")), (name, label, value)
    names = {m[0] for m in limited}
    assert {"source_events_total", "tunnel_up"} <= names, names
    log("/metrics: %d samples for the admin, %d for web-? (hosts web-1, web-7 and tunnel web-7 only)"
        % (len(everything), len(limited)))


def test_reload_ends_tails_of_removed_tokens(s):
    gone, gone_next = open_tail(s, "tailer", "backlog=5")
    kept, kept_next = open_tail(s, "keeper", "backlog=5")
    try:
        assert [e["host"] for e in tail_until_heartbeat(gone_next)] == ["web-1"]
        assert [e["host"] for e in tail_until_heartbeat(kept_next)] == ["web-1"]
        s.write_tokens([n for n in TOKENS if n != "tailer"])
        s.reload_tokens()
        gone.settimeout(8)
        last = gone_next()
        assert last and last.get("status") == 401 and "revoked" in last["error"], last
        assert ended(gone_next)
        # The kept token's tail still streams live events.
        sc = s.c.connect(cert=pki().base("client"), ca=pki().cert("ca"))
        sc.sendall(harness.frame(s.line("web-1", 40)))
        harness.close_tls(sc)
        while True:
            o = kept_next()
            if "heartbeat" not in o:
                break
        assert o["host"] == "web-1" and "port 50040" in o["msg"], o
    finally:
        gone.close()
        kept.close()
        s.write_tokens(TOKENS)
        s.reload_tokens()
    records = [e for e in s.c.self_events("API_DENIED") if params(e).get("who") == "tailer (token)"]
    assert records and "tail" in records[0]["msg"], records
    log("SIGHUP without the tail's token ends its stream (401 line); another token's tail goes on")


def test_secrets_in_the_target_are_not_stored(s):
    status, _ = s.curl("/v1/events?access_token=SUPERSECRET123&host=web-1&x9SECRETNAME9x")
    assert status == 401, status

    def denied():
        return [e for e in s.c.self_events("API_DENIED") if "/v1/events?" in params(e).get("path", "")
                and params(e).get("who") == "anonymous"]
    e = s.c.wait_for(denied, what="API_DENIED of the request")[0]
    assert params(e)["path"] == "/v1/events?access_token=REDACTED&host=web-1&REDACTED", params(e)
    stored = subprocess.run([os.path.join(harness.BIN, "trailkeepd"), "query", "--db", s.c.db, "--format", "json"],
                            capture_output=True, timeout=60).stdout
    assert b"SUPERSECRET123" not in stored and b"SECRETNAME" not in stored
    assert "SUPERSECRET123" not in s.c.read_log()
    log("query-string secrets: API_DENIED stores %s" % params(e)["path"])


def test_error_bodies_are_generic(s):
    status, body = s.curl("/v1/verify?host=web-1", "admin")
    assert status == 409, (status, body)
    assert s.keys_dir.encode() not in body and b".key" not in body, body
    assert json.loads(body)["error"] == "cannot verify host 'web-1': no HMAC key the collector can read " \
                                        "(its log says why)", body
    s.c.wait_for(lambda: s.keys_dir in s.c.read_log(), what="the key path in the operational log")
    log("409 body: %s (the key path is in the log only)" % body.decode().strip())


def test_authorization_header_rules(s):
    status, body = s.curl("/v1/hosts", headers=["Authorization: Bearer " + secret("admin"),
                                                "Authorization: Bearer " + secret("webq")])
    assert status == 400, (status, body)
    for scheme in ("bearer", "BEARER", "bEaReR"):
        status, body = s.curl("/v1/hosts", headers=["Authorization: %s %s" % (scheme, secret("admin"))])
        assert status == 200, (scheme, status, body)
    for bad in ("Bearer", "Bearer ", "Basic " + secret("admin"), "Bearertk_x"):
        status, body = s.curl("/v1/hosts", headers=["Authorization: " + bad])
        assert status == 401, (bad, status, body)
    log("two Authorization headers: 400; bearer/BEARER accepted; malformed: 401")


def test_a_noisy_peer_does_not_hide_another(s):
    codes, _ = s.curl(["/v1/hosts?n=%d" % i for i in range(40)], headers=["Authorization: Bearer tk_wrong"],
                      interface="127.0.0.2")
    assert codes == [401] * 40, codes
    status, _ = s.curl("/v1/hosts", headers=["Authorization: Bearer tk_wrong_too"], interface="127.0.0.3")
    assert status == 401

    def from_peer(ip):
        return [e for e in s.c.self_events("API_DENIED") if params(e).get("peer", "").startswith(ip + ":")]
    s.c.wait_for(lambda: from_peer("127.0.0.3"), timeout=10, what="the second peer's API_DENIED")
    noisy = s.c.wait_for(lambda: from_peer("127.0.0.2"), what="the noisy peer's API_DENIED")
    assert len(noisy) == 10, len(noisy)  # its own burst; the rest waits for the summary
    log("denials: 40 from 127.0.0.2 (10 recorded), the one from 127.0.0.3 recorded at once")


def test_impossible_times_are_refused(s):
    for path in ("/v1/events?since=", "/v1/integrity?since=", "/v1/report/auth?since="):
        for t in ("2026-02-30T00:00:00%2B25:00", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00%2B25:00"):
            status, body = s.curl(path + t, "admin")
            assert status == 400, (path + t, status, body[:200])
    status, _ = s.curl("/v1/events?since=2028-02-29T00:00:00%2B14:00", "admin")
    assert status == 200
    log("impossible times: 400 on /v1/events, /v1/integrity and /v1/report")


TESTS = [test_host_patterns_bind_every_endpoint, test_metrics_show_only_the_callers_hosts,
         test_reload_ends_tails_of_removed_tokens, test_secrets_in_the_target_are_not_stored,
         test_error_bodies_are_generic, test_authorization_header_rules, test_a_noisy_peer_does_not_hide_another,
         test_impossible_times_are_refused]


def test_api_authorization():
    s = Setup()
    try:
        failed = []
        for t in TESTS:
            try:
                t(s)
            except Exception as e:  # report every part, then fail
                log("FAILED %s: %r" % (t.__name__, e))
                failed.append(t.__name__)
        assert not failed, "failed: %s\n%s" % (failed, s.c.read_log()[-3000:])
    finally:
        s.stop()


if __name__ == "__main__":
    harness.main([test_api_authorization])
