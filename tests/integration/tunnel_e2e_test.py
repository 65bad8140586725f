"""End to end through a reverse SSH tunnel (issue 4): real senders on the
"node" side deliver through trailkeepd's libssh2 tunnel while the node's sshd
is killed (its whole process group) and started again.

The node is a private OpenSSH sshd (tunnel_test.Sshd: own config, host key
and authorized_keys on a high loopback port, in a private mount namespace).
trailkeepd tunnels into it and asks it to listen on 127.0.0.1:<rport>, the
node's "port 60"; channels are served by the collector's own port-60
listener, which takes the sender's identity from the tunnel.

1. A real `audisp-remote` (package audispd-plugins, run by hand with its
   config bind-mounted over /etc/audit/audisp-remote.conf in a private mount
   namespace) points at 127.0.0.1:<rport> and is fed N records on stdin, the
   last third after the node is back (audisp-remote 3.0.9 reconnects after a
   lost connection only when a new record arrives, as auditd keeps sending
   them). Its retry carries the gap while sshd is down: it retries a record up to
   max_tries_per_record times, network_retry_time (1 s) apart, within
   max_time_per_record seconds (also its ack timeout); both are set to 120 so
   that a restart of sshd plus the tunnel's backoff (at most 2 s here) is far
   inside them, and network_failure_action = warn_once keeps the record queued
   rather than dropping it (syslog) or exiting (stop) if they were ever
   exhausted. Every record must be stored exactly once, byte-exact, in order,
   under the tunnel's node: a record whose ack was lost in the kill is resent
   and dropped by the collector's RecordDeduper.
2. The trailkeep agent in transport = "port60" mode, address = the tunnel's
   remote port on the node, writes N lines; the same kill and restart: all N
   stored exactly once, the chain verifies (`trailkeepd verify`), no
   integrity alarm. The tunnel is named after the agent's host: an agent whose
   certificate names another host is refused through it (AGENT_REFUSED) and
   nothing of it is stored.

Both check the tunnel's state as `trailkeepd hosts --db --format json` shows
it (HostState.tunnel, derived by the store from the committed tunnel events):
up, then retrying with the loss as last error once sshd is killed, then up
again (2 sessions); for audisp-remote every record counted once in
events_received, GET /v1/hosts showing the same object, and `stopped` after
the collector's shutdown.

Counts scale with TRAILKEEP_TEST_SCALE. Needs root (sshd, unshare -m) and
/usr/sbin/sshd, and /usr/sbin/audisp-remote for part 1; prints SKIP otherwise (under CI=true it fails).
"""
import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

import harness
from harness import BIN, free_port, log
from pki import shared_pki as pki
from agents import Agent, Writer, integrity_alarms, verify_db, wait_stored
from audit_remote_test import AUDISP_REMOTE, AudispRemote, record, stored_records
from tunnel_test import METRICS_TOKEN, SSHD, Sshd, collector, tunnel_events, tunnel_table


def e2e_collector(name, sshd, rport):
    """A collector with one tunnel delivering to its own port-60 listener, an
    admin API token (tunnel_test.collector), and an [agents] section so
    `trailkeepd enroll --config` can sign agents with the test CA (the CA its
    TLS listener trusts)."""
    c = collector(tunnel_table(name, sshd, rport, "").replace('forward_to = ""\n', ""))
    # keys_dir beside the data folder, where `trailkeepd verify --db` looks.
    c.config_text += ('\n[agents]\nkeys_dir = "%s"\nenroll_ca_cert = "%s"\nenroll_ca_key = "%s"\n'
                      % (os.path.join(c.workdir, "keys"), pki().cert("ca"), pki().key("ca")))
    return c


