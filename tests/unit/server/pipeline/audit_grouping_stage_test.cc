// AuditGroupingStage in a real Committer over a real RocksDbStore: a group
// is stored in the commit of the record that closes it, after that record,
// through no second offer; a resend the record deduper drops before it is
// never grouped again; the committer's counts tell grouped events from
// dropped resends.
#include "server/pipeline/audit_grouping_stage.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "server/pipeline/audit_grouping.h"
#include "server/pipeline/record_deduper.h"
#include "server/store/committer.h"
#include "server/store/store.h"
#include "tests/unit/server/pipeline/port60_record.h"
#include "tests/unit/temp_dir.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using testing::Port60Record;

TEST(AuditGroupingStageTest, GroupIsStoredInTheCommitOfItsLastRecord) {
  trailkeep::testing::TempDir dir;
  auto opened = OpenRocksDbStore(dir.path() + "/store", StoreMode::kReadWrite);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store* store = opened.value().get();
  AuditGrouping grouping(AuditGroupingOptions{});
  RecordDeduper deduper(store);
  AuditGroupingStage stage(&grouping, nullptr,
                           std::make_shared<ManualClock>(1'700'000'000'500'000));
  CommitStageChain stages({&deduper, &stage});
  Committer committer(store, {1 << 20, 64});
  committer.SetStage(&stages);
  std::vector<std::vector<v1::Event>> commits;
  committer.AddListener([&](const std::vector<v1::Event>& c) { commits.push_back(c); });
  committer.Start();

  const std::string syscall =
      "type=SYSCALL msg=audit(1700000000.100:7): arch=c000003e syscall=59 success=yes exit=0";
  const std::string eoe = "type=EOE msg=audit(1700000000.100:7):";
  std::vector<v1::Event> first = {Port60Record(syscall)};
  ASSERT_TRUE(committer.Offer(&first));
  while (committer.stats().commits < 1) std::this_thread::yield();  // two commits, not one
  // The resend of the first record is dropped before grouping; the EOE closes the group.
  std::vector<v1::Event> second = {Port60Record(syscall), Port60Record(eoe)};
  ASSERT_TRUE(committer.Offer(&second));
  committer.Stop();

  ASSERT_EQ(commits.size(), 2u);
  ASSERT_EQ(commits[0].size(), 1u);
  ASSERT_EQ(commits[1].size(), 2u);  // the EOE and the grouped event; no resend
  EXPECT_EQ(commits[1][0].msg(), eoe);
  const v1::Event& grouped = commits[1][1];
  ASSERT_TRUE(grouped.has_audit());
  EXPECT_EQ(grouped.audit().serial(), 7u);
  EXPECT_EQ(grouped.audit().records_size(), 2);  // the resend was not grouped twice
  EXPECT_GT(grouped.ingest_seq(), commits[1][0].ingest_seq());
  const CommitterStats stats = committer.stats();
  EXPECT_EQ(stats.commits, 2u);
  EXPECT_EQ(stats.events_committed, 3u);
  EXPECT_EQ(stats.events_dropped_as_duplicates, 1u);
}

}  // namespace
}  // namespace trailkeep
