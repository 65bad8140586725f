"""The disk-full policy's full matrix, outside CI (`make test-diskfull`; root).

disk_full_test.py (in CI) covers `block` for every source. Here:
  - halt: TLS syslog (loggen), an agent and port 60 deliver; the disk fills:
    DISK_FULL (action halt), COLLECTOR_STOP with reason disk_full_halt, exit
    status 3 (which deploy/trailkeepd.service lists in
    RestartPreventExitStatus=); every acknowledged agent line and port-60
    record is stored; once space is freed and the collector started again the
    agent delivers the rest, each line once, and the chain verifies.
  - rotate is refused at start-up in this version (config_test checks the
    message; docs/operations.md, "A full disk", says why): its early cuts
    did not stop at what was needed on a 512 MiB tmpfs.
Reverse tunnels are not part of this matrix (see the closing note of the
branch): port 60 through a tunnel is served by the same session code as a
direct connection.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import log  # noqa: E402
from agents import Writer, integrity_alarms, verify_db, wait_stored  # noqa: E402
from audit_remote_test import ACK, MESSAGE, big_record, frame, read_reply, record, stored_records  # noqa: E402
from disk_full_test import MiB, TRAILKEEPD, connect60, mounted_site, loggen_count, loggen_keys, sd, \
    start_loggen  # noqa: E402

UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "trailkeepd.service")


def test_halt():
    with open(UNIT) as f:
        prevent = re.search(r"^RestartPreventExitStatus=(.*)$", f.read(), re.M)
    assert prevent and "3" in prevent.group(1).split(), "the unit would restart a halted collector"
    site = mounted_site("test_halt", "halt", 384, {"space_left": '"200MiB"', "admin_space_left": '"160MiB"',
                                                    "reserve": '"16MiB"', "disk_full_action": '"halt"'})
    if site is None:
        return
    c = site.collector
    try:
        c.start()
        agent = site.enroll("agent-halt.test")
        Writer(agent.inputs[0][1], agent.host, 500).run()
        wait_stored(c, agent.host, 500, timeout=60)
        sent = loggen_count(start_loggen(c, 1000, 10000))
        c.wait_for(lambda: len(loggen_keys(c)) >= sent, what="loggen stored")
        s = connect60(c)
        for i in range(1, 6):
            s.sendall(frame(MESSAGE, i + 1, record(i)))
            assert read_reply(s)[:2] == (ACK, i + 1)
        s.close()
        filler = site.fill(leave_mib=100)
        proc = c.proc
        rc = proc.wait(60)
        assert rc == 3, "trailkeepd exited with %s, not 3:\n%s" % (rc, c.read_log()[-3000:])
        c.proc = None
        c.logf.close()
        full = [e for e in c.self_events("DISK_FULL")]
        assert len(full) == 1 and sd(full[0])["action"] == "halt", full
        stop = c.self_events("COLLECTOR_STOP")[-1]
        assert sd(stop).get("reason") == "disk_full_halt", stop
        assert [e["msg"] for e in stored_records(c)] == [record(i).decode().rstrip("\n") for i in range(1, 6)]
        log("halt: exit status 3, %s; %s" % (full[0]["msg"][:90], stop["msg"][:80]))
        # The agent spools while the collector is down; space returns; start again.
        Writer(agent.inputs[0][1], agent.host, 500, start_at=500).run()
        os.unlink(filler)
        c.start()
        nums = wait_stored(c, agent.host, 1000, timeout=90)
        assert sorted(nums) == list(range(1000)), "agent lines lost or stored twice"
        rc, out = verify_db(c, agent.host)
        assert rc == 0, out
        assert integrity_alarms(c, agent.host) == []
        keys = loggen_keys(c)
        assert len(keys) == len(set(keys)) == sent
        log("halt: after the restart every agent line stored once, chain verifies")
    finally:
        site.close()


if __name__ == "__main__":
    harness.main([test_halt])
