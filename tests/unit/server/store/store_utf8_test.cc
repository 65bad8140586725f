// A stray byte from outside must never make the store unreadable: every
// self-audit kind carrying random bytes is stored and read back, and a store
// written before the guard (blocks with invalid UTF-8, a block that is not a
// block at all) is read past, each bad record reported once.
#include <random>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "common/base/utf8.h"
#include "server/selfaudit/self_audit.h"
#include "server/store/keys.h"
#include "server/store/store.h"
#include "tests/unit/temp_dir.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

using testing::TempDir;

std::string RandomBytes(std::mt19937* rng, size_t max_len) {
  std::uniform_int_distribution<size_t> len(0, max_len);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(len(*rng), '\0');
  for (char& c : s) c = static_cast<char>(byte(*rng));
  return s;
}

std::unique_ptr<Store> Open(const std::string& dir, StoreMode mode = StoreMode::kReadWrite) {
  auto r = OpenRocksDbStore(dir, mode);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

std::vector<v1::Event> ScanAll(const Store& s) {
  std::vector<v1::Event> out;
  Status st = s.ScanEvents(0, [&](const v1::Event& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

void ExpectAllTextValid(const v1::Event& e) {
  EXPECT_TRUE(IsValidUtf8(e.host()));
  EXPECT_TRUE(IsValidUtf8(e.peer().address()));
  for (const auto& sd : e.structured_data()) {
    for (const auto& p : sd.params()) {
      EXPECT_TRUE(IsValidUtf8(p.name()));
      EXPECT_TRUE(IsValidUtf8(p.value()));
    }
  }
}

TEST(StoreUtf8Test, EverySelfAuditKindWithRandomBytesIsStoredAndReadBack) {
  TempDir dir;
  auto store = Open(dir.path());
  ASSERT_TRUE(store);
  std::mt19937 rng(5425);
  std::vector<v1::Event> emitted;
  SelfAuditOptions options;
  options.burst = 1000;
  options.collector_host = "collector-" + RandomBytes(&rng, 4);
  RateLimitedSelfAudit audit(
      options,
      [&](std::vector<v1::Event>* events) {
        for (auto& e : *events) emitted.push_back(std::move(e));
      },
      std::make_shared<ManualClock>(1'790'000'000'000'000));

  int kinds = 0;
  for (int k = 0; std::string(SelfEventMsgId(static_cast<SelfEventKind>(k))) != "UNKNOWN"; ++k) {
    ++kinds;
    for (int i = 0; i < 20; ++i) {
      audit.Record(static_cast<SelfEventKind>(k), RandomBytes(&rng, 24), RandomBytes(&rng, 64),
                   {{RandomBytes(&rng, 8), RandomBytes(&rng, 32)},
                    {"path", "/v1/hosts?" + RandomBytes(&rng, 16)}});
    }
  }
  audit.Flush();
  ASSERT_GT(kinds, 20);
  const size_t total = emitted.size();
  ASSERT_EQ(total, static_cast<size_t>(kinds) * 20);
  // Several commits, as the committer would make them.
  for (size_t at = 0; at < emitted.size(); at += 37) {
    std::vector<v1::Event> batch(
        emitted.begin() + static_cast<std::ptrdiff_t>(at),
        emitted.begin() + static_cast<std::ptrdiff_t>(std::min(at + 37, emitted.size())));
    ASSERT_TRUE(store->Commit(&batch).ok());
  }

  int issues = 0;
  store->SetReadIssueHandler([&](const StoreReadIssue&) { ++issues; });
  auto back = ScanAll(*store);
  ASSERT_EQ(back.size(), total);
  for (const auto& e : back) ExpectAllTextValid(e);
  EXPECT_EQ(issues, 0);  // written clean: nothing to repair
  // The raw frame keeps the exact bytes; the text fields hold them escaped.
  EXPECT_EQ(back[0].host(), EscapeInvalidUtf8(options.collector_host));
  std::vector<v1::HostState> hosts;
  ASSERT_TRUE(store->ListHosts([&](const v1::HostState& h) { hosts.push_back(h); }).ok());
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0].events(), total);

  // A second reader (what `trailkeepd query --db` opens) agrees.
  auto secondary = Open(dir.path(), StoreMode::kSecondary);
  ASSERT_TRUE(secondary);
  EXPECT_EQ(ScanAll(*secondary).size(), total);
}

// Writes `value` under `key` of column family `cf_name` with RocksDB itself,
// as a store written by an older trailkeepd (or edited on disk) would hold it.
void PutRaw(const std::string& dir, const std::string& cf_name, const std::string& key,
            const std::string& value) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies({}, dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open({}, dir, descs, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == cf_name) {
      EXPECT_TRUE(db->Put({}, handles[i], key, value).ok());
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
}

v1::Event Event(const std::string& host, const std::string& msg) {
  v1::Event e;
  e.set_host(host);
  e.set_receive_time_us(1'790'000'000'000'000);
  e.set_msg(msg);
  e.set_raw(msg);
  return e;
}

// A store holding one event of web01 (seq 1), closed again.
void CommitOneEvent(const std::string& dir) {
  auto store = Open(dir);
  std::vector<v1::Event> one{Event("web01", "first")};
  ASSERT_TRUE(store->Commit(&one).ok());
}

TEST(StoreUtf8Test, ReadersRepairOldBlocksAndSkipUnreadableOnesReportingEachOnce) {
  TempDir dir;
  CommitOneEvent(dir.path());
  // seqs 2-3: a block an older collector wrote with an API_DENIED path
  // holding raw bytes; seq 4: bytes that are no block; seq 5: a clean block.
  v1::EventBlock poisoned;
  poisoned.set_host_id(1);
  v1::Event denied = Event("collector", "denied");
  denied.add_structured_data()->add_params()->set_value("/v1/hosts?\xFF\xFE");
  denied.set_ingest_seq(2);
  *poisoned.add_events() = denied;
  v1::Event next = Event("collector", "next");
  next.set_ingest_seq(3);
  *poisoned.add_events() = next;
  PutRaw(dir.path(), keys::kCfEvents, keys::EventsKey(2), poisoned.SerializeAsString());
  PutRaw(dir.path(), keys::kCfEvents, keys::EventsKey(4), "\x0A\xFF\xFF not a block");
  v1::EventBlock clean;
  clean.set_host_id(1);
  v1::Event last = Event("web01", "last");
  last.set_ingest_seq(5);
  *clean.add_events() = last;
  PutRaw(dir.path(), keys::kCfEvents, keys::EventsKey(5), clean.SerializeAsString());

  auto store = Open(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->LastSeq(), 5u);
  std::vector<StoreReadIssue> issues;
  store->SetReadIssueHandler([&](const StoreReadIssue& i) { issues.push_back(i); });

  for (int pass = 0; pass < 2; ++pass) {  // reported once, read every time
    auto events = ScanAll(*store);
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events[0].msg(), "first");
    EXPECT_EQ(events[1].structured_data(0).params(0).value(), "/v1/hosts?\\xFF\\xFE");
    EXPECT_EQ(events[2].msg(), "next");
    EXPECT_EQ(events[3].msg(), "last");
  }
  std::vector<v1::Event> block;
  EXPECT_TRUE(store->ReadBlock(4, &block).ok());
  EXPECT_TRUE(block.empty());

  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].record, "event block");
  EXPECT_TRUE(issues[0].repaired);
  EXPECT_EQ(issues[0].first_seq, 2u);
  EXPECT_EQ(issues[0].last_seq, 3u);
  EXPECT_FALSE(issues[1].repaired);
  EXPECT_EQ(issues[1].position, "block 4 (seqs 4-4)");

  // New commits go on after the last block, as before.
  std::vector<v1::Event> more{Event("web01", "after")};
  ASSERT_TRUE(store->Commit(&more).ok());
  EXPECT_EQ(more[0].ingest_seq(), 6u);
}

TEST(StoreUtf8Test, HostStateWithInvalidUtf8IsRepairedNotReplaced) {
  TempDir dir;
  CommitOneEvent(dir.path());
  v1::HostState hs;
  hs.set_id(9);
  hs.set_name("gear");
  hs.set_last_peer("10.0.0.1:514\xFF");
  hs.set_events(3);
  PutRaw(dir.path(), keys::kCfHosts, "gear", hs.SerializeAsString());

  auto store = Open(dir.path());
  int issues = 0;
  store->SetReadIssueHandler([&](const StoreReadIssue&) { ++issues; });
  auto state = store->GetHostState("gear");
  ASSERT_TRUE(state.ok());
  ASSERT_TRUE(state.value().has_value());
  EXPECT_EQ(state.value()->last_peer(), "10.0.0.1:514\\xFF");
  std::vector<std::string> names;
  ASSERT_TRUE(store->ListHosts([&](const v1::HostState& h) { names.push_back(h.name()); }).ok());
  EXPECT_EQ(names.size(), 2u);
  // The host keeps its id and counters when it sends again.
  std::vector<v1::Event> again{Event("gear", "again")};
  ASSERT_TRUE(store->Commit(&again).ok());
  state = store->GetHostState("gear");
  EXPECT_EQ(state.value()->id(), 9u);
  EXPECT_EQ(state.value()->events(), 4u);
  EXPECT_EQ(issues, 1);
}

}  // namespace
}  // namespace trailkeep
