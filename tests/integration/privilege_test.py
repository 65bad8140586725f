#!/usr/bin/env python3
"""Least privilege: trailkeepd runs as its service user with no capability, and
every key it reads after start-up belongs to that user.

Needs root (CI runs as root; there a non-root run fails, elsewhere it prints
SKIP). A throwaway system user is made with `useradd --system` and removed at
the end.

  1. Started as root with [server] user/group, trailkeepd binds a port below
     1024 (the port-60 listener) and then runs as that user: every thread of
     /proc/PID/task/*/status shows its uid and gid, only its group, and
     CapInh/CapPrm/CapEff/CapAmb 0; the store's files belong to it; events
     are stored after the switch.
  2. Started as the service user with CAP_NET_BIND_SERVICE as systemd's
     AmbientCapabilities would give it (setpriv), it binds the low port and
     then has no capability left in any thread.
  3. A group-readable key is refused at start-up with its name and mode (an
     HMAC key in keys_dir, the TLS key), so is a root-owned key, and a data
     folder the user cannot write.
  4. `trailkeepd enroll` run as root gives the key to the service user, and a
     real agent's events are stored verified. A key that is root's 0600 while
     the collector runs as the service user is reported as "cannot read
     PATH: Permission denied" in the INTEGRITY_ALARM and the log, never as
     "no HMAC key"; after chown and SIGHUP the host's events verify, and a
     key loosened to 0644 is a KEY_FILE_REFUSED event on the next SIGHUP.
"""
import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, Collector, close_tls, frame, log, main  # noqa: E402
from agents import Agent, Writer, send_as_agent, signed_messages, wait_stored  # noqa: E402
from pki import collector_config, shared_pki  # noqa: E402

TRAILKEEPD = os.path.join(BIN, "trailkeepd")
SVC = "tkpriv%d" % (os.getpid() % 100000)
PEN = 32473


def needs_root():
    """False (SKIP) when not root; under CI=true a non-root run fails."""
    if os.geteuid() == 0:
        return True
    harness.cannot_run("needs root to switch users and grant capabilities")
    return False


_USER = None


def service_user():
    """(uid, gid) of the throwaway system user, made on first use."""
    global _USER
    if _USER is None:
        harness.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                     "/nonexistent", "--shell", "/usr/sbin/nologin", SVC])
        atexit.register(lambda: subprocess.run(["userdel", SVC], capture_output=True))
        pw = pwd.getpwnam(SVC)
        _USER = (pw.pw_uid, pw.pw_gid)
        # The user must be able to reach what it reads below the run folder.
        os.chmod(harness.RUN_DIR, 0o755)
    return _USER


def low_port():
    """A free loopback port below 1024: binding it needs CAP_NET_BIND_SERVICE."""
    for port in range(700, 1000):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port below 1024")


def chown(path, uid, gid, mode=None):
    os.chown(path, uid, gid)
    if mode is not None:
        os.chmod(path, mode)


