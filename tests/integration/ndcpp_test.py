"""NDcPP classification in the collector: refs on stored events, `query --ref`
through the by_ndcpp index, the collector's own events classified, and the
rules file hot-reloaded on SIGHUP (an invalid file keeps the old rules)."""
import os
import subprocess
import signal
import time

import harness
from harness import Collector, frame, log
from pki import collector_config, shared_pki as pki

SEED_LINES = [
    # (line, refs it must carry) — from the seed documents (tests/testdata/ndcpp_seed_examples.tsv)
    (b"<38>Mar 14 18:21:27 t117-dut1 sshd[11536]: Failed password for test from 172.18.15.253 port 61203 ssh2",
     {"FIA_UIA_EXT.1"}),
    (b"<38>Mar 14 18:21:25 t117-dut1 sshd[11536]: pam_faillock(sshd:auth): Consecutive login failures for user "
     b"test account temporarily locked", {"FIA_AFL.1"}),
    (b"<30>Jul 23 14:49:34 ip-172-31-33-210 auditd[2207]: The audit daemon is exiting.", {"FAU_GEN.1"}),
]
NOISE = b"<14>Mar 14 18:21:27 app-1 myapp[7]: user typed Failed password into a search box"


def test_refs_stored_and_indexed():
    with Collector() as c:
        c.send_frames([l for l, _ in SEED_LINES] + [NOISE])
        events = c.wait_for_count(len(SEED_LINES) + 1)
        by_msg = {harness.b64(e): e for e in events}
        for line, refs in SEED_LINES:
            got = set(by_msg[line]["refs"])
            assert refs <= got, (line, got)
            assert by_msg[line]["description"], line
        assert by_msg[NOISE]["refs"] == [], by_msg[NOISE]["refs"]
        # by_ndcpp index: exactly the classified events, nothing else
        hits = [harness.b64(e) for e in c.query("--ref", "FIA_AFL.1")]
        assert hits == [SEED_LINES[1][0]], hits
        fia = {harness.b64(e) for e in c.query("--ref", "FIA_UIA_EXT.1")}
        assert SEED_LINES[0][0] in fia and NOISE not in fia
        # the collector's own start-up event is audit evidence (FAU_GEN.1)
        starts = c.self_events("COLLECTOR_START")
        assert starts and "FAU_GEN.1" in starts[0]["refs"], starts


RULE = """
[[rule]]
name = "test-marker"
app = ["markerapp"]
msg = '%s'
refs = ["FMT_SMF.1"]
description = "test marker %s"
"""


def test_rules_reload_on_sighup():
    workdir = os.path.join(harness.RUN_DIR, "reload")
    os.makedirs(workdir)
    rules = os.path.join(workdir, "rules.toml")
    with open(rules, "w") as f:
        f.write(RULE % ("first", "one"))
    text = collector_config(pki()) + '\n[ndcpp]\nrules_file = "%s"\n' % rules
    c = Collector(workdir=workdir, config_text=text)
    c.start()
    try:
        client = pki().base("client")
        ca = pki().cert("ca")

        def send(msg):
            s = c.connect(cert=client, ca=ca)
            s.sendall(frame(b"<14>1 - host-r markerapp - - - " + msg))
            harness.close_tls(s)

        send(b"first second")
        c.wait_for(lambda: c.query("--ref", "FMT_SMF.1"), what="first classified event")
        with open(rules, "w") as f:
            f.write(RULE % ("second", "two"))
        os.kill(c.proc.pid, signal.SIGHUP)
        c.wait_for(lambda: c.self_events("RULES_RELOADED"), what="RULES_RELOADED")
        send(b"only second")
        c.wait_for(lambda: len(c.query("--ref", "FMT_SMF.1")) == 2, what="second rule applied")
        descs = [e["description"] for e in c.query("--ref", "FMT_SMF.1")]
        assert descs == ["test marker one", "test marker two"], descs

        # An invalid file is refused with its line; the rules in force stay.
        with open(rules, "w") as f:
            f.write(RULE % ("second", "two") + '\n[[rule]]\nname = "bad"\nmsg = "("\nrefs = ["NOPE_X.1"]\n'
                    'description = "x"\n')
        os.kill(c.proc.pid, signal.SIGHUP)
        failed = c.wait_for(lambda: c.self_events("RULES_RELOAD_FAILED"), what="RULES_RELOAD_FAILED")
        assert "rules.toml:" in failed[0]["msg"], failed[0]["msg"]
        send(b"still second")
        c.wait_for(lambda: len(c.query("--ref", "FMT_SMF.1")) == 3, what="old rules still in force")
        assert c.alive()
    finally:
        c.stop()


def test_check_config_reports_rule_errors():
    workdir = os.path.join(harness.RUN_DIR, "check")
    os.makedirs(workdir)
    rules = os.path.join(workdir, "bad-rules.toml")
    with open(rules, "w") as f:
        f.write('[[rule]]\nname = "x"\nmsg = "("\nrefs = ["FIA_UIA_EXT.1"]\ndescription = "d"\n')
    cfg = os.path.join(workdir, "c.toml")
    with open(cfg, "w") as f:
        f.write(collector_config(pki(), data_dir=os.path.join(workdir, "data")) +
                '\n[ndcpp]\nrules_file = "%s"\n' % rules)
    out = subprocess.run([os.path.join(harness.BIN, "trailkeepd"), "--check-config", "--config", cfg],
                                 capture_output=True, text=True)
    assert out.returncode != 0
    assert "bad-rules.toml:3:" in out.stderr, out.stderr


if __name__ == "__main__":
    harness.main([test_refs_stored_and_indexed, test_rules_reload_on_sighup, test_check_config_reports_rule_errors])
