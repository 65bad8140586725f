"""auditd's name_format in the collector (issue 5): records that arrive without
node= get the node name their source's name_format gives.

A real `audisp-remote` (package audispd-plugins, in a private mount
namespace as in audit_remote_test.py) sends records without node= to the
port-60 listener of a real trailkeepd, under two configurations:

  - [audit] name_format = "none", overridden by the [[listen.audit]] table
    with name_format = "user", name = "site-a": every grouped event's node
    is "site-a" (the listener's setting wins over [audit]'s);
  - [audit] name_format = "numeric": the node is the peer's address.

Records themselves stay byte-exact (no node= is written into them). Then
--check-config reports wrong settings with the file and line.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RUN_DIR, Collector, log  # noqa: E402
from pki import collector_config, shared_pki as pki  # noqa: E402
from audit_remote_test import AUDISP_REMOTE, record, run_audisp_remote, port60_events  # noqa: E402

COUNT = 5


def grouped_nodes(config_tail):
    """Runs audisp-remote against a collector configured with `config_tail`;
    returns (nodes of the grouped events, the stored records' texts)."""
    work = tempfile.mkdtemp(prefix="name-format-", dir=RUN_DIR)
    records = [record(i) for i in range(COUNT)]
    c = Collector(work, config_text=collector_config(pki()) + config_tail).start()
    try:
        rc, err = run_audisp_remote(c.audit_port, records, work)
        assert rc == 0, "audisp-remote exited with %s: %s" % (rc, err)
        grouped = c.wait_for(
            lambda: (lambda g: g if len(g) >= COUNT else None)(
                [e for e in port60_events(c) if e.get("audit")]),
            timeout=60, what="%d grouped events" % COUNT)
        members = [e["msg"] for e in port60_events(c) if e.get("audit_member")]
        assert members == [r.decode().rstrip("\n") for r in records], members
        texts = [r["text"] for e in grouped for r in e["audit"]["records"]]
        return [e["audit"]["node"] for e in grouped], texts
    finally:
        c.stop()


def test_two_modes_through_the_port60_listener():
    if os.geteuid() != 0 or not os.path.exists(AUDISP_REMOTE) or shutil.which("unshare") is None:
        harness.cannot_run("test_two_modes_through_the_port60_listener needs root, unshare, audispd-plugins")
        return
    # The harness passes --listen-audit 127.0.0.1:0: the table with that same
    # address keeps its name_format.
    nodes, texts = grouped_nodes('\n[audit]\nname_format = "none"\n\n'
                                 '[[listen.audit]]\naddress = "127.0.0.1:0"\n'
                                 'name_format = "user"\nname = "site-a"\n')
    assert nodes == ["site-a"] * COUNT, nodes
    assert not any("node=" in t for t in texts), texts
    log("listener name_format user: node site-a on %d events" % len(nodes))

    nodes, _ = grouped_nodes('\n[audit]\nname_format = "numeric"\n')
    assert nodes == ["127.0.0.1"] * COUNT, nodes
    log("[audit] name_format numeric: node 127.0.0.1 on %d events" % len(nodes))


def test_wrong_settings_reported_with_line():
    text = collector_config(pki(), data_dir=tempfile.mkdtemp(prefix="tk-cfg-data-", dir=RUN_DIR))
    base = text.count("\n")
    text += ('[audit]\n'                        # base + 1
             'name_format = "short"\n'          # base + 2
             '\n'
             '[[listen.audit]]\n'
             'address = "127.0.0.1:0"\n'
             'name_format = "user"\n'           # base + 6: needs name
             '\n'
             '[[listen.audit]]\n'
             'address = "127.0.0.1:0"\n'
             'name = "site-b"\n'                # base + 10: only with user
             '\n'
             '[[tunnel]]\n'
             'host = "node1.example.net"\n'
             'name_format = "FQDN"\n')          # base + 14: not a mode
    path = os.path.join(tempfile.mkdtemp(prefix="tk-cfg-", dir=RUN_DIR), "trailkeepd.toml")
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run([os.path.join(harness.BIN, "trailkeepd"), "--check-config", "--config", path],
                       capture_output=True, timeout=60)
    err = r.stderr.decode(errors="replace")
    assert r.returncode != 0, err
    found = {int(m.group(1)): m.group(2) for m in re.finditer(re.escape(path) + r":(\d+): (.*)", err)}
    assert "none, hostname, fqd, numeric, user" in found.get(base + 2, ""), (base, found)
    assert "needs listen.audit.name" in found.get(base + 6, ""), (base, found)
    assert "only with name_format" in found.get(base + 10, ""), (base, found)
    assert "tunnel.name_format must be one of" in found.get(base + 14, ""), (base, found)
    log("--check-config: name_format errors at lines %s" % sorted(found))


if __name__ == "__main__":
    harness.main([test_two_modes_through_the_port60_listener, test_wrong_settings_reported_with_line])
