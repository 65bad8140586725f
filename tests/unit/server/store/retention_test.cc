// Retention over a real RocksDB store, with the commit stages the collector
// runs (chain verifier, record deduper) and a manual clock: what expires
// leaves every column family, nothing younger is touched, the chain still
// verifies, overrides keep their hosts longer, the dedupe CF shrinks, a
// replay of an expired event is caught, and a restart keeps ingest_seq and
// the cut.
#include "server/store/retention.h"

#include <algorithm>
#include <functional>
#include <map>

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "common/base/bytes.h"
#include "common/base/clock.h"
#include "common/base/time_format.h"
#include "server/pipeline/chain_verifier.h"
#include "server/pipeline/record_deduper.h"
#include "server/sinks/chain_verify_job.h"
#include "server/store/event_query.h"
#include "server/store/expired_hosts.h"
#include "server/store/keys.h"
#include "tests/unit/common/chain/signed_chain.h"
#include "tests/unit/temp_dir.h"

namespace trailkeep {
namespace {

using testing::TempDir;

constexpr int64_t kDay = RetentionPolicy::kDay;
const std::string kKey(kHmacKeyBytes, '\x42');
constexpr uint64_t kEpoch = 1700000000000000000ULL;

v1::Event Plain(const std::string& host, int64_t t, const std::string& msg) {
  v1::Event e;
  e.set_host(host);
  e.set_receive_time_us(t);
  e.set_msg(msg);
  e.set_raw("<13>1 - " + host + " app - - - " + msg);
  e.add_ndcpp_refs("FAU_GEN.1");
  return e;
}

v1::Event Port60(const std::string& host, int64_t t, int serial) {
  v1::Event e = Plain(host, t, "");
  e.set_transport(v1::TRANSPORT_AUDIT_PORT60);
  e.set_raw("type=USER_LOGIN msg=audit(" + std::to_string(t / 1000000) +
            ".000:" + std::to_string(serial) + "): pid=1 res=success");
  e.set_event_time_us(t / 1000000 * 1000000);  // the record's audit time
  return e;
}

// Key counts per column family, read with RocksDB itself while the store is
// closed: `match(cf, key, value)` selects what is counted.
using KeyFilter =
    std::function<bool(const std::string& cf, std::string_view key, std::string_view value)>;
std::map<std::string, size_t> CountKeys(const std::string& dir, const KeyFilter& match) {
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies({}, dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (const auto& n : names) descs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  EXPECT_TRUE(rocksdb::DB::OpenForReadOnly({}, dir, descs, &handles, &raw).ok());
  std::map<std::string, size_t> out;
  for (size_t i = 0; i < handles.size(); ++i) {
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator({}, handles[i]));
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (match(names[i], it->key().ToStringView(), it->value().ToStringView())) ++n;
    }
    out[names[i]] = n;
  }
  for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
  delete raw;
  return out;
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Close() {
    stages_.reset();
    deduper_.reset();
    verifier_.reset();
    store_.reset();
  }
  void Reopen() {
    Close();
    auto s = OpenRocksDbStore(dir_.path(), StoreMode::kReadWrite);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    verifier_ = std::make_unique<ChainVerifier>(store_.get());
    deduper_ = std::make_unique<RecordDeduper>(store_.get());
    stages_ = std::make_unique<CommitStageChain>(
        std::vector<CommitStage*>{verifier_.get(), deduper_.get()});
  }
  // Judges and commits one batch as the committer does; returns what was stored.
  std::vector<v1::Event> Commit(std::vector<v1::Event> batch) {
    CommitExtras extras;
    stages_->Prepare(&batch, &extras);
    Status s = store_->Commit(&batch, &extras);
    EXPECT_TRUE(s.ok()) << s.ToString();
    stages_->Committed();
    for (auto& ie : extras.integrity) alarms_.push_back(ie.kind());
    return batch;
  }
  // The agent's chain, seqs first..first+count-1, received at `t`.
  std::vector<v1::Event> Chain(uint64_t first, uint64_t count, int64_t t) {
    std::string prev;
    if (first > 1) prev = SignedChain(kKey, kEpoch, first - 1).back().chain_mac();
    auto events = SignedChain(kKey, kEpoch, count, first, prev);
    for (auto& e : events) {
      e.set_receive_time_us(t);
      e.set_integrity(v1::INTEGRITY_VERIFIED);
    }
    return events;
  }
  std::vector<v1::Event> All() {
    std::vector<v1::Event> out;
    EXPECT_TRUE(store_
                    ->ScanEvents(0,
                                 [&](const v1::Event& e) {
                                   out.push_back(e);
                                   return true;
                                 })
                    .ok());
    return out;
  }
  v1::HostState Host(const std::string& name) {
    auto hs = store_->GetHostState(name);
    EXPECT_TRUE(hs.ok() && hs.value()) << name;
    return hs.ok() && hs.value() ? *hs.value() : v1::HostState();
  }
  // Keys of every column family whose record belongs to `host`; the ones
  // that are not per host (by_time, by_ndcpp, default) count 0.
  std::map<std::string, size_t> KeysOf(const std::string& host) {
    const uint64_t id = Host(host).id();
    std::string id_be;
    PutFixed64BE(&id_be, id);
    Close();
    auto counts =
        CountKeys(dir_.path(), [&](const std::string& cf, std::string_view k, std::string_view v) {
          if (cf == keys::kCfEvents) {
            v1::EventBlock b;
            return b.ParseFromArray(v.data(), static_cast<int>(v.size())) && b.host_id() == id;
          }
          if (cf == keys::kCfByHost || cf == keys::kCfChain) return k.substr(0, 8) == id_be;
          if (cf == keys::kCfIntegrity) {
            v1::IntegrityEvent ie;
            return ie.ParseFromArray(v.data(), static_cast<int>(v.size())) && ie.host() == host;
          }
          if (cf == keys::kCfDedupe) return keys::DedupeKeyHost(k) == host;
          if (cf == keys::kCfHosts) return k == host;
          return false;  // by_time, by_ndcpp, default: not per host
        });
    Reopen();
    return counts;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ChainVerifier> verifier_;
  std::unique_ptr<RecordDeduper> deduper_;
  std::unique_ptr<CommitStageChain> stages_;
  std::vector<std::string> alarms_;
  ManualClock clock_;
};

TEST(RetentionPolicyTest, ParsesDurationsAndPicksTheFirstMatchingOverride) {
  EXPECT_EQ(ParseRetention("180d"), 180 * kDay);
  EXPECT_EQ(ParseRetention("2s"), 2'000'000);
  EXPECT_EQ(ParseRetention("3w"), 21 * kDay);
  EXPECT_EQ(ParseRetention("forever"), 0);
  EXPECT_FALSE(ParseRetention("0d"));
  EXPECT_FALSE(ParseRetention("180"));
  EXPECT_FALSE(ParseRetention("d"));
  EXPECT_FALSE(ParseRetention("1.5d"));
  EXPECT_EQ(FormatRetention(180 * kDay), "180d");
  EXPECT_EQ(FormatRetention(14 * kDay), "2w");
  RetentionPolicy p;
  p.overrides = {{"db-*", 400 * kDay}, {"db-*", 1 * kDay}, {"lab", 0}};
  EXPECT_EQ(p.ForHost("db-1"), 400 * kDay);
  EXPECT_EQ(p.ForHost("lab"), 0);
  EXPECT_EQ(p.ForHost("web"), 180 * kDay);
  EXPECT_EQ(p.CheckIntervalUs(), 3600'000'000);
  p.default_us = 2'000'000;
  EXPECT_EQ(p.CheckIntervalUs(), 1'000'000);
}

TEST_F(RetentionTest, ExpiredEventsLeaveEveryColumnFamilyAndNothingYoungerIsTouched) {
  const int64_t t0 = clock_.NowMicros();
  // Day 0: the agent's seqs 1-3 and 5 (a gap: an integrity event of day 0),
  // port-60 records, a host the override keeps longer.
  Commit(Chain(1, 3, t0));
  Commit({Chain(5, 1, t0 + 1).front()});
  Commit({Port60("aud", t0, 1), Port60("aud", t0, 2), Port60("aud", t0, 3)});
  Commit({Plain("db-1", t0, "old db")});
  ASSERT_EQ(alarms_, std::vector<std::string>{"gap"});
  // Day 200: young events of each.
  clock_.Advance(std::chrono::microseconds(200 * kDay));
  const int64_t t1 = clock_.NowMicros();
  Commit({Chain(4, 1, t1).front()});  // late: fills the gap, then the chain goes on
  Commit(Chain(6, 2, t1));
  Commit({Port60("aud", t1, 4)});
  Commit({Plain("db-1", t1, "new db"), Plain("web", t1, "new web")});
  const auto before = All();
  const auto agent_before = KeysOf("web01.test");
  const auto aud_before = KeysOf("aud");
  const auto db_before = KeysOf("db-1");
  const auto web_before = KeysOf("web");

  RetentionPolicy policy;
  policy.overrides = {{"db-*", 400 * kDay}};
  auto cuts = RunRetentionPass(store_.get(), policy, clock_.NowMicros());
  ASSERT_TRUE(cuts.ok()) << cuts.status().ToString();
  ASSERT_EQ(cuts.value().size(), 2u);  // the agent and aud; db-1 is kept longer
  const RetentionCut& agent_cut = cuts.value()[0].host == "aud" ? cuts.value()[1] : cuts.value()[0];
  EXPECT_EQ(agent_cut.host, "web01.test");
  EXPECT_EQ(agent_cut.events, 4u);
  EXPECT_EQ(agent_cut.chain_epoch, kEpoch);
  EXPECT_EQ(agent_cut.chain_seq, 5u);
  EXPECT_EQ(agent_cut.cut_us, t1 - 180 * kDay);
  EXPECT_EQ(agent_cut.oldest_kept_us, t1);

  // Events: exactly the old ones of the two hosts are gone, the rest kept
  // with their seqs.
  std::vector<v1::Event> expected;
  for (const auto& e : before) {
    if (e.receive_time_us() >= t1 || e.host() == "db-1") expected.push_back(e);
  }
  const auto after = All();
  ASSERT_EQ(after.size(), expected.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].SerializeAsString(), expected[i].SerializeAsString()) << i;
  }

