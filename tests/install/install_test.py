#!/usr/bin/env python3
"""Install test: the Debian packages installed, run and removed as docs/operations.md says.

  1. `cmake --build BUILD --target package` makes trailkeepd, trailkeep and trailkeep-common;
     the agent package neither depends on nor links RocksDB (dpkg-deb -I, ldd); lintian, when
     installed, reports no error or warning that is not overridden with a reason.
  2. An isolated root: with --root overlay (CI), an overlayfs of / over a tmpfs, inside
     `unshare -m -n` (own mounts, own network with only loopback), so the machine stays as it
     was; with --root debootstrap (`make test-install`), a fresh Debian 12 minbase made by
     debootstrap, where apt resolves the packages' Depends: a missing one shows there.
  3. Installed: binaries in /usr/bin, rules in /usr/share/trailkeep, the conffile, the units
     (`systemd-analyze verify`, and their offline exposure scores equal docs/operations.md's
     and below 3.9), system users trailkeep and trailkeep-agent, /var/lib/trailkeep theirs.
  4. An operator's set-up: a CA, the collector's certificate and key (trailkeep, 0600), an
     [agents] section and collector_name in the installed config. The collector runs as its
     unit would: ExecStart as User= with AmbientCapabilities= etc., through setpriv (CI has no
     systemd as PID 1). First with a group-readable key: it halts with an exit status in
     RestartPreventExitStatus=. Then it starts with the shipped listeners (port 60 included,
     which needs the capability; the network namespace is private) and ends up as trailkeep
     with no capability. `trailkeepd enroll` makes an agent's bundle, installed in
     /etc/trailkeep; `trailkeep forward` runs as its unit would, reads a root:adm 0640 log, and
     every event is stored verified (`trailkeepd query`, `trailkeepd verify --db`). The audisp
     shim, run as root as auditd would, reaches the agent's socket.
  5. `dpkg -r`: binaries gone, configuration and data kept. `dpkg -P`: data, spool, conffiles
     and unit links gone; the administrator's own files in /etc/trailkeep stay.

Needs root (mounts, users, setpriv). Stages: the outer process builds the packages and
re-executes itself under `unshare -m -n` for the rest.
"""
import argparse
import ctypes
import glob
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
HOST = "node1.test"
COLLECTOR = "collector.test"
EVENTS = 20
UNITS = ("trailkeepd.service", "trailkeep-forward.service")
PACKAGES = ("trailkeepd", "trailkeep", "trailkeep-common")
TEST_LOG = "/var/log/trailkeep-install-test.log"
DEBIAN_MIRROR = "http://deb.debian.org/debian"


def log(msg):
    print(msg, flush=True)


def run(*args, check=True, timeout=300, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (" ".join(args), r.returncode, r.stdout,
                                                    r.stderr))
    return r


# --- 1. packages -----------------------------------------------------------------------------

def build_packages(build, prebuilt):
    if prebuilt:  # --prebuilt: the packages `make package` left (for iterating on this test)
        debs = {}
        for path in glob.glob(os.path.join(build, "packages", "*.deb")):
            debs[run("dpkg-deb", "-f", path, "Package").stdout.strip()] = path
        return debs
    for old in glob.glob(os.path.join(build, "packages", "*.deb")):
        os.unlink(old)
    t = time.monotonic()
    run("cmake", "--build", build, "--target", "package", timeout=900)
    debs = {}
    for path in glob.glob(os.path.join(build, "packages", "*.deb")):
        name = run("dpkg-deb", "-f", path, "Package").stdout.strip()
        debs[name] = path
    assert sorted(debs) == sorted(PACKAGES), debs
    log("  packages built in %.0f s: %s" % (time.monotonic() - t,
                                            " ".join(os.path.basename(p) for p in debs.values())))
    return debs


