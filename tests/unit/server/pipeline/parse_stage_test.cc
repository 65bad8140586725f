#include "server/pipeline/parse_stage.h"

#include <gtest/gtest.h>

#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

std::shared_ptr<v1::Peer> MakePeer(const std::string& bound_host = "") {
  auto p = std::make_shared<v1::Peer>();
  p->set_address("192.0.2.9:5000");
  p->set_listener("127.0.0.1:6514");
  p->set_bound_host(bound_host);
  return p;
}

TEST(ParseStageTest, SyslogFrameBecomesAnEventKeepingItsBytes) {
  const std::string line = "<13>1 2026-11-23T05:08:34Z web-1 app - - - hi";
  RawFrame f{line, 7, MakePeer()};
  v1::Event e;
  ParseStage().Parse(FrameFormat::kSyslog, &f, &e);
  EXPECT_EQ(e.hostname(), "web-1");
  EXPECT_EQ(e.msg(), "hi");
  EXPECT_EQ(e.raw(), line);
  EXPECT_EQ(e.receive_time_us(), 7);
  EXPECT_EQ(e.transport(), v1::TRANSPORT_TLS_SYSLOG);
  EXPECT_EQ(e.integrity(), v1::INTEGRITY_UNSIGNED);
  EXPECT_EQ(e.peer().listener(), "127.0.0.1:6514");
  EXPECT_EQ(e.host(), "");  // the host is the binding stage's
  EXPECT_FALSE(e.audit_member());
  // The bytes moved into the event; the pipeline gives them back on a refusal.
  f.bytes = std::move(*e.mutable_raw());
  EXPECT_EQ(f.bytes, line);
}

TEST(ParseStageTest, GarbageIsKeptWithAParseError) {
  RawFrame f{std::string("\xff\x00garbage", 9), 3, MakePeer()};
  v1::Event e;
  ParseStage().Parse(FrameFormat::kSyslog, &f, &e);
  EXPECT_EQ(e.raw(), std::string("\xff\x00garbage", 9));
  EXPECT_FALSE(e.parse_error().empty());
}

TEST(ParseStageTest, OnlyAVouchedChannelsAuditRecordsAreMembers) {
  const std::string record =
      "<14>1 2026-11-23T05:08:34Z web-1 auditd - - - type=SYSCALL msg=audit(1700000000.100:7): "
      "syscall=59";
  RawFrame from_agent{record, 1, MakePeer("web-1")};
  v1::Event member;
  ParseStage().Parse(FrameFormat::kSyslog, &from_agent, &member);
  EXPECT_TRUE(member.audit_member());
  // The same text from a legacy sender is only a message: classified as it comes.
  RawFrame legacy{record, 1, MakePeer()};
  v1::Event plain;
  ParseStage().Parse(FrameFormat::kSyslog, &legacy, &plain);
  EXPECT_FALSE(plain.audit_member());
}

TEST(ParseStageTest, Port60RecordIsAnAuditMemberUnlessItIsNoRecord) {
  RawFrame f{"type=EOE msg=audit(1700000000.100:7): \n", 5, MakePeer("node-a")};
  v1::Event e;
  ParseStage().Parse(FrameFormat::kAuditRecord, &f, &e);
  EXPECT_EQ(e.transport(), v1::TRANSPORT_AUDIT_PORT60);
  EXPECT_EQ(e.msg(), "type=EOE msg=audit(1700000000.100:7): ");
  EXPECT_EQ(e.raw(), "type=EOE msg=audit(1700000000.100:7): \n");
  EXPECT_EQ(e.event_time_us(), 1'700'000'000'100'000);
  EXPECT_TRUE(e.audit_member());
  EXPECT_EQ(e.host(), "");  // node= or not, the channel names the host (binding stage)

  RawFrame text{"not a record", 5, MakePeer()};
  v1::Event other;
  ParseStage().Parse(FrameFormat::kAuditRecord, &text, &other);
  EXPECT_FALSE(other.parse_error().empty());
  EXPECT_FALSE(other.audit_member());
}

}  // namespace
}  // namespace trailkeep
