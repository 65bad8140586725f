// The agent's reader of what the collector sends on a trailkeep/1
// connection (agent/collector_link.cc, ReadFrame): octet-counted frames of
// at most 64 KiB, each one serialized CollectorFrame (Resume, Ack,
// Goodbye, Pause, Proceed). The link's handling of a frame is inside its coroutine; what
// it reads of one is checked here. Input: byte 0 picks the chunk size, the
// rest is the stream. Invariants: a frame that parses serialises to bytes
// that parse to the same frame; a line frame is a protocol error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/wire/octet_framer.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"
#include "trailkeep/v1/wire.pb.h"

namespace {

// kMaxCollectorFrame in agent/collector_link.cc.
constexpr size_t kMaxCollectorFrame = 64 * 1024;

// One frame as the link reads it; false when the link would drop the
// connection (protocol error).
bool OnFrame(std::string_view bytes, trailkeep::OctetFramer::Kind kind) {
  trailkeep::v1::CollectorFrame frame;
  if (kind != trailkeep::OctetFramer::Kind::kOctetCounted ||
      !frame.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return false;
  }
  std::string again;
  FUZZ_CHECK(frame.SerializeToString(&again));
  trailkeep::v1::CollectorFrame copy;
  FUZZ_CHECK(copy.ParseFromString(again));
  FUZZ_CHECK(copy.SerializeAsString() == again);
  if (frame.has_resume()) {
    // The link compares host with its own and logs the collector's.
    (void)(frame.resume().host() == "web01.test");
    (void)(frame.resume().contiguous_seq() + 1);
  } else if (frame.has_goodbye()) {
    (void)std::string("collector said goodbye: " + frame.goodbye().reason());
  } else if (frame.has_pause()) {
    // Disk full: the link logs the reason and keeps spooling until Proceed.
    (void)std::string("collector paused: " + frame.pause().reason());
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  trailkeep::fuzz::QuietProtobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  trailkeep::OctetFramer framer(kMaxCollectorFrame);
  for (size_t at = 0; at < stream.size(); at += chunk) {
    framer.Feed(stream.substr(at, chunk));
    for (;;) {
      std::string_view bytes;
      trailkeep::OctetFramer::Kind kind;
      const auto r = framer.Next(&bytes, &kind);
      if (r == trailkeep::OctetFramer::Result::kNeedMore) break;
      if (r == trailkeep::OctetFramer::Result::kError) return 0;
      if (!OnFrame(bytes, kind)) return 0;
    }
  }
  return 0;
}
