// The store's repairing parse (ParseRepairingUtf8) of an EventBlock, the
// value every reader of the events column family decodes: a block written
// before the UTF-8 guard, or damaged on disk, must never crash a reader.
// Invariants: a block it parses (clean or repaired) serialises, parses back
// as stored, and MakeStringsValidUtf8 finds nothing left to fix.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/event/proto_utf8.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"
#include "trailkeep/v1/record.pb.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  trailkeep::fuzz::QuietProtobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trailkeep;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  v1::EventBlock block;
  const ParseOutcome outcome = ParseRepairingUtf8(bytes, &block);
  if (outcome == ParseOutcome::kUnparseable) return 0;
  FUZZ_CHECK(MakeStringsValidUtf8(&block) == 0);
  std::string out;
  FUZZ_CHECK(block.SerializeToString(&out));
  v1::EventBlock back;
  FUZZ_CHECK(back.ParseFromString(out));
  return 0;
}
