"""Fleet reports over the HTTPS API: GET /v1/report/NAME (curl) and
`trailkeep report --server` give exactly what `trailkeepd report --db` prints
on the collector host, in text and JSON; unknown reports, bad parameters,
a missing admin scope and a host outside a token's patterns are refused; a
restricted token sees only its hosts' rows.
"""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, Collector, log  # noqa: E402
from export_test import Api, token_line  # noqa: E402
from integrity_api_test import add_tokens, admin_token, cli  # noqa: E402

LINES = [
    b"<38>Nov 23 10:00:01 api-1 sshd[1001]: Failed password for root from 203.0.113.9 port 51000 ssh2",
    b"<38>Nov 23 10:00:02 api-1 sshd[1002]: Accepted publickey for alice from 2001:db8::7 port 52000 ssh2",
    b"<38>Nov 23 10:00:03 db-1 sshd[1003]: Failed password for invalid user admin from 198.51.100.4 "
    b"port 53000 ssh2",
    b"<30>Nov 23 10:00:04 db-1 chronyd[77]: System clock wrong by 1.500000 seconds, adjustment started",
]


def local_report(c, *args):
    r = subprocess.run([os.path.join(BIN, "trailkeepd"), "report", "--db", c.db] + list(args),
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def test_reports_match_the_local_tool():
    with Collector() as c:
        c.send_frames(LINES)
        c.wait_for(lambda: len(c.peer_events()) == len(LINES), what="the sample lines")
        api = Api(c)
        token = admin_token(c)
        for name, extra, query in (("auth", ["--failed"], "&failed=true"), ("logins", [], ""),
                                   ("time-changes", [], ""), ("ndcpp", [], "")):
            want_json = local_report(c, name, "--format", "json", *extra)
            status, headers, body = api.get("/v1/report/%s?format=json%s" % (name, query), token=token)
            assert status == 200 and headers["content-type"] == "application/json", (status, body)
            assert json.loads(body) == json.loads(want_json), (name, body[:500])
            want_text = local_report(c, name, *extra)
            rc, out, err = cli(c, "report", name, *extra)
            assert rc == 0, err
            assert out.rstrip("\n") == want_text.rstrip("\n"), (name, out, want_text)
        auth = json.loads(local_report(c, "auth", "--failed", "--format", "json"))
        assert len(auth["rows"]) == 2, auth
        # Refusals: unknown report, bad parameter, no admin scope, host outside a token's patterns.
        status, _, body = api.get("/v1/report/nonsense", token=token)
        assert status == 404 and b"auth" in body, (status, body)
        status, _, body = api.get("/v1/report/auth?failed=maybe", token=token)
        assert status == 400 and b"failed" in body, (status, body)
        add_tokens(c, [token_line("exporter", "tok-export-only-0123456789", "export"),
                       token_line("api-admin", "tok-api-admin-0123456789", "admin", "api-*")])
        os.kill(c.proc.pid, signal.SIGHUP)
        c.wait_for(lambda: c.self_events("API_TOKENS_RELOADED"), what="API_TOKENS_RELOADED")
        status, _, body = api.get("/v1/report/auth", token="tok-export-only-0123456789")
        assert status == 403 and b"admin" in body, (status, body)
        # Without host=, a restricted token gets its own hosts' rows.
        status, _, body = api.get("/v1/report/auth?format=json", token="tok-api-admin-0123456789")
        rows = json.loads(body)["rows"]
        assert status == 200 and rows and all(r["host"] == "api-1" for r in rows), body
        status, _, body = api.get("/v1/report/auth?host=db-1", token="tok-api-admin-0123456789")
        assert status == 403, (status, body)
        status, _, body = api.get("/v1/report/auth?host=api-1&format=json",
                                  token="tok-api-admin-0123456789")
        rows = json.loads(body)["rows"]
        assert status == 200 and rows and all(r["host"] == "api-1" for r in rows), body
        log("auth, logins, time-changes and ndcpp: API, CLI and local tool agree; 404/400/403 refusals")


if __name__ == "__main__":
    harness.main([test_reports_match_the_local_tool])
