#include "common/ndcpp/rules.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/audit/audit_event.h"
#include "common/audit/audit_grouper.h"
#include "common/audit/identity_map.h"
#include "common/ndcpp/pattern_anchor.h"
#include "common/ndcpp/sfr.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::ndcpp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Event MakeEvent(std::string app, std::string msg, std::string msgid = "") {
  v1::Event e;
  e.set_app_name(std::move(app));
  e.set_msg(std::move(msg));
  e.set_msgid(std::move(msgid));
  return e;
}

std::shared_ptr<const RuleSet> MustLoad(const std::string& text) {
  std::vector<std::string> errors;
  auto rs = RuleSet::LoadString(text, "t.toml", &errors);
  EXPECT_TRUE(rs.ok()) << rs.status().message();
  return rs.ok() ? rs.value() : nullptr;
}

std::vector<std::string> Errors(const std::string& text) {
  std::vector<std::string> errors;
  auto rs = RuleSet::LoadString(text, "t.toml", &errors);
  EXPECT_FALSE(rs.ok());
  return errors;
}

TEST(Sfr, CanonicalNamesAndAliases) {
  EXPECT_EQ(CanonicalSfr("FIA_UIA_EXT.1"), "FIA_UIA_EXT.1");
  EXPECT_EQ(CanonicalSfr("FAU_STG_EXT.3/LocSpace"), "FAU_STG.3/LocSpace");
  EXPECT_EQ(CanonicalSfr("FAU_GEN.1.1"), "FAU_GEN.1");
  EXPECT_EQ(CanonicalSfr("FAU_GEN.1.1/Log"), "FAU_GEN.1/Log");
  EXPECT_EQ(CanonicalSfr("FCS_HTTP S_EXT.1"), "FCS_HTTPS_EXT.1");  // PDF line break
  EXPECT_EQ(CanonicalSfr("ftp_trp.1/admin"), "FTP_TRP.1/Admin");
  EXPECT_EQ(CanonicalSfr("FIA_X509_EXT.1"), "FIA_X509_EXT.1");  // not an alias since issue 15
  EXPECT_EQ(CanonicalSfr("fia_x509_ext.1/rev"), "FIA_X509_EXT.1/Rev");
  EXPECT_EQ(CanonicalSfr("FMT_MOF.1/ ManualUpdate"), "FMT_MOF.1/ManualUpdate");
  EXPECT_EQ(CanonicalSfr("FIA_UIA_EXT.9"), std::nullopt);
  EXPECT_EQ(CanonicalSfr("FAU_GEN"), std::nullopt);
  EXPECT_EQ(CanonicalSfr(""), std::nullopt);
  EXPECT_EQ(CanonicalSfr("FAU_GEN.1.1.1"), std::nullopt);
  for (std::string_view s : AllSfrs()) {
    EXPECT_TRUE(IsCanonicalSfr(s));
    EXPECT_EQ(CanonicalSfr(s), std::string(s));
  }
  EXPECT_FALSE(IsCanonicalSfr("FAU_STG_EXT.3/LocSpace"));
}

TEST(Rules, ErrorsCarryFileAndLine) {
  const auto errors = Errors(R"([[rule]]
name = "a"
app = ["sshd"]
msg = "Failed ("
refs = ["FIA_UIA_EXT.1", "FIA_NOPE.1"]
description = "x"
colour = "red"

[[rule]]
name = "a"
msgid = "X"
refs = ["FAU_GEN.1"]
description = "dup"

[[rule]]
name = "b"
refs = ["FAU_GEN.1"]
description = "no condition"
bogus = 1
)");
  ASSERT_EQ(errors.size(), 6u) << ::testing::PrintToString(errors);
  EXPECT_THAT(errors[0], HasSubstr("t.toml:4: bad regular expression in 'msg': missing )"));
  EXPECT_THAT(errors[1], HasSubstr("t.toml:5: unknown SFR 'FIA_NOPE.1'"));
  EXPECT_THAT(errors[2], HasSubstr("t.toml:7: unknown key 'colour'"));
  EXPECT_THAT(errors[3], HasSubstr("t.toml:9: duplicate rule name 'a'"));
  // Errors come in line order.
  EXPECT_THAT(errors[4], HasSubstr("t.toml:15: rule 'b' has no condition"));
  EXPECT_THAT(errors[5], HasSubstr("t.toml:19: unknown key 'bogus'"));
}

