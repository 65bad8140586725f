#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/audit/audit_event.h"
#include "common/audit/audit_grouper.h"
#include "common/audit/audit_record.h"
#include "common/audit/identity_map.h"
#include "common/audit/interpret.h"
#include "common/audit/node_name.h"
#include "common/audit/syscall_names.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::audit {
namespace {

// Records of seed documents 001 and 002 (docs/ndcpp.md, 'Seed documents').
constexpr char kSyscall[] =
    "type=SYSCALL msg=audit(1453208093.787:13): arch=c000003e syscall=59 per=400000 success=yes "
    "exit=0 a0=16874a8 a1=16874d0 a2=1687608 a3=0 items=1 ppid=4053 pid=4059 auid=1000 uid=1000 "
    "gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts1 ses=4 "
    "comm=\"VMylO\" exe=\"/tmp/VMylO\" key=\"exec\"";
constexpr char kPath[] =
    "type=PATH msg=audit(1453208093.787:13): item=0 name=\"/tmp/VMylO\" inode=277938 dev=08:01 "
    "mode=0100755 ouid=1000 ogid=1000 rdev=00:00";
constexpr char kUserAuth[] =
    "type=USER_AUTH msg=audit(1709742862.344:2320): pid=13394 uid=0 auid=4294967295 "
    "ses=4294967295 msg='op=PAM:authentication grantors=? acct=\"?\" exe=\"/usr/sbin/sshd\" "
    "hostname=172.18.4.99 addr=172.18.4.99 terminal=ssh res=failed'";

AuditRecord Parse(const std::string& line) {
  AuditRecord r;
  EXPECT_TRUE(ParseAuditRecord(line, &r)) << line;
  return r;
}

IdentityMap Map() {
  auto m = IdentityMap::FromInventoryJson(
      R"({"users":{"0":"root","1000":"alice"},"groups":{"0":"root","1000":"staff"}})");
  EXPECT_TRUE(m.ok());
  return std::move(m).value();
}

// name -> interpreted value of one record.
std::map<std::string, v1::AuditField> Interpret(const std::string& line, const IdentityMap* ids) {
  v1::AuditRecord out;
  InterpretRecord(Parse(line), ids, &out);
  std::map<std::string, v1::AuditField> m;
  for (const auto& f : out.fields()) m.emplace(f.name(), f);
  return m;
}

TEST(AuditRecord, ParsesHeaderAndFields) {
  const std::string line = std::string("node=web01 ") + kUserAuth;
  const AuditRecord r = Parse(line);
  EXPECT_EQ(r.node, "web01");
  EXPECT_EQ(r.type, "USER_AUTH");
  EXPECT_EQ(r.time, "1709742862.344");
  EXPECT_EQ(r.serial, 2320u);
  std::vector<std::string> keys;
  ForEachAuditField(r.body, [&](const AuditFieldView& f) { keys.emplace_back(f.key); });
  EXPECT_EQ(keys, (std::vector<std::string>{"pid", "uid", "auid", "ses", "op", "grantors", "acct",
                                            "exe", "hostname", "addr", "terminal", "res"}));
  AuditRecord bad;
  EXPECT_FALSE(ParseAuditRecord("Failed password for root from 10.0.0.1", &bad));
  EXPECT_FALSE(ParseAuditRecord("type=SYSCALL msg=audit(17:x): a=1", &bad));
}

TEST(Interpret, ArchSyscallExitPerArch) {
  auto m = Interpret(kSyscall, nullptr);
  EXPECT_EQ(m["arch"].value(), "x86_64");
  EXPECT_EQ(m["syscall"].value(), "execve");
  EXPECT_EQ(SyscallName(0xc00000b7, 203), "connect");  // aarch64
  EXPECT_EQ(SyscallName(0x40000003, 11), "execve");    // i386
  EXPECT_EQ(ArchName(0x40000003), "i386");
  EXPECT_EQ(ArchName(0xc00000b7), "aarch64");
  EXPECT_EQ(SyscallName(0xc000003e, 99999), "");
  auto e = Interpret(
      "type=SYSCALL msg=audit(1.2:3): arch=c000003e syscall=257 success=no exit=-2 a0=3", nullptr);
  EXPECT_EQ(e["exit"].value(), "ENOENT(No such file or directory)");
  EXPECT_EQ(e["syscall"].value(), "openat");
}

TEST(Interpret, IdsFromTheIdentityMap) {
  const IdentityMap ids = Map();
  auto m = Interpret(kSyscall, &ids);
  EXPECT_EQ(m["uid"].value(), "alice");
  EXPECT_EQ(m["auid"].raw(), "1000");
  EXPECT_EQ(m["egid"].value(), "staff");
  EXPECT_FALSE(m["uid"].unresolved());
  auto p = Interpret(kPath, &ids);
  EXPECT_EQ(p["ouid"].value(), "alice");
  EXPECT_EQ(p["ogid"].value(), "staff");
  auto u = Interpret(kUserAuth, &ids);
  EXPECT_EQ(u["uid"].value(), "root");
  EXPECT_EQ(u["auid"].value(), "unset");
  EXPECT_EQ(u["ses"].value(), "unset");
  auto unknown = Interpret("type=LOGIN msg=audit(1.2:3): pid=1 uid=74 res=1", &ids);
  EXPECT_EQ(unknown["uid"].value(), "unknown(74)");
  EXPECT_TRUE(unknown["uid"].unresolved());
  EXPECT_EQ(unknown["res"].value(), "yes");
}

TEST(Interpret, WithoutMapIdsStayNumbersMarkedUnresolved) {
  auto m = Interpret(kSyscall, nullptr);
  EXPECT_EQ(m["uid"].value(), "1000");
  EXPECT_TRUE(m["uid"].unresolved());
  EXPECT_EQ(m["auid"].raw(), "1000");
}

TEST(Interpret, HexProctitleCmdAndSaddr) {
  auto m =
      Interpret("type=PROCTITLE msg=audit(1.2:3): proctitle=736574656E666F7263650030", nullptr);
  EXPECT_EQ(m["proctitle"].value(), "setenforce 0");
  auto q = Interpret("type=PROCTITLE msg=audit(1.2:3): proctitle=\"bash\"", nullptr);
  EXPECT_EQ(q.count("proctitle"), 0u);  // quoted: already text
  auto c = Interpret(
      "type=USER_CMD msg=audit(1.2:3): pid=1 msg='cwd=\"/\" cmd=6C73202F726F6F74 "
      "res=success'",
      nullptr);
  EXPECT_EQ(c["cmd"].value(), "ls /root");
  std::string s;
  ASSERT_TRUE(DecodeSaddr("02000D3DC0A80101000000000000000000", &s));
  EXPECT_EQ(s, "{ saddr_fam=inet laddr=192.168.1.1 lport=3389 }");
  ASSERT_TRUE(DecodeSaddr("0A000016000000000000000000000000000000000000000100000000", &s));
  EXPECT_EQ(s, "{ saddr_fam=inet6 laddr=::1 lport=22 }");
  ASSERT_TRUE(DecodeSaddr("01002F6465762F6C6F6700", &s));
  EXPECT_EQ(s, "{ saddr_fam=local path=/dev/log }");
  EXPECT_FALSE(DecodeSaddr("zz", &s));
}

TEST(Grouper, InterleavedEventsCloseOnEoe) {
  AuditGrouper g;
  std::vector<AuditGroup> closed;
  auto add = [&](const std::string& host, const std::string& line, int64_t now) {
    g.Add(host, Parse(line), GroupMember{line, 0}, now, &closed);
  };
  add("h1", "type=SYSCALL msg=audit(1.0:10): arch=c000003e syscall=59", 0);
  add("h1", "type=SYSCALL msg=audit(1.0:11): arch=c000003e syscall=2", 1);
  add("h2", "type=SYSCALL msg=audit(1.0:10): arch=c000003e syscall=1", 1);  // other host
  add("h1", "type=PATH msg=audit(1.0:10): item=0 name=\"/x\"", 2);
  add("h1", "type=EOE msg=audit(1.0:11):", 3);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].serial, 11u);
  EXPECT_TRUE(closed[0].complete);
  add("h1", "type=EOE msg=audit(1.0:10):", 4);
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_EQ(closed[1].serial, 10u);
  EXPECT_EQ(closed[1].records.size(), 3u);
  EXPECT_EQ(closed[1].records[1].text, "type=PATH msg=audit(1.0:10): item=0 name=\"/x\"");
  EXPECT_EQ(g.open(), 1u);  // h2's
}

