// The RFC 6587 / RFC 5425 framer of every syslog and agent connection.
// Input: byte 0 picks the maximum frame (1..256 bytes, so limits are hit),
// byte 1 the size of the chunks the rest arrives in. Invariants: chunking
// changes nothing (same frames, same verdict as one Feed of everything),
// frames respect the maximum, and what the framer holds while it waits is
// bounded by the maximum frame.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/wire/octet_framer.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using trailkeep::OctetFramer;

struct Outcome {
  std::vector<std::pair<std::string, OctetFramer::Kind>> frames;
  bool error = false;
};

// Takes every frame the framer has; false once it reported an error.
bool Drain(OctetFramer* framer, Outcome* out) {
  for (;;) {
    std::string_view frame;
    OctetFramer::Kind kind;
    switch (framer->Next(&frame, &kind)) {
      case OctetFramer::Result::kFrame:
        FUZZ_CHECK(frame.size() <= framer->max_frame());
        out->frames.emplace_back(std::string(frame), kind);
        break;
      case OctetFramer::Result::kNeedMore:
        // 10 count digits and a SP at most beyond the frame itself.
        FUZZ_CHECK(framer->Pending().size() <= framer->max_frame() + 11);
        return true;
      case OctetFramer::Result::kError:
        FUZZ_CHECK(!framer->error().empty());
        out->error = true;
        return false;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t max_frame = 1 + data[0];
  const size_t chunk = 1 + data[1] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  Outcome whole;
  OctetFramer a(max_frame);
  a.Feed(input);
  Drain(&a, &whole);

  Outcome chunked;
  OctetFramer b(max_frame);
  for (size_t at = 0; at < input.size(); at += chunk) {
    b.Feed(input.substr(at, chunk));
    if (!Drain(&b, &chunked)) break;
  }
  FUZZ_CHECK(whole.error == chunked.error);
  FUZZ_CHECK(whole.frames == chunked.frames);
  return 0;
}
