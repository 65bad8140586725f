// RFC 3164 in its real-world forms (BSD and ISO timestamps, missing PRI or
// HOSTNAME), as legacy senders and agents' tailed files deliver it.
// Input: one frame, then a receive-time selector (syslog_fuzz_common.h).
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/syslog/syslog_parser.h"
#include "tests/fuzz/syslog_fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trailkeep;
  const auto [receive_us, frame] = fuzz::ReadSyslogInput(data, size);

  v1::Event event;
  ParseRfc3164(frame, receive_us, &event);
  fuzz::CheckEvent(event);
  return 0;
}
