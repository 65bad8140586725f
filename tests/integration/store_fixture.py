#!/usr/bin/env python3
"""Makes tests/testdata/store_v1: a small store written by the trailkeepd of its day, kept so
that every later binary is tested against it (store_fixture_test.py). Run once per schema
version, never to refresh the fixture of an existing version:

    TRAILKEEP_BIN=build/bin python3 tests/integration/store_fixture.py tests/testdata/store_v1

What goes in: a real agent's chained events (with its inventory and heartbeats), RFC 5424 and
RFC 3164 events from a legacy TLS sender, audit records from a stock audisp-remote on port 60,
and the collector's own events, across one restart (table files and a WAL). Written next to the store: the agent's HMAC key (a throwaway,
made for the fixture) and expected.json, the fields of every stored event as the making binary
reported them.
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, Collector, log  # noqa: E402
from agents import Agent, enroll  # noqa: E402
from audit_remote_test import record, run_audisp_remote  # noqa: E402

AGENT_HOST = "fixture-agent.test"
AGENT_LINES = 40
LEGACY = [b"<134>1 2026-12-05T10:00:0%dZ legacy.test app 7 ID47 [x@32473 k=\"v%d\"] legacy %d" % (i, i, i)
          for i in range(5)] + [b"<38>Dec  5 10:00:1%d legacy.test sshd[9]: rfc3164 %d" % (i, i)
                                for i in range(5)]
AUDIT_RECORDS = 6

# The fields compared: what a reader of any later version must still see.
FIELDS = ("ingest_seq", "host", "app_name", "msgid", "msg", "transport", "integrity", "severity",
          "facility", "timestamp")


def summary(events):
    return [{k: e.get(k) for k in FIELDS} for e in events]


def make(out):
    c = Collector()
    bundle = enroll(c, AGENT_HOST)
    c.start()
    try:
        work = os.path.join(c.workdir, "agent")
        agent = Agent(AGENT_HOST, bundle, c.port, work)
        with open(agent.inputs[0][1], "w") as f:
            for i in range(AGENT_LINES):
                f.write("Dec  5 10:01:%02d %s myapp[42]: fixture line %d\n" % (i, AGENT_HOST, i))
        agent.start()
        c.wait_for(lambda: len([e for e in c.peer_events("--host", AGENT_HOST)
                                if "fixture line" in e["msg"]]) >= AGENT_LINES, 60, "agent lines")
        time.sleep(2)  # a heartbeat or two
        agent.stop()
        # A restart: recovery flushes the WAL, so the agent's events are in table files and
        # what follows stays in the WAL; the fixture holds both.
        c.stop()
        c.start()
        c.send_frames(LEGACY)
        rc, err = run_audisp_remote(c.audit_port, [record(i) for i in range(AUDIT_RECORDS)],
                                    c.workdir)
        assert rc == 0, err
        c.wait_for(lambda: len(c.peer_events()) >= AGENT_LINES + len(LEGACY) + AUDIT_RECORDS,
                   60, "every event")
    finally:
        c.stop()
    events = c.query("--limit", "100000")
    os.makedirs(out)
    shutil.copytree(os.path.join(c.data_dir, "store"), os.path.join(out, "store"))
    os.makedirs(os.path.join(out, "keys"))
    shutil.copy(os.path.join(bundle, "hmac.key"), os.path.join(out, "keys", AGENT_HOST + ".key"))
    version = subprocess.run([os.path.join(BIN, "trailkeepd"), "--version"], capture_output=True,
                             text=True).stdout.strip()
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"made_by": version, "agent_host": AGENT_HOST, "events": summary(events)}, f,
                  indent=0, sort_keys=True)
    log("fixture in %s: %d events" % (out, len(events)))


if __name__ == "__main__":
    if len(sys.argv) != 2 or os.path.exists(sys.argv[1]):
        sys.exit("usage: store_fixture.py NEW_FOLDER (it must not exist)")
    make(sys.argv[1])
