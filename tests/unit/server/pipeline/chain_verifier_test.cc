// ChainVerifier over a real RocksDB store: each outcome of the table in
// docs/formats/hmac_chain.md, and that the judgements survive a restart.
#include "server/pipeline/chain_verifier.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "server/store/committer.h"

namespace trailkeep {
namespace {

std::string Mac(uint64_t epoch, uint64_t seq, char salt = 'a') {
  std::string m(32, salt);
  m[0] = static_cast<char>(epoch);
  m[1] = static_cast<char>(seq);
  m[2] = static_cast<char>(seq >> 8);
  return m;
}

// A chained event as the pipeline hands it over (MAC already judged).
v1::Event Chained(uint64_t epoch, uint64_t seq, v1::IntegrityStatus status = v1::INTEGRITY_VERIFIED,
                  char salt = 'a') {
  v1::Event e;
  e.set_host("web01");
  e.set_receive_time_us(1'000'000 + static_cast<int64_t>(seq));
  e.set_chain_epoch(epoch);
  e.set_chain_seq(seq);
  e.set_chain_prev_mac(seq == 1 ? std::string(32, '\0') : Mac(epoch, seq - 1));
  e.set_chain_mac(Mac(epoch, seq, salt));
  e.set_integrity(status);
  e.set_raw("event " + std::to_string(seq));
  return e;
}

v1::Event Heartbeat(uint64_t epoch, uint64_t head) {
  v1::Event e = Chained(epoch, head);
  e.set_chain_heartbeat(true);
  e.set_chain_prev_mac(Mac(epoch, head));
  return e;
}

class ChainVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tk_chain_verifier_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    Reopen();
  }
  void TearDown() override {
    verifier_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    verifier_.reset();
    store_.reset();
    auto s = OpenRocksDbStore(dir_.string(), StoreMode::kReadWrite);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    verifier_ = std::make_unique<ChainVerifier>(store_.get());
  }
  // Judges and commits one batch; returns what was stored.
  std::vector<v1::Event> Commit(std::vector<v1::Event> batch) {
    CommitExtras extras;
    verifier_->Prepare(&batch, &extras);
    EXPECT_TRUE(store_->Commit(&batch, &extras).ok());
    verifier_->Committed();
    for (auto& ie : extras.integrity) alarms_.push_back(ie);
    return batch;
  }
  std::string Alarms() const {
    std::string out;
    for (const auto& a : alarms_) {
      out +=
          a.kind() + ":" + std::to_string(a.first_seq()) + "-" + std::to_string(a.last_seq()) + " ";
    }
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ChainVerifier> verifier_;
  std::vector<v1::IntegrityEvent> alarms_;
};

TEST_F(ChainVerifierTest, InOrderChainVerifiesAndAdvances) {
  auto stored = Commit({Chained(7, 1), Chained(7, 2), Chained(7, 3)});
  ASSERT_EQ(stored.size(), 3u);
  for (const auto& e : stored) EXPECT_EQ(e.integrity(), v1::INTEGRITY_VERIFIED);
  EXPECT_EQ(Alarms(), "");
  const ChainHeadInfo head = verifier_->Head("web01");
  EXPECT_EQ(head.epoch, 7u);
  EXPECT_EQ(head.contiguous_seq, 3u);
  EXPECT_EQ(head.head_mac, Mac(7, 3));
  ASSERT_EQ(verifier_->advanced().size(), 1u);
}

TEST_F(ChainVerifierTest, ResendsAreDroppedEvenAfterARestart) {
  Commit({Chained(7, 1), Chained(7, 2)});
  EXPECT_TRUE(Commit({Chained(7, 1), Chained(7, 2)}).empty());
  Reopen();
  EXPECT_EQ(verifier_->Head("web01").contiguous_seq, 2u);
  auto stored = Commit({Chained(7, 2), Chained(7, 3)});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].chain_seq(), 3u);
  EXPECT_EQ(Alarms(), "");
  auto hs = store_->GetHostState("web01");
  ASSERT_TRUE(hs.ok() && hs.value());
  EXPECT_EQ(hs.value()->duplicates_dropped(), 3u);
}

TEST_F(ChainVerifierTest, GapIsRecordedAndTheChainMovesOn) {
  auto stored = Commit({Chained(7, 1), Chained(7, 2), Chained(7, 5), Chained(7, 6)});
  ASSERT_EQ(stored.size(), 4u);
  EXPECT_EQ(stored[2].integrity(), v1::INTEGRITY_AFTER_GAP);
  EXPECT_EQ(stored[3].integrity(), v1::INTEGRITY_VERIFIED);
  EXPECT_EQ(Alarms(), "gap:3-4 ");
  EXPECT_EQ(verifier_->Head("web01").contiguous_seq, 6u);
}

