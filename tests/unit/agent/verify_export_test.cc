// `trailkeep verify --export` against exports made by the collector's own
// code: agent messages signed by the agent's message builder go through the
// real ingest pipeline (parse, chain element, host binding, audit members)
// and audit grouping, and are rendered by EventToJson as /v1/events does.
// Every key the export shows is then edited in turn: the verifier must reject
// each one the signed bytes determine, naming it, and leave only the
// collector's own keys, which it reports as unverified.
#include "agent/verify_export.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "agent/base64_decode.h"
#include "agent/export_field_check.h"
#include "agent/message_builder.h"
#include "common/base/bytes.h"
#include "common/event/event_format.h"
#include "common/event/proto_utf8.h"
#include "common/wire/hmac_chain.h"
#include "server/pipeline/audit_grouping.h"
#include "server/pipeline/connection_audit.h"
#include "server/pipeline/ingest_pipeline.h"
#include "server/selfaudit/self_audit.h"
#include "tests/unit/agent/agent_test_util.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::agent {
namespace {

using json = nlohmann::json;

const std::string kKey(kHmacKeyBytes, '\x42');
constexpr char kHost[] = "web01.test";
constexpr uint64_t kEpoch = 1795410517123456789ULL;
constexpr int64_t kReceiveUs = 1795410600000000;

class NullAudit : public SelfAudit {
 public:
  void Record(SelfEventKind, const std::string&, const std::string&,
              const std::vector<std::pair<std::string, std::string>>&) override {}
};

// An agent's chain and the collector that stores and exports it.
class ExportMaker {
 public:
  explicit ExportMaker(uint32_t pen = kDefaultEnterpriseNumber) : pen_(pen) {
    chain_.enterprise_number = pen;
    chain_.epoch = kEpoch;
    chain_.seq = 1;
    chain_.prev_mac.assign(kMacBytes, '\0');
  }

  void Line(std::string_view line, InputKind kind = InputKind::kSyslog) {
    Sign(PartsFromLine(line, LineSource{"secure", kind, 10, 6}, kReceiveUs - 5'000'000));
  }
  void Sign(const MessageParts& parts) {
    std::string mac;
    frames_.push_back(SignEvent(kKey, parts, kHost, chain_, &mac));
    chain_.prev_mac = mac;
    ++chain_.seq;
  }

  // The events as /v1/events exports them, in commit order.
  std::vector<json> Export() {
    auto peer = std::make_shared<v1::Peer>();
    peer->set_address("192.0.2.9:50514");
    peer->set_authenticated(true);
    peer->set_cert_subject("CN=web01.test");
    peer->add_cert_dns_names(kHost);
    peer->set_listener("127.0.0.1:6514");
    peer->set_bound_host(kHost);
    std::vector<v1::Event> stored;
    NullAudit audit;
    ConnectionAudit reports(&audit);
    IngestPipeline pipeline(
        [&](std::vector<v1::Event>* e, std::function<void()>) {
          for (auto& x : *e) stored.push_back(std::move(x));
          e->clear();
          return true;
        },
        &reports);
    AgentIngestOptions agents;
    agents.enterprise_number = pen_;
    pipeline.EnableAgents(agents);
    IngestBatch batch;
    for (const auto& f : frames_) batch.frames.push_back({f, kReceiveUs, peer});
    EXPECT_TRUE(pipeline.Offer(&batch, nullptr));
    for (auto& e : stored) e.set_integrity(v1::INTEGRITY_VERIFIED);  // the chain verifier's

    AuditGrouping grouping(AuditGroupingOptions{});
    std::vector<v1::Event> grouped;
    grouping.OnCommitted(stored, kReceiveUs + 1, &grouped);
    grouping.Flush(&grouped);
    for (auto& g : grouped) {
      g.add_ndcpp_refs("FIA_UAU_EXT.2");  // classification: the collector's
      g.set_description("login");
      stored.push_back(std::move(g));
    }
    std::vector<json> out;
    for (size_t i = 0; i < stored.size(); ++i) {
      MakeStringsValidUtf8(&stored[i]);  // as Store::Commit writes it
      stored[i].set_ingest_seq(i + 1);
      out.push_back(json::parse(EventToJson(stored[i])));
    }
    return out;
  }