def check_package_metadata(debs):
    fields = {n: run("dpkg-deb", "-I", p).stdout for n, p in debs.items()}
    depends = {n: re.search(r"^ Depends: (.*)$", f, re.M) for n, f in fields.items()}
    agent_depends = depends["trailkeep"].group(1)
    assert "rocksdb" not in agent_depends, agent_depends
    assert "rocksdb" in depends["trailkeepd"].group(1), depends["trailkeepd"].group(1)
    for n in ("trailkeepd", "trailkeep"):
        d = depends[n].group(1)
        assert "adduser" in d and "trailkeep-common (= " in d, (n, d)
        assert "libssl3" in d, (n, d)  # computed by dpkg-shlibdeps
    assert "Architecture: all" in fields["trailkeep-common"], fields["trailkeep-common"]
    log("  trailkeep Depends: %s" % agent_depends)
    log("  trailkeepd Depends: %s" % depends["trailkeepd"].group(1))
    contents = run("dpkg-deb", "-c", debs["trailkeepd"]).stdout
    for want in ("./usr/bin/trailkeepd", "./etc/trailkeep/trailkeepd.toml",
                 "./lib/systemd/system/trailkeepd.service"):
        assert want in contents, (want, contents)


def run_lintian(debs):
    if shutil.which("lintian") is None:
        if os.environ.get("CI"):
            raise AssertionError("lintian is not installed (deploy/install-build-deps.sh)")
        log("  lintian not installed: not run")
        return
    t = time.monotonic()
    r = run("lintian", "--fail-on", "error,warning", "--no-tag-display-limit",
            *debs.values(), check=False, timeout=600)
    assert r.returncode == 0, "lintian:\n" + r.stdout + r.stderr
    log("  lintian: no error or warning (%.0f s)%s" % (time.monotonic() - t,
                                                      (": " + r.stdout.strip()) if r.stdout.strip()
                                                      else ""))


# --- 2. the isolated root --------------------------------------------------------------------

class Root:
    """A directory to chroot into, with /proc, /dev, /run and /tmp of its own."""

    def __init__(self, path):
        self.path = path

    def p(self, path):
        return os.path.join(self.path, path.lstrip("/"))

    def cmd(self, *args):
        return ["chroot", self.path, *args]

    def run(self, *args, **kw):
        return run(*self.cmd(*args), **kw)

    def write(self, path, text, mode=0o644):
        with open(self.p(path), "w") as f:
            f.write(text)
        os.chmod(self.p(path), mode)

    def read(self, path):
        with open(self.p(path)) as f:
            return f.read()


def mount_system_dirs(root):
    # Never delete a tree holding these from inside the namespace: /dev is the host's.
    run("mount", "-t", "proc", "proc", root.p("/proc"))
    run("mount", "--rbind", "/dev", root.p("/dev"))
    for d in ("/run", "/tmp"):
        run("mount", "-t", "tmpfs", "-o", "mode=%s" % ("1777" if d == "/tmp" else "755"), "tmpfs",
            root.p(d))


def private_network():
    """From here on this process and its children have a network of their own with only
    loopback: the shipped listeners (6514, 8443, 60) collide with nothing."""
    clone_newnet = 0x40000000
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(clone_newnet) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
    run("ip", "link", "set", "lo", "up")


def overlay_root(scratch):
    run("mount", "-t", "tmpfs", "tmpfs", scratch)
    for d in ("upper", "work", "merged"):
        os.mkdir(os.path.join(scratch, d))
    run("mount", "-t", "overlay", "overlay", "-o",
        "lowerdir=/,upperdir=%s/upper,workdir=%s/work" % (scratch, scratch),
        os.path.join(scratch, "merged"))
    root = Root(os.path.join(scratch, "merged"))
    mount_system_dirs(root)
    # What another machine would not have: this one's test users or leftovers.
    for pkg in PACKAGES:
        assert root.run("dpkg-query", "-W", pkg, check=False).returncode != 0, \
            pkg + " is installed on this machine: the test would remove it"
    return root


def debootstrap_root(cache, scratch):
    """A fresh Debian 12 minbase, made once into CACHE and copied to SCRATCH for each run."""
    base = os.path.join(cache, "bookworm-minbase")
    if not os.path.exists(os.path.join(base, ".complete")):
        shutil.rmtree(base, ignore_errors=True)
        log("  debootstrap bookworm minbase into %s (once)" % base)
        run("debootstrap", "--variant=minbase", "bookworm", base, DEBIAN_MIRROR, timeout=1800)
        open(os.path.join(base, ".complete"), "w").close()
    run("cp", "-a", base + "/.", scratch)
    root = Root(scratch)
    mount_system_dirs(root)
    shutil.copy("/etc/resolv.conf", root.p("/etc/resolv.conf"))
    return root


