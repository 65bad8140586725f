#include "common/chain/chain_audit.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/syslog/syslog_parser.h"
#include "common/wire/hmac_chain.h"
#include "tests/unit/common/chain/signed_chain.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

const std::string kKey(kHmacKeyBytes, '\x42');
const std::string kOtherKey(kHmacKeyBytes, '\x17');
constexpr uint64_t kEpoch = 1700000000000000000ULL;

ChainAuditResult Audit(const std::vector<v1::Event>& events, const std::string& key = kKey) {
  ChainAuditor auditor(key);
  for (const auto& e : events) auditor.Add(e);
  return auditor.Finish();
}

std::vector<std::string> Lines(const ChainAuditResult& r) {
  std::vector<std::string> out;
  for (const auto& i : r.issues) out.push_back(FormatChainIssue(i));
  return out;
}

std::string E(const char* rest) { return "epoch=" + std::to_string(kEpoch) + rest; }

TEST(ChainAuditTest, CleanChainIsOk) {
  const auto events = SignedChain(kKey, kEpoch, 20);
  const auto r = Audit(events);
  EXPECT_TRUE(r.clean()) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(r.events, 20u);
  EXPECT_EQ(r.chained, 20u);
  EXPECT_EQ(r.verified, 20u);
  EXPECT_EQ(r.unsigned_events, 0u);
  EXPECT_EQ(r.epochs, 1u);
  EXPECT_EQ(FormatChainSummary(r), "OK 20 events");
}

TEST(ChainAuditTest, UnsignedEventsAreCountedApart) {
  auto events = SignedChain(kKey, kEpoch, 3);
  v1::Event legacy;
  legacy.set_raw("<13>1 - web01.test app - - - a legacy line mentioning [tk@32473 nothing");
  ParseSyslog(legacy.raw(), 1, &legacy);
  events.insert(events.begin() + 1, legacy);
  const auto r = Audit(events);
  EXPECT_TRUE(r.clean()) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(r.unsigned_events, 1u);
  EXPECT_EQ(r.verified, 3u);
  EXPECT_EQ(FormatChainSummary(r), "OK 3 events (1 unsigned event, not chained)");
}

TEST(ChainAuditTest, EditedRawIsBadMac) {
  auto events = SignedChain(kKey, kEpoch, 10);
  std::string raw = events[4].raw();
  raw.replace(raw.find("event number 5"), 14, "event number X");
  events[4].set_raw(raw);
  const auto r = Audit(events);
  ASSERT_EQ(r.issues.size(), 1u) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(r.issues[0].kind, ChainIssueKind::kBadMac);
  EXPECT_EQ(r.issues[0].first_seq, 5u);
  EXPECT_EQ(r.issues[0].last_seq, 5u);
  EXPECT_EQ(r.verified, 9u);
  EXPECT_EQ(Lines(r)[0], "bad_mac " + E(" seq 5: MAC does not verify"));
  EXPECT_EQ(FormatChainSummary(r), "BROKEN: 1 range (1 bad_mac); 9 of 10 chained events verified");
}

TEST(ChainAuditTest, StoredFieldsDisagreeingWithRawIsBadMac) {
  auto events = SignedChain(kKey, kEpoch, 5);
  events[2].set_chain_seq(30);  // the store claims another seq than the message
  const auto r = Audit(events);
  ASSERT_EQ(r.issues.size(), 1u) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(r.issues[0].kind, ChainIssueKind::kBadMac);
  EXPECT_EQ(r.issues[0].first_seq, 3u);  // where the message says it belongs
  EXPECT_NE(r.issues[0].detail.find("differ"), std::string::npos);
  events[2].set_chain_seq(3);
  events[2].set_chain_mac(std::string(kMacBytes, 'x'));
  const auto r2 = Audit(events);
  ASSERT_EQ(r2.issues.size(), 1u) << ::testing::PrintToString(Lines(r2));
  EXPECT_EQ(Lines(r2)[0], "bad_mac " + E(" seq 3: stored chain fields differ from the message's"));
}

TEST(ChainAuditTest, ChainedStoredWithoutFieldsIsBadMac) {
  auto events = SignedChain(kKey, kEpoch, 4);
  events[1].clear_chain_epoch();
  events[1].clear_chain_seq();
  const auto r = Audit(events);
  ASSERT_EQ(r.issues.size(), 1u) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(r.issues[0].kind, ChainIssueKind::kBadMac);
  EXPECT_EQ(r.issues[0].first_seq, 2u);
}