TEST(Rules, MissingFieldsAndTypes) {
  const auto errors = Errors(R"(version = 2
other = 1
[[rule]]
app = 3
sd = { username = "(" }
)");
  ASSERT_EQ(errors.size(), 8u) << ::testing::PrintToString(errors);
  EXPECT_THAT(errors[0], HasSubstr("t.toml:1: 'version' must be 1"));
  EXPECT_THAT(errors[1], HasSubstr("t.toml:2: unknown top-level key 'other'"));
  EXPECT_THAT(errors[2], HasSubstr("t.toml:3: rule has no 'name'"));
  EXPECT_THAT(errors[3], HasSubstr("t.toml:3: rule '' has no 'refs'"));
  EXPECT_THAT(errors[4], HasSubstr("t.toml:3: rule '' has no 'description'"));
  EXPECT_THAT(errors[5], HasSubstr("t.toml:3: rule '' has no condition"));
  EXPECT_THAT(errors[6], HasSubstr("t.toml:4: 'app' must be a string or an array"));
  EXPECT_THAT(errors[7], HasSubstr("t.toml:5: bad regular expression in 'sd.username'"));
}

TEST(Rules, TomlSyntaxErrorHasLine) {
  const auto errors = Errors("[[rule]]\nname = \"a\"\nrefs = [\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("t.toml:"));
}

TEST(Rules, MissingFileIsAnError) {
  std::vector<std::string> errors;
  auto rs = RuleSet::LoadFile("/nonexistent/rules.toml", &errors);
  EXPECT_FALSE(rs.ok());
  ASSERT_EQ(errors.size(), 1u);
}

TEST(Rules, AliasesStoredCanonically) {
  auto rs = MustLoad(R"([[rule]]
name = "low"
app = "auditd"
msg = "low on disk"
refs = ["FAU_STG_EXT.3/LocSpace", "FAU_STG.3/LocSpace", "FAU_GEN.1.1"]
description = "low space"
)");
  ASSERT_NE(rs, nullptr);
  EXPECT_THAT(rs->rules()[0].refs, ElementsAre("FAU_STG.3/LocSpace", "FAU_GEN.1"));
}

constexpr char kTwoRules[] = R"(
[[rule]]
name = "ssh-fail"
app = ["sshd"]
msg = '^Failed \S+ for'
refs = ["FIA_UIA_EXT.1", "FIA_UAU_EXT.2"]
description = "remote login failed"

[[rule]]
name = "ssh-fail-root"
app = ["sshd"]
msg = 'for root from'
refs = ["FIA_UAU_EXT.2", "FAU_GEN.1"]
description = "root login failed"

[[rule]]
name = "junos"
msgid = "UI_LOGOUT_EVENT"
sd_id = "junos@2636.1.1.1.2.164"
sd = { username = "^root$" }
refs = ["FTA_SSL.4"]
description = "logout"

[[rule]]
name = "cdr"
app = "opensips"
msg = '^ACC: call ended:'
refs = ["FAU_GEN.1/CDR"]
description = "cdr"
)";

TEST(Rules, RefsDeduplicatedInFileOrderFirstDescription) {
  auto rs = MustLoad(kTwoRules);
  ASSERT_NE(rs, nullptr);
  auto e = MakeEvent("sshd", "Failed password for root from 192.0.2.1 port 22 ssh2");
  e.add_ndcpp_refs("FAU_GEN.1");  // already present: not repeated
  EXPECT_TRUE(rs->Classify(&e));
  EXPECT_THAT(e.ndcpp_refs(), ElementsAre("FAU_GEN.1", "FIA_UIA_EXT.1", "FIA_UAU_EXT.2"));
  EXPECT_EQ(e.description(), "remote login failed");
}

