#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/ from the repository's
test data and the unit tests' examples (tests/fuzz/README.md).

    python3 tests/fuzz/make_corpus.py [--trailkeep build/bin/trailkeep]

With --trailkeep, the verify_export seeds are real exports: signed agent
messages parsed by `trailkeep parse` exactly as the collector parses them.
Seeds are named by the SHA-1 of their content, as libFuzzer names the inputs
it keeps, so running this again adds nothing twice. Keep the whole corpus
small: a few hundred KB.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
KEY = b"\x42" * 32  # the key verify_export_fuzz (and verify_export_test) use
EPOCH = 1795410517123456789


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def testdata(name):
    with open(os.path.join(ROOT, "tests", "testdata", name), "rb") as f:
        return f.read()


def seed_lines():
    out = []
    for line in testdata("seed_syslog_lines.txt").split(b"\n"):
        if line and not line.startswith(b"#"):
            out.append(line.split(b"\t")[0])
    return out


# --- protobuf wire format, enough for the messages the seeds need ------------
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field_varint(num, value):
    return varint(num << 3) + varint(value)


def field_bytes(num, value):
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


# --- FuzzedDataProvider layout: strings from the front, integers from the back
class Provider:
    def __init__(self):
        self.front = bytearray()
        self.back = bytearray()  # in consumption order; reversed at the end

    def byte(self, value):  # ConsumeBool / ConsumeIntegralInRange of <= 256 values
        self.back.append(value & 0xFF)

    def string(self, data):  # ConsumeRandomLengthString
        self.front += data.replace(b"\\", b"\\\\") + b"\\n"

    def bytes(self):
        return bytes(self.front) + bytes(reversed(self.back))


# --- syslog ------------------------------------------------------------------
def sign(msg_unsigned):
    mac = hmac.new(KEY, msg_unsigned, hashlib.sha256).digest()
    return msg_unsigned.replace(b'm=""', b'm="' + mac.hex().encode() + b'"', 1), mac


def chained(seq, prev, body, host=b"web01.test", app=b"sshd", heartbeat=False):
    if heartbeat:
        element = b'[tkhb@32473 e="%d" s="%d" h="%s" m=""]' % (EPOCH, seq, prev.hex().encode())
    else:
        element = b'[tk@32473 e="%d" s="%d" p="%s" m=""]' % (EPOCH, seq, prev.hex().encode())
    return sign(b"<86>1 2026-11-23T05:08:%02d.858884+00:00 %s %s 4242 - %s %s" %
                (seq % 60, host, app, element, body))


def chain_messages():
    prev = b"\0" * 32
    out = []
    bodies = [b"Accepted password for root from 192.0.2.7 port 50514 ssh2",
              b"Failed password for invalid user admin from 192.0.2.9 port 2222 ssh2",
              b"pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)"]
    for seq, body in enumerate(bodies, 1):
        msg, prev = chained(seq, prev, body)
        out.append(msg)
    out.append(chained(3, prev, b"", app=b"trailkeep", heartbeat=True)[0])
    return out


def syslog_seeds():
    lines = seed_lines() + chain_messages() + [
        b"<13>1 2026-11-23T05:08:34.858884+00:00 myhost myapp 42 ID7 [ex@32473 k=\"v\"] hello",
        b"<34>Oct 11 22:14:15 mymachine su: bad \xff\xfe su",
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
        b"[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
        b"\xef\xbb\xbfAn application event",
        b"<13>Dec 31 23:59:59 host app[1]: year boundary",
        b"2021-12-06T11:22:33.123+01:00 host app: ISO without PRI",
        b"<13>1 - - - - - -",
        b"<0>1 2026-02-30T00:00:00+25:00 h a - - - impossible time",
    ]
    for i, line in enumerate(lines):
        # The last byte picks the receive time (syslog_fuzz_common.h): mostly
        # 2026-11-23, every tenth line a year boundary.
        selector = bytes([1 + i % 2]) if i % 10 == 0 else b"\0"
        write("rfc5424_fuzz", line + selector)
        write("rfc3164_fuzz", line + selector)


