#!/usr/bin/env python3
"""Chain integrity over the HTTPS API (docs/api.md) against the real trailkeepd,
real `trailkeep forward` agents, curl and the `trailkeep` CLI.

  1. GET /v1/verify and `trailkeep verify --server` give exactly what
     `trailkeepd verify --db` gives (lines and exit code), for a clean host and
     for one whose spool was tampered with (a deleted record: gap; a forged
     event: bad_mac).
  2. GET /v1/integrity lists the same alarms the collector recorded as
     INTEGRITY_ALARM events; `trailkeep integrity --server` prints them; host
     and kind filters narrow the list; /v1/hosts shows the chain state.
  3. Malformed or refused requests: clear 4xx with a JSON body.
  4. The token file is reloaded on SIGHUP; an invalid file keeps the old tokens.
  5. /metrics: per-source counters, integrity events by kind, RocksDB stats.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, log  # noqa: E402
from agents import Agent, Writer, enroll, integrity_alarms, read_records, spool_segments, verify_db, \
    wait_stored, write_records  # noqa: E402
from agent_tamper_test import HOST, One, forge, send_raw, wait_alarms  # noqa: E402
from export_test import Api, token_line  # noqa: E402

CLEAN = "agent-c.test"


def admin_token(c):
    with open(os.path.join(c.workdir, "dev", "admin.token")) as f:
        return f.read().strip()


def add_tokens(c, lines):
    with open(os.path.join(c.workdir, "dev", "export-tokens"), "a") as f:
        f.write("".join(lines))


def cli(c, *args):
    """`trailkeep ARGS --server ... --cacert ... --token-file admin.token`: (rc, stdout, stderr)."""
    r = subprocess.run([os.path.join(BIN, "trailkeep")] + list(args) +
                       ["--server", "https://127.0.0.1:%d" % c.export_port,
                        "--cacert", os.path.join(c.pki, "ca.pem"),
                        "--token-file", os.path.join(c.workdir, "dev", "admin.token")],
                       capture_output=True, timeout=300)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def ndjson(body):
    return [json.loads(l) for l in body.decode().splitlines() if l.strip()]


def verify_db_stdout(c, host):
    r = subprocess.run([os.path.join(BIN, "trailkeepd"), "verify", "--db", c.db, "--host", host],
                       capture_output=True, timeout=300)
    return r.returncode, r.stdout.decode(errors="replace")


def api_verify(api, token, host):
    """(exit code the result means, the lines trailkeepd verify would print)."""
    status, headers, body = api.get("/v1/verify?host=" + host, token=token)
    assert status == 200, (status, body[:300])
    assert headers["content-type"] == "application/x-ndjson", headers
    lines = ndjson(body)
    result = lines[-1]["result"]
    printed = [l["issue"]["line"] for l in lines if "issue" in l] + [result["summary"]]
    assert result["issues"] == len(printed) - 1, lines
    return (0 if result["clean"] else 1), "\n".join(printed) + "\n"


class Tampered:
    """One collector; HOST gets a deleted spool record (gap) and a forged event
    (bad_mac); CLEAN is an untouched agent on the same collector."""

    def __init__(self):
        self.one = One("integrity-api")
        self.c = self.one.collector
        self.one.write(10)

        def delete_line_15():
            for seg in spool_segments(self.one.agent.spool_dir):
                recs = read_records(seg)
                kept = [r for r in recs if b"line 0000015" not in r]
                if len(kept) != len(recs):
                    write_records(seg, kept)
                    return
            raise AssertionError("record of line 15 not in the spool")
        self.one.offline_then(10, delete_line_15)
        wait_stored(self.c, HOST, 19)
        s16 = self.one.seq_of(16)
        events = self.one.events()
        epoch = int(events[-1]["chain"]["e"])
        send_raw(self.one, [forge(epoch, 500, "0" * 64, "forged far ahead", os.urandom(32))])
        self.expected = [("gap", s16 - 1, s16 - 1), ("bad_mac", 500, 500)]
        wait_alarms(self.one, self.expected)
        # A clean agent beside it.
        bundle = enroll(self.c, CLEAN)
        self.clean = Agent(CLEAN, bundle, self.c.port, os.path.join(self.one.work, "clean")).start()
        Writer(self.clean.inputs[0][1], CLEAN, 25).run()
        wait_stored(self.c, CLEAN, 25)
        # A plain syslog sender: a host without an HMAC key.
        self.c.send_frames([b"<38>1 - plain.test sshd 42 - - no chain here"], cert=None)
        self.c.wait_for(lambda: [e for e in self.c.peer_events() if e["host"] == "plain.test"],
                        what="plain.test stored")
        self.api = Api(self.c)
        self.token = admin_token(self.c)

    def close(self):
        self.clean.stop()
        self.one.close()


def test_verify_integrity_hosts_and_errors():
    t = Tampered()
    try:
        c, api, token = t.c, t.api, t.token
        # 1. /v1/verify, trailkeep verify --server and trailkeepd verify --db agree.
        for host, want_rc in ((HOST, 1), (CLEAN, 0)):
            db_rc, db_out = verify_db_stdout(c, host)
            assert db_rc == want_rc, (host, db_rc, db_out)
            assert api_verify(api, token, host) == (db_rc, db_out), (host, db_out)
            rc, out, err = cli(c, "verify", "--host", host)
            assert (rc, out) == (db_rc, db_out), (host, rc, out, err, db_out)
            log("  %s: %s" % (host, db_out.strip().replace("\n", " | ")))
        assert "gap" in verify_db_stdout(c, HOST)[1] and "bad_mac" in verify_db_stdout(c, HOST)[1]

        # 2. /v1/integrity lists what the collector recorded as INTEGRITY_ALARM.
        recorded = sorted((k, f, l) for k, _, f, l in integrity_alarms(c))
        status, headers, body = api.get("/v1/integrity?since=1h", token=token)
        assert status == 200 and headers["content-type"] == "application/json", (status, body)
        listing = json.loads(body)
        got = sorted((e["kind"], e["first_seq"], e["last_seq"]) for e in listing["integrity"])
        assert got == recorded and listing["count"] == len(got), (got, recorded)
        assert all(x in got for x in t.expected), (got, t.expected)
        assert {e["host"] for e in listing["integrity"]} == {HOST}, listing
        status, _, body = api.get("/v1/integrity?since=1h&format=ndjson&kind=gap&host=agent-*",
                                  token=token)
        lines = ndjson(body)
        assert status == 200 and lines[-1] == {"count": len(lines) - 1, "truncated": False}, lines
        assert [(e["kind"], e["first_seq"], e["last_seq"]) for e in lines[:-1]] == \
            [a for a in recorded if a[0] == "gap"], lines
        status, _, body = api.get("/v1/integrity?since=1h&host=" + CLEAN, token=token)
        assert json.loads(body)["integrity"] == [], body
        status, _, body = api.get("/v1/integrity?since=1h&limit=1", token=token)
        assert json.loads(body)["truncated"] is (len(recorded) > 1), body
        rc, out, err = cli(c, "integrity", "--since", "1h")
        assert rc == 0 and len(out.splitlines()) == len(recorded), (rc, out, err)
        assert " gap epoch=" in out and " bad_mac epoch=" in out, out
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        status, _, body = api.get("/v1/integrity?since=" + future, token=token)
        assert json.loads(body)["count"] == 0, body

        # /v1/hosts: the chain state of each agent host.
        status, _, body = api.get("/v1/hosts", token=token)
        hosts = {h["host"]: h for h in json.loads(body)}
        chain = hosts[HOST]["chain"]
        assert chain["integrity_alarms"] == len(recorded) and chain["highest_seq"] >= 20, chain
        assert chain["epoch"] == t.one.events()[-1]["chain"]["e"] and chain["last_heartbeat"], chain
        assert hosts[CLEAN]["chain"]["integrity_alarms"] == 0, hosts[CLEAN]
        assert "chain" not in hosts["plain.test"], hosts["plain.test"]

        # 3. Errors: a clear status and a JSON body.
        add_tokens(c, [token_line("siem", "tk_siem_only", "export"),
                       token_line("api-admin", "tk_api_admin", "admin", "api-*")])
        os.kill(c.proc.pid, signal.SIGHUP)
        c.wait_for(lambda: c.self_events("API_TOKENS_RELOADED"), what="tokens reloaded")
        cases = [
            ("/v1/verify", token, 400, "host is required"),
            ("/v1/verify?host=agent-*", token, 400, "patterns are not allowed"),
            ("/v1/verify?host=nope.test", token, 404, "no host 'nope.test'"),
            ("/v1/verify?host=plain.test", token, 409, "no HMAC key"),
            ("/v1/verify?host=%s&x=1" % HOST, token, 400, "unknown parameter 'x'"),
            ("/v1/verify?host=" + HOST, "tk_siem_only", 403, "admin scope is required"),
            ("/v1/verify?host=" + HOST, "tk_api_admin", 403, "outside the hosts allowed"),
            ("/v1/verify?host=" + HOST, "wrong", 401, "invalid token"),
            ("/v1/integrity", token, 400, "since is required"),
            ("/v1/integrity?since=yesterday", token, 400, "neither RFC 3339"),
            ("/v1/integrity?since=1h&limit=0", token, 400, "limit must be"),
            ("/v1/integrity?since=1h&limit=99999999999999999999999", token, 400, "limit must be"),
            ("/v1/integrity?since=1h&format=xml", token, 400, "format must be"),
            ("/v1/integrity?since=1h&bogus=1", token, 400, "unknown parameter"),
            ("/v1/integrity?since=%zz", token, 400, "percent escape"),
            ("/v1/integrity?since=1h&host=db-*", "tk_api_admin", 403, "outside the hosts allowed"),
        ]
        for path, tok, want, text in cases:
            status, headers, body = api.get(path, token=tok)
            assert status == want and text in json.loads(body)["error"], (path, status, body)
        # A restricted admin sees only its hosts' alarms (none here).
        status, _, body = api.get("/v1/integrity?since=1h", token="tk_api_admin")
        assert status == 200 and json.loads(body)["count"] == 0, body
        rc, out, err = cli(c, "verify", "--host", "nope.test")
        assert rc == 2 and "no host 'nope.test'" in err and out == "", (rc, out, err)
        denied = [e for e in c.self_events("API_DENIED") if "/v1/verify" in json.dumps(e)]
        assert len(denied) >= 2, denied
        access = [e for e in c.self_events("API_ACCESS") if "chain verification of" in e["msg"]]
        assert len(access) >= 4, [e["msg"] for e in access]

        # 5. /metrics.
        status, _, body = api.get("/metrics", token=token)
        text = body.decode()
        samples = {}
        for l in text.splitlines():
            if l and not l.startswith("#"):
                name, value = l.rsplit(" ", 1)
                samples[name] = float(value)
        status, _, body = api.get("/v1/hosts", token=token)
        hosts = {h["host"]: h for h in json.loads(body)}
        stored_clean = len([e for e in c.peer_events() if e["host"] == CLEAN])
        assert hosts[CLEAN]["events"] == stored_clean >= 25, (hosts[CLEAN], stored_clean)
        assert samples['trailkeep_source_events_total{host="%s"}' % CLEAN] == stored_clean, text
        assert samples['trailkeep_source_bytes_total{host="%s"}' % CLEAN] == hosts[CLEAN]["bytes"]
        assert samples['trailkeep_integrity_events_total{kind="gap"}'] >= 1, text
        assert samples['trailkeep_integrity_events_total{kind="bad_mac"}'] >= 1, text
        assert samples['trailkeep_source_integrity_alarms_total{host="%s"}' % HOST] == len(recorded)
        assert samples["trailkeep_rocksdb_estimate_num_keys"] > 0, text
        assert samples["trailkeep_commit_seconds_total"] > 0, text
        assert text.count("# TYPE trailkeep_source_events_total ") == 1, text
        # The group commits' durations: one histogram family from the same snapshot as
        # commits_total and commit_seconds_total, its buckets cumulative.
        assert text.count("# TYPE trailkeep_commit_duration_seconds histogram") == 1, text
        buckets = [v for k, v in samples.items() if k.startswith("trailkeep_commit_duration_seconds_bucket")]
        assert len(buckets) == 17 and buckets == sorted(buckets), text
        assert buckets[-1] == samples["trailkeep_commit_duration_seconds_count"] == samples["trailkeep_commits_total"]
        assert samples["trailkeep_commit_duration_seconds_sum"] == samples["trailkeep_commit_seconds_total"], text
    finally:
        t.close()


def test_token_reload_on_sighup():
    c = harness.Collector()
    c.start()
    try:
        api = Api(c)
        path = os.path.join(c.workdir, "dev", "export-tokens")
        with open(path) as f:
            original = f.read()
        assert api.get("/v1/hosts", token="tk_new_admin")[0] == 401
        with open(path, "a") as f:
            f.write(token_line("new-admin", "tk_new_admin", "admin"))
        os.kill(c.proc.pid, signal.SIGHUP)
        c.wait_for(lambda: c.self_events("API_TOKENS_RELOADED"), what="API_TOKENS_RELOADED")
        assert api.get("/v1/hosts", token="tk_new_admin")[0] == 200
        # An invalid file: the old tokens stay, a collector event says why.
        with open(path, "w") as f:
            f.write(original + "broken-line-without-hash\n")
        os.kill(c.proc.pid, signal.SIGHUP)
        c.wait_for(lambda: c.self_events("API_TOKENS_RELOAD_FAILED"), what="API_TOKENS_RELOAD_FAILED")
        failed = c.self_events("API_TOKENS_RELOAD_FAILED")[0]
        assert "line " in failed["msg"] and "previous tokens stay" in failed["msg"], failed["msg"]
        assert api.get("/v1/hosts", token="tk_new_admin")[0] == 200
        assert api.get("/v1/hosts", token=admin_token(c))[0] == 200
        # A valid file without the new token: it is refused from then on.
        with open(path, "w") as f:
            f.write(original)
        os.kill(c.proc.pid, signal.SIGHUP)
        c.wait_for(lambda: len(c.self_events("API_TOKENS_RELOADED")) >= 2, what="second reload")
        assert api.get("/v1/hosts", token="tk_new_admin")[0] == 401
        assert api.get("/v1/hosts", token=admin_token(c))[0] == 200
        assert c.alive()
    finally:
        c.stop()


if __name__ == "__main__":
    harness.main([test_verify_integrity_hosts_and_errors, test_token_reload_on_sighup])
