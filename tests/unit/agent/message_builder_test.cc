// The agent's RFC 5424 messages: what ParseSyslog makes of them, and the
// HMAC chain they carry.

#include "agent/message_builder.h"

#include <string>

#include <gtest/gtest.h>

#include "agent/crc32.h"
#include "common/base/time_format.h"
#include "common/syslog/syslog_parser.h"
#include "common/wire/hmac_chain.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::agent {
namespace {

const std::string kKey(32, '\x42');
constexpr int64_t kReadUs = 1767225600000000;  // 2026-01-01T00:00:00Z
constexpr uint64_t kEpoch = 1767225600123456789;

v1::Event Parse(const std::string& message) {
  v1::Event e;
  ParseSyslog(message, kReadUs, &e);
  EXPECT_EQ(e.parse_error(), "") << message;
  return e;
}

// The message with m's value blanked, as it was MACed.
std::string Blanked(const std::string& message, const std::string& mac) {
  const std::string hex = LowerHex(mac);
  std::string out = message;
  const size_t at = out.find("m=\"" + hex + "\"");
  EXPECT_NE(at, std::string::npos);
  out.erase(at + 3, hex.size());
  return out;
}

ChainPosition First() {
  ChainPosition c;
  c.epoch = kEpoch;
  c.seq = 1;
  c.prev_mac.assign(kMacBytes, '\0');
  return c;
}

TEST(Crc32Test, MatchesZlib) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
}

TEST(MessageBuilderTest, LegacyLineBecomesChainedRfc5424) {
  const LineSource src{"secure", InputKind::kSyslog, 10, 6};
  const MessageParts parts = PartsFromLine(
      "<38>Jan  5 10:00:00 oldname sshd[123]: Accepted password for root", src, kReadUs);
  std::string mac;
  const std::string msg = SignEvent(kKey, parts, "web01.example.net", First(), &mac);
  ASSERT_EQ(mac.size(), kMacBytes);

  const v1::Event e = Parse(msg);
  EXPECT_EQ(e.pri(), 38);
  EXPECT_EQ(e.version(), 1);
  EXPECT_EQ(e.hostname(), "web01.example.net");
  EXPECT_EQ(e.app_name(), "sshd");
  EXPECT_EQ(e.procid(), "123");
  EXPECT_EQ(e.msg(), "Accepted password for root");
  ASSERT_GE(e.structured_data_size(), 2);
  EXPECT_EQ(e.structured_data(0).id(), "tk@32473");
  EXPECT_EQ(e.structured_data(1).id(), "tkin@32473");
  EXPECT_EQ(e.structured_data(1).params(0).value(), "secure");

  const ChainFields f = ExtractChain(e, kDefaultEnterpriseNumber);
  ASSERT_EQ(f.kind, ChainKind::kEvent);
  ASSERT_EQ(f.error, "");
  EXPECT_EQ(f.link.epoch, kEpoch);
  EXPECT_EQ(f.link.seq, 1u);
  EXPECT_EQ(f.link.prev_mac, std::string(kMacBytes, '\0'));
  EXPECT_EQ(f.link.mac, mac);
  EXPECT_EQ(HmacSha256(kKey, Blanked(msg, mac)), mac);
  EXPECT_TRUE(VerifyMessageMac(kKey, msg, f));
  EXPECT_FALSE(VerifyMessageMac(std::string(32, 'x'), msg, f));
}

TEST(MessageBuilderTest, ChainLinksConsecutiveEvents) {
  const LineSource src{"messages", InputKind::kSyslog, 1, 5};
  ChainPosition chain = First();
  std::string prev_mac = chain.prev_mac;
  for (uint64_t seq = 1; seq <= 5; ++seq) {
    std::string mac;
    const std::string msg = SignEvent(
        kKey, PartsFromLine("line " + std::to_string(seq), src, kReadUs), "h1", chain, &mac);
    const ChainFields f = ExtractChain(Parse(msg), kDefaultEnterpriseNumber);
    EXPECT_EQ(f.link.seq, seq);
    EXPECT_EQ(f.link.prev_mac, prev_mac);
    EXPECT_EQ(HmacSha256(kKey, Blanked(msg, mac)), mac);
    prev_mac = mac;
    chain.prev_mac = mac;
    ++chain.seq;
  }
}

