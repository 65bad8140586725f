"""auditd grouping and enrichment in the collector, end to end: a real
`trailkeep forward` agent tails an audit log (input kind "audit") and sends
its records, with its identity map, to the real trailkeepd.

  - records of one (node, serial) become one grouped event, closed by EOE,
    by a single-record type, or by the grouping timeout; two events whose
    records interleave are told apart;
  - every record is stored as it arrived (audit_member, chain evidence) and
    again, byte-exact, inside its grouped event;
  - ids carry the names of the agent's identity map (its passwd/group);
    syscall, arch, proctitle, saddr and exit are interpreted;
  - records without node= get the host name (name_format hostname);
  - identity maps survive a collector restart: they are rebuilt from the
    stored inventory events, so a record sent after the restart by an agent
    that sent its inventory only before it still has its ids named;
  - the grouped event is what is classified (USER_AUTH res=failed -> refs),
    never the members; text from a legacy sender that merely looks like an
    audit record stays a plain, ungrouped event.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RUN_DIR, Collector, frame, log  # noqa: E402
from agents import Agent, enroll  # noqa: E402

HOST = "audit-a.test"
RECORDS = [
    # two syscall events interleaved (serials 20 and 21), each ended by EOE
    'type=SYSCALL msg=audit(1700000100.100:20): arch=c000003e syscall=42 success=no exit=-111 '
    'a0=3 a1=7ffd a2=10 a3=0 items=0 ppid=1 pid=2 auid=1000 uid=1000 gid=1000 euid=1000 '
    'suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=1 comm="nc" '
    'exe="/usr/bin/nc" key=(null)',
    'type=SYSCALL msg=audit(1700000100.101:21): arch=c000003e syscall=59 success=yes exit=0 '
    'a0=1 a1=2 a2=3 a3=0 items=1 ppid=1 pid=3 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 '
    'egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm="id" exe="/usr/bin/id" key="exec"',
    'type=SOCKADDR msg=audit(1700000100.100:20): saddr=02000D3DC0A80101000000000000000000',
    'type=PROCTITLE msg=audit(1700000100.101:21): proctitle=7375646F006964',
    'type=EOE msg=audit(1700000100.101:21):',
    'type=PROCTITLE msg=audit(1700000100.100:20): proctitle=6E63002D7A0031302E302E302E31',
    'type=EOE msg=audit(1700000100.100:20):',
    # one user-space record: an event on its own
    "type=USER_AUTH msg=audit(1700000100.200:22): pid=13394 uid=0 auid=4294967295 "
    "ses=4294967295 msg='op=PAM:authentication grantors=? acct=\"alice\" exe=\"/usr/sbin/sshd\" "
    "hostname=10.1.2.3 addr=10.1.2.3 terminal=ssh res=failed'",
    # no EOE: closed by the timeout
    'type=SYSCALL msg=audit(1700000100.300:23): arch=c000003e syscall=2 success=no exit=-13 '
    'a0=1 a1=0 a2=0 a3=0 items=1 ppid=1 pid=4 auid=1000 uid=1000 gid=1000 euid=1000 '
    'suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=1 comm="cat" '
    'exe="/usr/bin/cat" key=(null)',
]


def fields(record):
    return {f["name"]: f for f in record["fields"]}


def test_grouped_enriched_classified():
    work = tempfile.mkdtemp(prefix="audit-grouping-", dir=RUN_DIR)
    c = Collector(os.path.join(work, "collector")).start()
    agent = None
    try:
        audit_log = os.path.join(work, "audit.log")
        with open(audit_log, "w") as f:
            f.write("\n".join(RECORDS) + "\n")
        bundle = enroll(c, HOST)
        agent = Agent(HOST, bundle, c.port, os.path.join(work, "agent"),
                      inputs=[("audit", audit_log, "audit")])
        agent.start()
        # A legacy sender's line that looks like an audit record.
        fake = ("<13>1 2026-11-23T05:00:00Z legacy.test auditd - - - " + RECORDS[7]).encode()
        c.send_frames([fake])

        def grouped():
            evs = [e for e in c.peer_events("--host", HOST) if e.get("audit")]
            return evs if len(evs) >= 4 else None
        events = c.wait_for(grouped, timeout=60, what="4 grouped audit events")
        by_serial = {e["audit"]["serial"]: e for e in events}
        assert sorted(by_serial) == [20, 21, 22, 23], sorted(by_serial)
        assert len(events) == 4, [e["audit"]["serial"] for e in events]

        e20 = by_serial[20]["audit"]
        assert [r["type"] for r in e20["records"]] == ["SYSCALL", "SOCKADDR", "PROCTITLE", "EOE"]
        assert e20["complete"] and e20["identity_map"] and e20["node"] == "audit-a"
        for r in e20["records"]:
            assert r["text"] in RECORDS and r["chain_seq"] > 0, r
        sc = fields(e20["records"][0])
        assert sc["syscall"]["value"] == "connect" and sc["arch"]["value"] == "x86_64"
        assert sc["exit"]["value"] == "ECONNREFUSED(Connection refused)"
        assert sc["uid"]["value"] == "alice" and not sc["uid"]["unresolved"], sc["uid"]
        assert sc["gid"]["value"] == "alice"
        assert fields(e20["records"][1])["saddr"]["value"] == \
            "{ saddr_fam=inet laddr=192.168.1.1 lport=3389 }"
        assert fields(e20["records"][2])["proctitle"]["value"] == "nc -z 10.0.0.1"

        e21 = by_serial[21]["audit"]
        assert [r["type"] for r in e21["records"]] == ["SYSCALL", "PROCTITLE", "EOE"]
        assert fields(e21["records"][0])["uid"]["value"] == "root"
        assert by_serial[21]["msgid"] == "SYSCALL"

        auth = by_serial[22]
        assert auth["audit"]["complete"] and len(auth["audit"]["records"]) == 1
        assert "FIA_UIA_EXT.1" in auth["refs"], auth["refs"]
        assert not by_serial[23]["audit"]["complete"]  # closed by the timeout

        members = [e for e in c.peer_events("--host", HOST) if e.get("audit_member")]
        assert sorted(m["msg"] for m in members) == sorted(RECORDS), len(members)
        assert all(m["refs"] == [] for m in members)
        # by_ndcpp holds the grouped event, not its member
        hits = [e for e in c.query("--ref", "FIA_UIA_EXT.1") if e["host"] == HOST]
        assert [h["audit"]["serial"] for h in hits] == [22], hits

        legacy = c.peer_events("--host", "legacy.test")
        assert len(legacy) == 1 and legacy[0]["audit"] is None
        assert not legacy[0].get("audit_member")
        log("4 grouped audit events, %d members, legacy look-alike left alone" % len(members))
    finally:
        if agent is not None:
            agent.stop()
        c.stop()


def test_identity_map_survives_collector_restart():
    """The agent sends its inventory once (at its start); the collector
    restarts; a record the agent sends afterwards still has uid named."""
    work = tempfile.mkdtemp(prefix="audit-restart-", dir=RUN_DIR)
    host = "audit-b.test"
    c = Collector(os.path.join(work, "collector"),
                  syslog_listen="127.0.0.1:%d" % harness.free_port()).start()
    agent = None
    try:
        audit_log = os.path.join(work, "audit.log")
        with open(audit_log, "w") as f:
            f.write(RECORDS[7] + "\n")  # USER_AUTH, uid=0
        bundle = enroll(c, host)
        agent = Agent(host, bundle, c.port, os.path.join(work, "agent"),
                      inputs=[("audit", audit_log, "audit")])
        agent.start()

        def grouped(n):
            evs = [e for e in c.peer_events("--host", host) if e.get("audit")]
            return evs if len(evs) >= n else None
        before = c.wait_for(lambda: grouped(1), timeout=60, what="the first grouped event")
        inventories = [e for e in c.peer_events("--host", host) if e["msgid"] == "INVENTORY"]
        assert len(inventories) == 1, inventories
        assert fields(before[0]["audit"]["records"][0])["uid"]["value"] == "root"

        assert c.stop() == 0
        c.start()
        # One more event, after the restart: uid=1000 auid=1000 (alice).
        with open(audit_log, "a") as f:
            f.write(RECORDS[8] + "\n")
        after = c.wait_for(lambda: grouped(2), timeout=90, what="a grouped event after the restart")
        inventories = [e for e in c.peer_events("--host", host) if e["msgid"] == "INVENTORY"]
        assert len(inventories) == 1, "the agent sent its inventory again: %r" % inventories
        e23 = [e for e in after if e["audit"]["serial"] == 23]
        assert len(e23) == 1, [e["audit"]["serial"] for e in after]
        a = e23[0]["audit"]
        assert a["identity_map"], a
        uid = fields(a["records"][0])["uid"]
        assert uid["value"] == "alice" and not uid["unresolved"], uid
        assert "identity maps of 1 hosts restored" in c.read_log(), c.read_log()[-2000:]
        log("after a collector restart uid=1000 still resolves to alice (inventory stored once)")
    finally:
        if agent is not None:
            agent.stop()
        c.stop()


if __name__ == "__main__":
    harness.main([test_grouped_enriched_classified, test_identity_map_survives_collector_restart])