TEST_F(ChainVerifierTest, ForgedEventFirstMakesAConflictAndBothAreStored) {
  Commit({Chained(7, 1)});
  // Forged at the next seq with the wrong key: stored as evidence only.
  auto forged = Commit({Chained(7, 2, v1::INTEGRITY_BAD_MAC, 'f')});
  ASSERT_EQ(forged.size(), 1u);
  EXPECT_EQ(verifier_->Head("web01").contiguous_seq, 1u);
  auto real = Commit({Chained(7, 2)});
  ASSERT_EQ(real.size(), 1u);
  EXPECT_EQ(real[0].integrity(), v1::INTEGRITY_VERIFIED);
  EXPECT_EQ(Alarms(), "bad_mac:2-2 conflict:2-2 ");
}

TEST_F(ChainVerifierTest, ForgedEventAtAnUnusedSeqIsOnlyABadMac) {
  Commit({Chained(7, 1), Chained(7, 900, v1::INTEGRITY_BAD_MAC, 'f'), Chained(7, 2)});
  EXPECT_EQ(Alarms(), "bad_mac:900-900 ");
  EXPECT_EQ(verifier_->Head("web01").contiguous_seq, 2u);
}

TEST_F(ChainVerifierTest, EditedEventIsABadMacAndNotAlsoAGap) {
  // An event edited in the agent's spool arrives with a bad MAC; the next
  // one follows it. Only the edit is flagged.
  auto stored = Commit({Chained(7, 1), Chained(7, 2, v1::INTEGRITY_BAD_MAC, 'e'), Chained(7, 3)});
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[1].integrity(), v1::INTEGRITY_BAD_MAC);
  EXPECT_EQ(stored[2].integrity(), v1::INTEGRITY_AFTER_GAP);  // its link cannot be checked
  EXPECT_EQ(Alarms(), "bad_mac:2-2 ");
  EXPECT_EQ(verifier_->Head("web01").contiguous_seq, 3u);
}

TEST_F(ChainVerifierTest, SameSeqWithAnotherAuthenticMacIsAConflict) {
  Commit({Chained(7, 1), Chained(7, 2)});
  auto stored = Commit({Chained(7, 2, v1::INTEGRITY_VERIFIED, 'z')});
  EXPECT_EQ(stored.size(), 1u);
  EXPECT_EQ(Alarms(), "conflict:2-2 ");
}

TEST_F(ChainVerifierTest, NewEpochRestartsAndOldEpochIsAReplay) {
  Commit({Chained(7, 1), Chained(7, 2)});
  Commit({Chained(9, 1)});
  EXPECT_EQ(Alarms(), "chain_restart:1-1 ");
  alarms_.clear();
  // The exact old event again: dropped, but flagged as a replay.
  EXPECT_TRUE(Commit({Chained(7, 2)}).empty());
  // An old-epoch event never stored: kept, marked.
  auto stored = Commit({Chained(7, 3)});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].integrity(), v1::INTEGRITY_REPLAY);
  EXPECT_EQ(Alarms(), "replay:2-2 replay:3-3 ");
  EXPECT_EQ(verifier_->Head("web01").epoch, 9u);
}

TEST_F(ChainVerifierTest, HeartbeatAheadOfTheStoredChainIsATruncatedTail) {
  Commit({Chained(7, 1), Chained(7, 2), Heartbeat(7, 2)});
  EXPECT_EQ(Alarms(), "");
  auto stored = Commit({Heartbeat(7, 5)});
  EXPECT_TRUE(stored.empty());  // heartbeats are never stored
  EXPECT_EQ(Alarms(), "truncated_tail:3-5 ");
  // The agent numbers on after its head: the same range is not also a gap.
  Commit({Chained(7, 6)});
  EXPECT_EQ(Alarms(), "truncated_tail:3-5 ");
}

TEST_F(ChainVerifierTest, UnknownKeyIsRaisedOncePerEpochAndResendsStillDrop) {
  Commit({Chained(7, 1, v1::INTEGRITY_NO_KEY), Chained(7, 2, v1::INTEGRITY_NO_KEY)});
  EXPECT_TRUE(Commit({Chained(7, 2, v1::INTEGRITY_NO_KEY)}).empty());
  EXPECT_EQ(Alarms(), "unknown_key:1-1 ");
}

