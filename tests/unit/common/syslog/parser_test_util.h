// Helpers shared by the syslog parser tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "common/syslog/syslog_parser.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep::parser_test {

// The receive time every parser test uses: 2026-11-23T05:00:00Z.
inline constexpr int64_t kReceiveUs = 1795410000000000;

inline v1::Event Syslog(std::string_view frame) {
  v1::Event event;
  ParseSyslog(frame, kReceiveUs, &event);
  return event;
}

// proto3 refuses to parse string fields holding invalid UTF-8: every event the
// parsers produce must survive a serialise/parse round trip.
inline void ExpectRoundTrips(const v1::Event& event) {
  std::string bytes;
  ASSERT_TRUE(event.SerializeToString(&bytes));
  v1::Event copy;
  EXPECT_TRUE(copy.ParseFromString(bytes)) << "string field with invalid UTF-8";
  EXPECT_EQ(copy.SerializeAsString(), bytes);
}

}  // namespace trailkeep::parser_test
