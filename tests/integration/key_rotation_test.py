#!/usr/bin/env python3
"""HMAC key rotation under load (issue 13, "Rotation under load", the HMAC half).

A real collector and a real `trailkeep forward` agent (through a loopback proxy, every
listener on port 0) deliver a stream of lines while the host's key is rotated twice with
`trailkeepd enroll HOST --rotate`, the new hmac.key copied over the agent's and the agent sent
SIGHUP:
  1. under load, connection up;
  2. with the connection stalled, then cut: the records signed under the old key before the
     switch are sent again after the reconnect, with their old MACs.
Then:
  - every line is stored once (no gap, no duplicate), every event `verified`, no integrity
    alarm at all; each event's MAC, recomputed here with Python's hmac, verifies under the key
    in force at its seq: the old key up to s-1, the new one from the KEY_ROTATED event s on,
    which names the new key's id in [tkkey@32473 id=...];
  - `trailkeepd verify --db` passes across both rotations, and so does `trailkeep verify
    --export` given the collector's key folder (with only the newest key it fails);
  - an event forged with a retired key after the switch, signed here and sent over TLS with
    the agent's certificate, is stored `bad_mac` with a `retired_key` alarm, and `trailkeepd
    verify --db` names it.
"""
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, Collector, log, main  # noqa: E402
from agents import (Agent, Proxy, Writer, enroll, integrity_alarms, send_as_agent,  # noqa: E402
                    stored_lines, verify_db, wait_stored)

HOST = "rot01.test"
LINES = 4000


def key_id(key):
    return hmac.new(key, b"trailkeep key id", hashlib.sha256).digest()[:8].hex()


def read_key(path):
    with open(path) as f:
        return bytes.fromhex(f.read().strip())