def framer_seeds():
    lines = seed_lines()[:40]
    msgs = chain_messages()
    streams = [
        b"\n".join(lines) + b"\n",
        b"".join(b"%d %s" % (len(m), m) for m in msgs),
        b"11 <13>1 hello14 line1\nline2 x\n",
        b"2021-12-06T11:22:33Z host app: iso line\n<13>plain\r\n",
        b"0 x\n", b"01 x", b"12345678901 x", b"9" * 20,
    ]
    for s in streams:
        write("octet_framer_fuzz", bytes([255, 7]) + s)
        write("octet_framer_fuzz", bytes([16, 1]) + s)


# --- auditd ------------------------------------------------------------------
def audit_groups():
    groups, current = [], []
    for line in testdata("audit_seed_records.log").split(b"\n"):
        if not line:
            continue
        current.append(line)
        if b"type=EOE" in line or len(current) >= 6:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def audit_seeds():
    inventory = b'{"users":{"0":"root","1000":"alice"},"groups":{"0":"root","1000":"alice"}}'
    groups = audit_groups()
    for i, g in enumerate(groups):
        body = b"\n".join(g) + b"\n"
        write("audit_record_fuzz", (inventory + b"\n" if i % 2 == 0 else b"") + body)
    write("audit_record_fuzz", b"node=web01 type=USER_LOGIN msg=audit(1617691728.802:20322): "
          b"pid=1 uid=0 auid=1000 ses=3 msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" "
          b"hostname=? addr=192.0.2.7 terminal=ssh res=success'\n")

    def frame(typ, seq, payload=b""):
        return struct.pack("<IBBIHI", 0xFF0000FE, 0, 0, typ, len(payload), seq) + payload

    records = [l for g in groups[:4] for l in g]
    streams = [
        b"".join(frame(0, i + 1, r) for i, r in enumerate(records[:8])),
        frame(1, 9) + frame(0, 10, records[0]),
        b"\n".join(records[:5]) + b"\n",
        b"\0trailkeep/1 port60\n",
        b"\0trailkeep/1 port60\n\x16\x03\x01\x00\x05hello",
        frame(0, 1, b"x" * 300),
        b"\xfe\x00\x00\xff\x01" + b"\0" * 11,
    ]
    for s in streams:
        write("audit_remote_frame_fuzz", bytes([0, 5]) + s)
        write("audit_remote_frame_fuzz", bytes([64, 1]) + s)


# --- agent wire, spool ---------------------------------------------------------
def collector_seeds():
    resume = field_bytes(1, field_bytes(1, "web01.test") + field_varint(2, EPOCH) +
                         field_varint(3, 42) + field_bytes(4, b"\x11" * 32))
    ack = field_bytes(2, field_varint(1, EPOCH) + field_varint(2, 43))
    bye = field_bytes(3, field_bytes(1, b"replaced by a newer connection \xff"))
    # The disk-full back-off: Pause (with its reason), later Proceed.
    pause = field_bytes(4, field_bytes(1, b"the collector's disk is full \xff"))
    proceed = field_bytes(5, b"")
    for frames in ([resume, ack, ack], [bye], [resume, bye], [ack], [resume, ack, pause, proceed, ack],
                   [pause, bye], [proceed]):
        stream = b"".join(b"%d %s" % (len(f), f) for f in frames)
        write("collector_frame_fuzz", bytes([63]) + stream)
        write("collector_frame_fuzz", bytes([2]) + stream)
    write("collector_frame_fuzz", bytes([10]) + b"5 hello\nline\n")


def framed(payload):
    import zlib
    return struct.pack(">II", len(payload), zlib.crc32(payload)) + payload


def spool_record(seq, msg, offset):
    return (field_varint(1, seq) + field_bytes(2, "secure") + field_varint(3, 2049) +
            field_varint(4, 1234) + field_varint(5, offset) + field_bytes(6, msg))


def spool_state(last_seq, head, acked):
    pos = (field_bytes(1, "secure") + field_bytes(2, b"/var/log/secure") + field_varint(3, 2049) +
           field_varint(4, 1234) + field_varint(5, 300) + field_bytes(6, b"tail bytes\n"))
    return (field_varint(1, EPOCH) + field_varint(2, last_seq) + field_bytes(3, head) +
            field_varint(4, acked) + field_bytes(5, pos))