  // Every column family.
  const auto agent_after = KeysOf("web01.test");
  EXPECT_EQ(agent_before.at(keys::kCfEvents), 4u);  // 1-3, 5, 4, 6-7: four blocks
  EXPECT_EQ(agent_after.at(keys::kCfEvents), 2u);
  EXPECT_EQ(agent_after.at(keys::kCfByHost), 2u);
  EXPECT_EQ(agent_after.at(keys::kCfChain), 2u);
  EXPECT_EQ(agent_before.at(keys::kCfIntegrity), 1u);
  EXPECT_EQ(agent_after.at(keys::kCfIntegrity), 0u);  // the day-0 gap alarm
  const auto aud_after = KeysOf("aud");
  EXPECT_EQ(aud_before.at(keys::kCfDedupe), 4u);
  EXPECT_EQ(aud_after.at(keys::kCfDedupe), 1u);  // the dedupe CF shrinks
  EXPECT_EQ(aud_after.at(keys::kCfEvents), 1u);
  // by_ndcpp: one key per kept event that carries a ref.
  Close();
  const size_t refs =
      CountKeys(dir_.path(), [](const std::string& cf, std::string_view, std::string_view) {
        return cf == keys::kCfByNdcpp;
      }).at(keys::kCfByNdcpp);
  Reopen();
  EXPECT_EQ(refs, static_cast<size_t>(
                      std::count_if(expected.begin(), expected.end(),
                                    [](const v1::Event& e) { return e.ndcpp_refs_size() > 0; })));
  EXPECT_EQ(KeysOf("db-1"), db_before);
  EXPECT_EQ(KeysOf("web"), web_before);

