#include "common/event/proto_utf8.h"

#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/wire_format_lite.h>

#include "common/base/utf8.h"

namespace trailkeep {
namespace {

namespace pb = google::protobuf;
using pb::internal::WireFormatLite;

// Escapes *s in place through the reflection setter `set` when it is not valid UTF-8.
template <typename Set>
size_t FixString(const std::string& s, Set set) {
  if (IsValidUtf8(s)) return 0;
  set(EscapeInvalidUtf8(s));
  return 1;
}

size_t FixField(pb::Message* m, const pb::Reflection* r, const pb::FieldDescriptor* f) {
  size_t fixed = 0;
  std::string scratch;
  if (f->type() == pb::FieldDescriptor::TYPE_STRING) {
    if (f->is_repeated()) {
      for (int j = 0; j < r->FieldSize(*m, f); ++j) {
        fixed += FixString(r->GetRepeatedStringReference(*m, f, j, &scratch),
                           [&](std::string v) { r->SetRepeatedString(m, f, j, std::move(v)); });
      }
    } else {
      fixed += FixString(r->GetStringReference(*m, f, &scratch),
                         [&](std::string v) { r->SetString(m, f, std::move(v)); });
    }
  } else if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
    if (f->is_repeated()) {
      for (int j = 0; j < r->FieldSize(*m, f); ++j) {
        fixed += MakeStringsValidUtf8(r->MutableRepeatedMessage(m, f, j));
      }
    } else if (r->HasField(*m, f)) {
      fixed += MakeStringsValidUtf8(r->MutableMessage(m, f));
    }
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
  const pb::Descriptor* type = message->GetDescriptor();
  const pb::Reflection* reflection = message->GetReflection();
  size_t fixed = 0;
  for (int i = 0; i < type->field_count(); ++i) {
    fixed += FixField(message, reflection, type->field(i));
  }
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