TEST(Rules, NoMatchLeavesEventUntouched) {
  auto rs = MustLoad(kTwoRules);
  ASSERT_NE(rs, nullptr);
  auto e = MakeEvent("sshd", "Server listening on :: port 22.");
  EXPECT_FALSE(rs->Classify(&e));
  EXPECT_EQ(e.ndcpp_refs_size(), 0);
  EXPECT_EQ(e.description(), "");
  auto unknown_app = MakeEvent("nothing", "Failed password for root from x port 1");
  EXPECT_FALSE(rs->Classify(&unknown_app));
}

TEST(Rules, AppDispatch) {
  auto rs = MustLoad(kTwoRules);
  ASSERT_NE(rs, nullptr);
  // Same text from another program: not sshd evidence.
  auto other = MakeEvent("myapp", "Failed password for alice from 192.0.2.1 port 22 ssh2");
  EXPECT_FALSE(rs->Classify(&other));
  // A path as APP-NAME dispatches on its basename.
  auto cdr = MakeEvent("/usr/local/sbin/opensips", "ACC: call ended: created=1");
  EXPECT_TRUE(rs->Classify(&cdr));
  EXPECT_THAT(cdr.ndcpp_refs(), ElementsAre("FAU_GEN.1/CDR"));
  EXPECT_EQ(RuleAppName("/usr/local/sbin/opensips"), "opensips");
  EXPECT_EQ(RuleAppName("sshd"), "sshd");
}

TEST(Rules, MsgidAndStructuredData) {
  auto rs = MustLoad(kTwoRules);
  ASSERT_NE(rs, nullptr);
  auto e = MakeEvent("mgd", "User 'root' logout", "UI_LOGOUT_EVENT");
  auto* sd = e.add_structured_data();
  sd->set_id("junos@2636.1.1.1.2.164");
  auto* p = sd->add_params();
  p->set_name("username");
  p->set_value("root");
  EXPECT_TRUE(rs->Classify(&e));
  EXPECT_THAT(e.ndcpp_refs(), ElementsAre("FTA_SSL.4"));

  p->set_value("alice");  // sd condition fails
  v1::Event e2 = e;
  e2.clear_ndcpp_refs();
  EXPECT_FALSE(rs->Classify(&e2));

  auto no_sd = MakeEvent("mgd", "User 'root' logout", "UI_LOGOUT_EVENT");
  EXPECT_FALSE(rs->Classify(&no_sd));
  auto other_msgid = MakeEvent("mgd", "User 'root' logout", "UI_LOGIN_EVENT");
  EXPECT_FALSE(rs->Classify(&other_msgid));
}

TEST(Rules, AppLessRulesWithMsgidAreKeyedOnMsgid) {
  // Junos-style: no app, a MSGID and a pattern. The pattern runs only on
  // events with that MSGID, whatever their app, and is reported in file
  // order with the other hits.
  auto rs = MustLoad(R"(
[[rule]]
name = "junos-set-date"
msgid = ["UI_CMDLINE_READ_LINE"]
msg = "command 'set date"
refs = ["FPT_STM_EXT.1"]
description = "administrator set the time"

[[rule]]
name = "any-app"
msg = '^ACC: call ended'
refs = ["FAU_GEN.1/CDR"]
description = "call detail record"
)");
  ASSERT_NE(rs, nullptr);
  auto junos =
      MakeEvent("mgd", "User 'root', command 'set date 202005201815.00 '", "UI_CMDLINE_READ_LINE");
  EXPECT_TRUE(rs->Classify(&junos));
  EXPECT_THAT(junos.ndcpp_refs(), ElementsAre("FPT_STM_EXT.1"));
  auto other_msgid = MakeEvent("mgd", "User 'root', command 'set date 2020'", "UI_COMMIT");
  EXPECT_FALSE(rs->Classify(&other_msgid));
  auto no_msgid = MakeEvent("myapp", "User 'root', command 'set date 2020'");
  EXPECT_FALSE(rs->Classify(&no_msgid));
  auto cdr = MakeEvent("", "ACC: call ended: created=1", "UI_CMDLINE_READ_LINE");
  std::vector<int> hits;
  rs->Match(cdr, &hits);
  EXPECT_THAT(hits, ElementsAre(1));
}