 private:
  uint32_t pen_;
  ChainPosition chain_;
  std::vector<std::string> frames_;
};

// An export with syslog events (SD, PROCID, MSGID, BOM-less UTF-8 and bytes
// that are not UTF-8) and two auditd groups, one with node=.
std::vector<json> SampleExport(uint32_t pen = kDefaultEnterpriseNumber) {
  ExportMaker m(pen);
  m.Line("<38>Jan  5 10:00:00 oldname sshd[123]: Accepted password for root from 192.0.2.1");
  m.Line(
      R"(<165>1 2026-02-03T04:05:06.123456+02:00 other app 42 ID47 [ex@1 a="q\"uote" b="v"] body é)");
  m.Line("<13>Jan  5 10:00:01 h app: invalid \xff\xfe bytes");
  m.Sign(InventoryParts({{0, "root"}, {1000, "alice"}}, {{0, "root"}}, kReceiveUs - 4'000'000));
  m.Line(
      "node=web01 type=SYSCALL msg=audit(1795410590.100:7): arch=c000003e syscall=59 "
      "success=yes exit=0 auid=1000 uid=0 gid=0 comm=\"sudo\"",
      InputKind::kAudit);
  m.Line("node=web01 type=EOE msg=audit(1795410590.100:7):", InputKind::kAudit);
  m.Line("type=USER_LOGIN msg=audit(1795410591.250:8): pid=1 uid=0 auid=1000 res=success",
         InputKind::kAudit);
  // Not UTF-8 in a string field: the store escapes it, and so must the check.
  m.Line("<13>1 2026-02-03T04:05:06Z h app - - [ex@2 k=\"v\xff\"] text \xc3(");
  return m.Export();
}

std::vector<FieldDiff> Check(const std::vector<json>& lines) {
  ExportFieldCheck check(kKey);
  std::vector<FieldDiff> diffs;
  uint64_t n = 0;
  for (const auto& j : lines) {
    std::string raw;
    const std::string b64 = j.value("raw_b64", "");
    // Decoded as RunVerifyExport does: an undecodable value checks as empty.
    if (!Base64Decode(b64, &raw)) raw.clear();
    check.Check(j, raw, ++n, &diffs);
  }
  return diffs;
}

// Every leaf of an event as a JSON pointer ("/structured_data/1/params/0/value").
std::vector<std::string> Leaves(const json& event) {
  std::vector<std::string> out;
  const json flat = event.flatten();
  for (const auto& [path, v] : flat.items()) out.push_back(path);
  return out;
}

// A different value of the same type.
json Edited(const json& v) {
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s.empty()) return "x";
    if (s.size() > 20 && s.back() == 'Z') {  // a time: another valid one
      char& digit = s[s.size() - 2];
      digit = digit == '0' ? '1' : '0';
      return s;
    }
    s.back() = s.back() == 'a' ? 'b' : 'a';
    return s;
  }
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_number_unsigned()) return v.get<uint64_t>() + 1;
  if (v.is_number_integer()) return v.get<int64_t>() + 1;
  return "x";  // null, or an empty array or object
}

// The collector's own keys: shown by the export, not covered by the chain.
bool Unverified(const std::string& path, bool grouped) {
  static const std::set<std::string> kCollector = {
      "/ingest_seq",      "/receive_time", "/peer",        "/transport",
      "/integrity",       "/refs",         "/description", "/hostname_mismatch",
      "/sender_identity", "/seal"};
  const std::string top = path.substr(0, path.find('/', 1));
  if (kCollector.count(top) != 0) return true;
  if (!grouped) return false;
  // A group's interpretation, and its host: checked when its host is verified.
  return path == "/host" || path == "/audit/complete" || path == "/audit/identity_map" ||
         path.find("/fields") != std::string::npos;
}

// The key a diff must name for an edit at `path`.
std::string Named(const std::string& path, bool grouped) {
  // Read with another PEN, the message has no chain element.
  if (path == "/enterprise_number" && !grouped) return "chain";
  if (path.rfind("/audit/records/", 0) == 0) {
    // "/audit/records/1/text" -> "audit.records[1].text"; another chain_seq
    // names another member (or none): the record as a whole is reported.
    const size_t i = 15, slash = path.find('/', i);
    const std::string record = "audit.records[" + path.substr(i, slash - i) + "]";
    const std::string key = path.substr(slash + 1);
    return key == "chain_seq" ? record : record + "." + key;
  }
  if (path.rfind("/audit/", 0) == 0) return "audit." + path.substr(7);
  return path.substr(
      1, path.find('/', 1) == std::string::npos ? std::string::npos : path.find('/', 1) - 1);
}