TEST(ChainAuditTest, MissingSeqsAreAGap) {
  auto events = SignedChain(kKey, kEpoch, 60);
  events.erase(events.begin() + 40, events.begin() + 57);  // seqs 41..57
  const auto r = Audit(events);
  ASSERT_EQ(r.issues.size(), 1u) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(Lines(r)[0], "gap " + E(" seqs 41-57: no stored event"));
  EXPECT_EQ(r.verified, 43u);
  EXPECT_EQ(FormatChainSummary(r), "BROKEN: 1 range (1 gap); 43 of 43 chained events verified");
}

TEST(ChainAuditTest, ChainNotStartingAtOneIsAGapFromOne) {
  auto events = SignedChain(kKey, kEpoch, 10);
  events.erase(events.begin(), events.begin() + 3);
  const auto r = Audit(events);
  ASSERT_EQ(r.issues.size(), 1u) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(r.issues[0].kind, ChainIssueKind::kGap);
  EXPECT_EQ(r.issues[0].first_seq, 1u);
  EXPECT_EQ(r.issues[0].last_seq, 3u);
}

TEST(ChainAuditTest, StoredTwiceIsDuplicate) {
  auto events = SignedChain(kKey, kEpoch, 8);
  events.push_back(events[5]);
  events.push_back(events[6]);
  const auto r = Audit(events);
  ASSERT_EQ(r.issues.size(), 1u) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(Lines(r)[0], "duplicate " + E(" seqs 6-7: the same event stored 2 times"));
}

TEST(ChainAuditTest, ConflictingBranchWithOtherTextIsAConflict) {
  auto events = SignedChain(kKey, kEpoch, 6);
  // Same seq 4, same p, different text: a second authentic MAC for (e, 4).
  const std::string unsigned_msg =
      "<134>1 2026-01-02T03:04:05.000006Z web01.test app 42 - " +
      FormatChainElement(kDefaultEnterpriseNumber, kEpoch, 4, events[2].chain_mac()) +
      " something else";
  std::string mac;
  v1::Event other;
  other.set_raw(SignMessage(kKey, unsigned_msg, &mac));
  ParseSyslog(other.raw(), 1, &other);
  other.set_chain_epoch(kEpoch);
  other.set_chain_seq(4);
  other.set_chain_prev_mac(events[2].chain_mac());
  other.set_chain_mac(mac);
  events.insert(events.begin() + 4, other);
  const auto r = Audit(events);
  ASSERT_EQ(r.issues.size(), 1u) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(Lines(r)[0], "conflict " + E(" seq 4: 2 authentic events with different MACs"));
}

TEST(ChainAuditTest, BrokenLinkBetweenAuthenticEvents) {
  auto events = SignedChain(kKey, kEpoch, 3);
  // Seq 4 and 5 signed on top of a p that is not seq 3's MAC.
  auto rest = SignedChain(kKey, kEpoch, 2, 4, std::string(kMacBytes, '\x01'));
  events.insert(events.end(), rest.begin(), rest.end());
  const auto r = Audit(events);
  ASSERT_EQ(r.issues.size(), 1u) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(Lines(r)[0], "broken_link " + E(" seq 4: p differs from the MAC of seq s-1"));
}

TEST(ChainAuditTest, WrongKeyMakesEveryEventBadMac) {
  const auto events = SignedChain(kKey, kEpoch, 25);
  const auto r = Audit(events, kOtherKey);
  ASSERT_EQ(r.issues.size(), 1u) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(Lines(r)[0], "bad_mac " + E(" seqs 1-25: MAC does not verify"));
  EXPECT_EQ(r.verified, 0u);
  EXPECT_EQ(r.chained, 25u);
  EXPECT_FALSE(r.clean());
}

TEST(ChainAuditTest, EpochsAreAuditedApart) {
  auto events = SignedChain(kKey, kEpoch, 5);
  auto next = SignedChain(kKey, kEpoch + 10, 4);
  next.erase(next.begin() + 1);  // seq 2 of the second epoch
  events.insert(events.end(), next.begin(), next.end());
  const auto r = Audit(events);
  ASSERT_EQ(r.issues.size(), 1u) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(r.issues[0].kind, ChainIssueKind::kGap);
  EXPECT_EQ(r.issues[0].epoch, kEpoch + 10);
  EXPECT_EQ(r.issues[0].first_seq, 2u);
  EXPECT_EQ(r.epochs, 2u);
}

