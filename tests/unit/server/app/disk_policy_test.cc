// The disk-full policy's decisions (server/app/disk_policy.h): sizes as an
// operator writes them, levels on a file system and what they allow, the
// two-level hysteresis.

#include "server/app/disk_policy.h"

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

constexpr uint64_t kMiB = 1u << 20;

DiskSize Parse(const std::string& text) {
  DiskSize out{12345, -1};
  std::string why;
  EXPECT_TRUE(ParseDiskSize(text, &out, &why)) << text << ": " << why;
  return out;
}

std::string Refused(const std::string& text) {
  DiskSize out;
  std::string why;
  EXPECT_FALSE(ParseDiskSize(text, &out, &why)) << text;
  return why;
}

TEST(DiskPolicyTest, SizesInBinaryUnits) {
  EXPECT_EQ(Parse("0"), (DiskSize{0, -1}));
  EXPECT_EQ(Parse("4096B"), (DiskSize{4096, -1}));
  EXPECT_EQ(Parse("512KiB"), (DiskSize{512 << 10, -1}));
  EXPECT_EQ(Parse("256MiB"), (DiskSize{256 * kMiB, -1}));
  EXPECT_EQ(Parse("2GiB"), (DiskSize{2ull << 30, -1}));
  EXPECT_EQ(Parse("1TiB"), (DiskSize{1ull << 40, -1}));
}

TEST(DiskPolicyTest, Percentages) {
  EXPECT_EQ(Parse("5%"), (DiskSize{0, 5}));
  EXPECT_EQ(Parse("0.5%"), (DiskSize{0, 0.5}));
  EXPECT_EQ(ResolveDiskSize(Parse("5%"), 1000 * kMiB), 50 * kMiB);
  EXPECT_EQ(ResolveDiskSize(Parse("64MiB"), 1000 * kMiB), 64 * kMiB);
}

TEST(DiskPolicyTest, RefusedSizesSayWhatIsAccepted) {
  EXPECT_NE(Refused("256").find("MiB"), std::string::npos);  // a bare number: which unit?
  Refused("256MB");                                          // decimal units are not binary
  Refused("1.5GiB");
  Refused("-1MiB");
  Refused("MiB");
  Refused("");
  Refused("99999999999999999TiB");  // overflows
  EXPECT_NE(Refused("60%").find("50%"), std::string::npos);
  Refused("x%");
}

TEST(DiskPolicyTest, Actions) {
  DiskFullAction a = DiskFullAction::kBlock;
  EXPECT_TRUE(ParseDiskFullAction("halt", &a));
  EXPECT_EQ(a, DiskFullAction::kHalt);
  EXPECT_TRUE(ParseDiskFullAction("rotate", &a));
  EXPECT_EQ(a, DiskFullAction::kRotate);
  EXPECT_TRUE(ParseDiskFullAction("block", &a));
  EXPECT_EQ(a, DiskFullAction::kBlock);
  EXPECT_FALSE(ParseDiskFullAction("suspend", &a));
  EXPECT_STREQ(DiskFullActionName(DiskFullAction::kRotate), "rotate");
}

TEST(DiskPolicyTest, DefaultLevelsAreUsable) {
  const DiskLevels l = ResolveDiskLevels(DiskSpaceConfig{}, 0);
  EXPECT_EQ(l.warn_bytes, 256 * kMiB);
  EXPECT_EQ(l.admin_bytes, 64 * kMiB);
  EXPECT_EQ(l.reserve_bytes, 16 * kMiB);
  EXPECT_EQ(CheckDiskLevels(l), "");
}

TEST(DiskPolicyTest, TheActionMustComeAfterTheWarningAndBeforeTheReserve) {
  // At or below the reserve nothing could record DISK_FULL.
  EXPECT_NE(CheckDiskLevels({256 * kMiB, 16 * kMiB, 16 * kMiB}).find("reserve"), std::string::npos);
  EXPECT_NE(CheckDiskLevels({32 * kMiB, 64 * kMiB, 16 * kMiB}).find("space_left"),
            std::string::npos);
  EXPECT_EQ(CheckDiskLevels({64 * kMiB, 64 * kMiB, 16 * kMiB}), "");
  EXPECT_EQ(CheckDiskLevels({0, 64 * kMiB, 16 * kMiB}), "");   // no warning: any level
  EXPECT_EQ(CheckDiskLevels({256 * kMiB, 0, 16 * kMiB}), "");  // no action: stall at the reserve
}

TEST(DiskPolicyTest, LevelsAreCrossedWithHysteresis) {
  EXPECT_FALSE(SpaceIsLow(false, 64 * kMiB, 64 * kMiB));
  EXPECT_TRUE(SpaceIsLow(false, 64 * kMiB - 1, 64 * kMiB));
  // Full stays full until more than 10 % above the level: one DISK_FULL and
  // one DISK_SPACE_RECOVERED for a disk hovering at it.
  EXPECT_TRUE(SpaceIsLow(true, 70 * kMiB, 64 * kMiB));
  EXPECT_FALSE(SpaceIsLow(true, 64 * kMiB + 64 * kMiB / 10 + 1, 64 * kMiB));
  EXPECT_FALSE(SpaceIsLow(true, 0, 0));  // level off
}

}  // namespace
}  // namespace trailkeep