def rotate(collector, name):
    """`trailkeepd enroll HOST --rotate`: returns the new key's file in the bundle."""
    out = os.path.join(collector.workdir, name)
    r = subprocess.run([os.path.join(BIN, "trailkeepd"), "enroll", HOST, "--rotate", "--dev",
                        os.path.join(collector.workdir, "dev"), "--out", out],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    log("  " + r.stdout.decode().splitlines()[0])
    return os.path.join(out, "hmac.key")


def install_and_hangup(agent, bundle, new_key_file):
    """As an operator would: the new key over the node's hmac.key (0600), then SIGHUP."""
    target = os.path.join(bundle, "hmac.key")
    tmp = target + ".new"
    shutil.copyfile(new_key_file, tmp)
    os.chmod(tmp, 0o600)
    os.rename(tmp, target)
    agent.proc.send_signal(signal.SIGHUP)


def mac_ok(key, raw):
    """docs/formats/hmac_chain.md: the MAC over the message with m's value blanked."""
    at = raw.index(b'm="') + 3
    mac = raw[at:at + 64]
    blanked = raw[:at] + raw[at + 64:]
    return hmac.compare_digest(hmac.new(key, blanked, hashlib.sha256).hexdigest().encode(), mac)


def raw_of(e):
    import base64
    return base64.b64decode(e["raw_b64"]) if "raw_b64" in e else e["raw"].encode()


def agent_events(c):
    return [e for e in c.query("--host", HOST, "--limit", "10000000") if e["transport"] != "self"]


def export_ndjson(c, path):
    dev = os.path.join(c.workdir, "dev")
    with open(os.path.join(dev, "admin.token")) as f:
        token = f.read().strip()
    url = "https://127.0.0.1:%d/v1/events?host=%s&limit=10000" % (c.export_port, HOST)
    r = subprocess.run(["curl", "-sS", "--http1.1", "--fail", "--cacert",
                        os.path.join(dev, "pki", "ca.pem"), "-H", "Authorization: Bearer " + token,
                        "-o", path, url], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode()


def verify_export(path, *key_args):
    r = subprocess.run([os.path.join(BIN, "trailkeep"), "verify", "--export", path] + list(key_args),
                       capture_output=True, timeout=300)
    return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def test_rotation_under_load():
    c = Collector()
    c.start()
    proxy = Proxy()
    proxy.start()
    proxy.target = c.port
    bundle = enroll(c, HOST)
    keys = [read_key(os.path.join(bundle, "hmac.key"))]
    agent = Agent(HOST, bundle, proxy.port, os.path.join(c.workdir, "agent")).start()
    try:
        writer = Writer(agent.inputs[0][1], HOST, LINES, rate=300)
        writer.start()
        c.wait_for(lambda: len(stored_lines(c, HOST)) >= 600, 90, "600 lines stored")

        # 1. Under load, connection up.
        new = rotate(c, "rotate1")
        keys.append(read_key(new))
        install_and_hangup(agent, bundle, new)
        c.wait_for(lambda: len(stored_lines(c, HOST)) >= 1800, 90, "1800 lines stored")

        # 2. Stalled: records under the old key, the switch and the new key's records queue
        # up unacknowledged; the cut makes the agent resend them all after the reconnect.
        proxy.stalled.clear()
        time.sleep(1.5)
        new = rotate(c, "rotate2")
        keys.append(read_key(new))
        install_and_hangup(agent, bundle, new)
        time.sleep(1.5)
        proxy.cut()
        proxy.stalled.set()

        writer.join()
        nums = wait_stored(c, HOST, LINES, timeout=180)
        assert sorted(nums) == list(range(LINES)), "lost or doubled lines: %d stored" % len(nums)
        assert integrity_alarms(c, HOST) == [], integrity_alarms(c, HOST)

        events = agent_events(c)
        assert {e["integrity"] for e in events} == {"verified"}, \
            sorted({e["integrity"] for e in events})
        rotated = sorted((e for e in events if e["msgid"] == "KEY_ROTATED"),
                         key=lambda e: int(e["chain"]["s"]))
        assert len(rotated) == 2, [e["msg"] for e in rotated]
        switches = []
        for e, k in zip(rotated, keys[1:]):
            raw = raw_of(e)
            assert ('[tkkey@32473 id="%s"]' % key_id(k)).encode() in raw, raw
            switches.append(int(e["chain"]["s"]))
        log("  switches at seqs %s (keys %s)" % (switches, [key_id(k) for k in keys]))
        for e in events:
            s = int(e["chain"]["s"])
            in_force = keys[sum(1 for at in switches if s >= at)]
            assert mac_ok(in_force, raw_of(e)), "seq %d does not verify under its key" % s
            for other in keys:
                if other != in_force:
                    assert not mac_ok(other, raw_of(e)), s
        for e in events:  # only the switches and the epoch's first event name their key
            named = b"[tkkey@" in raw_of(e)
            assert named == (int(e["chain"]["s"]) in switches + [1]), e["chain"]["s"]

        rc, out = verify_db(c, HOST)
        assert rc == 0 and "OK" in out, out
        log("  trailkeepd verify --db: " + out.strip().splitlines()[-1])

        export = os.path.join(c.workdir, "export.ndjson")
        export_ndjson(c, export)
        rc, out = verify_export(export, "--keys-dir", os.path.join(c.workdir, "dev", "keys"))
        assert rc == 0, out
        log("  trailkeep verify --export --keys-dir: " +
            [l for l in out.splitlines() if l.startswith("OK")][0])
        rc, out = verify_export(export, "--key", new)
        assert rc == 1 and "bad_mac" in out, out

        # 3. A stolen retired key cannot pass off a new event.
        agent.stop()
        last = max(events, key=lambda e: int(e["chain"]["s"]))
        seq = int(last["chain"]["s"]) + 1
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        unsigned = '<134>1 %s %s app - - [tk@32473 e="%s" s="%d" p="%s" m=""] forged after the ' \
                   'switch' % (ts, HOST, last["chain"]["e"], seq, last["chain"]["m"])
        mac = hmac.new(keys[1], unsigned.encode(), hashlib.sha256).hexdigest()
        send_as_agent(c.port, bundle, [unsigned.replace('m=""', 'm="%s"' % mac).encode()])
        forged = c.wait_for(lambda: [e for e in agent_events(c) if "forged" in (e["msg"] or "")],
                            30, "the forged event stored")
        assert forged[0]["integrity"] == "bad_mac", forged[0]["integrity"]
        alarms = [e for e in c.self_events("INTEGRITY_ALARM") if HOST in json.dumps(e)]
        assert len(alarms) == 1 and "retired_key" in json.dumps(alarms[0]), alarms
        assert [(k, str(e), f, l) for k, e, f, l in integrity_alarms(c, HOST)] == \
            [("bad_mac", str(last["chain"]["e"]), seq, seq)], integrity_alarms(c, HOST)
        rc, out = verify_db(c, HOST)
        assert rc == 1 and "retired_key" in out and ("seq %d" % seq) in out, out
        log("  forged with the retired key: stored bad_mac, " + out.strip().splitlines()[0])
    finally:
        agent.stop()
        proxy.close()
        c.stop()


if __name__ == "__main__":
    main([test_rotation_under_load])
