#include "common/event/proto_utf8.h"

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/wire_format_lite.h>

#include "common/base/utf8.h"
#include "common/event/event_utf8.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

namespace pb = google::protobuf;
using pb::internal::WireFormatLite;

// What MakeStringsValidUtf8 visits in a message type: its string fields, and
// the message fields whose type holds a string somewhere below. An Event has
// 37 fields, most of them numbers, bytes and enums; walking only these is
// what keeps the pass cheap enough to run on every stored event.
struct StringPlan {
  std::vector<const pb::FieldDescriptor*> strings;
  std::vector<const pb::FieldDescriptor*> messages;
};

// True when `type` or a message type below it has a string field. A type met
// again while it is being looked at (a recursive message) counts as holding
// strings: visiting it costs little, missing one would store bad bytes.
bool HoldsStrings(const pb::Descriptor* type, std::unordered_set<const pb::Descriptor*>* open) {
  if (!open->insert(type).second) return true;
  bool holds = false;
  for (int i = 0; i < type->field_count() && !holds; ++i) {
    const pb::FieldDescriptor* f = type->field(i);
    holds =
        f->type() == pb::FieldDescriptor::TYPE_STRING ||
        (f->type() == pb::FieldDescriptor::TYPE_MESSAGE && HoldsStrings(f->message_type(), open));
  }
  open->erase(type);
  return holds;
}

StringPlan MakePlan(const pb::Descriptor* type) {
  StringPlan plan;
  for (int i = 0; i < type->field_count(); ++i) {
    const pb::FieldDescriptor* f = type->field(i);
    std::unordered_set<const pb::Descriptor*> open{type};
    if (f->type() == pb::FieldDescriptor::TYPE_STRING) {
      plan.strings.push_back(f);
    } else if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE &&
               HoldsStrings(f->message_type(), &open)) {
      plan.messages.push_back(f);
    }
  }
  return plan;
}

// Descriptors are immutable and live as long as the process, so a type's
// plan is made once and shared by every thread (the only state this file
// keeps: a cache of what the descriptors say).
const StringPlan& PlanFor(const pb::Descriptor* type) {
  static std::mutex mutex;
  static std::unordered_map<const pb::Descriptor*, std::unique_ptr<const StringPlan>> plans;
  std::lock_guard lock(mutex);
  auto& plan = plans[type];
  if (!plan) plan = std::make_unique<const StringPlan>(MakePlan(type));
  return *plan;
}

size_t FixStrings(pb::Message* m, const pb::Reflection* r, const pb::FieldDescriptor* f) {
  std::string scratch;
  if (!f->is_repeated()) {
    const std::string& s = r->GetStringReference(*m, f, &scratch);
    if (IsValidUtf8(s)) return 0;
    r->SetString(m, f, EscapeInvalidUtf8(s));
    return 1;
  }
  size_t fixed = 0;
  for (int j = 0, n = r->FieldSize(*m, f); j < n; ++j) {
    const std::string& s = r->GetRepeatedStringReference(*m, f, j, &scratch);
    if (IsValidUtf8(s)) continue;
    r->SetRepeatedString(m, f, j, EscapeInvalidUtf8(s));
    ++fixed;
  }
  return fixed;
}

size_t FixMessages(pb::Message* m, const pb::Reflection* r, const pb::FieldDescriptor* f) {
  if (!f->is_repeated())
    return r->HasField(*m, f) ? MakeStringsValidUtf8(r->MutableMessage(m, f)) : 0;
  size_t fixed = 0;
  for (int j = 0, n = r->FieldSize(*m, f); j < n; ++j) {
    fixed += MakeStringsValidUtf8(r->MutableRepeatedMessage(m, f, j));
  }
  return fixed;
}

// Copies the wire format `in` of a `type` message to *out, escaping the
// payload of every string field (nested messages included) that is not valid
// UTF-8; everything else is copied byte for byte. False when `in` is not
// well-formed wire format.
bool RewriteStrings(const pb::Descriptor* type, std::string_view in, std::string* out,
                    bool* changed) {
  pb::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(in.data()),
                                 static_cast<int>(in.size()));
  pb::io::StringOutputStream sink(out);
  pb::io::CodedOutputStream output(&sink);
  std::string payload;
  while (uint32_t tag = input.ReadTag()) {
    if (WireFormatLite::GetTagWireType(tag) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&input, tag, &output)) return false;
      continue;
    }
    uint32_t size = 0;
    if (!input.ReadVarint32(&size) || !input.ReadString(&payload, static_cast<int>(size))) {
      return false;
    }
    const pb::FieldDescriptor* field =
        type->FindFieldByNumber(static_cast<int>(WireFormatLite::GetTagFieldNumber(tag)));
    if (field != nullptr && field->type() == pb::FieldDescriptor::TYPE_STRING &&
        !IsValidUtf8(payload)) {
      payload = EscapeInvalidUtf8(payload);
      *changed = true;
    } else if (field != nullptr && field->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      std::string nested;
      if (!RewriteStrings(field->message_type(), payload, &nested, changed)) return false;
      payload.swap(nested);
    }
    output.WriteTag(tag);
    output.WriteVarint32(static_cast<uint32_t>(payload.size()));
    output.WriteString(payload);
  }
  // ReadTag() returns 0 at the end and on a malformed tag; only the end is fine.
  return input.ConsumedEntireMessage() && !output.HadError();
}

}  // namespace

size_t MakeStringsValidUtf8(pb::Message* message) {
  // The stored event, on every commit: the generated accessors' path.
  if (auto* event = dynamic_cast<v1::Event*>(message)) return MakeEventStringsValidUtf8(event);
  const StringPlan& plan = PlanFor(message->GetDescriptor());
  const pb::Reflection* reflection = message->GetReflection();
  size_t fixed = 0;
  for (const pb::FieldDescriptor* f : plan.strings) fixed += FixStrings(message, reflection, f);
  for (const pb::FieldDescriptor* f : plan.messages) fixed += FixMessages(message, reflection, f);
  return fixed;
}

ParseOutcome ParseRepairingUtf8(std::string_view bytes, pb::Message* message) {
  if (message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return ParseOutcome::kClean;
  }
  std::string rewritten;
  bool changed = false;
  if (!RewriteStrings(message->GetDescriptor(), bytes, &rewritten, &changed) || !changed) {
    return ParseOutcome::kUnparseable;
  }
  if (!message->ParseFromString(rewritten)) return ParseOutcome::kUnparseable;
  return ParseOutcome::kRepaired;
}

}  // namespace trailkeep