TEST(ChainAuditTest, OutOfOrderStorageIsFine) {
  auto events = SignedChain(kKey, kEpoch, 10);
  std::swap(events[2], events[7]);
  std::swap(events[0], events[9]);
  EXPECT_TRUE(Audit(events).clean());
}

TEST(ChainAuditTest, ReportsMixedKindsInSeqOrder) {
  auto events = SignedChain(kKey, kEpoch, 30);
  std::string raw = events[2].raw();
  raw.back() = '!';
  events[2].set_raw(raw);                                  // seq 3 bad
  events.erase(events.begin() + 10, events.begin() + 12);  // seqs 11-12 gap
  events.push_back(events[20]);                            // duplicate
  const auto lines = Lines(Audit(events));
  ASSERT_EQ(lines.size(), 3u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0].substr(0, 8), "bad_mac ");
  EXPECT_EQ(lines[1].substr(0, 4), "gap ");
  EXPECT_EQ(lines[2].substr(0, 10), "duplicate ");
}

TEST(ChainAuditTest, VerifiedHeartbeatRevealsATruncatedTail) {
  auto events = SignedChain(kKey, kEpoch, 10);
  const std::string head_mac = events[9].chain_mac();
  events.resize(7);  // seqs 8-10 deleted from the store
  const std::string hb = "<134>1 2026-01-02T03:04:05.000006Z web01.test trailkeep - - " +
                         FormatHeartbeatElement(kDefaultEnterpriseNumber, kEpoch, 10, head_mac);
  std::string mac;
  v1::Event e;
  e.set_raw(SignMessage(kKey, hb, &mac));
  events.push_back(e);
  const auto r = Audit(events);
  ASSERT_EQ(r.issues.size(), 1u) << ::testing::PrintToString(Lines(r));
  EXPECT_EQ(r.issues[0].kind, ChainIssueKind::kGap);
  EXPECT_EQ(r.issues[0].first_seq, 8u);
  EXPECT_EQ(r.issues[0].last_seq, 10u);
  EXPECT_EQ(r.heartbeats, 1u);
}

TEST(ChainAuditTest, ProgressCallback) {
  const auto events = SignedChain(kKey, kEpoch, 25);
  ChainAuditor auditor(kKey);
  std::vector<uint64_t> calls;
  auditor.SetProgress(10, [&](uint64_t n) { calls.push_back(n); });
  for (const auto& e : events) auditor.Add(e);
  EXPECT_EQ(calls, (std::vector<uint64_t>{10, 20}));
  EXPECT_TRUE(auditor.Finish().clean());
}

// Key rotation: 1-3 under the old key, 4-6 under the new one, the switch
// named at 4 (docs/formats/hmac_chain.md, 'Key rotation').
std::vector<v1::Event> RotatedChain() {
  auto events = SignedChain(kKey, kEpoch, 3, 1, {}, true);
  auto after = SignedChain(kOtherKey, kEpoch, 3, 4, events.back().chain_mac(), true);
  events.insert(events.end(), after.begin(), after.end());
  return events;
}

TEST(ChainAuditTest, VerifiesAcrossARotationGivenTheRetiredKey) {
  ChainAuditor auditor(kOtherKey);
  auditor.AddKey(kKey);
  for (const auto& e : RotatedChain()) auditor.Add(e);
  const ChainAuditResult r = auditor.Finish();
  EXPECT_TRUE(r.clean()) << FormatChainSummary(r);
  EXPECT_EQ(r.verified, 6u);
  // Without it, the events before the switch do not verify (the first one
  // names a key the auditor was not given).
  EXPECT_EQ(Lines(Audit(RotatedChain(), kOtherKey)),
            std::vector<std::string>{
                "bad_mac " + E(" seqs 1-3: the event names a key id none of the given keys has")});
}

TEST(ChainAuditTest, AnEventUnderTheRetiredKeyAfterTheSwitchIsRetiredKey) {
  auto events = RotatedChain();
  // Forged with the old key at seq 7, linked to 6.
  auto forged = SignedChain(kKey, kEpoch, 1, 7, events.back().chain_mac());
  events.push_back(forged[0]);
  ChainAuditor auditor(kOtherKey);
  auditor.AddKey(kKey);
  for (const auto& e : events) auditor.Add(e);
  const ChainAuditResult r = auditor.Finish();
  EXPECT_EQ(Lines(r), std::vector<std::string>{"bad_mac " + E(" seq 7: retired_key: the MAC "
                                                              "verifies under a key retired "
                                                              "before this seq")});
  EXPECT_EQ(r.verified, 6u);
}

}  // namespace
}  // namespace trailkeep