TEST(MessageBuilderTest, LineWithoutPriOrTimeUsesInputDefaults) {
  const LineSource src{"nginx", InputKind::kSyslog, 17, 3};  // local1.err
  const MessageParts parts = PartsFromLine("plain text without header\r", src, kReadUs);
  std::string mac;
  const v1::Event e = Parse(SignEvent(kKey, parts, "h1", First(), &mac));
  EXPECT_EQ(e.pri(), 17 * 8 + 3);
  EXPECT_EQ(e.event_time_us(), kReadUs);
  EXPECT_EQ(e.timestamp_text(), FormatRfc3339Micros(kReadUs));
  EXPECT_EQ(e.app_name(), "");
  EXPECT_NE(std::string(e.msg()).find("plain text without header"), std::string::npos);
  EXPECT_EQ(std::string(e.msg()).find('\r'), std::string::npos);
}

TEST(MessageBuilderTest, Rfc5424LineKeepsItsStructuredDataAfterOurs) {
  const LineSource src{"app", InputKind::kSyslog, 1, 5};
  const MessageParts parts = PartsFromLine(
      R"(<165>1 2026-02-03T04:05:06.123456Z other app 42 ID47 [ex@1 a="q\"uote" b="br\]ack\\"][tk@32473 e="1" s="9" p="x" m=""] body)",
      src, kReadUs);
  std::string mac;
  const std::string msg = SignEvent(kKey, parts, "h1", First(), &mac);
  const v1::Event e = Parse(msg);
  EXPECT_EQ(e.pri(), 165);
  EXPECT_EQ(e.timestamp_text(), "2026-02-03T04:05:06.123456Z");
  EXPECT_EQ(e.app_name(), "app");
  EXPECT_EQ(e.procid(), "42");
  EXPECT_EQ(e.msgid(), "ID47");
  ASSERT_EQ(e.structured_data_size(), 4);
  EXPECT_EQ(e.structured_data(0).id(), "tk@32473");
  EXPECT_EQ(e.structured_data(2).id(), "ex@1");
  EXPECT_EQ(e.structured_data(2).params(0).value(), "q\"uote");
  EXPECT_EQ(e.structured_data(2).params(1).value(), "br]ack\\");
  EXPECT_EQ(e.structured_data(3).id(), "orig-tk@32473");  // a forged chain element is renamed
  EXPECT_EQ(e.msg(), "body");
  const ChainFields f = ExtractChain(e, kDefaultEnterpriseNumber);
  EXPECT_EQ(f.link.seq, 1u);
  EXPECT_TRUE(VerifyMessageMac(kKey, msg, f));
}

// The exact bytes the agent signs (they are what every collector verifies):
// fitted header fields, the chain element first, escaped values.
TEST(MessageBuilderTest, EventMessageBytes) {
  MessageParts parts;
  parts.pri = 165;
  parts.time_us = kReadUs;
  parts.app_name = "my app";
  parts.procid = "42";
  parts.msgid = "ID47";
  parts.input_name = "in\"put]";
  parts.extra_sd = R"([x@1 k="v"])";
  parts.msg = "body \xC3\xA9";
  const std::string head = "<165>1 " + FormatRfc3339Micros(kReadUs) +
                           " web01_example my_app 42 ID47 [tk@32473 e=\"1767225600123456789\" "
                           "s=\"1\" p=\"" +
                           std::string(64, '0') + "\" m=\"\"]";
  EXPECT_EQ(FormatEventMessage(parts, "web01 example", First()),
            head + R"([tkin@32473 name="in\"put\]"][x@1 k="v"] body )" + "\xC3\xA9");
  parts.input_name.clear();
  parts.extra_sd.clear();
  parts.msg.clear();
  EXPECT_EQ(FormatEventMessage(parts, "web01 example", First()), head);  // no SP without MSG
}

TEST(MessageBuilderTest, AuditRecord) {
  const LineSource src{"audisp", InputKind::kAudit, 10, 6};
  const std::string line =
      "type=USER_LOGIN msg=audit(1767225601.250:4242): pid=1 uid=0 res=success";
  const MessageParts parts = PartsFromLine(line, src, kReadUs);
  std::string mac;
  const v1::Event e = Parse(SignEvent(kKey, parts, "h1", First(), &mac));
  EXPECT_EQ(e.app_name(), "auditd");
  EXPECT_EQ(e.msgid(), "USER_LOGIN");
  EXPECT_EQ(e.pri(), 10 * 8 + 6);
  EXPECT_EQ(e.event_time_us(), 1767225601250000);
  EXPECT_EQ(e.msg(), line);
}

