// Syslog lines in the forms network gear sends (tests/testdata/network_device_syslog.tsv,
// whose header explains the columns and whose comments name each form's source) must
// parse into exactly the fields listed next to them.

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/syslog/syslog_parser.h"
#include "tests/unit/common/syslog/parser_test_util.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using parser_test::ExpectRoundTrips;
using parser_test::kReceiveUs;
using parser_test::LoadTestdataTsv;
using parser_test::TsvLine;

constexpr size_t kColumns = 13;

enum Column : size_t {
  kDevice,
  kFrame,
  kFormat,
  kTimestamp,
  kEventTime,
  kInferred,
  kTzOffset,
  kHostname,
  kAppName,
  kProcId,
  kMsgId,
  kMsg,
  kParseError,
};

v1::SyntaxFormat FormatNamed(const std::string& name) {
  if (name == "rfc3164") return v1::FORMAT_RFC3164;
  if (name == "rfc5424") return v1::FORMAT_RFC5424;
  ADD_FAILURE() << "unknown FORMAT " << name;
  return v1::FORMAT_UNSPECIFIED;
}

int64_t Utc(const std::string& rfc3339) {
  int64_t utc_us = 0;
  int offset = 0;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &utc_us, &offset)) << rfc3339;
  return utc_us;
}

// PRI as written at the start of the frame, or -1.
int PriOf(const std::string& frame) {
  if (frame.empty() || frame[0] != '<') return -1;
  return std::stoi(frame.substr(1));
}

std::vector<TsvLine> Samples() { return LoadTestdataTsv("network_device_syslog.tsv", kColumns); }

TEST(DeviceSamplesTest, EveryLineParsesToItsFields) {
  for (const TsvLine& line : Samples()) {
    const std::vector<std::string>& f = line.fields;
    SCOPED_TRACE("network_device_syslog.tsv:" + std::to_string(line.file_line) + ": " +
                 f[kFrame].substr(0, 90));
    v1::Event e;
    ParseSyslog(f[kFrame], kReceiveUs, &e);
    EXPECT_EQ(e.format(), FormatNamed(f[kFormat]));
    EXPECT_EQ(e.pri(), PriOf(f[kFrame]));
    EXPECT_EQ(e.timestamp_text(), f[kTimestamp]);
    EXPECT_EQ(e.event_time_us(), Utc(f[kEventTime]));
    EXPECT_EQ(e.event_time_inferred(), f[kInferred] == "true");
    EXPECT_EQ(e.event_tz_offset_min(), std::stoi(f[kTzOffset]));
    EXPECT_EQ(e.hostname(), f[kHostname]);
    EXPECT_EQ(e.app_name(), f[kAppName]);
    EXPECT_EQ(e.procid(), f[kProcId]);
    EXPECT_EQ(e.msgid(), f[kMsgId]);
    EXPECT_EQ(e.msg(), f[kMsg]);
    EXPECT_EQ(e.parse_error(), f[kParseError]);
    ExpectRoundTrips(e);
  }
}

// The file covers every vendor the issue names, so none can silently drop out.
TEST(DeviceSamplesTest, EveryVendorIsCovered) {
  std::set<std::string> devices;
  for (const TsvLine& line : Samples()) devices.insert(line.fields[kDevice]);
  for (const char* device : {"cisco-ios", "cisco-asa", "cisco-nxos", "juniper-junos",
                             "fortinet-fortigate", "paloalto-panos"}) {
    EXPECT_EQ(devices.count(device), 1u) << device;
  }
}

// A legacy event whose time is the receive time always says why.
TEST(DeviceSamplesTest, ReceiveTimeFallbackIsNeverSilent) {
  for (const TsvLine& line : Samples()) {
    const std::vector<std::string>& f = line.fields;
    if (f[kFormat] != "rfc3164") continue;
    SCOPED_TRACE(f[kFrame].substr(0, 90));
    v1::Event e;
    ParseSyslog(f[kFrame], kReceiveUs, &e);
    EXPECT_EQ(e.event_time_us() == kReceiveUs, !e.parse_error().empty());
  }
}

}  // namespace
}  // namespace trailkeep
