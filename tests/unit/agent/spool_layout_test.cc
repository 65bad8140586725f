// The spool directory's file names, and the POSIX helpers its files are
// written and read with.

#include "agent/spool_layout.h"

#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "agent/posix_file.h"
#include "tests/unit/agent/agent_test_util.h"

namespace trailkeep::agent {
namespace {

using testing::TempDir;

TEST(SpoolLayoutTest, ListsSegmentsInSeqOrderAndNothingElse) {
  TempDir tmp;
  EXPECT_EQ(SpoolSegmentPath(tmp.path(), 42), tmp.File("seg-00000000000000000042.tks"));
  for (uint64_t first : {1000u, 7u, 120u})
    testing::WriteAll(SpoolSegmentPath(tmp.path(), first), "x");
  testing::WriteAll(tmp.File("state"), "");
  testing::WriteAll(tmp.File("seg-7.tks"), "");                     // too short a name
  testing::WriteAll(tmp.File("seg-00000000000000000009.tmp"), "");  // another suffix
  auto listed = ListSpoolSegments(tmp.path());
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed.value().size(), 3u);
  EXPECT_EQ(listed.value()[0].first_seq, 7u);
  EXPECT_EQ(listed.value()[1].first_seq, 120u);
  EXPECT_EQ(listed.value()[2].first_seq, 1000u);
  EXPECT_EQ(listed.value()[2].path, SpoolSegmentPath(tmp.path(), 1000));
  EXPECT_EQ(listed.value()[2].size, 0u);  // not read

  EXPECT_FALSE(ListSpoolSegments(tmp.File("missing")).ok());
}

TEST(PosixFileTest, ReplaceFileIsPrivateAndWhole) {
  TempDir tmp;
  ASSERT_TRUE(ReplaceFile(tmp.path(), "f", "f.tmp", "first").ok());
  ASSERT_TRUE(ReplaceFile(tmp.path(), "f", "f.tmp", "second").ok());
  auto read = ReadWholeFile(tmp.File("f"));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read.value(), "second");
  EXPECT_FALSE(std::filesystem::exists(tmp.File("f.tmp")));
  struct stat st {};
  ASSERT_EQ(::stat(tmp.File("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto missing = ReadWholeFile(tmp.File("none"));
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(ReplaceFile(tmp.File("no-such-dir"), "f", "f.tmp", "x").code(), Status::Code::kIoError);
}

}  // namespace
}  // namespace trailkeep::agent