TEST(PatternAnchor, OnlyPatternsAnchoredOnEveryAlternative) {
  EXPECT_TRUE(MatchesOnlyAtStart("^Accepted \\S+ for"));
  EXPECT_TRUE(MatchesOnlyAtStart("^Failed|^Invalid user (\\S+)|^error: x"));
  EXPECT_TRUE(
      MatchesOnlyAtStart("(?i)^(\\d+ \\w+: )?(step|set_time)|^\\S+ [0-9a-f]{4} clock_step"));
  EXPECT_FALSE(MatchesOnlyAtStart("^Failed|Invalid user"));  // second alternative floats
  EXPECT_FALSE(MatchesOnlyAtStart("SSL_do_handshake\\(\\) failed"));
  EXPECT_FALSE(MatchesOnlyAtStart("(^a|b)"));        // '|' inside a group
  EXPECT_FALSE(MatchesOnlyAtStart("(?m)^Session"));  // '^' after any LF
  EXPECT_FALSE(MatchesOnlyAtStart("(?i:^a)"));
  EXPECT_TRUE(MatchesOnlyAtStart("^[|(]x|^\\|y"));  // '|' in a class or escaped
  EXPECT_FALSE(MatchesOnlyAtStart("^(a"));          // unbalanced
}

TEST(Rules, AnchoredAndFloatingPatternsOfOneAppBothMatch) {
  auto rs = MustLoad(R"(
[[rule]]
name = "anchored"
app = ["sshd"]
msg = '^Failed password for'
refs = ["FIA_UIA_EXT.1"]
description = "a"

[[rule]]
name = "floating"
app = ["sshd"]
msg = 'from 203\.0\.113\.9'
refs = ["FAU_GEN.1"]
description = "b"
)");
  ASSERT_NE(rs, nullptr);
  std::vector<int> hits;
  rs->Match(MakeEvent("sshd", "Failed password for root from 203.0.113.9 port 1 ssh2"), &hits);
  EXPECT_THAT(hits, ElementsAre(0, 1));
  rs->Match(MakeEvent("sshd", "x Failed password for root from 192.0.2.1"), &hits);
  EXPECT_TRUE(hits.empty());  // anchored: not in the middle
  rs->Match(MakeEvent("sshd", "Connection from 203.0.113.9"), &hits);
  EXPECT_THAT(hits, ElementsAre(1));
}

TEST(Rules, MatchReportsRuleIndicesInFileOrder) {
  auto rs = MustLoad(kTwoRules);
  ASSERT_NE(rs, nullptr);
  std::vector<int> hits;
  rs->Match(MakeEvent("sshd", "Failed password for root from x port 1"), &hits);
  EXPECT_THAT(hits, ElementsAre(0, 1));
  rs->Match(MakeEvent("sshd", "nothing"), &hits);
  EXPECT_TRUE(hits.empty());
}

// A grouped auditd event as the collector and `trailkeep classify` build it
// (records interpreted, audit_event.h).
v1::Event AuditEvent(std::vector<std::string> records, const audit::IdentityMap* ids = nullptr) {
  audit::AuditGroup group;
  group.host = "db01";
  group.complete = true;
  for (std::string& r : records) group.records.push_back({std::move(r), 0});
  v1::Event e;
  audit::BuildAuditEvent(group, ids, "db01", &e);
  return e;
}