def spool_seeds():
    prev = b"\0" * 32
    records, macs = [], []
    for seq in range(1, 5):
        msg, prev = chained(seq, prev, b"line %d" % seq)
        records.append(spool_record(seq, msg, seq * 100))
        macs.append(prev)

    # (state payload or None, [(segment first seq, [(framed?, payload)])], ack)
    layouts = [
        (spool_state(2, macs[1], 1), [(1, [(True, r) for r in records])], 2),
        (spool_state(4, macs[3], 0), [(1, [(True, records[0]), (True, records[1])]),
                                      (3, [(True, records[2]), (True, records[3])])], 3),
        (None, [(1, [(True, r) for r in records[:3]] + [(False, framed(records[3])[:13])])], 0),
        (spool_state(4, macs[3], 0), [(1, [(True, records[0]), (False, b"\0\0\0\x05junk")])], 0),
        (spool_state(1, macs[0], 0), [], 0),
    ]
    for state, segments, ack in layouts:
        p = Provider()
        p.byte(1 if state is not None else 0)
        if state is not None:
            p.byte(1)
            p.byte(1)
            p.string(state)
        p.byte(len(segments))
        for first, recs in segments:
            p.byte(first)
            p.byte(len(recs))
            for is_framed, payload in recs:
                p.byte(1 if is_framed else 0)
                p.string(payload)
        p.byte(ack)
        write("spool_fuzz", p.bytes())


# --- API -----------------------------------------------------------------------
TARGETS = [
    "/v1/events?cursor=0&limit=5",
    "/v1/events?host=web-*&since=2026-11-23T05:00:00Z&until=2026-11-24T00:00:00%2B01:00",
    "/v1/events?ref=FIA_UIA_EXT.1&q=Failed+password&format=ndjson&since=-1h",
    "/v1/events?host=web-%c3%28&q=%ff%fe",
    "/v1/tail?backlog=10&host=*%5B%21-web-%5D*",
    "/v1/tail?cursor=18446744073709551615",
    "/v1/integrity?since=24h&kind=bad_mac&format=ndjson&limit=10",
    "/v1/verify?host=web01",
    "/v1/report/auth?failed=true&since=7d&host=api-*&format=text",
    "/v1/report/ndcpp?since=2026-02-30T00:00:00%2B25:00",
    "/v1/hosts?\xff\xfe",
    "/metrics",
]