TEST(VerifyExportFields, UntouchedExportHasNoDifference) {
  const std::vector<json> lines = SampleExport();
  ASSERT_EQ(lines.size(), 10u);  // 8 chained events and 2 groups
  for (const auto& d : Check(lines))
    ADD_FAILURE() << d.field << ": " << d.exported << " vs " << d.derived;
  // Not UTF-8 in an SD value: the agent's parse refuses the SD and sends it as MSG.
  EXPECT_NE(lines[7]["msg"].get<std::string>().find("v\xEF\xBF\xBD\"] text"), std::string::npos)
      << lines[7].dump();
  // Invalid bytes in msg reach the export as U+FFFD and still verify.
  EXPECT_NE(lines[2]["msg"].get<std::string>().find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_EQ(lines[8]["audit"]["identity_map"], true);
  EXPECT_EQ(lines[4]["audit_member"], true);
}

TEST(VerifyExportFields, EveryEditOfEveryShownFieldIsRejectedOrUnverified) {
  const std::vector<json> lines = SampleExport();
  size_t rejected = 0, unverified = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const bool grouped = lines[i]["audit"].is_object();
    for (const std::string& path : Leaves(lines[i])) {
      std::vector<json> edited = lines;
      const json::json_pointer ptr(path);
      edited[i][ptr] = Edited(lines[i][ptr]);
      std::vector<FieldDiff> diffs;
      try {
        diffs = Check(edited);
      } catch (const std::exception& ex) {
        ADD_FAILURE() << "line " << i + 1 << " " << path << ": " << ex.what();
        continue;
      }
      // A group's node named by name_format (no node= in its records).
      const bool named_node =
          path == "/audit/node" &&
          lines[i]["audit"]["records"][0]["text"].get<std::string>().rfind("node=", 0) != 0;
      if (Unverified(path, grouped) || named_node) {
        EXPECT_TRUE(diffs.empty())
            << "line " << i + 1 << " " << path << ": " << diffs.front().field;
        ++unverified;
        continue;
      }
      ++rejected;
      const std::string want = Named(path, grouped);
      // Other raw bytes parse to other fields (and fail the MAC, ChainAuditor's).
      bool named = path == "/raw_b64" && !diffs.empty();
      // Arrays and objects are narrowed to the member that differs.
      for (const auto& d : diffs) {
        named = named || d.field == want || d.field.rfind(want + ".", 0) == 0 ||
                d.field.rfind(want + "[", 0) == 0;
      }
      EXPECT_TRUE(named) << "line " << i + 1 << " " << path << " edited to "
                         << edited[i][ptr].dump() << ": no diff names " << want << " ("
                         << diffs.size() << " diffs)";
    }
  }
  EXPECT_GT(rejected, 150u);
  EXPECT_GT(unverified, 50u);
}

TEST(VerifyExportFields, DeletedKeysAreRejectedExceptOnesOlderExportsLack) {
  const std::vector<json> lines = SampleExport();
  for (const char* key : {"msg", "hostname", "severity", "structured_data", "chain"}) {
    std::vector<json> edited = lines;
    edited[1].erase(key);
    const auto diffs = Check(edited);
    ASSERT_FALSE(diffs.empty()) << key;
    EXPECT_EQ(diffs.front().exported, "(absent)") << key;
  }
  // Exports from before enterprise_number: 32473 is assumed.
  std::vector<json> old = lines;
  for (auto& j : old) j.erase("enterprise_number");
  EXPECT_TRUE(Check(old).empty());
}

TEST(VerifyExportFields, EnterpriseNumberIsTheParsersInput) {
  const std::vector<json> lines = SampleExport(99999);
  ASSERT_EQ(lines[0]["enterprise_number"], 99999);
  ASSERT_TRUE(lines[0]["chain"].is_object());
  EXPECT_TRUE(Check(lines).empty());
  std::vector<json> edited = lines;
  edited[0]["enterprise_number"] = 32473;
  const auto diffs = Check(edited);
  ASSERT_FALSE(diffs.empty());
  EXPECT_EQ(diffs.front().field, "chain");
}