  const v1::HostState agent = Host("web01.test");
  EXPECT_EQ(agent.oldest_kept_us(), t1);
  EXPECT_EQ(agent.expired_events(), 4u);
  EXPECT_EQ(agent.cut_chain_seq(), 5u);
  EXPECT_EQ(agent.events(), 7u);  // ever stored: the count is history

  // The chain verifies after the cut: seqs up to 5 expired by policy.
  StoredChainAudit audit;
  audit.key = kKey;
  auto verified = AuditStoredChain(*store_, "web01.test", audit);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(verified.value().clean()) << FormatChainSummary(verified.value());
  EXPECT_EQ(verified.value().verified, 3u);  // seqs 4, 6, 7

  // A pass with nothing due removes nothing.
  auto again = RunRetentionPass(store_.get(), policy, clock_.NowMicros());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again.value().empty());
}

TEST_F(RetentionTest, ReplayOfAnExpiredEventIsCaughtAfterARestart) {
  const int64_t t0 = clock_.NowMicros();
  Commit(Chain(1, 3, t0));
  clock_.Advance(std::chrono::microseconds(181 * kDay));
  Commit(Chain(4, 1, clock_.NowMicros()));
  ASSERT_TRUE(RunRetentionPass(store_.get(), RetentionPolicy{}, clock_.NowMicros()).ok());
  Reopen();
  alarms_.clear();
  // Seq 2 again, byte for byte: its record expired, its chain position did not.
  EXPECT_TRUE(Commit({Chain(2, 1, clock_.NowMicros()).front()}).empty());
  EXPECT_EQ(alarms_, std::vector<std::string>{"replay"});
  // The chain moves on as before.
  auto next = Commit(Chain(5, 1, clock_.NowMicros()));
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].integrity(), v1::INTEGRITY_VERIFIED);
}

