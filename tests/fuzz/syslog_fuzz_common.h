// What every syslog parser target checks of the event it got: the parsers
// promise valid UTF-8 in every string field (proto3 refuses to parse it
// back otherwise, and the block holding it would be lost to every reader),
// and the one JSON form of an event must be JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

#include "common/event/event_format.h"
#include "tests/fuzz/fuzz_check.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::fuzz {

// One input of a syslog target: the receive time (its selector is the last
// byte: usually a plausible time, year boundaries matter to RFC 3164; or any
// value, as an export file handed to `verify --export` can say), then the frame.
struct SyslogInput {
  int64_t receive_us = 0;
  std::string frame;
};

inline SyslogInput ReadSyslogInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  SyslogInput out;
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      out.receive_us = 1795410000000000;  // 2026-11-23T05:00:00Z
      break;
    case 1:
      out.receive_us = 1798761590000000;  // 2026-12-31T23:59:50Z
      break;
    case 2:
      out.receive_us = 1798761630000000;  // 2027-01-01T00:00:30Z
      break;
    default:
      out.receive_us = in.ConsumeIntegral<int64_t>();
  }
  out.frame = in.ConsumeRemainingBytesAsString();
  return out;
}

inline void CheckEvent(const v1::Event& event) {
  std::string bytes;
  FUZZ_CHECK(event.SerializeToString(&bytes));
  v1::Event copy;
  FUZZ_CHECK(copy.ParseFromString(bytes));
  const std::string json = EventToJson(event);
  FUZZ_CHECK(nlohmann::json::accept(json));
  (void)EventToText(event);
}

}  // namespace trailkeep::fuzz
