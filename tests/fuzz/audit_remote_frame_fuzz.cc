// Port 60 as the collector's listener reads it: the agent hello test on the
// first bytes (ClassifyPort60Start), then auditd's managed frames and ASCII
// lines (AuditRemoteDecoder), each record made an event (MakeAuditRemoteEvent). Input: byte 0 picks
// the maximum payload (1..256, or the real 8970), byte 1 the chunk size, the rest is the stream.
// Invariants: chunking changes nothing, payloads respect the maximum, an
// error is final, and what the decoder holds while it waits is bounded.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/wire/audit_remote_frame.h"
#include "common/wire/port60_hello.h"
#include "server/pipeline/audit_remote_records.h"
#include "tests/fuzz/fuzz_check.h"
#include "trailkeep/v1/record.pb.h"

namespace {

namespace ar = trailkeep::auditremote;
using trailkeep::ClassifyPort60Start;
using trailkeep::Port60Start;

struct Outcome {
  Port60Start start = Port60Start::kNeedMore;
  std::vector<std::string> items;  // kind, header fields and payload, flattened
  bool error = false;
};

// Takes every item; false once the stream failed.
bool Drain(ar::AuditRemoteDecoder* decoder, size_t max_payload, Outcome* out) {
  ar::Item item;
  while (decoder->Next(&item)) {
    FUZZ_CHECK(!out->error);
    if (item.kind == ar::Item::Kind::kError) {
      FUZZ_CHECK(!item.error.empty());
      out->error = true;
      FUZZ_CHECK(!decoder->Next(&item));
      return false;
    }
    FUZZ_CHECK(item.payload.size() <= max_payload);
    // Each record becomes an event as the listener's pipeline makes it.
    trailkeep::v1::Event event;
    trailkeep::MakeAuditRemoteEvent(item.payload, 1795410000000000, trailkeep::v1::Peer(), &event);
    std::string flat = item.kind == ar::Item::Kind::kManaged ? "M" : "A";
    if (item.kind == ar::Item::Kind::kManaged) {
      flat += std::to_string(item.header.type) + "/" + std::to_string(item.header.seq) + "/" +
              std::to_string(item.header.length) + ":";
      FUZZ_CHECK(item.header.length == item.payload.size());
    }
    out->items.push_back(flat + item.payload);
  }
  FUZZ_CHECK(decoder->buffered() <= ar::kHeaderBytes + max_payload);
  return true;
}

// As the listener's session: the first bytes decide between an agent and
// auditd; auditd's bytes, those first ones included, go to the decoder.
Outcome Run(std::string_view stream, size_t chunk, size_t max_payload) {
  Outcome out;
  ar::AuditRemoteDecoder decoder(max_payload);
  std::string first;
  bool decided = false;
  for (size_t at = 0; at < stream.size(); at += chunk) {
    const std::string_view piece = stream.substr(at, chunk);
    if (!decided) {
      first.append(piece);
      out.start = ClassifyPort60Start(first);
      if (out.start == Port60Start::kNeedMore) continue;
      if (out.start != Port60Start::kNotHello) return out;  // answered or refused
      decided = true;
      decoder.Feed(first);
    } else {
      decoder.Feed(piece);
    }
    if (!Drain(&decoder, max_payload, &out)) break;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t max_payload = data[0] == 0 ? ar::kMaxPayloadBytes : data[0];
  const size_t chunk = 1 + data[1] % 64;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Outcome whole = Run(stream, stream.size() + 1, max_payload);
  const Outcome chunked = Run(stream, chunk, max_payload);
  FUZZ_CHECK(whole.error == chunked.error);
  FUZZ_CHECK(whole.items == chunked.items);
  // The hello verdict may only differ while it waits for more (a stream that
  // ends inside a hello prefix is the same in both).
  if (whole.start == Port60Start::kAgent || whole.start == Port60Start::kBadHello) {
    FUZZ_CHECK(chunked.start != Port60Start::kNotHello);
  }
  return 0;
}