# --- 3. installation -------------------------------------------------------------------------

def install_packages(root, debs, mode):
    os.makedirs(root.p("/tmp/debs"), exist_ok=True)
    inside = []
    for name, path in debs.items():
        shutil.copy(path, root.p("/tmp/debs"))
        inside.append("/tmp/debs/" + os.path.basename(path))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if mode == "debootstrap":
        # The netns has no route out: apt runs in the host's network, then the rest offline.
        root.run("apt-get", "update", "-qq", env=env, timeout=600)
        r = root.run("apt-get", "install", "-y", "--no-install-recommends", *inside, env=env,
                     timeout=900, check=False)
    else:
        r = root.run("dpkg", "-i", *inside, env=env, check=False)
    assert r.returncode == 0, "install failed:\n" + r.stdout + r.stderr
    log("  installed %s" % " ".join(sorted(debs)))
    # A Depends that is missing shows here in a fresh root: a library the loader cannot find.
    for binary in ("/usr/bin/trailkeepd", "/usr/bin/trailkeep"):
        ldd = root.run("ldd", binary).stdout
        assert "not found" not in ldd, "%s: missing libraries (Depends):\n%s" % (binary, ldd)
        root.run(binary, "--help")
    if mode == "debootstrap":
        # The test's own tools, after the check above so they hide no missing Depends.
        root.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "systemd",
                 "iproute2", env=env, timeout=900)


def check_installed(root):
    for path in ("/usr/bin/trailkeepd", "/usr/bin/trailkeep", "/usr/share/trailkeep/ndcpp_rules.toml",
                 "/etc/trailkeep/trailkeepd.toml", "/etc/audit/plugins.d/trailkeep.conf",
                 "/lib/systemd/system/trailkeepd.service",
                 "/lib/systemd/system/trailkeep-forward.service",
                 "/usr/share/doc/trailkeepd/copyright", "/usr/share/doc/trailkeep/operations.md"):
        assert os.path.exists(root.p(path)), path
    conf = root.run("dpkg-query", "-W", "-f", "${Conffiles}", "trailkeepd").stdout
    assert "/etc/trailkeep/trailkeepd.toml" in conf, conf
    for user in ("trailkeep", "trailkeep-agent"):
        pw = root.run("getent", "passwd", user).stdout.split(":")
        assert int(pw[2]) < 1000 and pw[6].strip() in ("/usr/sbin/nologin", "/bin/false"), pw
    st = os.stat(root.p("/var/lib/trailkeep"))
    uid = int(root.run("id", "-u", "trailkeep").stdout)
    assert st.st_uid == uid and st.st_mode & 0o777 == 0o750, (st.st_uid, oct(st.st_mode))
    # Enabled as Debian does it (deb-systemd-helper), not started: no certificate yet.
    assert os.path.islink(root.p("/etc/systemd/system/multi-user.target.wants/trailkeepd.service"))
    # The agent's binary links no RocksDB; the installed collector finds its rules.
    ldd = root.run("ldd", "/usr/bin/trailkeep").stdout
    assert "rocksdb" not in ldd, ldd
    r = root.run("trailkeep", "classify", input="<38>1 - h sshd - - - Accepted password for a\n")
    assert r.returncode == 0 and r.stdout.strip(), r.stderr
    log("  files, conffile, users, /var/lib/trailkeep (trailkeep, 0750), unit enabled; "
        "trailkeep links no RocksDB")


def check_units(root):
    for unit in UNITS:
        r = root.run("systemd-analyze", "verify", "/lib/systemd/system/" + unit, check=False)
        # Without systemd as PID 1, verify still loads the unit and checks its settings
        # and binaries; it cannot reach a bus, which it says on stderr without failing.
        assert r.returncode == 0, (unit, r.stdout, r.stderr)
        bad = [l for l in r.stderr.splitlines() if unit.split(".")[0] in l]
        assert not bad, (unit, bad)
    with open(os.path.join(SOURCE, "docs", "operations.md")) as f:
        doc = f.read()
    for unit in UNITS:
        r = root.run("systemd-analyze", "security", "--offline=true",
                     "/lib/systemd/system/" + unit, check=False)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
        assert m, r.stdout + r.stderr
        score = float(m.group(1))
        assert score < 3.9, (unit, score)
        doc_m = re.search(r"`%s`[^\n]*?\b([0-9]\.[0-9])\b" % re.escape(unit), doc)
        assert doc_m and float(doc_m.group(1)) == score, \
            "docs/operations.md gives %s for %s; systemd-analyze says %s" % (
                doc_m and doc_m.group(1), unit, score)
        log("  %s: systemd-analyze verify OK, offline exposure %.1f" % (unit, score))


