#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "server/store/committer.h"
#include "server/store/keys.h"
#include "server/store/store.h"
#include "tests/unit/temp_dir.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using testing::TempDir;

v1::Event MakeEvent(const std::string& host, int64_t t_us, const std::string& msg) {
  v1::Event e;
  e.set_host(host);
  e.set_receive_time_us(t_us);
  e.set_msg(msg);
  e.set_raw("<13>1 - " + host + " app - - - " + msg);
  return e;
}

std::unique_ptr<Store> Open(const std::string& dir, StoreMode mode = StoreMode::kReadWrite) {
  auto r = OpenRocksDbStore(dir, mode);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::vector<v1::Event> ScanAll(const Store& s, uint64_t after = 0) {
  std::vector<v1::Event> out;
  EXPECT_TRUE(s.ScanEvents(after, [&](const v1::Event& e) {
                 out.push_back(e);
                 return true;
               }).ok());
  return out;
}

TEST(KeysTest, BigEndianKeysSortNumerically) {
  EXPECT_LT(keys::EventsKey(255), keys::EventsKey(256));
  EXPECT_LT(keys::ByTimeKey(-5), keys::ByTimeKey(3));
  EXPECT_LT(keys::ByHostKey(1, 100, 9), keys::ByHostKey(1, 101, 2));
  EXPECT_LT(keys::ByHostKey(1, INT64_MAX / 2, 9), keys::ByHostKey(2, 0, 0));
  EXPECT_EQ(keys::DecodeByHostSeq(keys::ByHostKey(7, 123, 456)), 456u);
  EXPECT_EQ(keys::DecodeByHostTime(keys::ByHostKey(7, -123, 456)), -123);
  EXPECT_EQ(keys::DecodeByNdcppSeq(keys::ByNdcppKey("FIA_UIA_EXT.1", 5, 77)), 77u);
}

TEST(RocksDbStoreTest, CommitAssignsConsecutiveSeqsAndGroupsBlocksByHost) {
  TempDir dir;
  auto store = Open(dir.path());
  std::vector<v1::Event> batch = {MakeEvent("a", 1'000'000, "1"), MakeEvent("b", 1'000'001, "2"),
                                  MakeEvent("a", 1'000'002, "3")};
  ASSERT_TRUE(store->Commit(&batch).ok());
  // Handed back block by block: a's block holds seqs 1 and 2, b's seq 3.
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].ingest_seq(), 1u);
  EXPECT_EQ(batch[0].msg(), "1");
  EXPECT_EQ(batch[1].ingest_seq(), 2u);
  EXPECT_EQ(batch[1].msg(), "3");
  EXPECT_EQ(batch[2].ingest_seq(), 3u);
  EXPECT_EQ(batch[2].host(), "b");
  EXPECT_EQ(store->LastSeq(), 3u);

  auto all = ScanAll(*store);
  ASSERT_EQ(all.size(), 3u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].ingest_seq(), i + 1);
  EXPECT_EQ(ScanAll(*store, 1).size(), 2u);  // cursor inside a block
  EXPECT_EQ(ScanAll(*store, 3).size(), 0u);

  std::vector<v1::HostState> hosts;
  ASSERT_TRUE(store->ListHosts([&](const v1::HostState& h) { hosts.push_back(h); }).ok());
  ASSERT_EQ(hosts.size(), 2u);
  EXPECT_EQ(hosts[0].name(), "a");
  EXPECT_EQ(hosts[0].events(), 2u);
  EXPECT_EQ(hosts[1].events(), 1u);
}

TEST(RocksDbStoreTest, ReopenKeepsSeqsHostsAndTimeIndex) {
  TempDir dir;
  {
    auto store = Open(dir.path());
    std::vector<v1::Event> b1 = {MakeEvent("a", 10'000'000, "x"), MakeEvent("b", 11'000'000, "y")};
    ASSERT_TRUE(store->Commit(&b1).ok());
  }
  auto store = Open(dir.path());
  EXPECT_EQ(store->LastSeq(), 2u);
  std::vector<v1::Event> b2 = {MakeEvent("a", 20'000'000, "z")};
  ASSERT_TRUE(store->Commit(&b2).ok());
  EXPECT_EQ(b2[0].ingest_seq(), 3u);
  auto seq = store->SeqAtTime(11'000'000);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(seq.value(), 2u);
  EXPECT_EQ(store->SeqAtTime(15'000'000).value(), 3u);
  EXPECT_EQ(store->SeqAtTime(99'000'000).value(), 4u);  // nothing yet: after the last

  std::vector<uint64_t> blocks;
  uint64_t a_id = 0;
  ASSERT_TRUE(store
                  ->ListHosts([&](const v1::HostState& h) {
                    if (h.name() == "a") a_id = h.id();
                  })
                  .ok());
  ASSERT_TRUE(store
                  ->ScanHostBlocks(a_id, 0, INT64_MAX / 2,
                                   [&](uint64_t s) {
                                     blocks.push_back(s);
                                     return true;
                                   })
                  .ok());
  EXPECT_EQ(blocks, (std::vector<uint64_t>{1, 3}));
}

