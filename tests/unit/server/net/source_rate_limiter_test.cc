// SourceRateLimiter: per-address token buckets, bounded in memory.
#include "server/net/source_rate_limiter.h"

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

int Admitted(SourceRateLimiter& l, const std::string& address, int n, int64_t now_us) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += l.Admit(address, now_us) ? 1 : 0;
  return ok;
}

TEST(SourceRateLimiterTest, BurstThenRateAndOneSourceDoesNotSpendAnothers) {
  SourceRateLimiter l(100, 10);
  EXPECT_EQ(Admitted(l, "10.0.0.1", 50, 0), 10);        // the burst
  EXPECT_EQ(Admitted(l, "10.0.0.2", 5, 0), 5);          // its own bucket
  EXPECT_EQ(Admitted(l, "10.0.0.1", 50, 100'000), 10);  // 0.1 s at 100/s
  EXPECT_EQ(Admitted(l, "10.0.0.1", 50, 150'000), 5);
  // Refills up to the burst only.
  EXPECT_EQ(Admitted(l, "10.0.0.1", 50, 60'000'000), 10);
  EXPECT_EQ(l.RetryAfterMicros(), 10'000);
}

TEST(SourceRateLimiterTest, ZeroRateIsUnlimited) {
  SourceRateLimiter l(0, 0);
  EXPECT_TRUE(l.unlimited());
  EXPECT_EQ(Admitted(l, "10.0.0.1", 100'000, 0), 100'000);
  EXPECT_EQ(l.RetryAfterMicros(), 0);
}

TEST(SourceRateLimiterTest, ManyAddressesShareOneBucketOnceTheTableIsFull) {
  SourceRateLimiter l(1, 2, 3);
  for (const char* a : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) EXPECT_EQ(Admitted(l, a, 1, 0), 1);
  // Full, and none is quiet: new addresses share one bucket of 2.
  EXPECT_EQ(
      Admitted(l, "10.0.1.1", 1, 0) + Admitted(l, "10.0.1.2", 1, 0) + Admitted(l, "10.0.1.3", 1, 0),
      2);
  // A known source keeps its own bucket.
  EXPECT_EQ(Admitted(l, "10.0.0.1", 5, 0), 1);
  // Once the known ones are quiet (full again), a new address gets a bucket.
  EXPECT_EQ(Admitted(l, "10.0.2.1", 5, 10'000'000), 2);
}

}  // namespace
}  // namespace trailkeep
