// SpaceWatch's decision: low below the warning level, back to normal only
// 10 % above it, never low when the warning is off.

#include "server/app/space_watch.h"

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

constexpr uint64_t kMiB = 1u << 20;

TEST(SpaceWatchTest, LowBelowTheLevel) {
  EXPECT_FALSE(SpaceIsLow(false, 100 * kMiB, 100 * kMiB));
  EXPECT_TRUE(SpaceIsLow(false, 100 * kMiB - 1, 100 * kMiB));
}

TEST(SpaceWatchTest, RecoversOnlyTenPercentAbove) {
  EXPECT_TRUE(SpaceIsLow(true, 100 * kMiB, 100 * kMiB));
  EXPECT_TRUE(SpaceIsLow(true, 110 * kMiB, 100 * kMiB));
  EXPECT_FALSE(SpaceIsLow(true, 110 * kMiB + 1, 100 * kMiB));
}

TEST(SpaceWatchTest, OffWhenTheLevelIsZero) {
  EXPECT_FALSE(SpaceIsLow(false, 0, 0));
  EXPECT_FALSE(SpaceIsLow(true, 0, 0));
}

}  // namespace
}  // namespace trailkeep