TEST(RocksDbStoreTest, SecondaryReadsWhilePrimaryWrites) {
  TempDir dir;
  auto primary = Open(dir.path());
  std::vector<v1::Event> b1 = {MakeEvent("a", 1, "x")};
  ASSERT_TRUE(primary->Commit(&b1).ok());
  auto secondary = Open(dir.path(), StoreMode::kSecondary);
  ASSERT_NE(secondary, nullptr);
  EXPECT_EQ(ScanAll(*secondary).size(), 1u);
  std::vector<v1::Event> b2 = {MakeEvent("a", 2, "y")};
  ASSERT_TRUE(primary->Commit(&b2).ok());
  ASSERT_TRUE(secondary->CatchUp().ok());
  EXPECT_EQ(ScanAll(*secondary).size(), 2u);
}

TEST(RocksDbStoreTest, EngineStatsShowWhatTheWriteAheadLogHolds) {
  TempDir dir;
  auto store = Open(dir.path());
  std::vector<v1::Event> b = {MakeEvent("a", 1, std::string(4096, 'x'))};
  ASSERT_TRUE(store->Commit(&b).ok());
  std::map<std::string, uint64_t> stats;
  for (const auto& [name, value] : store->EngineStats()) stats[name] = value;
  // Committed, not flushed: the event is in a memtable and the log.
  ASSERT_TRUE(stats.count("wal_bytes"));
  EXPECT_GE(stats["wal_bytes"], 4096u);
  EXPECT_GT(stats["memtable_bytes"], 0u);
  EXPECT_GE(stats["total_sst_bytes"], stats["live_sst_bytes"]);
  // A read-only copy has no log of its own to report.
  auto secondary = Open(dir.path(), StoreMode::kSecondary);
  for (const auto& [name, value] : secondary->EngineStats()) EXPECT_NE(name, "wal_bytes");
}

TEST(RocksDbStoreTest, SecondaryOnMissingStoreSaysSo) {
  TempDir dir;
  auto r = OpenRocksDbStore(dir.path() + "/nothing", StoreMode::kSecondary);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no trailkeep store"), std::string::npos);
}

TEST(RocksDbStoreTest, RefIndexFindsClassifiedEvents) {
  TempDir dir;
  auto store = Open(dir.path());
  v1::Event e = MakeEvent("a", 5'000'000, "login failed");
  e.add_ndcpp_refs("FIA_UIA_EXT.1");
  std::vector<v1::Event> b = {MakeEvent("a", 4'000'000, "other"), e};
  ASSERT_TRUE(store->Commit(&b).ok());
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(store
                  ->ScanRef("FIA_UIA_EXT.1", 0, INT64_MAX / 2,
                            [&](uint64_t s) {
                              seqs.push_back(s);
                              return true;
                            })
                  .ok());
  EXPECT_EQ(seqs, (std::vector<uint64_t>{2}));
}

TEST(CommitterTest, CommitsEverythingOfferedAndNotifiesInOrder) {
  TempDir dir;
  auto store = Open(dir.path());
  Committer committer(store.get(), {1 << 20, 64});
  std::vector<uint64_t> seen;
  committer.AddListener([&](const std::vector<v1::Event>& events) {
    for (const auto& e : events) seen.push_back(e.ingest_seq());
  });
  committer.Start();
  for (int i = 0; i < 100; ++i) {
    std::vector<v1::Event> b = {MakeEvent("h" + std::to_string(i % 3), i, std::to_string(i))};
    while (!committer.Offer(&b)) std::this_thread::yield();
  }
  committer.Stop();
  ASSERT_EQ(seen.size(), 100u);
  std::sort(seen.begin(), seen.end());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], i + 1);
  EXPECT_EQ(store->LastSeq(), 100u);
}

TEST(CommitterTest, RefusesWhenQueueIsFullWithoutTakingTheEvents) {
  TempDir dir;
  auto store = Open(dir.path());
  Committer committer(store.get(), {1, 64});  // one byte: any queued batch fills it
  std::vector<v1::Event> first = {MakeEvent("a", 1, "x")};
  ASSERT_TRUE(committer.Offer(&first));  // not started: stays queued
  std::vector<v1::Event> second = {MakeEvent("a", 2, "y")};
  EXPECT_FALSE(committer.Offer(&second));
  EXPECT_EQ(second.size(), 1u);
  committer.Start();
  committer.Stop();
  EXPECT_EQ(store->LastSeq(), 1u);
}

TEST(CommitterTest, ListenersSeeIngestOrderAcrossHosts) {
  TempDir dir;
  auto store = Open(dir.path());
  Committer committer(store.get(), {1 << 20, 64});
  std::vector<uint64_t> seen;
  committer.AddListener([&](const std::vector<v1::Event>& events) {
    for (const auto& e : events) seen.push_back(e.ingest_seq());
  });
  // One batch interleaving hosts: the store numbers a's block first (1, 2),
  // then b (3); listeners must still get 1, 2, 3.
  std::vector<v1::Event> b = {MakeEvent("a", 1, "x"), MakeEvent("b", 2, "y"),
                              MakeEvent("a", 3, "z")};
  ASSERT_TRUE(committer.Offer(&b));
  committer.Start();
  committer.Stop();
  EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3}));
}