def api_hosts(c):
    """GET /v1/hosts with the admin token: {host: object}."""
    r = subprocess.run(["curl", "-sS", "--fail", "--cacert", pki().cert("ca"), "-H",
                        "Authorization: Bearer " + METRICS_TOKEN,
                        "https://127.0.0.1:%d/v1/hosts" % c.export_port], capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return {h["host"]: h for h in json.loads(r.stdout)}


def host_state(c, name):
    """The object of `name` in `trailkeepd hosts --db --format json`."""
    out = harness.run([os.path.join(BIN, "trailkeepd"), "hosts", "--db", c.db, "--format", "json"],
                      timeout=60).stdout.decode()
    hosts = [json.loads(line) for line in out.splitlines() if line.strip()]
    return next((h for h in hosts if h["host"] == name), None)


def tunnel_state(c, name):
    return (host_state(c, name) or {}).get("tunnel")


def wait_tunnel_state(c, name, state, what):
    return c.wait_for(lambda: (lambda t: t if t and t["state"] == state else None)(tunnel_state(c, name)),
                      timeout=60, what=what)


@contextlib.contextmanager
def node_with_tunnel(name):
    """A node (sshd) and a started collector whose tunnel to it is up:
    (sshd, the tunnel's remote port on the node, collector, cleanup). What a
    test starts besides goes on `cleanup` (an ExitStack); everything is
    stopped on the way out, the collector before the node."""
    with contextlib.ExitStack() as cleanup:
        sshd = Sshd().start()
        cleanup.callback(sshd.kill)
        rport = free_port()
        c = e2e_collector(name, sshd, rport)
        cleanup.callback(c.stop)
        c.start()
        c.wait_for(lambda: tunnel_events(c, "TUNNEL_INITIATED", name), what="tunnel up")
        yield sshd, rport, c, cleanup


def start_port60_agent(config, workdir, host, rport):
    """Enrols `host` with `trailkeepd enroll --config CONFIG` and starts its
    agent (in workdir) in port60 mode, sending to the tunnel's remote port on
    the node."""
    bundle = os.path.join(workdir, "enroll-" + host)
    harness.run([os.path.join(BIN, "trailkeepd"), "enroll", host, "--config", config, "--out", bundle], timeout=60)
    return Agent(host, bundle, rport, os.path.join(workdir, "agent-" + host),
                 collector_extra='transport = "port60"\n').start()


def kill_and_restart_node(c, name, sshd):
    """Kills sshd's whole process group (sessions included), waits until the
    collector recorded the tunnel lost and `trailkeepd hosts` shows it
    retrying with that error, starts sshd again and waits until the tunnel is
    up again (a second TUNNEL_INITIATED, `hosts` shows it up, 2 sessions)."""
    up = tunnel_state(c, name)
    assert up and up["state"] == "up" and up["sessions"] == 1 and up["since"], up
    sshd.kill()
    down = c.wait_for(lambda: tunnel_events(c, "TUNNEL_TERMINATED", name), what="TUNNEL_TERMINATED")
    state = wait_tunnel_state(c, name, "retrying", "hosts: the tunnel retrying")
    # Down since the loss; the last error is the loss or a later refused reconnect.
    assert state["since"] == down[-1]["receive_time"], (state, down[-1])
    assert ("lost" in state["last_error"] or "cannot connect" in state["last_error"]) and \
        state["last_error_time"] >= state["since"] and state["next_attempt"], state
    assert state["failures"] >= 1 and state["consecutive_failures"] >= 1, state
    time.sleep(2)  # the node stays down a while: senders meet refused connections and retry
    sshd.start()
    c.wait_for(lambda: len(tunnel_events(c, "TUNNEL_INITIATED", name)) >= 2, timeout=60,
               what="the tunnel up again")
    again = wait_tunnel_state(c, name, "up", "hosts: the tunnel up again")
    assert again["sessions"] == 2 and again["since"] > up["since"], again
    assert again["consecutive_failures"] == 0 and again["last_error"] and not again["next_attempt"], again
    return down[-1]["msg"]


def test_audisp_remote_through_tunnel_across_sshd_restart():
    if not os.path.exists(AUDISP_REMOTE) or shutil.which("unshare") is None:
        harness.cannot_run("test_audisp_remote_through_tunnel_across_sshd_restart needs audispd-plugins")
        return
    name = "node-e2e-audit"
    with node_with_tunnel(name) as (sshd, rport, c, cleanup):
        count = harness.scaled(900)
        records = [record(i) for i in range(count)]
        sender = AudispRemote(rport, c.workdir)
        cleanup.callback(sender.kill)
        back = threading.Event()

        def feed():
            try:
                feed_all()
            except BrokenPipeError:
                pass  # it exited: check_alive says how

        def feed_all():
            # Two thirds before and while the node is down, the rest once it
            # is back: auditd keeps producing records, and audisp-remote
            # reconnects after a failure only when a new record arrives.
            sender.feed(records[:2 * count // 3], 300)
            back.wait(120)
            sender.feed(records[2 * count // 3:], 300)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        c.wait_for(lambda: len(stored_records(c, name)) >= count // 3, timeout=60,
                   what="a third of the records stored")
        lost = kill_and_restart_node(c, name, sshd)
        back.set()
        feeder.join(120)
        got = c.wait_for(lambda: sender.check_alive() and
                         (lambda s: s if len(s) >= count else None)(stored_records(c, name)),
                         timeout=120, what="every record stored")
        rc = sender.close()
        with open(sender.stderr_path, errors="replace") as f:
            err = f.read()
        assert rc == 0, "audisp-remote exited with %s: %s" % (rc, err)
        msgs = [e["msg"] for e in got]
        want = [r.decode().rstrip("\n") for r in records]
        assert len(msgs) == len(set(msgs)), "stored twice: %d stored, %d distinct" % (len(msgs), len(set(msgs)))
        assert msgs == want, "missing or reordered: %d stored of %d" % (len(msgs), len(want))
        assert all(e["host"] == name for e in got), set(e["host"] for e in got)
        assert all(e["peer"]["address"].startswith("127.0.0.1:") for e in got), got[0]["peer"]
        # Nothing under a loopback address: the identity came from the tunnel.
        assert not stored_records(c, "127.0.0.1"), "records stored under the loopback address"
        # Every record counted once as received through the tunnel (resent ones were dropped).
        state = tunnel_state(c, name)
        assert state["events_received"] == count, state
        log("hosts --format json: %s" % json.dumps(state))
        assert api_hosts(c)[name]["tunnel"] == state, "GET /v1/hosts differs from trailkeepd hosts"
        table = harness.run([os.path.join(BIN, "trailkeepd"), "hosts", "--db", c.db],
                            timeout=60).stdout.decode()
        row = [line for line in table.splitlines() if line.startswith(name + " ")]
        assert row and row[0].endswith("up since %s, %d records received" % (state["since"], count)), table
        log(table)
        # The admin's network CLI shows the same line.
        token_file = os.path.join(c.workdir, "ops.token")
        with open(token_file, "w") as f:
            f.write(METRICS_TOKEN + "\n")
        remote = harness.run([os.path.join(BIN, "trailkeep"), "hosts", "--server",
                              "https://127.0.0.1:%d" % c.export_port, "--cacert", pki().cert("ca"),
                              "--token-file", token_file], timeout=60).stdout.decode()
        assert ("tunnel=up since %s, %d records received" % (state["since"], count)) in remote, remote
        assert c.alive()
        c.stop()
        stopped = tunnel_state(c, name)
        assert stopped["state"] == "stopped" and stopped["events_received"] == count, stopped
        log("audisp-remote through the tunnel: %d records stored once, in order, byte-exact, under %s, "
            "across an sshd kill (%s)" % (count, name, lost))


def test_agent_port60_through_tunnel_across_sshd_restart():
    # Through a tunnel only its node may speak: the tunnel is named after the
    # host the agent's certificate names.
    name = host = "agent-e2e.test"
    with node_with_tunnel(name) as (sshd, rport, c, cleanup):
        agent = start_port60_agent(os.path.join(c.workdir, "trailkeepd.toml"), c.workdir, host, rport)
        cleanup.callback(agent.stop)
        count = harness.scaled(3000)
        writer = Writer(agent.inputs[0][1], host, count, rate=500)
        writer.start()
        wait_stored(c, host, count // 4, timeout=60)
        lost = kill_and_restart_node(c, name, sshd)
        writer.join(120)
        nums = wait_stored(c, host, count, timeout=120)
        assert len(nums) == len(set(nums)), "stored twice: %d stored, %d distinct" % (len(nums), len(set(nums)))
        assert sorted(nums) == list(range(count)), "missing: %d of %d" % (len(set(nums)), count)
        rc, out = verify_db(c, host)
        assert rc == 0, out
        assert integrity_alarms(c, host) == [], integrity_alarms(c, host)
        assert "ALPN trailkeep/1" in agent.read_log(), agent.read_log()[-2000:]
        # Every stored event of the host came through the tunnel.
        state = host_state(c, host)
        assert state["tunnel"]["events_received"] == state["events"] >= count, state
        peers = {(e["peer"]["bound_host"], e["peer"]["tunnel"])
                 for e in c.query("--host", host, "--limit", "1000000")}
        assert peers == {(host, host)}, "events do not show the tunnel they came through: %r" % peers
        log("agent over port 60 through the tunnel: %d lines stored once across an sshd kill (%s); %s"
            % (count, lost, out.strip().splitlines()[-1]))
        assert c.alive()


def test_agent_with_another_hosts_certificate_is_refused_through_tunnel():
    """An agent whose certificate names another host than the tunnel's node
    is refused (AGENT_REFUSED with the reason and the tunnel) and nothing of
    it is stored: the node may not speak for other hosts."""
    name = "node-e2e-check"
    other = "agent-other.test"
    with node_with_tunnel(name) as (sshd, rport, c, cleanup):
        agent = start_port60_agent(os.path.join(c.workdir, "trailkeepd.toml"), c.workdir, other, rport)
        cleanup.callback(agent.stop)
        Writer(agent.inputs[0][1], other, 20).run()
        refused = c.wait_for(lambda: [e for e in c.self_events("AGENT_REFUSED")
                                      if "came through the tunnel to " + name in e["msg"]],
                             what="AGENT_REFUSED for the tunnel")
        params = {p["name"]: p["value"] for el in refused[0]["structured_data"] for p in el["params"]}
        assert params.get("tunnel") == name, params
        assert [e for e in c.query("--host", other) if e["transport"] != "self"] == [], "stored"
        assert tunnel_state(c, name)["events_received"] == 0
        log("refused through the tunnel: %s" % refused[0]["msg"])
        assert c.alive()


def test_plain_syslog_through_tunnel_is_refused():
    """Through a tunnel only the node's agent may speak: a client that sends
    the agent's hello and then TLS without ALPN trailkeep/1 (plain RFC 5425,
    free to name any HOSTNAME) is refused and recorded, nothing stored."""
    name = "node-e2e-plain"
    with node_with_tunnel(name) as (sshd, rport, c, cleanup):
        raw = socket.create_connection(("127.0.0.1", rport), timeout=10)
        cleanup.callback(raw.close)
        raw.sendall(b"\0trailkeep/1 port60\n")
        answer = b""
        while len(answer) < 16:
            chunk = raw.recv(16 - len(answer))
            assert chunk, "hello not answered: %r" % answer
            answer += chunk
        assert answer == b"\0trailkeep/1 ok\n", answer
        ctx = ssl.create_default_context(cafile=pki().cert("ca"))
        ctx.check_hostname = False
        tls = ctx.wrap_socket(raw, server_hostname="localhost")
        line = b"<13>1 - forged-host app - - - pretending to be another host"
        try:
            tls.sendall(b"%d %s" % (len(line), line))
            tls.recv(1)
        except (ssl.SSLError, OSError):
            pass
        refused = c.wait_for(lambda: [e for e in c.self_events("AGENT_REFUSED")
                                      if "did not negotiate trailkeep/1" in e["msg"]],
                             what="AGENT_REFUSED for plain syslog through the tunnel")
        assert [e for e in c.query("--host", "forged-host") if e["transport"] != "self"] == []
        log("plain syslog through the tunnel refused: %s" % refused[0]["msg"])
        assert c.alive()


if __name__ == "__main__":
    if os.geteuid() != 0 or not os.path.exists(SSHD) or shutil.which("unshare") is None:
        harness.cannot_run("tunnel_e2e_test needs root, unshare and %s (openssh-server)" % SSHD)
        sys.exit(0)
    harness.main([test_audisp_remote_through_tunnel_across_sshd_restart,
                  test_agent_port60_through_tunnel_across_sshd_restart,
                  test_agent_with_another_hosts_certificate_is_refused_through_tunnel,
                  test_plain_syslog_through_tunnel_is_refused])
