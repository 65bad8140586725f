// SpaceWatch's decision: low below the warning level, back to normal only
// 10 % above it, never low when the warning is off; and Stop() from a thread
// other than the one running its timer (as the collector's signal handler is).

#include "server/app/space_watch.h"

#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "server/selfaudit/self_audit.h"
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
  SpaceWatch watch(io, dir.path(), DiskLevels{1, 0, 0}, DiskFullAction::kBlock, nullptr,
                   std::chrono::milliseconds(1));
  watch.Start();
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&io] { io.run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_GT(watch.free_bytes(), 0u);
  watch.Stop();
  for (auto& t : threads) t.join();  // returns only once the timer is cancelled
}

class RecordingAudit final : public SelfAudit {
 public:
  void Record(SelfEventKind kind, const std::string&, const std::string& message,
              const std::vector<std::pair<std::string, std::string>>& fields) override {
    kinds.push_back(kind);
    messages.push_back(message);
    last_fields = fields;
  }
  std::vector<SelfEventKind> kinds;
  std::vector<std::string> messages;
  std::vector<std::pair<std::string, std::string>> last_fields;
};

std::string Field(const std::vector<std::pair<std::string, std::string>>& fields,
                  const std::string& name) {
  for (const auto& [k, v] : fields) {
    if (k == name) return v;
  }
  return "";
}

// A level no disk reaches (beyond any free space) is crossed at the first
// check: DISK_FULL is recorded once with the action, then on_full runs and
// the full flag is up; the warning level crosses too, independently.
TEST(SpaceWatchTest, BelowAdminSpaceLeftRecordsDiskFullOnceThenRunsTheHook) {
  testing::TempDir dir;
  boost::asio::io_context io;
  RecordingAudit audit;
  const uint64_t huge = uint64_t{1} << 62;
  SpaceWatch watch(io, dir.path(), DiskLevels{huge, huge, 0}, DiskFullAction::kRotate, &audit,
                   std::chrono::milliseconds(1));
  int full_calls = 0;
  int still_full_calls = 0;  // each later check while full: rotate tries again
  size_t events_at_hook = 0;
  watch.SetHooks({[&](uint64_t) {
                    ++full_calls;
                    events_at_hook = audit.kinds.size();
                  },
                  nullptr, nullptr, [&](uint64_t) { ++still_full_calls; }});
  watch.Start();
  io.run_for(std::chrono::milliseconds(30));
  watch.Stop();
  io.run();
  ASSERT_EQ(audit.kinds,
            (std::vector<SelfEventKind>{SelfEventKind::kStorageLow, SelfEventKind::kDiskFull}));
  EXPECT_EQ(full_calls, 1);
  EXPECT_GT(still_full_calls, 0);
  EXPECT_EQ(events_at_hook, 2u);  // recorded before the action runs
  EXPECT_TRUE(watch.full_flag()->load());
  EXPECT_EQ(Field(audit.last_fields, "action"), "rotate");
  EXPECT_EQ(Field(audit.last_fields, "admin_space_left_bytes"), std::to_string(huge));
  EXPECT_NE(audit.messages[1].find("disk_full_action rotate"), std::string::npos);
}

}  // namespace
}  // namespace trailkeep
