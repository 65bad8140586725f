// Spool recovery on its own (the Spool's tests cover it through Open()):
// what it makes of a new or damaged directory, that it writes nothing but a
// torn tail's truncation, and that every warning reaches the caller.

#include "agent/spool_recovery.h"

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/wire/hmac_chain.h"
#include "tests/unit/agent/agent_test_util.h"

namespace trailkeep::agent {
namespace {

using testing::TempDir;

size_t Files(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(SpoolRecoveryTest, AnEmptyDirectoryIsANewSpoolAndStaysEmpty) {
  TempDir tmp;
  std::vector<std::string> warnings;
  auto r = RecoverSpool(tmp.path(), 555, 0, [&](std::string w) { warnings.push_back(w); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r.value().created);
  EXPECT_EQ(r.value().head.epoch, 555u);
  EXPECT_EQ(r.value().head.last_seq, 0u);
  EXPECT_EQ(r.value().head.head_mac, std::string(kMacBytes, '\0'));
  EXPECT_TRUE(r.value().segments.empty());
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(Files(tmp.path()), 0u);  // the Spool writes the first checkpoint
}

TEST(SpoolRecoveryTest, ATornTailIsCutAndTheCorruptCheckpointRebuilt) {
  TempDir tmp;
  testing::WriteAll(tmp.File("state"), "garbage");
  std::string records;
  // A record whose message carries no chain element, then half a record.
  AppendEntryRecords({{1, "in", 1, 2, 10, "<13>1 - h a - - - plain", "", ""}}, &records);
  const size_t whole = records.size();
  AppendEntryRecords({{2, "in", 1, 2, 20, "<13>1 - h a - - - torn", "", ""}}, &records);
  testing::WriteAll(SpoolSegmentPath(tmp.path(), 1), records.substr(0, whole + 5));

  std::vector<std::string> warnings;
  auto r = RecoverSpool(tmp.path(), 777, 0, [&](std::string w) { warnings.push_back(w); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r.value().segments.size(), 1u);
  EXPECT_EQ(r.value().segments[0].size, whole);
  EXPECT_EQ(r.value().segments[0].last_seq, 1u);
  EXPECT_EQ(testing::FileSize(SpoolSegmentPath(tmp.path(), 1)), whole);
  EXPECT_EQ(r.value().total_bytes, whole);
  // No readable chain element and no checkpoint: a new epoch; seq 1 stays used.
  EXPECT_TRUE(r.value().created);
  EXPECT_EQ(r.value().head.epoch, 777u);
  EXPECT_EQ(r.value().head.last_seq, 1u);
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_NE(warnings[0].find("checkpoint"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("torn tail"), std::string::npos) << warnings[1];
  EXPECT_NE(warnings[2].find("no readable chain element"), std::string::npos) << warnings[2];
  EXPECT_NE(warnings[3].find("new epoch"), std::string::npos) << warnings[3];
}

}  // namespace
}  // namespace trailkeep::agent