constexpr char kTimeSyscallRule[] = R"(
[[rule]]
name = "time-syscall"
audit_type = "SYSCALL"
audit_fields = { syscall = ["clock_settime", "settimeofday"], success = "yes" }
refs = ["FPT_STM_EXT.1"]
description = "system time set"
)";

std::string Syscall(std::string_view arch, int number, std::string_view success = "yes") {
  return "type=SYSCALL msg=audit(1709800013.013:7313): arch=" + std::string(arch) +
         " syscall=" + std::to_string(number) + " success=" + std::string(success) +
         " exit=0 a0=0 a1=7ffd2a3b1c70 a2=0 a3=0 items=0 ppid=1 pid=611 auid=4294967295 uid=0 "
         "gid=0 euid=0 comm=\"chronyd\" exe=\"/usr/sbin/chronyd\" key=\"time-change\"";
}

TEST(AuditRules, SyscallNameMatchesTheSameCallOnEveryArch) {
  auto rs = MustLoad(kTimeSyscallRule);
  ASSERT_NE(rs, nullptr);
  // clock_settime is 227 on x86_64, 112 on aarch64, 264 on i386
  // (`ausyscall ARCH clock_settime`); settimeofday is 170 on aarch64.
  for (const auto& [arch, number] : std::vector<std::pair<std::string, int>>{
           {"c000003e", 227}, {"c00000b7", 112}, {"40000003", 264}, {"c00000b7", 170}}) {
    auto e = AuditEvent({Syscall(arch, number)});
    EXPECT_TRUE(rs->Classify(&e)) << arch << " " << number;
    EXPECT_THAT(e.ndcpp_refs(), ElementsAre("FPT_STM_EXT.1"));
    EXPECT_EQ(e.description(), "system time set");
  }
  // 112 is clock_settime on aarch64 only: on x86_64 it is setsid.
  auto setsid = AuditEvent({Syscall("c000003e", 112)});
  EXPECT_FALSE(rs->Classify(&setsid));
  auto failed = AuditEvent({Syscall("c00000b7", 112, "no")});
  EXPECT_FALSE(rs->Classify(&failed));
}

TEST(AuditRules, NonAuditEventsNeverMatch) {
  auto rs = MustLoad(std::string(kTimeSyscallRule) + R"(
[[rule]]
name = "any-failed"
audit_fields = { res = "failed" }
refs = ["FIA_UIA_EXT.1"]
description = "failed, audit"
)");
  ASSERT_NE(rs, nullptr);
  // The same text, app and MSGID as a grouped event, but no `audit`: a line
  // relayed by a syslog sender the channel does not vouch for.
  auto plain = MakeEvent("auditd", Syscall("c000003e", 227), "SYSCALL");
  EXPECT_FALSE(rs->Classify(&plain));
  auto user = MakeEvent("auditd",
                        "type=USER_AUTH msg=audit(1.1:2): pid=1 uid=0 msg='op=PAM:authentication "
                        "acct=\"root\" exe=\"/usr/bin/su\" res=failed'",
                        "USER_AUTH");
  EXPECT_FALSE(rs->Classify(&user));
  std::vector<int> hits;
  rs->Match(MakeEvent("sshd", "res=failed syscall=clock_settime success=yes"), &hits);
  EXPECT_TRUE(hits.empty());
  // The grouped form of that USER_AUTH record does match.
  rs->Match(AuditEvent({user.msg()}), &hits);
  EXPECT_THAT(hits, ElementsAre(1));
}