// A message of `n` bytes RocksDB cannot compress (a fixed pseudo-random text).
std::string Incompressible(size_t n, uint64_t seed) {
  std::string out(n, ' ');
  uint64_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>('!' + x % 90);
  }
  return out;
}

// Host "a" and host "b" commit in turns, one 20 KB block each per commit:
// their blocks interleave in `events`.
void CommitInterleaved(Store* store, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    std::vector<v1::Event> batch = {
        MakeEvent("a", (100 + i) * 1'000'000, Incompressible(20000, 2 * i)),
        MakeEvent("b", (100 + i) * 1'000'000 + 1, Incompressible(20000, 2 * i + 1))};
    ASSERT_TRUE(store->Commit(&batch).ok());
  }
}

TEST(RocksDbStoreTest, ApproximateHostBytesEstimatesEachBlock) {
  TempDir dir;
  auto store = Open(dir.path());
  CommitInterleaved(store.get(), 20);
  // A checkpoint flushes the memtables: the estimates then come from files.
  ASSERT_TRUE(store->CreateCheckpoint(dir.path() + "/copy").ok());
  auto sizes = store->ApproximateHostBytes();
  ASSERT_TRUE(sizes.ok()) << sizes.status().ToString();
  ASSERT_EQ(sizes.value().size(), 2u);
  for (const HostBlockBytes& h : sizes.value()) {
    ASSERT_EQ(h.blocks.size(), 20u) << h.host;
    for (size_t i = 0; i < h.blocks.size(); ++i) {
      EXPECT_EQ(h.blocks[i].receive_us,
                static_cast<int64_t>(100 + i) * 1'000'000 + (h.host == "b" ? 1 : 0));
      // Each block is about its 20 KB message, not the other host's as well.
      EXPECT_GT(h.blocks[i].bytes, 15000u) << h.host << " block " << i;
      EXPECT_LT(h.blocks[i].bytes, 30000u) << h.host << " block " << i;
    }
  }
}

TEST(RocksDbStoreTest, SettleAfterCutsFreesTheRemovedBlocksOnly) {
  TempDir dir;
  auto store = Open(dir.path());
  CommitInterleaved(store.get(), 40);
  ASSERT_TRUE(store->CreateCheckpoint(dir.path() + "/copy").ok());
  auto cut = store->ExpireHost("a", 130 * 1'000'000, kEarlyCutReason);
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  EXPECT_EQ(cut.value().events, 30u);
  auto settled = store->SettleAfterCuts(cut.value().first_seq, cut.value().last_seq,
                                        std::chrono::seconds(20), nullptr);
  ASSERT_TRUE(settled.ok()) << settled.status().ToString();
  EXPECT_TRUE(settled.value());
  // Host b's blocks among the removed ones are all still there.
  size_t a = 0, b = 0;
  for (const v1::Event& e : ScanAll(*store)) (e.host() == "a" ? a : b)++;
  EXPECT_EQ(a, 10u);
  EXPECT_EQ(b, 40u);
  auto sizes = store->ApproximateHostBytes();
  ASSERT_TRUE(sizes.ok());
  uint64_t a_bytes = 0;
  for (const HostBlockBytes& h : sizes.value()) {
    if (h.host != "a") continue;
    EXPECT_EQ(h.blocks.size(), 10u);
    for (const auto& blk : h.blocks) a_bytes += blk.bytes;
  }
  EXPECT_GT(a_bytes, 150000u);
  EXPECT_LT(a_bytes, 300000u);
}

TEST(CommitterTest, RunsBetweenCommitsWhileAStoreRefusesAndStopsPromptly) {
  TempDir dir;
  auto store = Open(dir.path());
  store->SetReserveBytes(UINT64_MAX);  // every commit refused: "the disk is full"
  Committer committer(store.get(), {1 << 20, 64});
  committer.Start();
  std::vector<v1::Event> b = {MakeEvent("a", 1, "x")};
  ASSERT_TRUE(committer.Offer(&b));
  std::atomic<bool> ran{false};
  // Queued behind the refused batch, RunInOrder would never run; this does,
  // and frees what the commit waits for.
  committer.RunBetweenCommits([&] {
    ran = true;
    store->SetReserveBytes(0);
  });
  for (int i = 0; i < 100 && store->LastSeq() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(ran);
  EXPECT_EQ(store->LastSeq(), 1u);
  // Refused again: Stop() abandons the batch (never acknowledged) at once.
  store->SetReserveBytes(UINT64_MAX);
  std::vector<v1::Event> c = {MakeEvent("a", 2, "y")};
  ASSERT_TRUE(committer.Offer(&c));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  committer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(committer.stats().events_abandoned, 1u);
  EXPECT_EQ(store->LastSeq(), 1u);
}

}  // namespace
}  // namespace trailkeep
