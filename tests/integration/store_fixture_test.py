#!/usr/bin/env python3
"""Stores written by earlier versions open with this binary (every schema change ships with a
migration). tests/testdata/store_v1 was written by trailkeepd 0.1.0 (store_fixture.py says what
it holds: a real agent's chain, legacy RFC 5424/3164 senders, audisp-remote on port 60, the
collector's own events; table files and a WAL). On a copy of it:

  1. `trailkeepd query` shows every event with the fields the making binary showed;
  2. `trailkeepd verify` verifies the agent's chain with the fixture's key, and `hosts` lists
     every host;
  3. a collector opens it read-write, takes new events after the old ones (ingest order goes
     on), and the old events read back unchanged.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, Collector, log, main  # noqa: E402
from store_fixture import summary  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "store_v1")
TRAILKEEPD = os.path.join(BIN, "trailkeepd")


def expected():
    with open(os.path.join(FIXTURE, "expected.json")) as f:
        return json.load(f)


def copy_fixture(data_dir):
    shutil.copytree(os.path.join(FIXTURE, "store"), os.path.join(data_dir, "store"))


def copy_keys(dest):
    """The fixture's HMAC keys as a keys_dir: git keeps no modes, and keys must be 0600."""
    shutil.copytree(os.path.join(FIXTURE, "keys"), dest)
    os.chmod(dest, 0o700)
    for k in os.listdir(dest):
        os.chmod(os.path.join(dest, k), 0o600)
    return dest


def tool(*args):
    r = subprocess.run([TRAILKEEPD] + list(args), capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def query_all(db):
    rc, out, err = tool("query", "--db", db, "--format", "json", "--limit", "100000")
    assert rc == 0, err
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def test_store_tools_read_the_old_store():
    want = expected()
    data = tempfile.mkdtemp(prefix="tk-fixture-")
    copy_fixture(data)
    got = summary(query_all(data))
    assert got == want["events"], "the %s store reads differently: %d events, %d expected" % (
        want["made_by"], len(got), len(want["events"]))
    rc, verified, err = tool("verify", "--db", data, "--host", want["agent_host"], "--keys-dir",
                             copy_keys(os.path.join(data, "keys")))
    assert rc == 0 and "OK " in verified, (rc, verified, err)
    rc, out, err = tool("hosts", "--db", data)
    assert rc == 0, err
    for host in {e["host"] for e in want["events"]}:
        assert host in out, (host, out)
    log("  %d events of trailkeepd %s read unchanged; verify: %s" % (
        len(got), want["made_by"], verified.strip().splitlines()[-1]))


def test_collector_goes_on_with_the_old_store():
    want = expected()
    c = Collector()
    os.makedirs(c.data_dir)
    copy_fixture(c.data_dir)
    copy_keys(os.path.join(c.workdir, "dev", "keys"))
    old_max = max(e["ingest_seq"] for e in want["events"])
    c.start()
    try:
        c.send_frames([b"<134>1 2026-12-05T11:00:00Z after.test app - - - after %d" % i
                       for i in range(3)])
        c.wait_for(lambda: len([e for e in c.peer_events("--host", "after.test")]) >= 3, 30,
                   "the new events")
    finally:
        c.stop()
    events = query_all(c.data_dir)
    old = [e for e in events if e["ingest_seq"] <= old_max]
    assert summary(old) == want["events"], "old events changed after the collector ran"
    new = [e for e in events if e["host"] == "after.test"]
    assert len(new) == 3 and min(e["ingest_seq"] for e in new) > old_max, new
    log("  collector on the old store: 3 new events after ingest_seq %d, old ones unchanged"
        % old_max)


if __name__ == "__main__":
    main([test_store_tools_read_the_old_store, test_collector_goes_on_with_the_old_store])
