"""Test PKIs for trailkeep integration tests, minted with the openssl CLI.

    from pki import TestPki, collector_config
    p = TestPki.standard()            # CA, server, clients, expired, revoked, other CA, CRL...
    p.cert("client")                 # -> ".../client.pem"; key: p.key("client")
    p.fingerprint("client")          # -> "sha-256:AB:CD:..."
    text = collector_config(p, client_auth="require", crl=True)
    Collector(config_text=text)      # "@DATA@" is filled in by the harness

Every certificate is EC P-256 / SHA-256. Leaves are issued with `openssl ca`
(a minimal config in the PKI folder) so that validity dates can be set in the
past and certificates can be revoked and listed in a CRL. Works with OpenSSL
3.0 (Debian 12). Standard library only.
"""
import base64
import hashlib
import os
import shutil
import ssl
import subprocess
import tempfile

OPENSSL = shutil.which("openssl") or "openssl"

_CA_CNF = """\
[ ca ]
default_ca = tk_ca

[ tk_ca ]
dir               = {dir}
database          = $dir/index.txt
new_certs_dir     = $dir/newcerts
serial            = $dir/serial
crlnumber         = $dir/crlnumber
certificate       = $dir/{name}.pem
private_key       = $dir/{name}.key
default_md        = sha256
default_days      = 365
default_crl_days  = 30
policy            = tk_policy_any
unique_subject    = no
copy_extensions   = none
email_in_dn       = no
preserve          = yes

[ tk_policy_any ]
commonName             = supplied
organizationName       = optional
organizationalUnitName = optional
countryName            = optional
stateOrProvinceName    = optional
localityName           = optional
emailAddress           = optional

[ req ]
distinguished_name = tk_dn
prompt             = no

[ tk_dn ]
CN = unused

[ tk_ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""


def _run(args, cwd=None):
    r = subprocess.run(args, capture_output=True, cwd=cwd)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(args), r.returncode,
                                                      r.stdout.decode(errors="replace"),
                                                      r.stderr.decode(errors="replace")))
    return r


def _subject(cn, org="trailkeep tests"):
    return "/O=%s/CN=%s" % (org, cn)


def _openssl_time(t):
    """'YYYYMMDDHHMMSSZ' for `openssl ca -startdate/-enddate`; t is a datetime or such a string."""
    if isinstance(t, str):
        return t
    return t.strftime("%Y%m%d%H%M%SZ")


def fingerprint_of(cert_path, style="rfc"):
    """SHA-256 of the DER certificate: "sha-256:AB:.." (RFC 5425), or "SHA256:AB:.." (rsyslog)."""
    with open(cert_path) as f:
        pem = f.read()
    # First certificate of the file (a chain file starts with the leaf).
    begin = pem.index("-----BEGIN CERTIFICATE-----")
    end = pem.index("-----END CERTIFICATE-----", begin) + len("-----END CERTIFICATE-----")
    der = ssl.PEM_cert_to_DER_cert(pem[begin:end] + "\n")
    hexpairs = ":".join("%02X" % b for b in hashlib.sha256(der).digest())
    if style == "rfc":
        return "sha-256:" + hexpairs
    if style == "rsyslog":
        return "SHA256:" + hexpairs
    raise ValueError(style)


def subject_rfc2253(cert_path):
    """The subject as OpenSSL prints it with -nameopt RFC2253 (what the collector stores)."""
    r = _run([OPENSSL, "x509", "-in", cert_path, "-noout", "-subject", "-nameopt", "RFC2253"])
    line = r.stdout.decode().strip()
    return line[len("subject="):].strip() if line.startswith("subject=") else line


def sign_leaf(ca_cert, ca_key, subject, out_base, eku="clientAuth", days=2):
    """Issues out_base.pem + out_base.key with exactly `subject` ("/O=x/CN=y", as `openssl req
    -subj` takes it: the attributes in that order, values verbatim), no SAN, signed by the CA
    whose certificate and key are given. Uses `openssl x509 -req`, which copies the subject as
    requested: no CA policy reorders or refuses it (several CNs, no CN, "CN=" inside a value)."""
    key, cert, csr = out_base + ".key", out_base + ".pem", out_base + ".csr"
    _run([OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
    os.chmod(key, 0o600)
    _run([OPENSSL, "req", "-new", "-key", key, "-out", csr, "-subj", subject])
    ext = out_base + "-ext.cnf"
    with open(ext, "w") as f:
        f.write("basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
                "extendedKeyUsage = %s\n" % eku)
    _run([OPENSSL, "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
          "-CAserial", out_base + ".srl", "-days", str(days), "-sha256", "-extfile", ext, "-out", cert])
    return cert


class CertAuthority:
    """A CA (EC P-256, self-signed) with an `openssl ca` database, in its own sub-folder."""

    def __init__(self, pki, name, cn):
        self.pki = pki
        self.name = name
        self.dir = os.path.join(pki.dir, name + "-db")
        os.makedirs(os.path.join(self.dir, "newcerts"), exist_ok=True)
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "index.txt.attr"), "w") as f:
            f.write("unique_subject = no\n")
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(self.dir, "crlnumber"), "w") as f:
            f.write("1000\n")
        self.cnf = os.path.join(self.dir, "ca.cnf")
        with open(self.cnf, "w") as f:
            f.write(_CA_CNF.format(dir=self.dir, name=name))
        key = pki.key(name)
        pki._genkey(key)
        # The CA certificate lives both at pki/<name>.pem and in the ca db (config above).
        _run([OPENSSL, "req", "-new", "-x509", "-config", self.cnf, "-key", key, "-out", pki.cert(name),
              "-days", "3650", "-subj", _subject(cn), "-sha256", "-extensions", "tk_ca_ext",
              "-set_serial", "1"])
        shutil.copy(pki.cert(name), os.path.join(self.dir, name + ".pem"))
        shutil.copy(key, os.path.join(self.dir, name + ".key"))

    def issue(self, name, cn, dns=(), ips=(), eku="clientAuth", startdate=None, enddate=None, days=365):
        """Issues pki/<name>.pem + .key. startdate/enddate: datetime or 'YYYYMMDDHHMMSSZ' (UTC)."""
        key = self.pki.key(name)
        self.pki._genkey(key)
        csr = os.path.join(self.dir, name + ".csr")
        _run([OPENSSL, "req", "-new", "-config", self.cnf, "-key", key, "-out", csr, "-subj", _subject(cn)])
        ext = os.path.join(self.dir, name + "-ext.cnf")
        san = ["DNS:" + d for d in dns] + ["IP:" + i for i in ips]
        with open(ext, "w") as f:
            f.write("[ leaf ]\nbasicConstraints = critical,CA:FALSE\n"
                    "keyUsage = critical,digitalSignature\n"
                    "extendedKeyUsage = %s\n"
                    "subjectKeyIdentifier = hash\n"
                    "authorityKeyIdentifier = keyid\n" % eku)
            if san:
                f.write("subjectAltName = %s\n" % ",".join(san))
        args = [OPENSSL, "ca", "-batch", "-config", self.cnf, "-in", csr, "-out", self.pki.cert(name),
                "-notext", "-extfile", ext, "-extensions", "leaf"]
        if startdate is not None:
            args += ["-startdate", _openssl_time(startdate)]
        if enddate is not None:
            args += ["-enddate", _openssl_time(enddate)]
        else:
            args += ["-days", str(days)]
        _run(args)
        return self.pki.cert(name)

    def revoke(self, name):
        _run([OPENSSL, "ca", "-batch", "-config", self.cnf, "-revoke", self.pki.cert(name),
              "-crl_reason", "keyCompromise"])

    def gencrl(self, out_name=None):
        """Writes pki/<out_name>.pem (default <ca>-crl.pem) listing every revoked certificate."""
        out = os.path.join(self.pki.dir, (out_name or self.name + "-crl") + ".pem")
        _run([OPENSSL, "ca", "-batch", "-config", self.cnf, "-gencrl", "-out", out, "-crldays", "30"])
        return out


class TestPki:
    """A folder of PEM files: <name>.pem (certificate) and <name>.key (private key)."""

    def __init__(self, directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="tk-pki-")
        os.makedirs(self.dir, exist_ok=True)
        self.cas = {}

    def cert(self, name):
        return os.path.join(self.dir, name + ".pem")

    def key(self, name):
        return os.path.join(self.dir, name + ".key")

    def base(self, name):
        """Path without extension: what Collector.connect(cert=...) takes for a foreign cert."""
        return os.path.join(self.dir, name)

    def _genkey(self, path):
        _run([OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path])
        os.chmod(path, 0o600)

    def make_ca(self, name="ca", cn="trailkeep test CA"):
        ca = CertAuthority(self, name, cn)
        self.cas[name] = ca
        return ca

    def self_signed(self, name, cn, dns=(), eku="clientAuth,serverAuth"):
        key = self.key(name)
        self._genkey(key)
        ext = os.path.join(self.dir, name + "-ext.cnf")
        with open(ext, "w") as f:
            f.write("[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\nCN = unused\n"
                    "[ v3 ]\nbasicConstraints = critical,CA:FALSE\n"
                    "keyUsage = critical,digitalSignature\nextendedKeyUsage = %s\n" % eku)
            if dns:
                f.write("subjectAltName = %s\n" % ",".join("DNS:" + d for d in dns))
        _run([OPENSSL, "req", "-new", "-x509", "-config", ext, "-key", key, "-out", self.cert(name),
              "-days", "365", "-subj", _subject(cn), "-extensions", "v3", "-sha256"])
        return self.cert(name)

    def fingerprint(self, name, style="rfc"):
        return fingerprint_of(self.cert(name), style)

    def subject(self, name):
        return subject_rfc2253(self.cert(name))

    @classmethod
    def standard(cls, directory=None):
        """The usual set:

        ca            trust anchor; ca-crl.pem its CRL (revoked listed)
        server        serverAuth, SAN DNS:localhost, IP:127.0.0.1
        client        clientAuth, SAN DNS:client.example.test
        client2       clientAuth, SAN DNS:other.example.org
        allowed       clientAuth, SAN DNS:allowed.example
        nosan         clientAuth, no SAN (CN nosan.example.test)
        expired       clientAuth, valid 2020-01-01 .. 2021-01-01
        revoked       clientAuth, revoked (keyCompromise), listed in ca-crl.pem
        otherca       another CA; foreign: clientAuth signed by it
        selfsigned    self-signed clientAuth certificate
        """
        import datetime
        p = cls(directory)
        ca = p.make_ca("ca", "trailkeep test CA")
        ca.issue("server", "localhost", dns=["localhost"], ips=["127.0.0.1"], eku="serverAuth")
        ca.issue("client", "client.example.test", dns=["client.example.test"])
        ca.issue("client2", "other.example.org", dns=["other.example.org"])
        ca.issue("allowed", "allowed.example", dns=["allowed.example"])
        ca.issue("nosan", "nosan.example.test")
        past = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
        ca.issue("expired", "expired.example.test", dns=["expired.example.test"],
                 startdate=past, enddate=past.replace(year=2021))
        ca.issue("revoked", "revoked.example.test", dns=["revoked.example.test"])
        ca.revoke("revoked")
        ca.gencrl()
        other = p.make_ca("otherca", "some other CA")
        other.issue("foreign", "client.example.test", dns=["client.example.test"])
        p.self_signed("selfsigned", "client.example.test", dns=["client.example.test"])
        return p


def _toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return _toml_str(str(v))


def collector_config(pki, client_auth="require", crl=True, permitted_peers=None, permitted_fingerprints=None,
                     session_tickets=None, limits=None, self_audit=None, listen="127.0.0.1:0",
                     data_dir="@DATA@", collector_name="tk-test-collector", log_level="info", io_threads=2,
                     server="server", ca="ca", extra_tls=None):
    """A full trailkeepd TOML config using `pki` (a TestPki). data_dir defaults to the harness's @DATA@.

    limits / self_audit / extra_tls: dicts of keys for [limits] / [self_audit] / [tls]."""
    lines = [
        "# written by tests/integration/pki.py",
        "data_dir = %s" % _toml_str(data_dir),
        "collector_name = %s" % _toml_str(collector_name),
        "log_level = %s" % _toml_str(log_level),
        "io_threads = %d" % io_threads,
        "",
        "[[listen.syslog]]",
        "address = %s" % _toml_str(listen),
        "",
        "[tls]",
        "cert_file = %s" % _toml_str(pki.cert(server)),
        "key_file = %s" % _toml_str(pki.key(server)),
        "ca_file = %s" % _toml_str(pki.cert(ca)),
        "client_auth = %s" % _toml_str(client_auth),
    ]
    if crl:
        lines.append("crl_file = %s" % _toml_str(os.path.join(pki.dir, ca + "-crl.pem")))
    if permitted_peers is not None:
        lines.append("permitted_peers = %s" % _toml_value(list(permitted_peers)))
    if permitted_fingerprints is not None:
        lines.append("permitted_fingerprints = %s" % _toml_value(list(permitted_fingerprints)))
    if session_tickets is not None:
        lines.append("session_tickets = %s" % _toml_value(bool(session_tickets)))
    for k, v in (extra_tls or {}).items():
        lines.append("%s = %s" % (k, _toml_value(v)))
    for table, values in (("limits", limits), ("self_audit", self_audit)):
        if values:
            lines += ["", "[%s]" % table] + ["%s = %s" % (k, _toml_value(v)) for k, v in values.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # Smoke test: mint the standard PKI and print what it made.
    p = TestPki.standard()
    for n in sorted(os.listdir(p.dir)):
        print(n)
    print(p.fingerprint("client"), p.subject("client"))
    print(collector_config(p, permitted_peers=["allowed.example"]))


_SHARED = None


def shared_pki():
    """One standard PKI per test process (minting certificates takes seconds)."""
    global _SHARED
    if _SHARED is None:
        _SHARED = TestPki.standard()
    return _SHARED