// The agent's JOURNAL_LOSS event (agent/journal_loss.h) is a loss at the
// source: an alarm like a gap, but only when its MAC verified.
TEST_F(ChainVerifierTest, AuthenticJournalLossIsAnAlarm) {
  auto loss = [](uint64_t seq, v1::IntegrityStatus status) {
    v1::Event e = Chained(7, seq, status);
    e.set_app_name("trailkeep");
    e.set_msgid("JOURNAL_LOSS");
    e.set_msg("journal input 'journal': 12 journal entries ... were vacuumed");
    e.add_structured_data()->set_id("tkloss@32473");
    return e;
  };
  v1::Event not_the_agents = loss(3, v1::INTEGRITY_VERIFIED);
  not_the_agents.set_app_name("cron");
  auto stored = Commit({Chained(7, 1), loss(2, v1::INTEGRITY_VERIFIED), not_the_agents});
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(Alarms(), "journal_loss:2-2 ");
  EXPECT_EQ(alarms_[0].detail(), "journal input 'journal': 12 journal entries ... were vacuumed");
  // A forged one is a bad MAC, not a loss; a resend of the real one is dropped, no second alarm.
  Commit({loss(9, v1::INTEGRITY_BAD_MAC), loss(2, v1::INTEGRITY_VERIFIED)});
  EXPECT_EQ(Alarms(), "journal_loss:2-2 bad_mac:9-9 ");
}

TEST_F(ChainVerifierTest, UnchainedEventsPassUntouched) {
  v1::Event plain;
  plain.set_host("legacy");
  plain.set_integrity(v1::INTEGRITY_UNSIGNED);
  auto stored = Commit({plain, plain});
  EXPECT_EQ(stored.size(), 2u);
  EXPECT_EQ(Alarms(), "");
}

// Through the real committer: heartbeats are consumed, not counted as
// duplicates (the metric rose by one every heartbeat with no resend).
TEST_F(ChainVerifierTest, CommitterCountsHeartbeatsApartFromDuplicates) {
  Committer committer(store_.get(), {});
  committer.SetStage(verifier_.get());
  committer.Start();
  const auto offer = [&](std::vector<v1::Event> batch) { committer.OfferUnbounded(&batch); };
  offer({Chained(7, 1), Chained(7, 2)});
  offer({Heartbeat(7, 2)});
  offer({Heartbeat(7, 2)});
  offer({Chained(7, 2), Chained(7, 3)});  // a resend of 2 after a reconnect
  offer({Heartbeat(7, 3)});
  committer.Stop();
  const CommitterStats stats = committer.stats();
  EXPECT_EQ(stats.events_committed, 3u);
  EXPECT_EQ(stats.heartbeats_consumed, 3u);
  EXPECT_EQ(stats.events_dropped_as_duplicates, 1u);
  EXPECT_EQ(store_->GetHostState("web01").value()->duplicates_dropped(), 1u);
}

// Key rotation (docs/formats/hmac_chain.md, 'Key rotation'): the pipeline
// says which key an event verifies under (chain_key_id), and whether the
// event names it (the tkkey element); the verifier keeps the schedule.
v1::Event Keyed(uint64_t epoch, uint64_t seq, const std::string& key_id, bool announces = false) {
  v1::Event e = Chained(epoch, seq);
  e.set_chain_key_id(key_id);
  e.set_enterprise_number(32473);
  if (announces) {
    auto* el = e.add_structured_data();
    el->set_id("tkkey@32473");
    auto* p = el->add_params();
    p->set_name("id");
    p->set_value(key_id);
  }
  return e;
}

const std::string kOldKey = "1111111111111111";
const std::string kNewKey = "2222222222222222";

std::string Details(const std::vector<v1::IntegrityEvent>& alarms) {
  std::string out;
  for (const auto& a : alarms) out += a.detail() + "\n";
  return out;
}

TEST_F(ChainVerifierTest, RotationSwitchesAtTheElementThatNamesTheNewKey) {
  Commit({Keyed(7, 1, kOldKey, true), Keyed(7, 2, kOldKey), Keyed(7, 3, kOldKey)});
  auto stored = Commit({Keyed(7, 4, kNewKey, true), Keyed(7, 5, kNewKey)});
  ASSERT_EQ(stored.size(), 2u);
  for (const auto& e : stored) EXPECT_EQ(e.integrity(), v1::INTEGRITY_VERIFIED);
  EXPECT_EQ(Alarms(), "");
  EXPECT_EQ(verifier_->Head("web01").contiguous_seq, 5u);
  auto hs = store_->GetHostState("web01");
  ASSERT_TRUE(hs.ok() && hs.value());
  ASSERT_EQ(hs.value()->key_schedule_size(), 2);
  EXPECT_EQ(hs.value()->key_schedule(1).seq(), 4u);
  EXPECT_EQ(hs.value()->key_schedule(1).key_id(), kNewKey);
}

TEST_F(ChainVerifierTest, OldKeyResendsBeforeTheSwitchStayValid) {
  Commit({Keyed(7, 1, kOldKey, true), Keyed(7, 2, kOldKey)});
  Commit({Keyed(7, 3, kNewKey, true), Keyed(7, 4, kNewKey)});
  // A reconnect resends 2..4 with their MACs unchanged: dropped, no alarm.
  EXPECT_TRUE(
      Commit({Keyed(7, 2, kOldKey), Keyed(7, 3, kNewKey, true), Keyed(7, 4, kNewKey)}).empty());
  EXPECT_EQ(Alarms(), "");
}

