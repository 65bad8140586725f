"""The collector and `trailkeep classify` classify auditd events identically.

Rules with audit_type / audit_fields (docs/ndcpp.md) read the interpreted
records of a grouped event, so both sides must build the same grouped event.
A real `trailkeep forward` agent tails an audit log holding every auditd
record of tests/ndcpp/corpus.tsv plus multi-record events (an aarch64
clock_settime with its PROCTITLE, an x86_64 adjtimex step with its
TIME_INJOFFSET) and sends it, with its identity map, to a real trailkeepd;
`trailkeep classify --identity` reads the same file with the same map. For
every serial, the stored grouped event and the classify output must have the
same refs, description, MSGID and records (type, text, interpreted fields),
and the multi-record events must be classified at all.

  TRAILKEEP_BIN=build/bin python3 tests/ndcpp/collector_parity_test.py
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402
from harness import BIN, RUN_DIR, Collector, log  # noqa: E402
from agents import Agent, enroll  # noqa: E402

HOST = "parity.test"
# The agent's identity files (agents.py) hold these names.
INVENTORY = {"users": {"0": "root", "1000": "alice"}, "groups": {"0": "root", "1000": "alice"}}
MULTI = [
    'type=SYSCALL msg=audit(1709800100.100:7400): arch=c00000b7 syscall=112 success=yes exit=0 '
    'a0=0 a1=ffffd5a1e3f8 a2=0 a3=0 items=0 ppid=1 pid=611 auid=1000 uid=0 gid=0 euid=0 suid=0 '
    'fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="date" exe="/usr/bin/date" '
    'key="time-change"',
    'type=PROCTITLE msg=audit(1709800100.100:7400): proctitle=64617465002D73',
    'type=EOE msg=audit(1709800100.100:7400):',
    'type=SYSCALL msg=audit(1709800101.101:7401): arch=c000003e syscall=159 success=yes exit=5 '
    'a0=7ffd1c2a3b40 a1=0 a2=0 a3=0 items=0 ppid=1 pid=6697 auid=4294967295 uid=0 gid=0 euid=0 '
    'suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="chronyd" '
    'exe="/usr/sbin/chronyd" key="time-change"',
    'type=TIME_INJOFFSET msg=audit(1709800101.101:7401): sec=-16 nsec=124887145',
    'type=PROCTITLE msg=audit(1709800101.101:7401): proctitle=2F7573722F7362696E2F6368726F6E7964',
    'type=EOE msg=audit(1709800101.101:7401):',
]


def corpus_records():
    out = []
    with open(os.path.join(HERE, "corpus.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            text = line.rstrip("\n").split("\t", 1)[1]
            if text.startswith("type=") or (text.startswith("node=") and " type=" in text):
                out.append(text)
    return out


def view(event):
    """What the two sides must agree on (the node is the collector's name_format)."""
    return {
        "refs": event["refs"],
        "description": event.get("description", ""),
        "msgid": event["msgid"],
        "records": [{"type": r["type"], "text": r["text"], "fields": r["fields"]}
                    for r in event["audit"]["records"]],
    }


def test_collector_and_classify_agree():
    work = tempfile.mkdtemp(prefix="ndcpp-parity-", dir=RUN_DIR)
    records = corpus_records() + MULTI
    audit_log = os.path.join(work, "audit.log")
    with open(audit_log, "w") as f:
        f.write("\n".join(records) + "\n")
    inventory = os.path.join(work, "inventory.json")
    with open(inventory, "w") as f:
        json.dump(INVENTORY, f)

    out = subprocess.run([os.path.join(BIN, "trailkeep"), "classify", "--format", "json",
                          "--identity", inventory, audit_log],
                         capture_output=True, text=True, check=True).stdout
    offline = {e["audit"]["serial"]: e for e in map(json.loads, out.splitlines())}
    assert len(offline) >= 50, len(offline)

    c = Collector(os.path.join(work, "collector")).start()
    agent = None
    try:
        bundle = enroll(c, HOST)
        agent = Agent(HOST, bundle, c.port, os.path.join(work, "agent"),
                      inputs=[("audit", audit_log, "audit")])
        agent.start()

        def grouped():
            evs = [e for e in c.peer_events("--host", HOST) if e.get("audit")]
            return evs if len(evs) >= len(offline) else None
        stored = {e["audit"]["serial"]: e for e in
                  c.wait_for(grouped, timeout=90, what="%d grouped events" % len(offline))}
    finally:
        if agent is not None:
            agent.stop()
        c.stop()

    assert sorted(stored) == sorted(offline), (sorted(set(stored) ^ set(offline)))
    differ = [s for s in sorted(offline) if view(stored[s]) != view(offline[s])]
    for s in differ[:5]:
        log("serial %d differs:\n  collector %s\n  classify  %s" %
            (s, json.dumps(view(stored[s])), json.dumps(view(offline[s]))))
    assert not differ, "%d of %d events differ" % (len(differ), len(offline))
    # The interpreted conditions did their work on both sides.
    for serial in (7400, 7401):
        assert stored[serial]["refs"] == ["FPT_STM_EXT.1"], stored[serial]
    syscall = {f["name"]: f["value"] for f in stored[7400]["audit"]["records"][0]["fields"]}
    assert syscall["syscall"] == "clock_settime" and syscall["arch"] == "aarch64", syscall
    classified = sum(1 for e in offline.values() if e["refs"])
    log("%d grouped events, %d classified, identical in the collector and trailkeep classify" %
        (len(offline), classified))


if __name__ == "__main__":
    harness.main([test_collector_and_classify_agree])