class Setup:
    """A collector folder prepared for the service user: its TLS key, data
    folder and keys_dir belong to it; the PKI is readable."""

    def __init__(self, keys_dir_exists=True):
        self.uid, self.gid = service_user()
        self.pki = shared_pki()
        os.chmod(self.pki.dir, 0o755)
        self.collector = Collector(audit_listen="127.0.0.1:%d" % low_port())
        w = self.collector.workdir
        os.chmod(w, 0o755)
        self.tls_key = os.path.join(w, "server.key")
        shutil.copy(self.pki.key("server"), self.tls_key)
        chown(self.tls_key, self.uid, self.gid, 0o600)
        self.data = os.path.join(w, "data")
        os.makedirs(self.data)
        chown(self.data, self.uid, self.gid, 0o700)
        self.keys_dir = os.path.join(w, "keys")
        if keys_dir_exists:
            os.makedirs(self.keys_dir)
            chown(self.keys_dir, self.uid, self.gid, 0o700)
        text = collector_config(self.pki, crl=False).replace(self.pki.key("server"), self.tls_key)
        text += ('\n[server]\nuser = "%s"\ngroup = "%s"\n\n[agents]\nkeys_dir = "%s"\n'
                 'enroll_ca_cert = "%s"\nenroll_ca_key = "%s"\n'
                 % (SVC, SVC, self.keys_dir, self.pki.cert("ca"), self.pki.key("ca")))
        self.collector.config_text = text
        self.config = os.path.join(w, "trailkeepd.toml")

    def enroll(self, host):
        out = os.path.join(self.collector.workdir, "enroll-" + host)
        r = subprocess.run([TRAILKEEPD, "enroll", host, "--config", self.config, "--out", out],
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr.decode()
        return out


def task_status(pid):
    """{tid: {field: value}} of every thread of `pid`."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            out[tid] = dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)
    return out


def assert_no_capability(pid, uid, gid):
    tasks = task_status(pid)
    assert len(tasks) > 1, tasks  # RocksDB, committer and I/O threads
    for tid, st in tasks.items():
        assert st["Uid"].split() == [str(uid)] * 4, (tid, st["Uid"])
        assert st["Gid"].split() == [str(gid)] * 4, (tid, st["Gid"])
        for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
            assert st[cap] == "0000000000000000", (tid, cap, st[cap])
    main_thread = tasks[str(pid)]
    log("  /proc/%d/status: Uid %s, Groups %s, CapEff %s, CapPrm %s, CapAmb %s (%d threads)" % (
        pid, main_thread["Uid"], main_thread.get("Groups", "").strip(), main_thread["CapEff"],
        main_thread["CapPrm"], main_thread["CapAmb"], len(tasks)))
    return main_thread


def send_syslog(c, pki, messages):
    s = c.connect(cert=pki.base("client"), ca=pki.cert("ca"))
    s.sendall(b"".join(frame(m) for m in messages))
    close_tls(s)


def expect_refused(c, *wanted):
    try:
        c.start(timeout=20)
    except RuntimeError as e:
        text = str(e)
        for w in wanted:
            assert w in text, (w, text)
        assert "exited with 2" in text, text
        return text
    c.stop()
    raise AssertionError("trailkeepd started although it should refuse: %s" % (wanted,))


# --- 1. root start ------------------------------------------------------------------------------

def test_root_start_runs_as_the_service_user_with_no_capability():
    if not needs_root():
        return
    s = Setup()
    c = s.collector
    low = int(c.audit_listen.rsplit(":", 1)[1])
    with c:
        assert c.audit_port == low, (c.audit_port, low)
        st = assert_no_capability(c.proc.pid, s.uid, s.gid)
        assert st["Groups"].split() == [str(s.gid)], st["Groups"]
        send_syslog(c, s.pki, [b"<13>1 - web01 app - - - after the switch"])
        c.wait_for_count(1)
        for root, dirs, files in os.walk(s.data):
            for name in dirs + files:
                p = os.path.join(root, name)
                assert os.lstat(p).st_uid == s.uid, (p, os.lstat(p).st_uid)
        assert "running as %s with no capability" % SVC in c.read_log(), c.read_log()
        start = c.self_events("COLLECTOR_START")[-1]
        params = {p["name"]: p["value"] for el in start["structured_data"] for p in el["params"]}
        assert params.get("user") == SVC, params
    log("  bound 127.0.0.1:%d as root, then ran as %s" % (low, SVC))


# --- 2. systemd-style start ---------------------------------------------------------------------

def test_service_user_start_drops_the_bind_capability():
    if not needs_root():
        return
    s = Setup()
    c = s.collector
    # What systemd does for User=, Group=, AmbientCapabilities=CAP_NET_BIND_SERVICE.
    c.wrapper = ["setpriv", "--reuid", SVC, "--regid", SVC, "--clear-groups",
                 "--inh-caps=+net_bind_service", "--ambient-caps=+net_bind_service", "--"]
    low = int(c.audit_listen.rsplit(":", 1)[1])
    with c:
        assert c.audit_port == low, (c.audit_port, low)  # the capability was there to bind
        assert_no_capability(c.proc.pid, s.uid, s.gid)
        send_syslog(c, s.pki, [b"<13>1 - web01 app - - - no capability"])
        c.wait_for_count(1)
    # Without the capability the low port cannot be bound: the drop is real.
    c.wrapper = ["setpriv", "--reuid", SVC, "--regid", SVC, "--clear-groups", "--"]
    try:
        c.start()
    except RuntimeError as e:
        assert "cannot listen on 127.0.0.1:%d" % low in str(e), str(e)
    else:
        c.stop()
        raise AssertionError("bound a port below 1024 with no capability")


# --- 3. refusals at start-up --------------------------------------------------------------------

def test_keys_others_can_read_are_refused_with_their_names():
    if not needs_root():
        return
    s = Setup()
    key = os.path.join(s.keys_dir, "web01.test.key")
    with open(key, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    chown(key, s.uid, s.gid, 0o640)
    text = expect_refused(s.collector, key + " has mode 0640", "chmod 600 " + key)
    log("  " + [l for l in text.splitlines() if "0640" in l][0])

    chown(key, s.uid, s.gid, 0o600)
    os.chmod(s.tls_key, 0o644)
    expect_refused(s.collector, "tls.key_file: %s has mode 0644" % s.tls_key)
    os.chmod(s.tls_key, 0o600)

    chown(key, 0, 0, 0o600)
    expect_refused(s.collector, key + " belongs to root, not to " + SVC, "chown %s %s" % (SVC, key))
    chown(key, s.uid, s.gid, 0o600)

    chown(s.data, 0, 0, 0o755)
    expect_refused(s.collector, "%s is not writable by %s" % (s.data, SVC),
                   "chown -R %s:%s %s" % (SVC, SVC, s.data))
    chown(s.data, s.uid, s.gid, 0o700)
    with s.collector:
        pass  # all fixed: it starts


# --- 4. enrolment and unreadable keys -----------------------------------------------------------

def test_enroll_as_root_hands_the_key_to_the_service_user():
    if not needs_root():
        return
    s = Setup(keys_dir_exists=False)
    c = s.collector
    host = "agent01.test"
    with c:
        bundle = s.enroll(host)  # creates keys_dir too
        for path, mode in ((s.keys_dir, 0o700), (os.path.join(s.keys_dir, host + ".key"), 0o600)):
            st = os.stat(path)
            assert (st.st_uid, st.st_gid) == (s.uid, s.gid), (path, st.st_uid, st.st_gid)
            assert st.st_mode & 0o777 == mode, (path, oct(st.st_mode))
        log_path = os.path.join(c.workdir, "app.log")
        agent = Agent(host, bundle, c.port, os.path.join(c.workdir, "agent"),
                      inputs=[("app", log_path)])
        agent.start()
        try:
            w = Writer(log_path, host, 200, rate=2000)
            w.start()
            w.join()
            wait_stored(c, host, 200, timeout=60)
        finally:
            agent.stop()
        got = {e["integrity"] for e in c.peer_events("--host", host)}
        assert got == {"verified"}, got
        assert not [e for e in c.self_events("INTEGRITY_ALARM")], c.self_events("INTEGRITY_ALARM")
    log("  enroll as root: %s/%s.key owned by %s, 200 agent events stored verified"
        % (s.keys_dir, host, SVC))


def test_a_key_the_service_user_cannot_read_says_so():
    if not needs_root():
        return
    s = Setup()
    c = s.collector
    host = "web01.test"
    with c:
        bundle = s.enroll(host)
        key_path = os.path.join(s.keys_dir, host + ".key")
        chown(key_path, 0, 0, 0o600)  # what enroll used to leave behind
        with open(os.path.join(bundle, "hmac.key")) as f:
            key = bytes.fromhex(f.read().strip())
        epoch = time.time_ns()
        msgs = signed_messages(host, key, epoch, 20)
        send_as_agent(c.port, bundle, msgs[:10])
        events = c.wait_for_count(10, 30, "--host", host)
        assert {e["integrity"] for e in events} == {"no_key"}, {e["integrity"] for e in events}
        alarm = c.wait_for(lambda: [e for e in c.self_events("INTEGRITY_ALARM") if host in e["msg"]],
                           what="the unknown_key alarm")[0]
        want = "cannot read %s: Permission denied" % key_path
        assert want in alarm["msg"], alarm["msg"]
        assert "no HMAC key" not in alarm["msg"], alarm["msg"]
        assert want in c.read_log(), c.read_log()
        log("  alarm: " + alarm["msg"])

        # Fixed and reloaded: the rest of the chain verifies.
        chown(key_path, s.uid, s.gid, 0o600)
        os.kill(c.proc.pid, signal.SIGHUP)
        c.wait_for(lambda: c.self_events("RULES_RELOADED"), what="the reload")
        send_as_agent(c.port, bundle, msgs[10:])
        events = c.wait_for_count(20, 30, "--host", host)
        later = [e["integrity"] for e in events if int(e["msg"].rsplit(" ", 1)[1]) > 10]
        assert later == ["verified"] * 10, later

        # Loosened: refused on the next reload, by name and mode.
        os.chmod(key_path, 0o644)
        os.kill(c.proc.pid, signal.SIGHUP)
        refused = c.wait_for(lambda: c.self_events("KEY_FILE_REFUSED"), what="KEY_FILE_REFUSED")
        assert "%s has mode 0644" % key_path in refused[0]["msg"], refused[0]["msg"]
        os.chmod(key_path, 0o600)


if __name__ == "__main__":
    main([test_root_start_runs_as_the_service_user_with_no_capability,
          test_service_user_start_drops_the_bind_capability,
          test_keys_others_can_read_are_refused_with_their_names,
          test_enroll_as_root_hands_the_key_to_the_service_user,
          test_a_key_the_service_user_cannot_read_says_so])