TEST(Grouper, SingleRecordTypesCloseAtOnceOthersOnTimeout) {
  AuditGrouper g(AuditGrouperOptions{.timeout_us = 100, .max_open = 10});
  std::vector<AuditGroup> closed;
  g.Add("h", Parse(kUserAuth), GroupMember{kUserAuth, 7}, 0, &closed);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_TRUE(closed[0].complete);
  EXPECT_EQ(closed[0].records[0].chain_seq, 7u);
  g.Add("h", Parse(kSyscall), GroupMember{kSyscall, 8}, 50, &closed);
  g.Expire(149, &closed);
  EXPECT_EQ(closed.size(), 1u);
  g.Expire(150, &closed);
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_FALSE(closed[1].complete);
}

TEST(Grouper, BoundedOpenGroups) {
  AuditGrouper g(AuditGrouperOptions{.timeout_us = 1000, .max_open = 2});
  std::vector<AuditGroup> closed;
  for (int i = 0; i < 3; ++i) {
    const std::string line = "type=SYSCALL msg=audit(1.0:" + std::to_string(i) + "): arch=0";
    g.Add("h", Parse(line), GroupMember{line, 0}, i, &closed);
  }
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].serial, 0u);
  g.Flush(&closed);
  EXPECT_EQ(closed.size(), 3u);
}

