#include "common/wire/audit_remote_frame.h"

#include <string>

#include <gtest/gtest.h>

#include "common/wire/port60_hello.h"

namespace trailkeep::auditremote {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

// The captures of docs/formats/audit_remote.md, 'Frames'.
TEST(AuditRemoteFrameTest, DecodesCapturedHeaders) {
  const std::string hb = Bytes({0xfe, 0, 0, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0, 0, 0});
  Header h = DecodeHeader(reinterpret_cast<const unsigned char*>(hb.data()));
  EXPECT_EQ(h.magic, kMagic);
  EXPECT_EQ(h.type, kHeartbeat);
  EXPECT_EQ(h.length, 0);
  EXPECT_EQ(h.seq, 4u);
  EXPECT_EQ(EncodeFrame(kAck, 7), Bytes({0xfe, 0, 0, 0xff, 0, 0, 0, 0, 0, 0x40, 0, 0, 7, 0, 0, 0}));
}

TEST(AuditRemoteFrameTest, FramesSplitAtEveryByteAndPacked) {
  const std::string rec = "type=SYSCALL msg=audit(1700000000.123:42): arch=c000003e syscall=59\n";
  const std::string stream = EncodeFrame(kMessage, 2, rec) + EncodeFrame(kHeartbeat, 3) +
                             "type=USER_LOGIN msg=audit(1700000000.200:43): res=success\n" +
                             EncodeFrame(kMessage, 5, rec);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    AuditRemoteDecoder d;
    std::vector<Item> items;
    Item it;
    d.Feed(std::string_view(stream).substr(0, cut));
    while (d.Next(&it)) items.push_back(it);
    d.Feed(std::string_view(stream).substr(cut));
    while (d.Next(&it)) items.push_back(it);
    ASSERT_EQ(items.size(), 4u) << "cut at " << cut;
    EXPECT_EQ(items[0].kind, Item::Kind::kManaged);
    EXPECT_EQ(items[0].header.seq, 2u);
    EXPECT_EQ(items[0].payload, rec);
    EXPECT_EQ(items[1].header.type, kHeartbeat);
    EXPECT_EQ(items[2].kind, Item::Kind::kAsciiLine);
    EXPECT_EQ(items[2].payload, "type=USER_LOGIN msg=audit(1700000000.200:43): res=success");
    EXPECT_EQ(items[3].header.seq, 5u);
    EXPECT_EQ(d.buffered(), 0u);
  }
}

TEST(AuditRemoteFrameTest, OversizePayloadIsAnErrorAndFinal) {
  std::string frame = EncodeFrame(kMessage, 2, std::string(9000, 'x'));
  AuditRemoteDecoder d;
  d.Feed(frame.substr(0, kHeaderBytes));  // the header alone is enough to refuse it
  Item it;
  ASSERT_TRUE(d.Next(&it));
  EXPECT_EQ(it.kind, Item::Kind::kError);
  EXPECT_NE(it.error.find("9000"), std::string::npos);
  d.Feed(EncodeFrame(kHeartbeat, 3));
  EXPECT_FALSE(d.Next(&it));
}

TEST(AuditRemoteFrameTest, BadHeaderVersionAndLongLinesAreErrors) {
  std::string frame = EncodeFrame(kMessage, 2, "x");
  frame[4] = 1;
  AuditRemoteDecoder d;
  d.Feed(frame);
  Item it;
  ASSERT_TRUE(d.Next(&it));
  EXPECT_EQ(it.kind, Item::Kind::kError);

  AuditRemoteDecoder lines(100);
  lines.Feed(std::string(101, 'a'));
  ASSERT_TRUE(lines.Next(&it));
  EXPECT_EQ(it.kind, Item::Kind::kError);
}

TEST(AuditRemoteFrameTest, MagicPrefixWaitsAndOtherBytesAreText) {
  AuditRemoteDecoder d;
  Item it;
  d.Feed(Bytes({0xfe, 0}));
  EXPECT_FALSE(d.Next(&it));  // could still be a managed header
  d.Feed(Bytes({0x01}));
  d.Feed("x\n");  // FE 00 01: not the magic, so a line
  ASSERT_TRUE(d.Next(&it));
  EXPECT_EQ(it.kind, Item::Kind::kAsciiLine);
  EXPECT_EQ(it.payload, Bytes({0xfe, 0, 1, 'x'}));
}

TEST(AuditRemoteFrameTest, TruncatedHeaderStaysBuffered) {
  AuditRemoteDecoder d;
  d.Feed(EncodeFrame(kMessage, 2, "type=X msg=audit(1.0:1): a=b\n").substr(0, 10));
  Item it;
  EXPECT_FALSE(d.Next(&it));
  EXPECT_EQ(d.buffered(), 10u);
}

// The first bytes of a port-60 connection: an agent's hello only when they
// are exactly the hello (the agent waits for the answer before TLS).
TEST(Port60HelloTest, ClassifiesFirstBytes) {
  EXPECT_EQ(ClassifyPort60Start(""), Port60Start::kNeedMore);
  EXPECT_EQ(ClassifyPort60Start("type=SYSCALL"), Port60Start::kNotHello);
  EXPECT_EQ(ClassifyPort60Start(Bytes({0xfe, 0, 0, 0xff})), Port60Start::kNotHello);
  EXPECT_EQ(ClassifyPort60Start(kAgentHello.substr(0, 1)), Port60Start::kNeedMore);
  EXPECT_EQ(ClassifyPort60Start(kAgentHello.substr(0, 19)), Port60Start::kNeedMore);
  EXPECT_EQ(ClassifyPort60Start(kAgentHello), Port60Start::kAgent);
  EXPECT_EQ(ClassifyPort60Start(std::string(kAgentHello) + "\x16"), Port60Start::kBadHello);
  EXPECT_EQ(ClassifyPort60Start(std::string("\0trailkeep/2", 12)), Port60Start::kBadHello);
  EXPECT_EQ(ClassifyPort60Start(std::string(1, '\0')), Port60Start::kNeedMore);
}

}  // namespace
}  // namespace trailkeep::auditremote