TEST_F(RetentionTest, Port60ResendOfAnExpiredRecordIsCaughtAfterARestart) {
  const int64_t t0 = clock_.NowMicros();
  const v1::Event old = Port60("aud", t0, 1);
  Commit({old, Port60("aud", t0, 2)});
  clock_.Advance(std::chrono::microseconds(181 * kDay));
  const int64_t t1 = clock_.NowMicros();
  Commit({Port60("aud", t1, 3)});
  ASSERT_TRUE(RunRetentionPass(store_.get(), RetentionPolicy{}, clock_.NowMicros()).ok());
  Reopen();
  alarms_.clear();
  // Record 1 again, byte for byte, received now: its dedupe key expired with it,
  // its audit time is before the cut.
  v1::Event resent = old;
  resent.set_receive_time_us(clock_.NowMicros());
  EXPECT_TRUE(Commit({resent}).empty());
  EXPECT_EQ(alarms_, std::vector<std::string>{"replay"});
  EXPECT_EQ(deduper_->expired_replays(), 1u);
  // A new record and one without an audit time (received now) are stored.
  v1::Event untimed = Port60("aud", t0, 9);
  untimed.set_receive_time_us(clock_.NowMicros());
  untimed.set_event_time_us(untimed.receive_time_us());
  untimed.set_event_time_inferred(true);
  EXPECT_EQ(Commit({Port60("aud", clock_.NowMicros(), 4), untimed}).size(), 2u);
  // A host never cut keeps old records: only a cut makes a time too old.
  EXPECT_EQ(Commit({Port60("fresh-host", t0, 1)}).size(), 1u);
}

