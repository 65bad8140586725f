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

namespace trailkeep {
namespace {

namespace pb = google::protobuf;

// Sets every string field of *m, and of one element of every message field
// below it, to `bad` by reflection; returns how many values it set.
size_t PoisonEveryString(pb::Message* m, const std::string& bad, int depth = 0) {
  if (depth > 6) return 0;
  const pb::Descriptor* type = m->GetDescriptor();
  const pb::Reflection* r = m->GetReflection();
  size_t set = 0;
  for (int i = 0; i < type->field_count(); ++i) {
    const pb::FieldDescriptor* f = type->field(i);
    if (f->type() == pb::FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        r->AddString(m, f, bad);
      } else {
        r->SetString(m, f, bad);
      }
      ++set;
    } else if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      pb::Message* child = f->is_repeated() ? r->AddMessage(m, f) : r->MutableMessage(m, f);
      set += PoisonEveryString(child, bad, depth + 1);
    }
  }
  return set;
}

// Every string field the descriptors list under Event, as "Type.field", that
// still holds bytes that are not UTF-8.
void InvalidStrings(const pb::Message& m, std::vector<std::string>* out) {
  const pb::Reflection* r = m.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->type() == pb::FieldDescriptor::TYPE_STRING) {
      const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
      for (int j = 0; j < n; ++j) {
        const std::string v = f->is_repeated() ? r->GetRepeatedString(m, f, j) : r->GetString(m, f);
        if (!IsValidUtf8(v)) out->push_back(f->full_name());
      }
    } else if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
      for (int j = 0; j < n; ++j) {
        InvalidStrings(f->is_repeated() ? r->GetRepeatedMessage(m, f, j) : r->GetMessage(m, f),
                       out);
      }
    }
  }
}

// The Event path (common/event/event_utf8.cc) names its fields by hand: a
// string field added to record.proto and not there fails here.
TEST(ProtoUtf8, EventPathCoversEveryStringField) {
  v1::Event e;
  const size_t poisoned = PoisonEveryString(&e, std::string("x\xff", 2));
  ASSERT_GE(poisoned, 29u);  // the 29 of today: the walk reached every message type
  EXPECT_EQ(MakeStringsValidUtf8(&e), poisoned);
  std::vector<std::string> left;
  InvalidStrings(e, &left);
  EXPECT_TRUE(left.empty()) << "not escaped: " << ::testing::PrintToString(left);
  EXPECT_EQ(e.host(), "x\\xFF");
}

}  // namespace
}  // namespace trailkeep
