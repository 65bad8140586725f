#!/usr/bin/env python3
"""The HTTPS export API (docs/api.md) against the real trailkeepd, with curl as the SIEM.

  1. Paging while ingest runs: 4 loggen senders stream scaled(100000) events (env
     TRAILKEEP_EXPORT_EVENTS) while curl pulls
     pages of scaled(1000) by cursor; the union of the pages is exactly what
     `trailkeepd query --format json` returns up to the last cursor, in order, no duplicates.
  2. Filters host / ref / since / until / q return exactly what `trailkeepd query` returns.
  3. Auth: 401 without credentials and with a wrong token, 403 for a token without the export
     scope and for a host outside the token's patterns; mTLS with the dev client certificate
     works; a client certificate from another CA is refused at the TLS layer; every refusal and
     access is a collector event.
  4. /metrics parses as Prometheus text; bad parameters give 400 with a JSON body; cef and
     rfc5424 formats carry the same events.
"""
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Collector, log, scaled  # noqa: E402
import pki as pkimod  # noqa: E402


class Api:
    """curl against the collector's export port."""

    def __init__(self, c):
        self.c = c
        self.base = "https://127.0.0.1:%d" % c.export_port
        self.ca = os.path.join(c.pki, "ca.pem")

    def get(self, path, token=None, cert=None, key=None, timeout=120):
        args = ["curl", "-sS", "--http1.1", "-D", "-", "--cacert", self.ca, "--max-time", str(timeout)]
        if token is not None:
            args += ["-H", "Authorization: Bearer " + token]
        if cert:
            args += ["--cert", cert, "--key", key]
        r = subprocess.run(args + [self.base + path], capture_output=True, timeout=timeout + 10)
        if r.returncode != 0:
            return None, {}, r.stderr
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers, body

    def events(self, token, **params):
        """One NDJSON page: (events, next_cursor); checks the header and the final line agree."""
        q = "&".join("%s=%s" % (k, _quote(str(v))) for k, v in params.items())
        status, headers, body = self.get("/v1/events?" + q, token=token)
        assert status == 200, (status, body[:500])
        lines = [json.loads(l) for l in body.decode().splitlines() if l.strip()]
        assert lines and "next_cursor" in lines[-1], lines[-1:]
        nxt = int(lines[-1]["next_cursor"])
        assert int(headers["x-trailkeep-next-cursor"]) == nxt, headers
        assert int(headers["x-trailkeep-count"]) == len(lines) - 1, headers
        return lines[:-1], nxt


def _quote(s):
    from urllib.parse import quote
    return quote(s, safe="")


def token_line(name, token, scopes, hosts="*"):
    return "%s %s %s %s\n" % (name, hashlib.sha256(token.encode()).hexdigest(), scopes, hosts)


TOKENS = {}


def start_collector():
    """A dev-mode collector with extra tokens appended to its generated token file."""
    c = Collector()
    c.start()
    dev = os.path.join(c.workdir, "dev")
    token_path = os.path.join(dev, "admin.token")
    assert os.stat(token_path).st_mode & 0o777 == 0o600, oct(os.stat(token_path).st_mode)
    assert os.stat(os.path.join(dev, "export-tokens")).st_mode & 0o777 == 0o600
    c.stop()
    with open(token_path) as f:
        TOKENS["admin"] = f.read().strip()
    extra = {"siem": ("export", "*"), "tailer": ("tail", "*"), "apionly": ("export", "api-*")}
    with open(os.path.join(dev, "export-tokens"), "a") as f:
        for name, (scopes, hosts) in extra.items():
            TOKENS[name] = "tk_" + secrets.token_hex(16)
            f.write(token_line(name, TOKENS[name], scopes, hosts))
    c.start()
    return c


def wait_stable_count(c, timeout=60):
    """Waits until the number of stored peer events stops growing."""
    last, deadline = -1, time.time() + timeout
    while time.time() < deadline:
        n = len(c.peer_events())
        if n == last:
            return n
        last = n
        time.sleep(1.0)
    raise AssertionError("event count still growing after %ss" % timeout)


def upto(events, cursor):
    return [e for e in events if e["ingest_seq"] <= cursor]


# --- 1. paging while ingest runs ---------------------------------------------------------------