TEST_F(ChainVerifierTest, OldKeyAfterTheSwitchIsBadMacRetiredKey) {
  Commit({Keyed(7, 1, kOldKey, true), Keyed(7, 2, kOldKey)});
  Commit({Keyed(7, 3, kNewKey, true)});
  // Forged with the stolen old key after the switch, also naming it again.
  auto stored = Commit({Keyed(7, 4, kOldKey), Keyed(7, 5, kOldKey, true)});
  ASSERT_EQ(stored.size(), 2u);
  for (const auto& e : stored) EXPECT_EQ(e.integrity(), v1::INTEGRITY_BAD_MAC);
  EXPECT_EQ(Alarms(), "bad_mac:4-5 ");
  EXPECT_EQ(alarms_[0].detail().rfind("retired_key: MAC verifies under key " + kOldKey, 0), 0u)
      << alarms_[0].detail();
  // The chain did not move; the authentic 4 still continues it.
  EXPECT_EQ(verifier_->Head("web01").contiguous_seq, 3u);
  stored = Commit({Keyed(7, 4, kNewKey)});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].integrity(), v1::INTEGRITY_VERIFIED);
}

TEST_F(ChainVerifierTest, NewKeyWithoutItsElementBeforeTheSwitchIsNotInForce) {
  Commit({Keyed(7, 1, kOldKey, true)});
  auto stored = Commit({Keyed(7, 2, kNewKey)});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].integrity(), v1::INTEGRITY_BAD_MAC);
  EXPECT_NE(Details(alarms_).find("key_not_in_force"), std::string::npos) << Details(alarms_);
}

TEST_F(ChainVerifierTest, TheSwitchPointSurvivesARestart) {
  Commit({Keyed(7, 1, kOldKey, true), Keyed(7, 2, kOldKey)});
  Commit({Keyed(7, 3, kNewKey, true)});
  Reopen();
  v1::Event forged = Keyed(7, 4, kOldKey);
  forged.set_chain_mac(Mac(7, 4, 'z'));
  auto stored = Commit({forged, Keyed(7, 4, kNewKey), Keyed(7, 5, kNewKey)});
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[0].integrity(), v1::INTEGRITY_BAD_MAC);
  EXPECT_EQ(stored[1].integrity(), v1::INTEGRITY_VERIFIED);
  EXPECT_EQ(stored[2].integrity(), v1::INTEGRITY_VERIFIED);
  // The forged one stays stored and flagged; the authentic one is a conflict.
  EXPECT_EQ(Alarms(), "bad_mac:4-4 conflict:4-4 ");
  EXPECT_EQ(alarms_[0].detail().rfind("retired_key", 0), 0u) << alarms_[0].detail();
}

TEST_F(ChainVerifierTest, TheNewKeyGoesOnInTheNextEpoch) {
  Commit({Keyed(7, 1, kOldKey, true), Keyed(7, 2, kNewKey, true)});
  auto stored = Commit({Keyed(8, 1, kNewKey, true), Keyed(8, 2, kOldKey)});
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].integrity(), v1::INTEGRITY_VERIFIED);
  EXPECT_EQ(stored[1].integrity(), v1::INTEGRITY_BAD_MAC);
  EXPECT_EQ(Alarms(), "chain_restart:1-1 bad_mac:2-2 ");
}

TEST_F(ChainVerifierTest, AnUnknownKeyIdIsNoKeyWithAClearReason) {
  Commit({Keyed(7, 1, kOldKey, true)});
  v1::Event e = Keyed(7, 2, "3333333333333333", true);
  e.set_integrity(v1::INTEGRITY_NO_KEY);
  auto stored = Commit({e});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].integrity(), v1::INTEGRITY_NO_KEY);
  EXPECT_EQ(Alarms(), "unknown_key:2-2 ");
  EXPECT_EQ(alarms_[0].detail().rfind("unknown key id 3333333333333333", 0), 0u)
      << alarms_[0].detail();
}

TEST_F(ChainVerifierTest, AHeartbeatUnderTheRetiredKeyIsBadMac) {
  Commit({Keyed(7, 1, kOldKey, true), Keyed(7, 2, kNewKey, true)});
  v1::Event hb = Heartbeat(7, 2);
  hb.set_chain_key_id(kOldKey);
  EXPECT_TRUE(Commit({hb}).empty());
  EXPECT_EQ(Alarms(), "bad_mac:2-2 ");
  hb.set_chain_key_id(kNewKey);
  alarms_.clear();
  EXPECT_TRUE(Commit({hb}).empty());
  EXPECT_EQ(Alarms(), "");
}

}  // namespace
}  // namespace trailkeep
