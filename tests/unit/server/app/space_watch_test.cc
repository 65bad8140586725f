// SpaceWatch's decision: low below the warning level, back to normal only
// 10 % above it, never low when the warning is off; and Stop() from a thread
// other than the one running its timer (as the collector's signal handler is).

#include "server/app/space_watch.h"

#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "tests/unit/temp_dir.h"

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

// The collector stops the watch from its signal handler, which runs on any of
// its io_threads. Stop() used to cancel the timer on the caller's thread while
// another thread re-armed it: a data race that TSan reports (make sanitize).
// Stop() must also end the watch, so that run() returns.
TEST(SpaceWatchTest, StopFromAnotherThreadWhileTheTimerRuns) {
  testing::TempDir dir;
  boost::asio::io_context io;
  // A level of 1 byte is never reached, so the watch never records (no audit).
  SpaceWatch watch(io, dir.path(), 1, nullptr, std::chrono::milliseconds(1));
  watch.Start();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&io] { io.run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GT(watch.free_bytes(), 0u);
  watch.Stop();
  for (auto& t : threads) t.join();  // returns only once the timer is cancelled
}

}  // namespace
}  // namespace trailkeep