TEST(MessageBuilderTest, HeartbeatCarriesTheHead) {
  const std::string head(kMacBytes, '\x07');
  const std::string hb =
      SignHeartbeat(kKey, "h1", kDefaultEnterpriseNumber, kEpoch, 77, head, kReadUs);
  const v1::Event e = Parse(hb);
  EXPECT_EQ(e.app_name(), "trailkeep");
  EXPECT_EQ(e.msgid(), "HEARTBEAT");
  EXPECT_EQ(e.msg(), "");
  const ChainFields f = ExtractChain(e, kDefaultEnterpriseNumber);
  ASSERT_EQ(f.kind, ChainKind::kHeartbeat);
  EXPECT_EQ(f.link.seq, 77u);
  EXPECT_EQ(f.link.prev_mac, head);
  EXPECT_TRUE(VerifyMessageMac(kKey, hb, f));
  const std::string bytes = "<46>1 " + FormatRfc3339Micros(kReadUs) +
                            " h1 trailkeep - HEARTBEAT [tkhb@32473 e=\"1767225600123456789\" "
                            "s=\"77\" h=\"" +
                            LowerHex(head) + "\" m=\"";
  EXPECT_EQ(hb.substr(0, bytes.size()), bytes);
  EXPECT_EQ(hb.size(), bytes.size() + 2 * kMacBytes + 2);  // the MAC's hex, "]
}

TEST(MessageBuilderTest, Inventory) {
  const auto users =
      ParseIdFile("root:x:0:0:root:/root:/bin/bash\n# c\nbob:x:1000:1000::/:/bin/sh\n");
  const auto groups = ParseIdFile("root:x:0:\nwheel:x:10:bob\nbad line\n");
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users.at(1000), "bob");
  EXPECT_EQ(groups.at(10), "wheel");
  const MessageParts parts = InventoryParts(users, groups, kReadUs);
  std::string mac;
  const v1::Event e = Parse(SignEvent(kKey, parts, "h1", First(), &mac));
  EXPECT_EQ(e.app_name(), "trailkeep");
  EXPECT_EQ(e.msgid(), "INVENTORY");
  EXPECT_EQ(e.msg(), R"({"groups":{"0":"root","10":"wheel"},"users":{"0":"root","1000":"bob"}})");
}

}  // namespace
}  // namespace trailkeep::agent

namespace trailkeep::agent {
namespace {

// The agent's own switching event is the one of docs/formats/hmac_chain.md,
// 'Worked example of a rotation', byte for byte.
TEST(MessageBuilderTest, KeyRotatedEventOfTheSpec) {
  std::string new_key;
  for (int i = 32; i < 64; ++i) new_key.push_back(static_cast<char>(i));
  std::string old_key;
  for (int i = 0; i < 32; ++i) old_key.push_back(static_cast<char>(i));
  ChainPosition chain;
  chain.epoch = 1795410517123456789ULL;
  chain.seq = 3;
  ParseLowerHex("f08abab33fcb66e2b7440ec838cbc4e14268e78be3946ad62a12f0412d7b9786",
                &chain.prev_mac);
  chain.key_id = KeyId(new_key);
  const MessageParts parts = KeyRotatedParts(KeyId(new_key), KeyId(old_key), 1795410540000000);
  std::string mac;
  const std::string wire = SignEvent(new_key, parts, "web01.example.net", chain, &mac);
  EXPECT_EQ(LowerHex(mac), "5f6db40818e6a5e206a9aa394127f51c4ac13f1845ef099c1d2f3e2bc5f7c955");
  EXPECT_EQ(wire.size(), 389u);
  // A log line cannot smuggle a key element in: it is renamed like ours.
  const LineSource src{"in", InputKind::kSyslog, 1, 5};
  const MessageParts line =
      PartsFromLine(R"(<13>1 - h a - - [tkkey@32473 id="65934c5ee81d3812"] x)", src, 0);
  EXPECT_EQ(line.extra_sd, R"([orig-tkkey@32473 id="65934c5ee81d3812"])");
}

}  // namespace
}  // namespace trailkeep::agent
