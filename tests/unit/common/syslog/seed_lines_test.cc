// Every syslog line found in the seed documents (tests/testdata/seed_syslog_lines.txt,
// whose header explains the columns) must parse into the fields listed next to it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "common/syslog/syslog_parser.h"
#include "tests/unit/common/syslog/parser_test_util.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using parser_test::kReceiveUs;

constexpr int64_t kOldestSaneUs = 1420070400000000;  // 2015-01-01T00:00:00Z

struct SeedLine {
  int file_line = 0;
  std::string frame;
  std::string format;
  std::string hostname;
  std::string app_name;
  std::string procid;
  std::string msgid;
  std::string event_time;
  std::string msg_prefix;
};

std::vector<SeedLine> LoadSeedLines() {
  std::vector<SeedLine> lines;
  for (const parser_test::TsvLine& l : parser_test::LoadTestdataTsv("seed_syslog_lines.txt", 8)) {
    const std::vector<std::string>& f = l.fields;
    lines.push_back({l.file_line, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]});
  }
  return lines;
}

v1::SyntaxFormat ExpectedFormat(const std::string& name) {
  if (name == "rfc3164") return v1::FORMAT_RFC3164;
  if (name == "rfc5424" || name == "rfc5424-lenient") return v1::FORMAT_RFC5424;
  ADD_FAILURE() << "unknown FORMAT " << name;
  return v1::FORMAT_UNSPECIFIED;
}

TEST(SeedLinesTest, EverySeedLineParses) {
  const std::vector<SeedLine> lines = LoadSeedLines();
  // The seeds hold 118 distinct syslog lines; a short count means a broken file.
  ASSERT_GE(lines.size(), 118u);
  for (const SeedLine& s : lines) {
    SCOPED_TRACE("seed_syslog_lines.txt:" + std::to_string(s.file_line) + ": " +
                 s.frame.substr(0, 80));
    v1::Event e;
    ParseSyslog(s.frame, kReceiveUs, &e);
    EXPECT_EQ(e.format(), ExpectedFormat(s.format));
    if (s.format == "rfc5424-lenient") {
      EXPECT_EQ(e.parse_error().rfind("rfc5424: ", 0), 0u) << e.parse_error();
    } else {
      EXPECT_EQ(e.parse_error(), "");
    }
    EXPECT_EQ(e.hostname(), s.hostname);
    EXPECT_EQ(e.app_name(), s.app_name);
    EXPECT_EQ(e.procid(), s.procid);
    EXPECT_EQ(e.msgid(), s.msgid);
    EXPECT_FALSE(e.msg().empty());
    EXPECT_EQ(e.msg().substr(0, s.msg_prefix.size()), s.msg_prefix);

    int64_t expected_us = 0;
    int offset = 0;
    ASSERT_TRUE(ParseRfc3339(s.event_time, &expected_us, &offset)) << s.event_time;
    EXPECT_EQ(e.event_time_us(), expected_us);
    EXPECT_GE(e.event_time_us(), kOldestSaneUs);
    EXPECT_LE(e.event_time_us(), kReceiveUs);
    EXPECT_FALSE(e.timestamp_text().empty());
    EXPECT_GE(e.pri(), -1);

    std::string bytes;
    ASSERT_TRUE(e.SerializeToString(&bytes));
    v1::Event copy;
    EXPECT_TRUE(copy.ParseFromString(bytes));
  }
}

// Junos lines whose SD survived the PDF intact carry the Juniper SD-ID.
TEST(SeedLinesTest, JunosStructuredData) {
  int with_sd = 0;
  for (const SeedLine& s : LoadSeedLines()) {
    if (s.format != "rfc5424" || s.frame.find("[junos@") == std::string::npos) continue;
    SCOPED_TRACE(s.frame.substr(0, 80));
    v1::Event e;
    ParseSyslog(s.frame, kReceiveUs, &e);
    ASSERT_EQ(e.structured_data_size(), 1);
    EXPECT_EQ(e.structured_data(0).id(), "junos@2636.1.1.1.2.164");
    EXPECT_GT(e.structured_data(0).params_size(), 0);
    ++with_sd;
  }
  EXPECT_GE(with_sd, 15);
}

}  // namespace
}  // namespace trailkeep
