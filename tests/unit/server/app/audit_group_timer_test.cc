// AuditGroupTimer with a ManualClock over a real Committer and RocksDbStore:
// an audit group without EOE is stored, incomplete, once the clock says it
// has been open for the grouping timeout, and not before, however long the
// test itself runs.
#include "server/app/audit_group_timer.h"

#include <chrono>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "common/base/clock.h"
#include "server/pipeline/audit_grouping.h"
#include "server/pipeline/collector_events.h"
#include "server/store/committer.h"
#include "server/store/store.h"
#include "tests/unit/server/pipeline/port60_record.h"
#include "tests/unit/temp_dir.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using testing::Port60Record;

TEST(AuditGroupTimerTest, AGroupWithoutEoeIsStoredOnceTheClockPassesItsTimeout) {
  trailkeep::testing::TempDir dir;
  auto opened = OpenRocksDbStore(dir.path() + "/store", StoreMode::kReadWrite);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Committer committer(opened.value().get(), {1 << 20, 64});
  std::vector<v1::Event> stored;
  committer.AddListener(
      [&](const std::vector<v1::Event>& c) { stored.insert(stored.end(), c.begin(), c.end()); });
  committer.Start();
  CollectorEvents out(&committer, nullptr);

  // A ManualClock in 2020: the system's clock would find the group long expired.
  auto clock = std::make_shared<ManualClock>(1'600'000'000'000'000);
  AuditGroupingOptions options;
  options.grouper.timeout_us = 2'000'000;
  AuditGrouping grouping(options);
  std::vector<v1::Event> closed;
  grouping.OnCommitted({Port60Record("type=SYSCALL msg=audit(1600000000.000:9): syscall=59 "
                                     "success=yes exit=0",
                                     clock->NowMicros())},
                       clock->NowMicros(), &closed);
  ASSERT_TRUE(closed.empty());

  boost::asio::io_context io;
  AuditGroupTimer timer(io.get_executor(), &grouping, &out, clock, std::chrono::milliseconds(5));
  timer.Start();
  io.run_for(std::chrono::milliseconds(100));  // about 20 ticks, all inside the timeout
  clock->Advance(std::chrono::microseconds(1'999'999));
  io.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(grouping.stats().groups_incomplete, 0u);

  clock->Advance(std::chrono::microseconds(1));
  io.run_for(std::chrono::milliseconds(50));
  timer.Stop();
  committer.Stop();
  EXPECT_EQ(grouping.stats().groups_incomplete, 1u);
  ASSERT_EQ(stored.size(), 1u);
  ASSERT_TRUE(stored[0].has_audit());
  EXPECT_EQ(stored[0].audit().serial(), 9u);
}

}  // namespace
}  // namespace trailkeep