# --- 4. running as the units would -----------------------------------------------------------

def unit_settings(root, unit):
    settings = {}
    section = None
    for line in root.read("/lib/systemd/system/" + unit).splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            k, _, v = line.partition("=")
            settings.setdefault(k, []).append(v)
    return settings


def as_unit(root, unit):
    """The command line that runs the unit's command as systemd would: User=, Group=,
    SupplementaryGroups=, capabilities, NoNewPrivileges=, UMask=, LimitNOFILE=, cwd /.
    StateDirectory= and RuntimeDirectory= are made as systemd makes them."""
    s = unit_settings(root, unit)
    user, group = s["User"][-1], s["Group"][-1]
    for key, base in (("StateDirectory", "/var/lib"), ("RuntimeDirectory", "/run")):
        for d in s.get(key, []):
            mode = s.get(key + "Mode", ["0755"])[-1]
            path = root.p(os.path.join(base, d))
            os.makedirs(path, exist_ok=True)
            root.run("chown", "%s:%s" % (user, group), os.path.join(base, d))
            os.chmod(path, int(mode, 8))
    groups = [group] + " ".join(s.get("SupplementaryGroups", [])).split()
    ambient = " ".join(s.get("AmbientCapabilities", [])).split()
    bounding = " ".join(s.get("CapabilityBoundingSet", [])).split()
    caps = lambda names: ",".join("+" + c.lower().replace("cap_", "") for c in names)
    setpriv = ["setpriv", "--reuid", user, "--regid", group, "--groups", ",".join(groups),
               "--bounding-set", "-all" + ("," + caps(bounding) if bounding else "")]
    if ambient:
        setpriv += ["--inh-caps", caps(ambient), "--ambient-caps", caps(ambient)]
    if s.get("NoNewPrivileges", ["no"])[-1] == "yes":
        setpriv.append("--no-new-privs")
    umask = s.get("UMask", ["0022"])[-1]
    # Root without CAP_SYS_RESOURCE (some CI sandboxes) cannot raise the hard limit: cap it.
    nofile = min(int(s.get("LimitNOFILE", ["1024"])[-1]),
                 resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    command = s["ExecStart"][0].split()
    shell = "umask %s && ulimit -n %s && cd / && exec %s" % (umask, nofile, " ".join(setpriv +
                                                                                    command))
    return root.cmd("env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "sh", "-c", shell)


def make_pki(root):
    """What an operator brings: a CA, and the collector's certificate for collector.test."""
    pki = tempfile.mkdtemp(prefix="tk-pki-")
    o = lambda *a: run("openssl", *a, cwd=pki)
    o("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days",
      "30", "-subj", "/CN=trailkeep install test CA", "-keyout", "ca.key", "-out", "ca.pem",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    o("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
      "/CN=" + COLLECTOR, "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(pki, "ext"), "w") as f:
        f.write("subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n" % COLLECTOR)
    o("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
      "-days", "30", "-extfile", "ext", "-out", "server.pem")
    etc = "/etc/trailkeep/"
    for name, dest, owner, mode in (("server.pem", "server.pem", "root", 0o644),
                                    ("server.key", "server.key", "trailkeep", 0o600),
                                    ("ca.pem", "clients-ca.pem", "root", 0o644),
                                    ("ca.pem", "enroll-ca.pem", "root", 0o644),
                                    ("ca.key", "enroll-ca.key", "root", 0o600)):
        shutil.copy(os.path.join(pki, name), root.p(etc + dest))
        root.run("chown", owner + ":" + owner, etc + dest)
        os.chmod(root.p(etc + dest), mode)
    shutil.rmtree(pki)


def configure_collector(root):
    conf = root.read("/etc/trailkeep/trailkeepd.toml")
    conf = conf.replace('# collector_name = "collector-1.example.com"',
                        'collector_name = "%s"' % COLLECTOR)
    assert 'collector_name = "%s"' % COLLECTOR in conf
    # The shipped example already holds the [agents] a deployment needs, at the paths
    # docs/operations.md gives.
    for want in ('\n[agents]\nkeys_dir = "/var/lib/trailkeep/keys"',
                 'enroll_ca_cert = "/etc/trailkeep/enroll-ca.pem"',
                 'enroll_ca_key = "/etc/trailkeep/enroll-ca.key"'):
        assert want in conf, (want, conf)
    root.write("/etc/trailkeep/trailkeepd.toml", conf)
    with open(root.p("/etc/hosts"), "a") as f:
        f.write("127.0.0.1 %s\n" % COLLECTOR)


def wait_for(what, predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def start(root, unit, logfile):
    """chroot, env, sh and setpriv each exec the next: the pid is the unit's main process."""
    with open(logfile, "w") as out:
        return subprocess.Popen(as_unit(root, unit), stdout=out, stderr=subprocess.STDOUT)


def proc_status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.split()
    return fields


def check_deliberate_halt(root):
    """A refusal at start-up is an exit status the unit does not restart: a group-readable
    TLS key stops trailkeepd with a code in RestartPreventExitStatus=, naming the file. The
    unit has no ExecStartPre: systemd restarts a failed one whatever that setting says."""
    s = unit_settings(root, "trailkeepd.service")
    assert "ExecStartPre" not in s, s["ExecStartPre"]
    prevent = {int(c) for v in s["RestartPreventExitStatus"] for c in v.split()}
    os.chmod(root.p("/etc/trailkeep/server.key"), 0o640)
    try:
        r = subprocess.run(as_unit(root, "trailkeepd.service"), capture_output=True, text=True,
                           timeout=60)
    finally:
        os.chmod(root.p("/etc/trailkeep/server.key"), 0o600)
    assert r.returncode in prevent and "/etc/trailkeep/server.key has mode 0640" in r.stderr, (
        r.returncode, prevent, r.stderr)
    log("  a group-readable key: exit %d, which RestartPreventExitStatus= keeps from restarting"
        % r.returncode)


def start_collector(root, work):
    proc = start(root, "trailkeepd.service", os.path.join(work, "trailkeepd.log"))
    ports = root.p("/var/lib/trailkeep/ports.json")
    wait_for("ports.json", lambda: os.path.exists(ports) or proc.poll() is not None)
    assert proc.poll() is None, open(os.path.join(work, "trailkeepd.log")).read()

    def dropped():
        st = proc_status(proc.pid)
        return st["CapEff"] == ["0000000000000000"] and st["CapAmb"] == ["0000000000000000"]
    wait_for("the collector to drop CAP_NET_BIND_SERVICE", dropped)
    st = proc_status(proc.pid)
    uid = root.run("id", "-u", "trailkeep").stdout.strip()
    assert st["Uid"] == [uid] * 4, st["Uid"]
    with open(ports) as f:
        bound = json.load(f)
    # Its default rules, found from /usr/bin through ../share/trailkeep.
    with open(os.path.join(work, "trailkeepd.log")) as f:
        started = f.read()
    assert "NDcPP rules from /usr/share/trailkeep/ndcpp_rules.toml" in started, started
    log("  collector running as trailkeep (uid %s), no capability left; bound %s" % (uid, bound))
    return proc


def enroll_agent(root):
    r = root.run("trailkeepd", "enroll", HOST, "--out", "/root/" + HOST, "--config",
                 "/etc/trailkeep/trailkeepd.toml")
    log("  " + r.stdout.strip().splitlines()[0])
    # docs/operations.md: copy the bundle to the node's /etc/trailkeep; its keys belong to the
    # agent's user. (Here the node is the collector's own machine.)
    bundle = root.p("/root/" + HOST)
    toml = None
    for name in os.listdir(bundle):
        dest = "/etc/trailkeep/" + name
        shutil.copy(os.path.join(bundle, name), root.p(dest))
        if name.endswith(".key"):
            root.run("chown", "trailkeep-agent:trailkeep-agent", dest)
            os.chmod(root.p(dest), 0o600)
        if name.endswith(".toml"):
            toml = dest
    assert toml == "/etc/trailkeep/agent.toml", os.listdir(bundle)
    # The bundle names its files relative to agent.toml's folder: copied, it works unchanged
    # (only the input is this test's own log).
    text = root.read(toml)
    assert "/root/" not in text and 'ca_file = "ca.pem"' in text, text
    assert '"/var/log/auth.log"' in text, text
    text = text.replace('"/var/log/auth.log"', '"%s"\nstart = "beginning"' % TEST_LOG)
    text += '\n[audisp]\nsocket = "/run/trailkeep/audisp.sock"\n'
    root.write(toml, text)
    # A root:adm 0640 file, as /var/log/auth.log is: the agent reads it through group adm.
    lines = "".join("<38>1 2026-01-01T00:00:%02dZ %s sshd 1 - - install test event %d\n"
                    % (i, HOST, i) for i in range(EVENTS))
    root.write(TEST_LOG, lines, 0o640)
    root.run("chown", "root:adm", TEST_LOG)


def query(root, *args):
    # The store tools open the store as a RocksDB secondary: run them as the service user,
    # as docs/operations.md says, so nothing in the store comes to belong to root.
    r = root.run("setpriv", "--reuid", "trailkeep", "--regid", "trailkeep", "--clear-groups",
                 "trailkeepd", *args, check=False)
    return r


def check_verified(root):
    def events():
        r = query(root, "query", "--db", "/var/lib/trailkeep", "--host", HOST, "--format", "json",
                  "--limit", "1000")
        if r.returncode != 0:
            return None
        evs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        ours = [e for e in evs if "install test event" in e.get("msg", "")]
        return ours if len(ours) >= EVENTS else None
    ours = wait_for("%d events from %s" % (EVENTS, HOST), events, 60)
    states = sorted({e["integrity"] for e in ours})
    assert states == ["verified"], states
    r = query(root, "verify", "--db", "/var/lib/trailkeep", "--host", HOST, "--keys-dir",
              "/var/lib/trailkeep/keys")
    assert r.returncode == 0 and "OK " in r.stdout, r.stdout + r.stderr
    log("  %d events stored verified; trailkeepd verify: %s" % (len(ours), r.stdout.strip()))


def check_audisp(root):
    """auditd runs the shim as root; it reaches the agent's socket in /run/trailkeep."""
    sock = root.p("/run/trailkeep/audisp.sock")
    wait_for("the agent's audisp socket", lambda: os.path.exists(sock))
    st, dst = os.stat(sock), os.stat(os.path.dirname(sock))
    assert st.st_mode & 0o777 == 0o600 and dst.st_mode & 0o777 == 0o750, (oct(st.st_mode),
                                                                          oct(dst.st_mode))
    record = ("type=USER_LOGIN msg=audit(1767225600.123:4242): pid=1 uid=0 auid=1000 ses=3 "
              "msg='op=login acct=\"alice\" exe=\"/usr/sbin/sshd\" hostname=? addr=10.0.0.9 "
              "terminal=ssh res=success'\n")
    # The shim relays stdin, and at its end exits once the agent answered that it spooled it.
    root.run("trailkeep", "audisp", "--socket", "/run/trailkeep/audisp.sock", input=record,
             timeout=30)

    def arrived():
        r = query(root, "query", "--db", "/var/lib/trailkeep", "--host", HOST, "--format", "json",
                  "--limit", "1000")
        return r.returncode == 0 and "4242" in r.stdout
    wait_for("the audit record relayed by the shim", arrived, 60)
    log("  audisp shim (root) -> /run/trailkeep/audisp.sock (trailkeep-agent 0600 in 0750) -> "
        "collector")


def stop(proc, name, work):
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(name + " did not stop on SIGTERM")
    assert rc == 0, "%s exited %d:\n%s" % (name, rc, open(os.path.join(work, name + ".log")).read())


# --- 5. remove and purge ---------------------------------------------------------------------

def remove_and_purge(root):
    root.run("dpkg", "-r", *PACKAGES)
    for gone in ("/usr/bin/trailkeepd", "/usr/bin/trailkeep", "/usr/share/trailkeep/ndcpp_rules.toml",
                 "/lib/systemd/system/trailkeepd.service"):
        assert not os.path.exists(root.p(gone)), gone
    for kept in ("/etc/trailkeep/trailkeepd.toml", "/var/lib/trailkeep/store",
                 "/var/lib/trailkeep/keys/%s.key" % HOST, "/var/lib/trailkeep-agent/spool"):
        assert os.path.exists(root.p(kept)), kept + " was removed by dpkg -r"
    log("  dpkg -r: binaries and units gone; conffile, store, keys and spool kept")
    root.run("dpkg", "-P", *PACKAGES)
    for gone in ("/etc/trailkeep/trailkeepd.toml", "/var/lib/trailkeep", "/var/lib/trailkeep-agent",
                 "/etc/audit/plugins.d/trailkeep.conf",
                 "/etc/systemd/system/multi-user.target.wants/trailkeepd.service"):
        assert not os.path.lexists(root.p(gone)), gone + " survived dpkg -P"
    assert os.path.exists(root.p("/etc/trailkeep/server.key")), "purge removed the admin's key"
    left = root.run("dpkg-query", "-W", *PACKAGES, check=False)
    assert left.returncode != 0, left.stdout
    log("  dpkg -P: data, spool, conffiles and unit links gone; the administrator's files stay")


# --- stages ----------------------------------------------------------------------------------

def inner(args):
    work = args.work
    procs = []
    try:
        scratch = os.path.join(work, "root")
        os.mkdir(scratch)
        root = overlay_root(scratch) if args.root == "overlay" else debootstrap_root(args.cache,
                                                                                    scratch)
        with open(args.debs) as f:
            debs = json.load(f)
        install_packages(root, debs, args.root)
        private_network()
        check_installed(root)
        check_units(root)
        make_pki(root)
        configure_collector(root)
        check_deliberate_halt(root)
        collector = start_collector(root, work)
        procs.append(collector)
        enroll_agent(root)
        agent = start(root, "trailkeep-forward.service", os.path.join(work, "trailkeep-forward.log"))
        procs.append(agent)
        check_verified(root)
        check_audisp(root)
        stop(agent, "trailkeep-forward", work)
        stop(collector, "trailkeepd", work)
        procs.clear()
        remove_and_purge(root)
    except BaseException:
        for name in ("trailkeepd.log", "trailkeep-forward.log"):
            p = os.path.join(work, name)
            if os.path.exists(p):
                sys.stderr.write("--- %s\n%s" % (name, open(p).read()[-4000:]))
        raise
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    # The mounts vanish with this namespace; the outer process deletes WORK afterwards.


def outer(args):
    if os.geteuid() != 0:
        raise AssertionError("the install test needs root (mounts, users, setpriv)")
    build = os.path.abspath(args.build)
    log("install test (%s root)" % args.root)
    debs = build_packages(build, args.prebuilt)
    check_package_metadata(debs)
    run_lintian(debs)
    listing = os.path.join(build, "packages", "debs.json")
    with open(listing, "w") as f:
        json.dump(debs, f)
    # Mounts in a namespace of their own; the network namespace comes once the packages are
    # installed (apt needs the host's network in a debootstrap root).
    work = tempfile.mkdtemp(prefix="tk-install-")
    cmd = ["unshare", "-m", "--propagation", "private", sys.executable, os.path.abspath(__file__),
           "--inner", "--root", args.root, "--debs", listing, "--work", work,
           "--cache", os.path.abspath(args.cache or build)]
    try:
        r = subprocess.run(cmd, timeout=3600)
    finally:
        # Only now: while the namespace lived, WORK/root held the host's /dev.
        if not any(os.path.ismount(os.path.join(work, "root", d)) for d in ("dev", "proc")):
            shutil.rmtree(work, ignore_errors=True)
    if r.returncode != 0:
        raise SystemExit(r.returncode)
    log("install test passed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--root", choices=("overlay", "debootstrap"), default="overlay")
    ap.add_argument("--cache", help="debootstrap: where the base root is kept (default BUILD)")
    ap.add_argument("--prebuilt", action="store_true", help="use BUILD/packages as they are")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--debs", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    (inner if args.inner else outer)(args)


if __name__ == "__main__":
    main()