def test_paging_while_ingest_runs():
    # The size: 100,000 events from 4 senders (about a minute on 2 shared cores);
    # TRAILKEEP_EXPORT_EVENTS overrides it for quick local runs.
    total = scaled(int(os.environ.get("TRAILKEEP_EXPORT_EVENTS", "100000")))
    page = min(10000, scaled(1000))
    c = start_collector()
    try:
        api = Api(c)
        per = max(1, total // 4)
        log("  %d events from 4 loggen senders, pages of %d" % (total, page))
        loggen = subprocess.Popen(["loggen", "-U", "-P", "--active-connections", "4", "-n", str(per), "-r",
                                   "3000", "-I", "60", "127.0.0.1", str(c.port)],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        pulled, cursor, pages, pages_during_ingest = [], 0, 0, 0
        settled = False
        while True:
            events, nxt = api.events(TOKENS["siem"], cursor=cursor, limit=page)
            pages += 1
            if loggen.poll() is None:
                pages_during_ingest += 1
            seqs = [e["ingest_seq"] for e in events]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "page out of order"
            assert not seqs or seqs[0] > cursor, (cursor, seqs[:3])
            assert nxt >= cursor and (not seqs or nxt >= seqs[-1]), (cursor, nxt)
            pulled += events
            cursor = nxt
            if loggen.poll() is not None and not settled:
                out, _ = loggen.communicate()
                wait_stable_count(c)
                settled = True
                continue
            if settled and not [e for e in events if e["transport"] != "self"] and len(events) < page:
                break
            if not events:
                time.sleep(0.05)
        log("  %d pages (%d while loggen was sending), %d events, last cursor %d" %
            (pages, pages_during_ingest, len(pulled), cursor))
        assert pages_during_ingest >= 2, "paging did not overlap ingest; raise the event count"
        stored = c.query()
        expected = upto(stored, cursor)
        assert [e["ingest_seq"] for e in pulled] == [e["ingest_seq"] for e in expected], "seqs differ"
        assert pulled == expected, "exported events differ from trailkeepd query"
        peers = [e for e in pulled if e["transport"] != "self"]
        assert len(peers) == len(c.peer_events()), (len(peers), len(c.peer_events()))
        assert len(peers) >= total * 0.99, (len(peers), total)  # loggen rounds per connection
        # Resuming from an old cursor gives the same events again (replayable pull).
        again, _ = api.events(TOKENS["siem"], cursor=0, limit=min(page, 50))
        assert again == pulled[:len(again)]
    finally:
        c.stop()


# --- 2. filters --------------------------------------------------------------------------------

def send_hosts(c, tag):
    msgs = []
    for i, host in enumerate(["api-1", "api-2", "db-1", "web-1"] * 5):
        text = ("Failed password for root from 10.0.0.%d port 22 ssh2" % i if i % 3 == 0
                else "%s ordinary message %d" % (tag, i))
        msgs.append(b"<38>1 - %s sshd 42 - - %s" % (host.encode(), text.encode()))
    c.send_frames(msgs, cert=None)
    return len(msgs)


def test_filters_match_trailkeepd_query():
    c = start_collector()
    try:
        api = Api(c)
        n = send_hosts(c, "first")
        c.wait_for_count(n)
        time.sleep(1.2)
        mid = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        time.sleep(1.2)
        n += send_hosts(c, "second")
        c.wait_for_count(n)
        cases = [
            ({"host": "api-*"}, ["--host", "api-*"]),
            ({"host": "db-1"}, ["--host", "db-1"]),
            ({"q": "FAILED password"}, ["--text", "FAILED password"]),
            ({"since": mid}, ["--since", mid]),
            ({"until": mid}, ["--until", mid]),
            ({"host": "web-*", "since": mid, "q": "ordinary"}, ["--host", "web-*", "--since", mid, "--text", "ordinary"]),
            ({"ref": "FIA_UIA_EXT.1"}, ["--ref", "FIA_UIA_EXT.1"]),
        ]
        for params, args in cases:
            got, nxt = api.events(TOKENS["siem"], limit=10000, **params)
            want = upto(c.query(*args), nxt)
            assert got == want, "filter %r: %d from the API, %d from trailkeepd query" % (params, len(got), len(want))
            log("  filter %r: %d events" % (params, len(got)))
            if "ref" not in params:
                assert got, "filter %r matched nothing" % (params,)
        # A restricted token sees only its hosts, even without a host parameter.
        got, _ = api.events(TOKENS["apionly"], limit=10000)
        assert got and all(e["host"].startswith("api-") for e in got), {e["host"] for e in got}
        got, _ = api.events(TOKENS["apionly"], host="api-1")
        assert got and {e["host"] for e in got} == {"api-1"}
        # The same page in the other formats.
        ndjson, nxt = api.events(TOKENS["siem"], limit=20)
        status, headers, body = api.get("/v1/events?limit=20&format=rfc5424", token=TOKENS["siem"])
        assert status == 200 and headers["x-trailkeep-next-cursor"] == str(nxt)
        raws, rest = [], body
        while rest:
            length, _, rest = rest.partition(b" ")
            raws.append(rest[:int(length)])
            rest = rest[int(length):]
        assert raws == [harness.b64(e) for e in ndjson]
        status, _, body = api.get("/v1/events?limit=20&format=cef", token=TOKENS["siem"])
        lines = body.decode().splitlines()
        assert status == 200 and len(lines) == len(ndjson), (status, len(lines))
        for line, e in zip(lines, ndjson):
            assert line.startswith("CEF:0|trailkeep|trailkeepd|"), line
            assert "externalId=%d " % e["ingest_seq"] in line and "dvchost=%s" % e["host"] in line, line
    finally:
        c.stop()


# --- 3. auth, refusals recorded, metrics, bad requests -----------------------------------------

def test_auth_refusals_are_recorded():
    c = start_collector()
    try:
        api = Api(c)
        send_hosts(c, "auth")
        c.wait_for_count(20)

        def expect(status, path, **kw):
            s, _, body = api.get(path, **kw)
            assert s == status, (path, s, body[:300])
            if s >= 400:
                err = json.loads(body)
                assert err["status"] == status and err["error"], err
            return body

        expect(401, "/v1/events")
        expect(401, "/v1/events", token="tk_wrong")
        expect(403, "/v1/events", token=TOKENS["tailer"])
        expect(403, "/v1/events?host=db-1", token=TOKENS["apionly"])
        expect(403, "/v1/hosts", token=TOKENS["siem"])
        refusals = 5
        # mTLS with the dev client certificate ("dev-client": every scope).
        body = expect(200, "/v1/events?limit=5", cert=os.path.join(c.pki, "client.pem"),
                      key=os.path.join(c.pki, "client.key"))
        assert json.loads(body.decode().splitlines()[-1])["next_cursor"]
        hosts = json.loads(expect(200, "/v1/hosts", token=TOKENS["admin"]))
        assert {"api-1", "db-1"} <= {h["host"] for h in hosts}, hosts
        # A certificate from another CA: refused in the handshake, no HTTP at all.
        p = pkimod.shared_pki()
        status, _, err = api.get("/v1/events", cert=p.cert("foreign"), key=p.key("foreign"))
        assert status is None, (status, err)
        log("  foreign certificate: curl says %s" % err.decode(errors="replace").strip()[:120])
        # Bad requests: 400 with a JSON body.
        for q in ("cursor=abc", "limit=100000", "limit=0", "nope=1", "since=yesterday", "cursor=%zz",
                  "format=xml"):
            expect(400, "/v1/events?" + q, token=TOKENS["siem"])
        expect(404, "/v1/nothing", token=TOKENS["siem"])
        # /metrics: Prometheus text.
        text = expect(200, "/metrics", token=TOKENS["admin"]).decode()
        samples = {}
        typed = set()
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ")
                assert kind in ("counter", "gauge", "histogram"), line
                # A histogram's samples are NAME_bucket{le=...}, NAME_sum and NAME_count.
                typed.update([name] if kind != "histogram" else [name + "_bucket", name + "_sum", name + "_count"])
            elif line.startswith("# HELP ") or not line:
                continue
            else:
                m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)((?:\{[a-z_]+="(?:[^"\\]|\\.)*"\})?) '
                                 r"(-?[0-9.eE+]+)", line)
                assert m, "not a Prometheus sample: %r" % line
                assert m.group(1) in typed, "sample before its TYPE: %r" % line
                samples[m.group(1) + m.group(2)] = float(m.group(3))
        assert samples["trailkeep_events_committed_total"] >= 20, samples
        assert samples["trailkeep_api_denied_total"] >= refusals, samples
        assert samples["trailkeep_syslog_frames_total"] >= 20, samples
        assert samples['trailkeep_commit_duration_seconds_bucket{le="+Inf"}'] == \
            samples["trailkeep_commit_duration_seconds_count"] >= 1, samples
        # Every refusal and access is a collector event.
        denied = c.wait_for(lambda: (lambda d: len(d) >= refusals and d)(c.self_events("API_DENIED")), 30,
                            "API_DENIED events")
        statuses = sorted(int(_sd(e, "status")) for e in denied)
        assert statuses == [401, 401, 403, 403, 403], statuses
        assert any(_sd(e, "who") == "apionly (token)" and "db-1" in _sd(e, "path") for e in denied), denied
        assert all(_sd(e, "peer").startswith("127.0.0.1:") for e in denied)
        access = c.self_events("API_ACCESS")
        assert any(_sd(e, "who") == "dev-client (mtls)" and _sd(e, "filter") == "limit=5" and
                   _sd(e, "peer").startswith("127.0.0.1:") for e in access), access
        assert any(_sd(e, "who") == "admin (token)" and _sd(e, "path") == "/v1/hosts" for e in access), access
        tls = [e for e in c.self_events("TLS_HANDSHAKE_FAILED") if _sd(e, "listener") == "export"]
        assert tls, "the foreign certificate was not recorded"
    finally:
        c.stop()


_sd = harness.sd_param


if __name__ == "__main__":
    harness.main([test_paging_while_ingest_runs, test_filters_match_trailkeepd_query,
                  test_auth_refusals_are_recorded])