TEST_F(RetentionTest, QueriesFromBeforeAHostsCutNameTheHost) {
  const int64_t t0 = clock_.NowMicros();
  Commit({Plain("web-1", t0, "old"), Plain("web-2", t0, "old"), Plain("db-1", t0, "old")});
  clock_.Advance(std::chrono::microseconds(200 * kDay));
  const int64_t t1 = clock_.NowMicros();
  Commit({Plain("web-1", t1, "new"), Plain("db-1", t1, "new")});
  RetentionPolicy policy;
  policy.overrides = {{"db-*", 400 * kDay}};
  ASSERT_TRUE(RunRetentionPass(store_.get(), policy, t1).ok());
  const int64_t cut = t1 - 180 * kDay;

  auto names = [&](EventFilter f) {
    auto hosts = HostsCutAfterSince(*store_, f);
    EXPECT_TRUE(hosts.ok()) << hosts.status().ToString();
    std::vector<std::string> out;
    for (const auto& h : hosts.value()) {
      EXPECT_EQ(h.cut_us, cut) << h.host;
      out.push_back(h.host + (h.oldest_kept_us == 0 ? " (none kept)" : ""));
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names({}), (V{"web-1", "web-2 (none kept)"}));  // db-1 is kept longer
  EventFilter web1;
  web1.host = "web-1";
  EXPECT_EQ(names(web1), V{"web-1"});
  EventFilter limited;  // a caller allowed web-2 only never hears of web-1
  limited.allowed_hosts = {"web-2"};
  EXPECT_EQ(names(limited), V{"web-2 (none kept)"});
  EventFilter after_cut;
  after_cut.since_us = cut;  // nothing the query asks for expired
  EXPECT_EQ(names(after_cut), V{});
  EventFilter before_cut;
  before_cut.since_us = cut - 1;
  EXPECT_EQ(names(before_cut).size(), 2u);

  auto all = HostsCutAfterSince(*store_, EventFilter{});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(DescribeExpiredHosts(all.value(), 1),
            "web-1 before " + FormatRfc3339Micros(cut) + ", and 1 more hosts");
}

// Receive times can run backwards in commit order (a record held while the
// disk was full, committed after a group stamped later): a cut still removes
// a prefix of the host's commits, never a younger commit before an older
// one, and a query up to a time still finds the late block.
TEST_F(RetentionTest, ACutRemovesAPrefixOfAHostsCommitsWhenReceiveTimesRunBackwards) {
  const int64_t t0 = clock_.NowMicros();
  constexpr int64_t kSec = 1'000'000;
  Commit({Plain("a", t0 + 10 * kSec, "stamped late, committed first")});
  Commit({Plain("a", t0 + 5 * kSec, "received first, committed second")});
  Commit({Plain("a", t0 + 20 * kSec, "newest")});

  std::vector<std::string> found;
  EventFilter until;
  until.host = "a";
  until.until_us = t0 + 6 * kSec;
  ASSERT_TRUE(QueryEvents(*store_, until, 0, store_->LastSeq(), [&](const v1::Event& e) {
                found.push_back(e.msg());
                return true;
              }).ok());
  EXPECT_EQ(found, std::vector<std::string>{"received first, committed second"});

  // Before the second commit's event but after the first's: the first commit
  // is not below the cut, so neither is removed.
  auto cut = store_->ExpireHost("a", t0 + 8 * kSec, "");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  EXPECT_EQ(cut.value().events, 0u);
  EXPECT_EQ(All().size(), 3u);

  cut = store_->ExpireHost("a", t0 + 15 * kSec, "");
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  EXPECT_EQ(cut.value().events, 2u);
  EXPECT_EQ(cut.value().first_seq, 1u);
  EXPECT_EQ(cut.value().last_seq, 2u);
  auto kept = All();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].msg(), "newest");
}

TEST_F(RetentionTest, SeqsGoOnAfterEveryEventExpiredAndTheFirstKeptCursorIsKnown) {
  const int64_t t0 = clock_.NowMicros();
  Commit({Plain("a", t0, "1"), Plain("b", t0, "2")});
  Commit({Plain("a", t0 + 1, "3")});
  EXPECT_EQ(store_->FirstSeq().value(), 1u);
  clock_.Advance(std::chrono::microseconds(2'000'000));
  RetentionPolicy policy;
  policy.default_us = 1'000'000;
  auto cuts = RunRetentionPass(store_.get(), policy, clock_.NowMicros());
  ASSERT_TRUE(cuts.ok());
  EXPECT_EQ(cuts.value().size(), 2u);
  EXPECT_TRUE(All().empty());
  EXPECT_EQ(store_->FirstSeq().value(), 4u);  // nothing kept: one past the last
  Reopen();
  EXPECT_EQ(store_->LastSeq(), 3u);  // recovered without the last block
  auto stored = Commit({Plain("a", clock_.NowMicros(), "4")});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].ingest_seq(), 4u);
  EXPECT_EQ(store_->FirstSeq().value(), 4u);
  EXPECT_EQ(Host("a").oldest_kept_us(), clock_.NowMicros());
  // The time index answers from the first kept event.
  EXPECT_EQ(store_->SeqAtTime(t0).value(), 4u);
}

}  // namespace
}  // namespace trailkeep
