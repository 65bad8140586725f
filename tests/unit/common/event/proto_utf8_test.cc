#include "common/event/proto_utf8.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

#include "common/base/utf8.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

std::string RandomBytes(std::mt19937* rng, size_t max_len) {
  std::uniform_int_distribution<size_t> len(0, max_len);
  // Bias towards the bytes that start and continue multi-byte sequences, so
  // valid and almost-valid sequences both come up often.
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(len(*rng), '\0');
  for (char& c : s) {
    int b = byte(*rng);
    if (b < 64) b = 0x80 + (b & 0x3F);
    c = static_cast<char>(b);
  }
  return s;
}

// An event whose text fields hold `bad` everywhere a stray byte could land.
v1::Event PoisonedEvent(const std::string& bad) {
  v1::Event e;
  e.set_host("web-" + bad);
  e.set_hostname(bad);
  e.mutable_peer()->set_cert_subject("CN=" + bad);
  e.mutable_peer()->add_cert_dns_names(bad);
  auto* sd = e.add_structured_data();
  sd->set_id("x@1");
  sd->add_params()->set_value(bad);
  e.add_ndcpp_refs(bad);
  auto* rec = e.mutable_audit()->add_records();
  rec->set_type(bad);
  rec->add_fields()->set_value(bad);
  e.set_msg(bad);  // bytes: kept exactly
  e.set_raw(bad);
  return e;
}

// Our validator must agree with protobuf's own: a string it calls valid
// parses back, and one it escapes would not have.
TEST(ProtoUtf8Test, ValidatorAgreesWithProtobufOnRandomBytes) {
  std::mt19937 rng(20261205);
  for (int i = 0; i < 20000; ++i) {
    const std::string s = RandomBytes(&rng, 12);
    v1::Event e;
    e.set_host(s);
    std::string wire;
    ASSERT_TRUE(e.SerializeToString(&wire));
    v1::Event back;
    EXPECT_EQ(back.ParseFromString(wire), IsValidUtf8(s)) << "bytes: " << EscapeInvalidUtf8(s);
    const std::string escaped = EscapeInvalidUtf8(s);
    ASSERT_TRUE(IsValidUtf8(escaped));
    e.set_host(escaped);
    ASSERT_TRUE(back.ParseFromString(e.SerializeAsString()));
  }
}

TEST(ProtoUtf8Test, MakeStringsValidUtf8FixesEveryNestedStringAndKeepsBytes) {
  v1::Event e = PoisonedEvent("\xFF\xFE");
  EXPECT_EQ(MakeStringsValidUtf8(&e), 8u);
  EXPECT_EQ(e.host(), "web-\\xFF\\xFE");
  EXPECT_EQ(e.peer().cert_subject(), "CN=\\xFF\\xFE");
  EXPECT_EQ(e.peer().cert_dns_names(0), "\\xFF\\xFE");
  EXPECT_EQ(e.structured_data(0).params(0).value(), "\\xFF\\xFE");
  EXPECT_EQ(e.ndcpp_refs(0), "\\xFF\\xFE");
  EXPECT_EQ(e.audit().records(0).fields(0).value(), "\\xFF\\xFE");
  EXPECT_EQ(e.msg(), "\xFF\xFE");
  EXPECT_EQ(e.raw(), "\xFF\xFE");
  v1::Event back;
  EXPECT_TRUE(back.ParseFromString(e.SerializeAsString()));
  EXPECT_EQ(MakeStringsValidUtf8(&e), 0u);
}

TEST(ProtoUtf8Test, RepairsWhatWasStoredBeforeTheGuard) {
  v1::EventBlock block;
  block.set_host_id(7);
  *block.add_events() = PoisonedEvent("\xC3\x28");
  block.add_events()->set_host("clean");
  const std::string wire = block.SerializeAsString();  // as an old writer stored it

  v1::EventBlock plain;
  ASSERT_FALSE(plain.ParseFromString(wire));  // what made every reader fail
  v1::EventBlock repaired;
  ASSERT_EQ(ParseRepairingUtf8(wire, &repaired), ParseOutcome::kRepaired);
  EXPECT_EQ(repaired.host_id(), 7u);
  ASSERT_EQ(repaired.events_size(), 2);
  EXPECT_EQ(repaired.events(0).host(), "web-\\xC3(");
  EXPECT_EQ(repaired.events(0).audit().records(0).fields(0).value(), "\\xC3(");
  EXPECT_EQ(repaired.events(0).raw(), "\xC3\x28");
  EXPECT_EQ(repaired.events(1).host(), "clean");

  v1::EventBlock expected = block;
  MakeStringsValidUtf8(&expected);
  EXPECT_EQ(repaired.SerializeAsString(), expected.SerializeAsString());
}

TEST(ProtoUtf8Test, CleanAndUnparseableInput) {
  v1::EventBlock block;
  block.add_events()->set_host("web01");
  v1::EventBlock out;
  EXPECT_EQ(ParseRepairingUtf8(block.SerializeAsString(), &out), ParseOutcome::kClean);
  EXPECT_EQ(ParseRepairingUtf8("\x0A\xFF\xFF\xFF\xFF\x0F", &out), ParseOutcome::kUnparseable);
  EXPECT_EQ(ParseRepairingUtf8("\x12\x05"
                               "ab",
                               &out),
            ParseOutcome::kUnparseable);  // cut short
}

}  // namespace
}  // namespace trailkeep
