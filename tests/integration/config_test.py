"""trailkeepd --check-config, configuration errors, and a store of another schema version.

Covers: a valid config passes with "OK"; a config with many errors reports every one of them with
file:line (line numbers checked); a TOML syntax error in another file is reported with its line;
the example config deploy/trailkeepd.toml (when present) passes once its paths point at real files;
the collector refuses to start on a bad config; a store whose schema version differs is refused
with a clear message (the version is rewritten through librocksdb's C API with ctypes).
"""
import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import tempfile

import harness
from harness import Collector, log
from pki import TestPki, collector_config, shared_pki as pki

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def trailkeepd(*args, timeout=60):
    r = subprocess.run([os.path.join(harness.BIN, "trailkeepd")] + list(args), capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def write(text, name="trailkeepd.toml"):
    d = tempfile.mkdtemp(prefix="tk-cfg-")
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def error_lines(stderr, path):
    """[(line or 0, message)] for every "PATH:LINE: msg" / "PATH: msg" line on stderr."""
    out = []
    for l in stderr.splitlines():
        if not l.startswith(path + ":"):
            continue
        rest = l[len(path) + 1:]
        m = re.match(r"(\d+):\s?(.*)", rest)
        out.append((int(m.group(1)), m.group(2)) if m else (0, rest.strip()))
    return out


def test_valid_config_ok():
    p = pki()
    path = write(collector_config(p, data_dir=tempfile.mkdtemp(prefix="tk-cfg-data-"), crl=True,
                                  permitted_peers=["*.example.test"], limits={"max_frame_bytes": 8192},
                                  self_audit={"window_seconds": 5, "burst": 3}))
    rc, out, err = trailkeepd("--check-config", "--config", path)
    assert rc == 0, (rc, out, err)
    assert "OK" in out, out
    assert path in out, out
    # Nothing about errors.
    assert "error" not in err.lower(), err


# Each expected error: (line, substring of its message). The config text is built from the
# list below so the line numbers are exact.
def broken_config(p):
    lines = [
        ("# trailkeepd config with many mistakes", None),                         # 1
        ('data_dir = "%s"' % tempfile.mkdtemp(prefix="tk-cfg-data-"), None),        # 2
        ("collector_name = 42", "collector_name must be a string"),               # 3
        ('log_levle = "debug"', "unknown key log_levle"),                           # 4
        ('io_threads = "four"', "io_threads must be an integer"),                  # 5
        ('log_level = "loud"', "log_level must be one of"),                         # 6
        ("", None),                                                                  # 7
        ("[[listen.syslog]]", None),                                                 # 8
        ('address = "localhost"', "bad address 'localhost'"),                        # 9
        ("", None),                                                                  # 10
        ("[[listen.syslog]]", None),                                                 # 11
        ('address = "127.0.0.1:99999"', "bad address '127.0.0.1:99999'"),            # 12
        ("", None),                                                                  # 13
        ("[tls]", None),                                                             # 14
        ('cert_file = "/nonexistent/trailkeep/server.pem"', "tls.cert_file"),        # 15
        ('key_file = "%s"' % p.key("server"), None),                                 # 16
        ('ca_file = "%s"' % p.cert("ca"), None),                                     # 17
        ('client_auth = "sometimes"', "tls.client_auth must be"),                   # 18
        ('session_tickets = "no"', "tls.session_tickets must be true or false"),    # 19
        ('permitted_peers = "a.example"', "tls.permitted_peers must be an array"),  # 20
        ('tls_profile = "fips"', "tls.tls_profile must be"),                        # 21
        ("[limits]", None),                                                          # 22
        ("max_frame_bytes = 10", "limits.max_frame_bytes must be between"),         # 23
        ("max_connectons = 5", "unknown key limits.max_connectons"),                # 24
        ("", None),                                                                  # 25
        ("[self_audit]", None),                                                      # 26
        ("window_seconds = 0", "self_audit.window_seconds must be between"),        # 27
        ("", None),                                                                  # 28
        ("[tsl]", "unknown table [tsl]"),                                           # 29
        ('ca_file = "x"', None),                                                     # 30
        ("[[listen.syslog]]", None),                                                 # 31
        ('address = "127.0.0.1:0"', None),                                           # 32
        ('hostname_binding = "maybe"', "hostname_binding must be one of flag"),     # 33
        ("[legacy_syslog.allowed_hosts]", None),                                     # 34
        ('"relay.example" = "web-*"', "must be a list of host patterns"),           # 35
        ("[store]", None),                                                           # 36
        ('disk_full_action = "rotate"', None),                                       # 37
    ]
    text = "\n".join(l for l, _ in lines) + "\n"
    expected = [(i + 1, e) for i, (_, e) in enumerate(lines) if e]
    return text, expected


def test_every_error_with_file_and_line():
    text, expected = broken_config(pki())
    path = write(text)
    rc, out, err = trailkeepd("--check-config", "--config", path)
    log("  stderr:\n    " + "\n    ".join(err.splitlines()))
    assert rc != 0, (rc, out, err)
    assert "OK" not in out, out
    got = error_lines(err, path)
    problems = []
    for line, needle in expected:
        at_line = [m for l, m in got if l == line and needle in m]
        anywhere = [(l, m) for l, m in got if needle in m]
        if not at_line:
            problems.append("line %d (%s): %s" % (line, needle, "printed without/with another line: %r" % anywhere
                                                   if anywhere else "not reported"))
    # The summary count matches the errors printed.
    m = re.search(r"(\d+) configuration errors?", err)
    assert m, err
    assert int(m.group(1)) == len(got), (m.group(1), len(got), got)
    assert not problems, "errors missing or without the right file:line:\n  " + "\n  ".join(problems)


def test_syntax_error_in_another_file():
    good = write(collector_config(pki(), data_dir=tempfile.mkdtemp(prefix="tk-cfg-data-")))
    rc, _, _ = trailkeepd("--check-config", "--config", good)
    assert rc == 0
    text = ('data_dir = "/tmp/x"\n'       # 1
            "\n"                          # 2
            "[tls]\n"                     # 3
            'cert_file = "a.pem"\n'       # 4
            "client_auth = require\n"     # 5: unquoted string -> syntax error
            "[limits\n")                  # 6
    bad = write(text, "other.toml")
    rc, out, err = trailkeepd("--check-config", "--config", bad)
    log("  stderr: " + err.strip().replace("\n", " | "))
    assert rc != 0
    got = error_lines(err, bad)
    assert got, err
    assert got[0][0] == 5, "syntax error reported at line %d, expected 5: %r" % (got[0][0], got)
    # The other, valid file is still fine: nothing leaks between files.
    rc, out, _ = trailkeepd("--check-config", "--config", good)
    assert rc == 0 and "OK" in out


def test_collector_refuses_bad_config():
    text, _ = broken_config(pki())
    col = Collector(config_text=text)
    try:
        col.start(timeout=20)
    except RuntimeError as e:
        assert "configuration error" in str(e), str(e)
        return
    finally:
        if col.alive():
            col.stop()
    raise AssertionError("trailkeepd started with a broken config")


def test_example_config():
    example = os.path.join(REPO, "deploy", "trailkeepd.toml")
    assert os.path.exists(example), example
    p = pki()
    data = tempfile.mkdtemp(prefix="tk-cfg-data-")
    # The service user the package creates (trailkeep) may not exist here: the
    # example's [server] user and group become the current user's.
    import grp
    import pwd
    subst = {"cert_file": p.cert("server"), "key_file": p.key("server"), "ca_file": p.cert("ca"),
             "crl_file": os.path.join(p.dir, "ca-crl.pem"), "data_dir": data,
             "user": pwd.getpwuid(os.geteuid()).pw_name, "group": grp.getgrgid(os.getegid()).gr_name}
    if os.geteuid() == 0:  # root is refused as the service user; its keys must be nobody's
        subst["user"], subst["group"] = "nobody", "nogroup"
        subst["key_file"] = os.path.join(data, "server.key")
        shutil.copy(p.key("server"), subst["key_file"])
        os.chown(subst["key_file"], pwd.getpwnam("nobody").pw_uid, -1)
    out_lines = []
    with open(example) as f:
        for line in f:
            m = re.match(r'^(\s*#?\s*)(cert_file|key_file|ca_file|crl_file|data_dir|user|group)(\s*=\s*)"[^"]*"(.*)$', line.rstrip("\n"))
            if m and not m.group(1).strip().startswith("#"):
                line = '%s%s%s"%s"%s\n' % (m.group(1), m.group(2), m.group(3), subst[m.group(2)], m.group(4))
            out_lines.append(line)
    path = write("".join(out_lines))
    rc, out, err = trailkeepd("--check-config", "--config", path)
    assert rc == 0 and "OK" in out, "example config fails --check-config:\n%s%s" % (out, err)
    # As shipped (paths for a real host), errors, if any, name only unreadable files.
    rc, out, err = trailkeepd("--check-config", "--config", example)
    for l, msg in error_lines(err, example):
        assert "cannot read the file" in msg or "required" in msg or "no such user" in msg, \
            "example config: %d: %s" % (l, msg)


# --- schema version --------------------------------------------------------------------------------

def _rocksdb():
    for name in (ctypes.util.find_library("rocksdb"), "librocksdb.so.7.8", "librocksdb.so"):
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


def set_schema_version(store_dir, version):
    """Rewrites meta/schema_version in the default column family of a closed store."""
    lib = _rocksdb()
    if lib is None:
        return False
    c_p = ctypes.c_void_p
    lib.rocksdb_options_create.restype = c_p
    lib.rocksdb_writeoptions_create.restype = c_p
    lib.rocksdb_list_column_families.restype = ctypes.POINTER(ctypes.c_char_p)
    lib.rocksdb_list_column_families.argtypes = [c_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t),
                                                 ctypes.POINTER(ctypes.c_char_p)]
    lib.rocksdb_open_column_families.restype = c_p
    lib.rocksdb_open_column_families.argtypes = [c_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                                                 ctypes.POINTER(c_p), ctypes.POINTER(c_p),
                                                 ctypes.POINTER(ctypes.c_char_p)]
    lib.rocksdb_put_cf.argtypes = [c_p, c_p, c_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                   ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p)]
    lib.rocksdb_column_family_handle_destroy.argtypes = [c_p]
    lib.rocksdb_close.argtypes = [c_p]
    lib.rocksdb_writeoptions_set_sync.argtypes = [c_p, ctypes.c_ubyte]

    err = ctypes.c_char_p()
    opts = lib.rocksdb_options_create()
    n = ctypes.c_size_t()
    names = lib.rocksdb_list_column_families(opts, store_dir.encode(), ctypes.byref(n), ctypes.byref(err))
    if err.value:
        raise RuntimeError("list column families: %s" % err.value.decode())
    cf_names = [names[i] for i in range(n.value)]
    count = len(cf_names)
    name_arr = (ctypes.c_char_p * count)(*cf_names)
    opt_arr = (c_p * count)(*[lib.rocksdb_options_create() for _ in range(count)])
    handles = (c_p * count)()
    db = lib.rocksdb_open_column_families(opts, store_dir.encode(), count, name_arr, opt_arr, handles,
                                          ctypes.byref(err))
    if err.value:
        raise RuntimeError("open: %s" % err.value.decode())
    default = handles[cf_names.index(b"default")]
    wo = lib.rocksdb_writeoptions_create()
    lib.rocksdb_writeoptions_set_sync(wo, 1)
    key, val = b"meta/schema_version", str(version).encode()
    lib.rocksdb_put_cf(db, wo, default, key, len(key), val, len(val), ctypes.byref(err))
    if err.value:
        raise RuntimeError("put: %s" % err.value.decode())
    for i in range(count):
        lib.rocksdb_column_family_handle_destroy(handles[i])
    lib.rocksdb_close(db)
    return True


