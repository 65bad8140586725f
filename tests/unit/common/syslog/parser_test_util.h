// Helpers shared by the syslog parser tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

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

// One data line of a TAB-separated test file, with its 1-based line number.
struct TsvLine {
  int file_line = 0;
  std::vector<std::string> fields;
};

inline std::vector<std::string> SplitTabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

// Reads tests/testdata/<name>: empty lines and '#' comments are skipped, and
// every other line must have `columns` fields.
inline std::vector<TsvLine> LoadTestdataTsv(const std::string& name, size_t columns) {
  const std::string path = std::string(TRAILKEEP_SOURCE_DIR) + "/tests/testdata/" + name;
  std::ifstream in(path);
  EXPECT_TRUE(in.is_open()) << path;
  std::vector<TsvLine> lines;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    if (text.empty() || text[0] == '#') continue;
    std::vector<std::string> fields = SplitTabs(text);
    EXPECT_EQ(fields.size(), columns) << name << ":" << number;
    if (fields.size() == columns) lines.push_back({number, std::move(fields)});
  }
  return lines;
}

}  // namespace trailkeep::parser_test
