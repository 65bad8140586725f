// Journal entries as events (agent/journal_fields.h): the mapping of
// journald's syslog forwarding, read back by the collector's own parser;
// journal cursors and the losses found from them (agent/journal_loss.h);
// and the journal input's configuration keys.

#include "agent/journal_fields.h"

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "agent/agent_config.h"
#include "agent/journal_loss.h"
#include "common/base/time_format.h"
#include "common/syslog/syslog_parser.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::agent {
namespace {

constexpr int64_t kReadUs = 1767225600000000;         // 2026-01-01T00:00:00Z
constexpr int64_t kEntryUs = 1767225599123456;        // a second earlier
const JournalSource kSource{"journal", 32473, 1, 5};  // user.notice for entries without

JournalFields Entry(std::initializer_list<std::string_view> data) {
  JournalFields f;
  f.realtime_us = kEntryUs;
  for (auto d : data) f.Take(d);
  return f;
}

// The event of `parts` as the collector stores it.
v1::Event AsStored(const MessageParts& parts) {
  ChainPosition chain;
  chain.epoch = 1;
  chain.seq = 1;
  chain.prev_mac.assign(32, '\0');
  const std::string message = FormatEventMessage(parts, "node1.agent", chain);
  v1::Event e;
  ParseSyslog(message, kReadUs, &e);
  EXPECT_EQ(e.parse_error(), "") << message;
  return e;
}

v1::Event AsStored(const JournalFields& f, const JournalSource& source = kSource) {
  return AsStored(PartsFromJournal(f, source));
}

std::string Param(const v1::Event& e, const std::string& id, const std::string& name) {
  for (const auto& el : e.structured_data()) {
    if (el.id() != id) continue;
    for (const auto& p : el.params()) {
      if (p.name() == name) return p.value();
    }
  }
  return "(absent)";
}

TEST(JournalFieldsTest, MapsAsJournaldForwardsToSyslog) {
  const v1::Event e = AsStored(Entry({
      "MESSAGE=Accepted publickey for alice from 192.0.2.7 port 51234 ssh2",
      "SYSLOG_IDENTIFIER=sshd",
      "_PID=4242",
      "PRIORITY=6",
      "SYSLOG_FACILITY=10",
      "_HOSTNAME=node1",
      "_UID=0",
      "_GID=0",
      "_COMM=sshd",
      "_EXE=/usr/sbin/sshd",
      "_SYSTEMD_UNIT=ssh.service",
      "_BOOT_ID=0123456789abcdef0123456789abcdef",
      "_CMDLINE=sshd: alice [priv]",
      "SYSLOG_TIMESTAMP=Jan  1 00:00:00 ",
  }));
  EXPECT_EQ(e.pri(), 10 * 8 + 6);  // authpriv.info
  EXPECT_EQ(e.event_time_us(), kEntryUs);
  EXPECT_EQ(e.hostname(), "node1.agent");  // the agent's host, never _HOSTNAME
  EXPECT_EQ(e.app_name(), "sshd");
  EXPECT_EQ(e.procid(), "4242");
  EXPECT_EQ(e.msgid(), "");
  EXPECT_EQ(e.msg(), "Accepted publickey for alice from 192.0.2.7 port 51234 ssh2");
  EXPECT_EQ(Param(e, "tkin@32473", "name"), "journal");
  EXPECT_EQ(Param(e, "tkjournal@32473", "_HOSTNAME"), "node1");
  EXPECT_EQ(Param(e, "tkjournal@32473", "_UID"), "0");
  EXPECT_EQ(Param(e, "tkjournal@32473", "_GID"), "0");
  EXPECT_EQ(Param(e, "tkjournal@32473", "_COMM"), "sshd");
  EXPECT_EQ(Param(e, "tkjournal@32473", "_EXE"), "/usr/sbin/sshd");
  EXPECT_EQ(Param(e, "tkjournal@32473", "_SYSTEMD_UNIT"), "ssh.service");
  EXPECT_EQ(Param(e, "tkjournal@32473", "_BOOT_ID"), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(Param(e, "tkjournal@32473", "_CMDLINE"), "(absent)");
}

TEST(JournalFieldsTest, FallsBackWhereTheEntryHasNoValue) {
  // Kernel and stdout entries: no identifier (then _COMM), no PRIORITY or a
  // bad one (the input's severity), no _PID (then SYSLOG_PID), no facility.
  JournalSource src = kSource;
  src.facility = 3;  // daemon
  src.severity = 4;  // warning
  v1::Event e = AsStored(Entry({"MESSAGE=x", "_COMM=chronyd", "SYSLOG_PID=77", "PRIORITY=9"}), src);
  EXPECT_EQ(e.pri(), 3 * 8 + 4);
  EXPECT_EQ(e.app_name(), "chronyd");
  EXPECT_EQ(e.procid(), "77");
  EXPECT_EQ(Param(e, "tkjournal@32473", "_COMM"), "chronyd");
  // Nothing at all: NILVALUEs, no tkjournal element, no MSG.
  e = AsStored(Entry({"SYSLOG_FACILITY=x"}));
  EXPECT_EQ(e.pri(), 1 * 8 + 5);
  EXPECT_EQ(e.app_name(), "");
  EXPECT_EQ(e.procid(), "");
  EXPECT_EQ(e.msg(), "");
  EXPECT_EQ(Param(e, "tkjournal@32473", "_UID"), "(absent)");
  // The kernel's facility 0 is kept.
  EXPECT_EQ(AsStored(Entry({"MESSAGE=k", "PRIORITY=2", "SYSLOG_FACILITY=0"})).pri(), 2);
}

TEST(JournalFieldsTest, BinaryMessageAndFieldsStaySafe) {
  // MESSAGE is kept byte for byte (the store escapes what is not UTF-8);
  // an SD value must be UTF-8, so invalid bytes become \xHH; '"', '\' and
  // ']' are escaped.
  const std::string message("bin\xff\xfe\x00\x01 line1\nline2", 20);
  JournalFields f = Entry({"_EXE=/opt/caf\xe9/run", "_COMM=a\"b]c\\"});
  f.Take("MESSAGE=" + message);
  const v1::Event e = AsStored(f);
  EXPECT_EQ(e.msg(), message);
  EXPECT_EQ(Param(e, "tkjournal@32473", "_EXE"), "/opt/caf\\xE9/run");
  EXPECT_EQ(Param(e, "tkjournal@32473", "_COMM"), "a\"b]c\\");
  EXPECT_EQ(e.app_name(), "a_b]c\\");
}

TEST(JournalFieldsTest, TakeIgnoresOtherFieldsAndKeepsEqualsSigns) {
  JournalFields f;
  f.Take("MESSAGE=a=b");
  f.Take("MESSAGE_ID=fc2e22bc6ee647b6b90729ab34a250b1");
  f.Take("NOEQUALS");
  EXPECT_EQ(f.message, "a=b");
}

TEST(JournalLossTest, ParsesCursors) {
  JournalCursor c;
  ASSERT_TRUE(ParseJournalCursor(
      "s=e2ee890e01e94f8d9ce881e9004cfd0e;i=1f;b=0123456789abcdef0123456789abcdef;m=1;"
      "t=60a24181e4000;x=ccbbeb78df3988d3",
      &c));
  EXPECT_EQ(c.seqnum_id, "e2ee890e01e94f8d9ce881e9004cfd0e");
  EXPECT_TRUE(c.has_seqnum);
  EXPECT_EQ(c.seqnum, 31u);
  EXPECT_TRUE(c.has_realtime);
  EXPECT_EQ(c.realtime_us, 1700000000000000u);
  EXPECT_FALSE(ParseJournalCursor("garbage", &c));
  EXPECT_FALSE(ParseJournalCursor("i=zz;t=", &c));
}

constexpr char kSaved[] = "s=aa;i=10;b=bb;m=1;t=60a24181e4000;x=1";

TEST(JournalLossTest, OnlyTheSpooledEntryVacuumedIsNoLoss) {
  EXPECT_FALSE(AssessJournalLoss("j", kSaved, "s=aa;i=11;b=bb;m=2;t=60a24181e4001;x=2"));
}

TEST(JournalLossTest, SeqnumGapCountsTheLostEntries) {
  auto loss = AssessJournalLoss("j", kSaved, "s=aa;i=1a;b=bb;m=2;t=60a24181e5000;x=2");
  ASSERT_TRUE(loss);
  EXPECT_EQ(loss->entries, 9);  // 0x11 .. 0x19
  EXPECT_EQ(loss->first_seqnum, 17u);
  EXPECT_EQ(loss->last_seqnum, 25u);
  EXPECT_EQ(loss->from_realtime_us, 1700000000000000u);
  EXPECT_EQ(loss->to_realtime_us, 1700000000004096u);
  const MessageParts p = JournalLossParts(*loss, 32473, kReadUs);
  EXPECT_EQ(p.app_name, "trailkeep");
  EXPECT_EQ(p.msgid, "JOURNAL_LOSS");
  EXPECT_EQ(p.pri, 5 * 8 + 4);
  const v1::Event e = AsStored(p);
  EXPECT_EQ(Param(e, "tkloss@32473", "input"), "j");
  EXPECT_EQ(Param(e, "tkloss@32473", "entries"), "9");
  EXPECT_EQ(Param(e, "tkloss@32473", "first_seqnum"), "17");
  EXPECT_EQ(Param(e, "tkloss@32473", "last_seqnum"), "25");
  EXPECT_EQ(Param(e, "tkloss@32473", "from"), "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(Param(e, "tkloss@32473", "saved_cursor"), kSaved);
  EXPECT_NE(e.msg().find("9 journal entries"), std::string::npos) << e.msg();
}

TEST(JournalLossTest, AnotherSeqnumIdOrNoEntryIsAnUnknownLoss) {
  auto loss = AssessJournalLoss("j", kSaved, "s=cc;i=1;b=bb;m=2;t=60a24181e5000;x=2");
  ASSERT_TRUE(loss);
  EXPECT_EQ(loss->entries, -1);
  loss = AssessJournalLoss("j", kSaved, std::nullopt);
  ASSERT_TRUE(loss);
  EXPECT_EQ(loss->entries, -1);
  EXPECT_EQ(loss->to_realtime_us, 0u);
  const MessageParts p = JournalLossParts(*loss, 32473, kReadUs);
  EXPECT_NE(p.extra_sd.find("entries=\"unknown\""), std::string::npos) << p.extra_sd;
  EXPECT_NE(p.msg.find("holds no entry after it"), std::string::npos) << p.msg;
}

constexpr char kAgent[] = R"(
[agent]
host = "web01"
spool_dir = "/var/lib/trailkeep/spool"
hmac_key_file = "/etc/trailkeep/hmac.key"
[collector]
address = "collector:6514"
ca_file = "/etc/trailkeep/ca.pem"
cert_file = "/etc/trailkeep/agent.pem"
key_file = "/etc/trailkeep/agent.key"
)";

TEST(JournalConfigTest, JournalInputKeys) {
  auto c = ParseAgentConfig(std::string(kAgent) + R"(
[[input]]
name = "journal"
kind = "journal"
units = ["ssh", "chrony.service"]
identifiers = ["sudo"]
priority = "info"
start = "beginning"
[[input]]
name = "all"
kind = "journal"
journal_dir = "/var/log/journal/remote"
)",
                            "/etc/trailkeep/agent.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->inputs.size(), 2u);
  const InputConfig& j = c->inputs[0];
  EXPECT_EQ(j.kind, InputKind::kJournal);
  EXPECT_EQ(j.units, (std::vector<std::string>{"ssh", "chrony.service"}));
  EXPECT_EQ(j.identifiers, (std::vector<std::string>{"sudo"}));
  EXPECT_EQ(j.max_priority, 6);
  EXPECT_FALSE(j.start_at_end);
  EXPECT_EQ(j.journal_dir, "");
  EXPECT_EQ(c->inputs[1].max_priority, 7);
  EXPECT_EQ(c->inputs[1].journal_dir, "/var/log/journal/remote");
}

TEST(JournalConfigTest, JournalKeysBelongToJournalInputs) {
  auto c = ParseAgentConfig(std::string(kAgent) + R"(
[[input]]
name = "j"
kind = "journal"
path = "/var/log/x"
[[input]]
name = "f"
path = "/var/log/y"
units = ["ssh"]
priority = "loud"
)",
                            "/a.toml");
  ASSERT_FALSE(c.ok());
  const std::string text(c.status().message());
  EXPECT_NE(text.find("/a.toml:15: input.path is not used by kind \"journal\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("input.units needs kind = \"journal\""), std::string::npos) << text;
  EXPECT_NE(text.find("input.priority must be one of"), std::string::npos) << text;
}

// deploy/agent.toml's commented journal input loads once uncommented.
TEST(JournalConfigTest, ShippedExampleLoads) {
  std::ifstream in(std::string(TRAILKEEP_SOURCE_DIR) + "/deploy/agent.toml");
  std::string text, line;
  bool in_journal = false;
  while (std::getline(in, line)) {
    if (line.empty()) in_journal = false;
    if (line == "# name = \"journal\"") {
      in_journal = true;
      text += "[[input]]\n";
    }
    if (in_journal) line = line.substr(2);
    text += line + "\n";
  }
  auto c = ParseAgentConfig(text, "agent.toml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->inputs.size(), 2u) << text;
  EXPECT_EQ(c->inputs[1].kind, InputKind::kJournal);
  EXPECT_EQ(c->inputs[1].identifiers.size(), 5u);
  EXPECT_EQ(c->inputs[1].max_priority, 6);
}

}  // namespace
}  // namespace trailkeep::agent