def test_store_of_another_schema_version():
    col = Collector()
    col.start()
    col.stop()
    store = os.path.join(col.data_dir, "store")
    assert os.path.exists(os.path.join(store, "CURRENT")), os.listdir(col.data_dir)
    if not set_schema_version(store, 999):
        harness.cannot_run("librocksdb not loadable with ctypes; cannot make a store of another schema version")
        return
    # The collector refuses to start, saying why.
    try:
        col.start(timeout=20)
        started = True
    except RuntimeError as e:
        started = False
        msg = str(e)
    finally:
        if col.alive():
            col.stop()
    assert not started, "trailkeepd started on a store of schema version 999"
    schema_lines = [l for l in msg.splitlines() if "schema" in l]
    log("  collector: %s" % (schema_lines[0] if schema_lines else msg[-300:]))
    assert "schema version 999" in msg and "schema version 1" in msg, msg
    # The query tool too.
    rc, out, err = trailkeepd("query", "--db", col.data_dir, "--format", "json")
    log("  query: rc=%d %s" % (rc, err.strip()))
    assert rc != 0, (rc, out)
    assert "schema version 999" in err, err
    # Putting the version back makes the store usable again (nothing else was harmed).
    assert set_schema_version(store, 1)
    col.start()
    col.stop()
    assert any(e["msgid"] == "COLLECTOR_START" for e in col.query())


if __name__ == "__main__":
    harness.main([
        test_valid_config_ok,
        test_every_error_with_file_and_line,
        test_syntax_error_in_another_file,
        test_collector_refuses_bad_config,
        test_example_config,
        test_store_of_another_schema_version,
    ])