TEST(AuditRules, FieldsHoldInOneRecordOfTheType) {
  auto rs = MustLoad(R"(
[[rule]]
name = "stepped"
audit_type = "TIME_INJOFFSET"
refs = ["FPT_STM_EXT.1"]
description = "clock stepped"

[[rule]]
name = "split"
audit_fields = { success = "yes", sec = "-16" }
refs = ["FAU_GEN.1"]
description = "never: the fields are in two records"

[[rule]]
name = "by-user"
app = "auditd"
audit_type = ["SYSCALL"]
audit_fields = { auid = "alice", exe = "/usr/sbin/chronyd" }
msg = 'TIME_INJOFFSET'
refs = ["FMT_SMF.1"]
description = "alice stepped the clock"
)");
  ASSERT_NE(rs, nullptr);
  std::string syscall = Syscall("c000003e", 159);  // adjtimex
  syscall.replace(syscall.find("auid=4294967295"), 15, "auid=1000");
  const std::vector<std::string> records = {
      syscall, "type=TIME_INJOFFSET msg=audit(1709800013.013:7313): sec=-16 nsec=124887145",
      "type=PROCTITLE msg=audit(1709800013.013:7313): proctitle=6368726F6E7964",
      "type=EOE msg=audit(1709800013.013:7313): "};
  std::vector<int> hits;
  // A kernel record found whatever its place in the group (MSGID is SYSCALL).
  rs->Match(AuditEvent(records), &hits);
  EXPECT_THAT(hits, ElementsAre(0));
  // auid is compared as interpreted: the user name from the host's map.
  auto ids = audit::IdentityMap::FromInventoryJson(R"({"users":{"1000":"alice"},"groups":{}})");
  ASSERT_TRUE(ids.ok()) << ids.status().message();
  rs->Match(AuditEvent(records, &ids.value()), &hits);
  EXPECT_THAT(hits, ElementsAre(0, 2));
}

TEST(AuditRules, WrongKeysAndValueTypesAreRefusedWithTheirLine) {
  const auto errors = Errors(R"([[rule]]
name = "a"
audit_type = 3
audit_fields = { syscall = 227, success = ["yes", 1] }
refs = ["FPT_STM_EXT.1"]
description = "x"

[[rule]]
name = "b"
audit_type = ["syscall"]
audit_fields = { syscall = "227", arch = "c000003e" }
audit_field = { res = "failed" }
refs = ["FPT_STM_EXT.1"]
description = "x"

[[rule]]
name = "c"
audit_fields = "res=failed"
refs = ["FPT_STM_EXT.1"]
description = "x"

[[rule]]
name = "d"
audit_fields = {}
refs = ["FPT_STM_EXT.1"]
description = "x"
)");
  ASSERT_EQ(errors.size(), 12u) << ::testing::PrintToString(errors);
  // Rule a keeps no condition once its wrong values are refused.
  EXPECT_THAT(errors[0], HasSubstr("t.toml:1: rule 'a' has no condition"));
  EXPECT_THAT(errors[1], HasSubstr("t.toml:3: 'audit_type' must be a string or an array"));
  EXPECT_THAT(errors[2], HasSubstr("t.toml:4: 'audit_fields.success' entries must be non-empty "
                                   "strings"));
  EXPECT_THAT(errors[3], HasSubstr("t.toml:4: 'audit_fields.syscall' must be a string or an "
                                   "array"));
  EXPECT_THAT(errors[4], HasSubstr("t.toml:10: 'audit_type' 'syscall' is not a record type"));
  EXPECT_THAT(errors[5], HasSubstr("t.toml:11: 'audit_fields.arch' takes arch names"));
  EXPECT_THAT(errors[6], HasSubstr("t.toml:11: 'audit_fields.syscall' takes syscall names"));
  EXPECT_THAT(errors[7], HasSubstr("t.toml:12: unknown key 'audit_field'"));
  EXPECT_THAT(errors[8], HasSubstr("t.toml:16: rule 'c' has no condition"));
  EXPECT_THAT(errors[9], HasSubstr("t.toml:18: 'audit_fields' must be a table"));
  EXPECT_THAT(errors[10], HasSubstr("t.toml:22: rule 'd' has no condition"));
  EXPECT_THAT(errors[11], HasSubstr("t.toml:24: 'audit_fields' must name 1 to 64 fields"));
}

}  // namespace
}  // namespace trailkeep::ndcpp