TEST(VerifyExportFields, ForgedGroupConsistentWithItselfMeetsItsMembers) {
  std::vector<json> lines = SampleExport();
  json& group = lines[8];
  ASSERT_TRUE(group["audit"].is_object());
  // Rewrite the group's first record everywhere the group shows it.
  std::string text = group["audit"]["records"][0]["text"];
  const size_t at = text.find("uid=0");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 5, "uid=7");
  group["audit"]["records"][0]["text"] = text;
  const std::string second = group["audit"]["records"][1]["text"];
  group["msg"] = text + "\n" + second;
  group["raw_b64"] = Base64Encode(text + "\n" + second);
  const auto diffs = Check(lines);
  ASSERT_EQ(diffs.size(), 1u);
  EXPECT_EQ(diffs[0].field, "audit.records[0]");
  EXPECT_EQ(diffs[0].source, "member event of line 5");
  // And a record pointing at a seq whose event is no member.
  lines = SampleExport();
  lines[8]["audit"]["records"][1]["chain_seq"] = 1;
  const auto seq_diffs = Check(lines);
  ASSERT_EQ(seq_diffs.size(), 1u);
  EXPECT_EQ(seq_diffs[0].field, "audit.records[1]");
}

// --- the command ------------------------------------------------------------

class VerifyExportCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = dir_.File("hmac.key");
    testing::WriteAll(key_, LowerHex(kKey) + "\n");
    ::chmod(key_.c_str(), 0600);
  }
  int Run(const std::vector<json>& lines, std::string* out, const std::string& host = "") {
    std::string text;
    for (const auto& j : lines) text += j.dump() + "\n";
    const std::string file = dir_.File("export.ndjson");
    testing::WriteAll(file, text);
    ::testing::internal::CaptureStdout();
    const int rc = RunVerifyExport(file, key_, host);
    *out = ::testing::internal::GetCapturedStdout();
    return rc;
  }
  testing::TempDir dir_;
  std::string key_;
};

TEST_F(VerifyExportCommand, UntouchedPassesAndSaysWhatIsNotCovered) {
  std::string out;
  EXPECT_EQ(Run(SampleExport(), &out), 0) << out;
  EXPECT_NE(out.find("OK 8 events"), std::string::npos) << out;
  EXPECT_NE(out.find("unverified (not covered by the chain): ingest_seq, receive_time, peer, "
                     "transport, integrity, refs, description, hostname_mismatch, "
                     "sender_identity, seal, the audit interpretation"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("compared with the signed bytes: 8 chained events, 2 grouped audit events "
                     "(3 records matched with their members)"),
            std::string::npos)
      << out;
}

TEST_F(VerifyExportCommand, EditedMsgFailsNamingEventAndField) {
  std::vector<json> lines = SampleExport();
  lines[1]["msg"] = "forged";
  std::string out;
  EXPECT_EQ(Run(lines, &out), 1) << out;
  EXPECT_NE(out.find("field_differs host=web01.test epoch=" + std::to_string(kEpoch) +
                     " seq=2 line 2: msg: export \"forged\", signed message \"body é\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("BROKEN: 1 field differs from the signed bytes in 1 event; the MACs and "
                     "links of all 8 chained events verify"),
            std::string::npos)
      << out;
}

TEST_F(VerifyExportCommand, EditedSeverityAndRawBothReported) {
  std::vector<json> lines = SampleExport();
  lines[0]["severity"] = "emerg";
  lines[2]["raw_b64"] = Base64Encode("<13>Jan  5 10:00:01 h app: edited");
  std::string out;
  EXPECT_EQ(Run(lines, &out), 1) << out;
  EXPECT_NE(out.find("seq=1 line 1: severity: export \"emerg\", signed message \"info\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("bad_mac epoch=" + std::to_string(kEpoch) + " seq 3:"), std::string::npos)
      << out;
  EXPECT_NE(out.find("BROKEN: 1 range (1 bad_mac)"), std::string::npos) << out;
}

TEST_F(VerifyExportCommand, HostMovedToAnotherHostLeavesAGap) {
  std::vector<json> lines = SampleExport();
  lines[1]["host"] = "web02.test";
  std::string out;
  EXPECT_EQ(Run(lines, &out, kHost), 1) << out;
  EXPECT_NE(out.find("gap epoch=" + std::to_string(kEpoch) + " seq 2:"), std::string::npos) << out;
}

}  // namespace
}  // namespace trailkeep::agent
