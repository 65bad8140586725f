// Which early cuts `rotate` makes (server/app/rotate_plan.h): sized from the
// blocks' estimates, oldest first over every host, never a host's newest
// block.

#include "server/app/rotate_plan.h"

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

constexpr uint64_t kMiB = 1u << 20;
constexpr int64_t kS = 1'000'000;

// A host with one block a second from `first_s`, each `mib` MiB.
HostBlockBytes Host(const std::string& name, int64_t first_s, int count, uint64_t mib) {
  HostBlockBytes h{name, {}};
  for (int i = 0; i < count; ++i) h.blocks.push_back({(first_s + i) * kS, mib * kMiB});
  return h;
}

TEST(RotatePlanTest, TakesTheSmallestOldestPrefixThatCoversWhatIsNeeded) {
  // busy: 100 blocks of 2 MiB from t=100 s; needing 7 MiB takes 4 of them
  // (8 MiB), not a quarter of its span.
  const RotatePlan plan = PlanRotateCuts({Host("busy", 100, 100, 2)}, 7 * kMiB);
  ASSERT_EQ(plan.cuts.size(), 1u);
  EXPECT_EQ(plan.cuts[0].host, "busy");
  EXPECT_EQ(plan.cuts[0].cut_us, 104 * kS);  // blocks at 100..103 s go
  EXPECT_EQ(plan.estimate_bytes, 8 * kMiB);
  EXPECT_TRUE(plan.covers);
  // Exactly covered: nothing beyond.
  EXPECT_EQ(PlanRotateCuts({Host("busy", 100, 100, 2)}, 8 * kMiB).cuts[0].cut_us, 104 * kS);
  EXPECT_EQ(PlanRotateCuts({Host("busy", 100, 100, 2)}, 8 * kMiB + 1).cuts[0].cut_us, 105 * kS);
}

TEST(RotatePlanTest, GoesOldestFirstOverEveryHost) {
  // quiet: a small block every second from t=10 s to 19 s; busy from 15 s.
  // The quiet host's oldest five go before any busy block; then both lose
  // what is older than the time the estimate reaches.
  std::vector<HostBlockBytes> hosts = {Host("busy", 15, 50, 4), Host("quiet", 10, 10, 0)};
  for (auto& b : hosts[1].blocks) b.bytes = 1000;
  RotatePlan plan = PlanRotateCuts(hosts, 4 * kMiB);
  ASSERT_EQ(plan.cuts.size(), 2u);
  EXPECT_EQ(plan.cuts[0].host, "busy");
  EXPECT_EQ(plan.cuts[0].cut_us, 16 * kS);  // one block of 4 MiB covers it
  EXPECT_EQ(plan.cuts[1].host, "quiet");
  EXPECT_EQ(plan.cuts[1].cut_us, 15 * kS);  // its blocks at 10..14 s, older, go too
  EXPECT_EQ(plan.estimate_bytes, 4 * kMiB + 5 * 1000);
  // Needing less than the quiet host's old blocks: only those go.
  plan = PlanRotateCuts(hosts, 2500);
  ASSERT_EQ(plan.cuts.size(), 1u);
  EXPECT_EQ(plan.cuts[0].host, "quiet");
  EXPECT_EQ(plan.cuts[0].cut_us, 13 * kS);
}

TEST(RotatePlanTest, NeverTakesAHostsNewestBlock) {
  // Needing more than there is: everything but each host's newest block.
  std::vector<HostBlockBytes> hosts = {Host("a", 100, 3, 1), Host("b", 50, 1, 9),
                                       HostBlockBytes{"empty", {}}};
  RotatePlan plan = PlanRotateCuts(hosts, 100 * kMiB);
  EXPECT_FALSE(plan.covers);
  ASSERT_EQ(plan.cuts.size(), 1u);
  EXPECT_EQ(plan.cuts[0].host, "a");
  EXPECT_EQ(plan.cuts[0].cut_us, 102 * kS);  // its newest block, at 102 s, stays
  EXPECT_EQ(plan.estimate_bytes, 2 * kMiB);
  // Nothing but newest blocks left: no cut at all.
  plan = PlanRotateCuts({Host("a", 102, 1, 1), Host("b", 50, 1, 9)}, kMiB);
  EXPECT_TRUE(plan.cuts.empty());
  EXPECT_FALSE(plan.covers);
  // Nothing needed: no cut.
  EXPECT_TRUE(PlanRotateCuts({Host("a", 100, 3, 1)}, 0).cuts.empty());
}

TEST(RotatePlanTest, BlocksOfOneMicrosecondGoTogether) {
  // A cut keeps what was received at or after its time: two blocks received
  // at the same microsecond go together or not at all.
  HostBlockBytes h{"h", {{10 * kS, kMiB}, {11 * kS, kMiB}, {11 * kS, kMiB}, {12 * kS, kMiB}}};
  const RotatePlan plan = PlanRotateCuts({h}, 2 * kMiB);
  ASSERT_EQ(plan.cuts.size(), 1u);
  EXPECT_EQ(plan.cuts[0].cut_us, 12 * kS);
  EXPECT_EQ(plan.estimate_bytes, 3 * kMiB);
}

TEST(RotatePlanTest, BlocksEstimatedAtNothingAreTakenWithTheOlderData) {
  // A small block that shares a RocksDB data block may be estimated at 0:
  // it still goes when it is older than what covers the need, and never
  // counts toward it.
  HostBlockBytes h{"h", {{1 * kS, 0}, {2 * kS, 0}, {3 * kS, 5 * kMiB}, {4 * kS, 5 * kMiB}}};
  const RotatePlan plan = PlanRotateCuts({h}, 1);
  ASSERT_EQ(plan.cuts.size(), 1u);
  EXPECT_EQ(plan.cuts[0].cut_us, 4 * kS);
  EXPECT_EQ(plan.estimate_bytes, 5 * kMiB);
}

}  // namespace
}  // namespace trailkeep