def api_seeds():
    for t in TARGETS:
        write("export_request_fuzz", t.encode("latin-1"))
        req = (b"GET " + t.encode("latin-1") + b" HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"
               b"Authorization: Bearer 0123456789abcdef\r\n\r\n")
        write("http_request_fuzz", bytes([127]) + req)
    write("http_request_fuzz", bytes([3]) +
          b"GET /v1/events?limit=1 HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"
          b"GET /v1/tail HTTP/1.1\r\nHost: a\r\nAuthorization: bearer x\r\n"
          b"Authorization: Bearer y\r\nConnection: close\r\n\r\n")
    write("http_request_fuzz", bytes([50]) +
          b"POST /v1/events HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"5\r\nhello\r\n0\r\n\r\n")


# --- configuration and rules -----------------------------------------------------
def config_seeds():
    with open(os.path.join(ROOT, "deploy", "agent.toml"), "rb") as f:
        write("agent_config_fuzz", f.read())
    write("agent_config_fuzz", b'[agent]\nhost = "web01"\nspool_dir = "/var/spool/tk"\n'
          b'hmac_key_file = "/etc/trailkeep/key"\n[collector]\naddress = "[::1]:6514"\n'
          b'ca_file = "ca.pem"\npinned_sha256 = "sha-256:AB:CD"\n[[input]]\nname = "secure"\n'
          b'path = "/var/log/*.log"\nfacility = "authpriv"\nseverity = "info"\n'
          b'[audisp]\nsocket = "/run/tk.sock"\n')
    write("agent_config_fuzz", b'name = "x"\npath = "rel/p"\nenabled = true\ncount = 7\n'
          b'hosts = ["a", "b"]\nfiles = ["f"]\n[t]\nk = 1979-05-27T07:32:00Z\n')
    with open(os.path.join(ROOT, "deploy", "ndcpp_rules.toml"), "rb") as f:
        rules = f.read()
    blocks = rules.split(b"\n[[rule]]")
    write("rules_fuzz", b"\n[[rule]]".join(blocks[:12]))
    write("rules_fuzz", b'[[rule]]\nname = "clock"\naudit_type = ["SYSCALL"]\n'
          b'audit_fields = { syscall = ["clock_settime"], success = "yes" }\n'
          b'refs = ["FPT_STM_EXT.1"]\ndescription = "time changed"\n')
    write("rules_fuzz", b'[[rule]]\nname = "junos"\napp = ["/usr/local/sbin/opensips"]\n'
          b'msgid = ["LOGIN"]\nmsg = \'^(a|b)+$\'\nsd_id = "junos@2636.1.1.1.2.164"\n'
          b'sd = { username = "^root$" }\nrefs = ["FIA_UIA_EXT.1"]\ndescription = "d"\n')


# --- verify --export, the store's blocks ---------------------------------------------
def exported(trailkeep, raw):
    out = subprocess.run([trailkeep, "parse"], input=raw + b"\n", capture_output=True,
                         check=True).stdout
    j = json.loads(out.decode().splitlines()[0])
    j["receive_time"] = "2026-11-23T05:10:00.000000Z"
    j["enterprise_number"] = 32473
    for el in j["structured_data"]:  # the chain fields the store keeps
        if el["id"] == "tk@32473":
            v = {p["name"]: p["value"] for p in el["params"]}
            j["chain"] = {"e": v["e"], "s": int(v["s"]), "p": v["p"], "m": v["m"]}
    return j


def verify_seeds(trailkeep):
    events = []
    for i, raw in enumerate(chain_messages()[:3], 1):
        j = exported(trailkeep, raw)
        j["ingest_seq"] = i
        j["integrity"] = "verified"
        events.append(j)
    lines = [json.dumps(e, separators=(",", ":")) for e in events]
    write("verify_export_fuzz", "\n".join(lines) + '\n{"next_cursor":3}\n')
    edited = dict(events[1], msg="Accepted password for nobody")
    write("verify_export_fuzz", "\n".join([lines[0], json.dumps(edited), lines[2]]) + "\n")
    # A grouped audit event as the collector exports one (its members unsigned here).
    recs = audit_groups()[0]
    group = {"host": "web01.test", "ingest_seq": 9, "raw_b64": base64.b64encode(
        b"\n".join(recs)).decode(), "app_name": "auditd", "msgid": "SYSCALL", "chain": None,
        "audit": {"node": "", "serial": 13, "complete": True, "records": [
            {"type": r.split(b" ")[0][5:].decode(), "text": r.decode(), "chain_seq": k + 1}
            for k, r in enumerate(recs)]}}
    write("verify_export_fuzz", lines[0] + "\n" + json.dumps(group) + "\n")


def event_block_seeds():
    peer = field_bytes(1, "192.0.2.9:50514") + field_varint(2, 1) + field_bytes(3, "CN=web01")
    sd = field_bytes(1, "ex@32473") + field_bytes(2, field_bytes(1, "k") + field_bytes(2, "v"))
    event = (field_varint(1, 7) + field_varint(2, 1795410600000000) + field_bytes(3, "web01") +
             field_bytes(4, peer) + field_varint(5, 1) + field_varint(7, 13) +
             field_bytes(13, "web01") + field_bytes(14, "sshd") + field_bytes(17, sd) +
             field_bytes(18, b"hello") + field_bytes(20, b"<13>1 - web01 sshd - - - hello") +
             field_bytes(23, "FIA_UIA_EXT.1"))
    bad = field_varint(1, 8) + field_bytes(3, b"web-\xc3\x28") + field_bytes(21, b"\xff\xfe")
    audit = field_bytes(30, field_bytes(1, "node") + field_bytes(4, field_bytes(1, "SYSCALL") +
                                                                  field_bytes(2, b"type=SYSCALL")))
    write("event_block_fuzz", field_varint(1, 3) + field_bytes(2, event) + field_bytes(2, bad))
    write("event_block_fuzz", field_varint(1, 4) + field_bytes(2, event + audit))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trailkeep", help="the agent binary, for real verify_export seeds")
    args = ap.parse_args()
    syslog_seeds()
    framer_seeds()
    audit_seeds()
    collector_seeds()
    spool_seeds()
    api_seeds()
    config_seeds()
    event_block_seeds()
    if args.trailkeep:
        verify_seeds(args.trailkeep)
    else:
        print("make_corpus: no --trailkeep: verify_export seeds left as they are", file=sys.stderr)


if __name__ == "__main__":
    main()