TEST(AuditEvent, BuildsOneEventWithNodeAndRecordsByteExact) {
  AuditGroup group;
  group.host = "web01.example.com";
  group.serial = 13;
  group.complete = true;
  group.records = {{kSyscall, 1}, {kPath, 2}};
  const IdentityMap ids = Map();
  v1::Event e;
  BuildAuditEvent(group, &ids, "web01", &e);
  EXPECT_EQ(e.app_name(), "auditd");
  EXPECT_EQ(e.msgid(), "SYSCALL");
  EXPECT_EQ(e.raw(), std::string(kSyscall) + "\n" + kPath);
  EXPECT_EQ(e.audit().node(), "web01");
  EXPECT_EQ(e.audit().time(), "1453208093.787");
  EXPECT_EQ(e.event_time_us(), 1453208093787000);
  ASSERT_EQ(e.audit().records_size(), 2);
  EXPECT_EQ(e.audit().records(1).text(), kPath);
  EXPECT_EQ(e.audit().records(1).type(), "PATH");
  EXPECT_TRUE(e.audit().identity_map());
}

// A peer's record time that does not fit microseconds in 64 bits (or is
// negative, or has more than three digits of milliseconds) is malformed:
// event time 0, as for any malformed time. It overflowed a signed multiply
// (undefined behaviour; found by audit_record_fuzz).
TEST(AuditEvent, TimeOutOfRangeIsMalformed) {
  for (const char* time : {"17000000700000000.700", "9223372036854.775", "-5.000", "5.1000"}) {
    SCOPED_TRACE(time);
    AuditGroup group;
    group.host = "web01";
    const std::string line = std::string("type=USER_LOGIN msg=audit(") + time + ":1): pid=1";
    group.records = {{line, 1}};
    v1::Event e;
    BuildAuditEvent(group, nullptr, "web01", &e);
    EXPECT_EQ(e.audit().time(), time);
    EXPECT_EQ(e.event_time_us(), 0);
  }
  AuditGroup group;
  group.records = {{"type=USER_LOGIN msg=audit(9223372036853.999:1): pid=1", 1}};
  v1::Event e;
  BuildAuditEvent(group, nullptr, "web01", &e);
  EXPECT_EQ(e.event_time_us(), 9223372036853999000);  // the largest second that fits
}

TEST(AuditEvent, RecordsWithNodeKeepTheirs) {
  AuditGroup group;
  group.host = "web01.example.com";
  group.node = "db7";
  group.records = {{kSyscall, 1}};
  v1::Event e;
  BuildAuditEvent(group, nullptr, "web01", &e);
  EXPECT_EQ(e.audit().node(), "db7");
}

TEST(NodeName, ParsesAuditdsFiveModesOnly) {
  NameFormat f = NameFormat::kHostname;
  for (const char* name : {"none", "hostname", "fqd", "numeric", "user"}) {
    EXPECT_TRUE(ParseNameFormat(name, &f)) << name;
  }
  EXPECT_EQ(f, NameFormat::kUser);
  EXPECT_FALSE(ParseNameFormat("bogus", &f));
  EXPECT_FALSE(ParseNameFormat("HOSTNAME", &f));
  EXPECT_FALSE(ParseNameFormat("", &f));
}

TEST(NodeName, EachModeForAnAuthenticatedAgent) {
  const NodeIdentity agent{"web01.example.com", "web01.dc1.example.com", "192.0.2.7"};
  EXPECT_EQ(NodeName({NameFormat::kNone, "x"}, agent), "");
  EXPECT_EQ(NodeName({NameFormat::kHostname, "x"}, agent), "web01");
  EXPECT_EQ(NodeName({NameFormat::kFqd, "x"}, agent), "web01.dc1.example.com");
  EXPECT_EQ(NodeName({NameFormat::kNumeric, "x"}, agent), "192.0.2.7");
  EXPECT_EQ(NodeName({NameFormat::kUser, "site-a"}, agent), "site-a");
  // No DNS name in the certificate: fqd is the certificate's host.
  EXPECT_EQ(NodeName({NameFormat::kFqd, ""}, {"web01.example.com", "", "192.0.2.7"}),
            "web01.example.com");
}

TEST(NodeName, AnUnauthenticatedPeerIsKnownByItsAddressOnly) {
  const NodeIdentity stock{"", "", "2001:db8::7"};
  EXPECT_EQ(NodeName({NameFormat::kHostname, ""}, stock), "2001:db8::7");
  EXPECT_EQ(NodeName({NameFormat::kFqd, ""}, stock), "2001:db8::7");
  EXPECT_EQ(NodeName({NameFormat::kNumeric, ""}, stock), "2001:db8::7");
  EXPECT_EQ(NodeName({NameFormat::kNone, ""}, stock), "");
}

TEST(NodeName, ATunnelNamedByItsAddressIsNotCutAtTheFirstDot) {
  EXPECT_EQ(NodeName({NameFormat::kHostname, ""}, {"198.51.100.4", "198.51.100.4", "198.51.100.4"}),
            "198.51.100.4");
  EXPECT_EQ(
      NodeName({NameFormat::kHostname, ""}, {"edge1", "edge1.example.net", "edge1.example.net"}),
      "edge1");
}

}  // namespace
}  // namespace trailkeep::audit
