#!/usr/bin/env python3
"""Errors an operator can act on, each tried as a new user would, with the real binaries.

  1. `--check-config` finds what start-up would refuse: a data_dir that cannot be created, and a
     TLS key that does not match its certificate; each line names the setting and the file.
  2. A second collector on the same data folder says the store is in use by another trailkeepd,
     not RocksDB's raw "LOCK: Resource temporarily unavailable"; the first keeps running.
  3. A rules file that cannot be read is named with the reason, without a line ":0:".
  4. Usage errors of `trailkeepd` and `trailkeep` exit 2 (CLI11's own codes are 105-109);
     --help exits 0.
  5. `trailkeep --server` with a --cacert that cannot serve as trust anchors (the collector's own
     certificate, garbage, a missing file) fails naming the file before it connects: the collector
     records no TLS_HANDSHAKE_FAILED.
"""
import os
import subprocess
import tempfile
import time

import harness
from harness import Collector, log, main
from pki import TestPki, collector_config, shared_pki as pki


def run(binary, *args, timeout=60):
    r = subprocess.run([os.path.join(harness.BIN, binary)] + list(args), capture_output=True,
                       timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def write_config(text):
    d = tempfile.mkdtemp(prefix="tk-operr-")
    path = os.path.join(d, "trailkeepd.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_check_config_finds_what_start_up_refuses():
    p = pki()
    # /proc refuses every mkdir, whoever asks (root included).
    bad_dir = write_config(collector_config(p, data_dir="/proc/trailkeep-none/data"))
    rc, out, err = run("trailkeepd", "--check-config", "--config", bad_dir)
    assert rc == 2, (rc, out, err)
    assert "cannot create data_dir /proc/trailkeep-none/data" in err, err
    assert os.path.exists(bad_dir) and not os.path.exists("/proc/trailkeep-none")

    other = TestPki()
    other.self_signed("server", "localhost", dns=("localhost",))
    text = collector_config(p, data_dir=tempfile.mkdtemp(prefix="tk-operr-data-"))
    text = text.replace('key_file = "%s"' % p.key("server"), 'key_file = "%s"' % other.key("server"))
    mismatched = write_config(text)
    rc, out, err = run("trailkeepd", "--check-config", "--config", mismatched)
    assert rc == 2, (rc, out, err)
    assert "tls: cannot load the server key %s" % other.key("server") in err, err
    assert "mismatch" in err, err

    not_yet = os.path.join(tempfile.mkdtemp(prefix="tk-operr-data-"), "not", "yet")
    good = write_config(collector_config(p, data_dir=not_yet))
    rc, out, err = run("trailkeepd", "--check-config", "--config", good)
    assert rc == 0 and "OK" in out, (rc, out, err)
    assert not os.path.exists(os.path.dirname(not_yet)), "--check-config created data_dir"
    log("  --check-config: uncreatable data_dir and mismatched key refused, each named")


def test_second_collector_on_the_same_store():
    first = Collector(config_text=collector_config(pki()))
    first.start()
    try:
        cfg = os.path.join(first.workdir, "trailkeepd.toml")
        rc, out, err = run("trailkeepd", "--config", cfg, "--listen-syslog", "127.0.0.1:0",
                           "--listen-export", "127.0.0.1:0", "--listen-audit", "127.0.0.1:0",
                           timeout=30)
        assert rc != 0, (rc, out, err)
        assert "is in use: another trailkeepd holds its LOCK file" in err, err
        assert "Resource temporarily unavailable" not in err, err
        assert first.proc.poll() is None, "the first collector stopped"
    finally:
        first.stop()
    log("  second collector: %s" % [l for l in err.splitlines() if "in use" in l][0][-100:])


def test_unreadable_rules_file():
    missing = os.path.join(tempfile.mkdtemp(prefix="tk-operr-"), "rules.toml")
    text = collector_config(pki(), data_dir=tempfile.mkdtemp(prefix="tk-operr-data-"))
    text += '\n[ndcpp]\nrules_file = "%s"\n' % missing
    rc, out, err = run("trailkeepd", "--check-config", "--config", write_config(text))
    assert rc == 2, (rc, out, err)
    assert "cannot read the rules file %s: No such file or directory" % missing in err, err
    assert ":0:" not in err, err
    log("  rules file: %s" % err.strip().splitlines()[0][-110:])


def test_usage_errors_exit_2():
    for binary, args in (("trailkeepd", ["--no-such-flag"]), ("trailkeepd", ["query", "--limit"]),
                         ("trailkeepd", ["report"]), ("trailkeep", ["--no-such-flag"]),
                         ("trailkeep", ["forward"]), ("trailkeep", ["tail", "--bogus"])):
        rc, out, err = run(binary, *args)
        assert rc == 2, (binary, args, rc, err)
        assert err.strip(), (binary, args)
    for binary in ("trailkeepd", "trailkeep"):
        rc, out, err = run(binary, "--help")
        assert rc == 0 and "Usage" in out, (binary, rc, out, err)
    log("  usage errors exit 2, --help exits 0")


def test_cli_loads_cacert_before_connecting():
    c = Collector()
    c.start()
    try:
        garbage = os.path.join(c.workdir, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("not a certificate\n")
        token = os.path.join(c.workdir, "dev", "admin.token")
        leaf = os.path.join(c.pki, "server.pem")  # a certificate, but not a CA
        for cacert, reason in ((leaf, "is not a CA"), (garbage, "cannot load the CA file"),
                               (os.path.join(c.workdir, "none.pem"), "No such file")):
            rc, out, err = run("trailkeep", "hosts", "--server", "https://127.0.0.1:%d" % c.export_port,
                               "--cacert", cacert, "--token-file", token)
            assert rc != 0, (cacert, rc, out, err)
            assert cacert in err and reason in err, (cacert, err)
            log("  --cacert %s: %s" % (os.path.basename(cacert), err.strip()[-120:]))
        # The good file works, so the refusals above were the file's doing.
        rc, out, err = run("trailkeep", "hosts", "--server", "https://127.0.0.1:%d" % c.export_port,
                           "--cacert", os.path.join(c.pki, "ca.pem"), "--token-file", token)
        assert rc == 0, (rc, out, err)
        time.sleep(1)
        failed = c.self_events("TLS_HANDSHAKE_FAILED")
        assert failed == [], "the CLI connected with a bad --cacert: %s" % [e["msg"] for e in failed]
    finally:
        c.stop()


if __name__ == "__main__":
    main([test_check_config_finds_what_start_up_refuses, test_second_collector_on_the_same_store,
          test_unreadable_rules_file, test_usage_errors_exit_2, test_cli_loads_cacert_before_connecting])
