// The seal's core: key schedule, state file, chains and ticks, and the
// offline verifier against each kind of tampering (common/seal/).
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/base/bytes.h"
#include "common/seal/seal_chains.h"
#include "common/seal/seal_key.h"
#include "common/seal/seal_mac.h"
#include "common/seal/seal_state.h"
#include "common/seal/seal_verifier.h"
#include "tests/unit/temp_dir.h"

namespace trailkeep {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kPeriod = 60'000'000;         // 1 min

VerificationKey FixedKey() {
  VerificationKey k;
  k.k0 = std::string(kSealKeyBytes, '\x01');
  k.schedule = {kT0, kPeriod};
  return k;
}

v1::Event MakeEvent(const std::string& host, int64_t t, const std::string& msg) {
  v1::Event e;
  e.set_host(host);
  e.set_receive_time_us(t);
  e.set_transport(v1::TRANSPORT_TLS_SYSLOG);
  e.set_msg(msg);
  e.set_raw("<13>1 - " + host + " app - - - " + msg);
  e.add_ndcpp_refs("FAU_GEN.1");
  return e;
}

void AddField(v1::Event* e, const std::string& name, const std::string& value) {
  if (e->structured_data_size() == 0) e->add_structured_data()->set_id("trailkeep@32473");
  auto* p = e->mutable_structured_data(0)->add_params();
  p->set_name(name);
  p->set_value(value);
}

// A collector in miniature: seals in its period, ticks at each boundary,
// numbers what it stores.
struct MiniCollector {
  VerificationKey vk = FixedKey();
  SealState state = SealState::Initial(vk);
  SealChains chains{1};
  std::vector<v1::Event> stored;

  void Store(v1::Event e) {
    const uint64_t p = vk.schedule.PeriodAt(e.receive_time_us());
    if (p > state.period) {
      v1::Event tick = MakeEvent("collector", e.receive_time_us(), "seal tick");
      tick.set_transport(v1::TRANSPORT_SELF);
      tick.set_msgid("SEAL_TICK");
      tick.mutable_seal_tick()->set_period(state.period);
      for (auto& h : chains.Heads()) *tick.mutable_seal_tick()->add_heads() = h;
      chains.Seal(&tick, state.key, state.period);
      Append(std::move(tick));
      state.StepTo(p);
    }
    chains.Seal(&e, state.key, state.period);
    Append(std::move(e));
  }
  void Append(v1::Event e) {
    e.set_ingest_seq(stored.size() + 1);
    stored.push_back(std::move(e));
    chains.Commit();
  }
  void SelfEvent(const std::string& msgid, int64_t t,
                 std::vector<std::pair<std::string, std::string>> fields) {
    v1::Event e = MakeEvent("collector", t, msgid);
    e.set_transport(v1::TRANSPORT_SELF);
    e.set_msgid(msgid);
    for (auto& [n, v] : fields) AddField(&e, n, v);
    Store(std::move(e));
  }
};

SealVerifyResult Verify(const std::vector<v1::Event>& events, const VerificationKey& vk) {
  SealVerifier v(vk);
  for (const auto& e : events) v.Add(e);
  return v.Finish();
}

std::vector<std::string> Kinds(const SealVerifyResult& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.push_back(f.kind + ":" + f.host);
  return out;
}

// Three hosts over four periods, a start event naming the retention.
MiniCollector Populated() {
  MiniCollector c;
  c.SelfEvent("COLLECTOR_START", kT0 + 1, {{"retention_us", "120000000"}});
  int64_t t = kT0 + 1000;
  for (int i = 0; i < 24; ++i, t += 10'000'000) {
    c.Store(MakeEvent(i % 3 == 0   ? "web01"
                      : i % 3 == 1 ? "db01"
                                   : "quiet",
                      t, "event " + std::to_string(i)));
  }
  c.SelfEvent("COLLECTOR_STOP", t, {});
  return c;
}

TEST(SealKeyTest, StepsAreOneWayAndDeterministic) {
  const VerificationKey k = FixedKey();
  const std::string k1 = StepSealKey(k.k0);
  EXPECT_EQ(k1.size(), kSealKeyBytes);
  EXPECT_NE(k1, k.k0);
  EXPECT_EQ(StepSealKey(k.k0), k1);
  SealKeyWalker w(k.k0);
  EXPECT_EQ(w.KeyOf(1), k1);
  EXPECT_EQ(w.KeyOf(3), StepSealKey(StepSealKey(k1)));
  EXPECT_EQ(w.KeyOf(0), k.k0);  // back: from K_0 again
  EXPECT_EQ(k.schedule.PeriodAt(kT0 + kPeriod - 1), 0u);
  EXPECT_EQ(k.schedule.PeriodAt(kT0 + 5 * kPeriod), 5u);
  EXPECT_EQ(k.key_id().size(), 16u);
}

TEST(SealKeyTest, VerificationKeyFileRoundTripsAndRefusesToReplace) {
  testing::TempDir dir;
  auto k = GenerateVerificationKey(kT0, kPeriod);
  ASSERT_TRUE(k.ok());
  const std::string path = dir.path() + "/seal.key";
  ASSERT_TRUE(WriteVerificationKeyFile(path, k.value()).ok());
  EXPECT_FALSE(WriteVerificationKeyFile(path, k.value()).ok());
  auto back = ReadVerificationKeyFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value().k0, k.value().k0);
  EXPECT_EQ(back.value().schedule.period_us, kPeriod);
  std::string text = FormatVerificationKey(k.value());
  text.replace(text.find("key_id ") + 7, 1, text[text.find("key_id ") + 7] == '0' ? "1" : "0");
  EXPECT_FALSE(ParseVerificationKey(text).ok());  // id does not match k0
}

TEST(SealStateTest, StepErasesAndTheFileKeepsItsSize) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/seal.state";
  SealState s = SealState::Initial(FixedKey());
  ASSERT_TRUE(WriteSealStateFile(path, s).ok());
  const auto size0 = std::filesystem::file_size(path);
  s.StepTo(7);
  s.chain = 2;
  s.tick_seq = 12345;
  ASSERT_TRUE(WriteSealStateFile(path, s).ok());
  EXPECT_EQ(std::filesystem::file_size(path), size0);
  EXPECT_EQ((std::filesystem::status(path).permissions() & std::filesystem::perms::group_all),
            std::filesystem::perms::none);
  auto back = ReadSealStateFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back.value().period, 7u);
  EXPECT_EQ(back.value().key, SealKeyWalker(FixedKey().k0).KeyOf(7));
  EXPECT_EQ(back.value().chain, 2u);
  EXPECT_EQ(back.value().tick_seq, 12345u);
}

TEST(SealVerifierTest, CleanStoreVerifies) {
  MiniCollector c = Populated();
  const auto r = Verify(c.stored, c.vk);
  EXPECT_TRUE(r.clean()) << ::testing::PrintToString(Kinds(r));
  EXPECT_EQ(r.chains, 4u);
  EXPECT_GE(r.ticks, 3u);
}

TEST(SealVerifierTest, EditedDerivedFieldIsReportedWithItsPosition) {
  MiniCollector c = Populated();
  c.stored[5].clear_ndcpp_refs();  // a derived field, not in the raw bytes
  const auto r = Verify(c.stored, c.vk);
  ASSERT_EQ(r.findings.size(), 1u) << ::testing::PrintToString(Kinds(r));
  EXPECT_EQ(r.findings[0].kind, "edited");
  EXPECT_EQ(r.findings[0].ingest_seq, 6u);
  EXPECT_EQ(r.findings[0].seal_seq, c.stored[5].seal().seq());
}

TEST(SealVerifierTest, DeletedInsertedSwappedTruncated) {
  {
    MiniCollector c = Populated();
    c.stored.erase(c.stored.begin() + 4, c.stored.begin() + 8);  // a block
    const auto r = Verify(c.stored, c.vk);
    EXPECT_FALSE(r.clean());
    EXPECT_EQ(r.findings[0].kind, "missing");
  }
  {
    MiniCollector c = Populated();
    v1::Event fake = c.stored[6];
    fake.set_msg("I was never here");
    c.stored.insert(c.stored.begin() + 7, fake);
    EXPECT_FALSE(Verify(c.stored, c.vk).clean());
    v1::Event plain = MakeEvent("web01", kT0 + 50'000'000, "unsealed");
    c.stored.insert(c.stored.begin() + 9, plain);
    EXPECT_EQ(Kinds(Verify(c.stored, c.vk)).back().substr(0, 8), "unsealed");
  }
  {
    MiniCollector c = Populated();
    // Two events of one host, swapped.
    size_t a = 0, b = 0;
    for (size_t i = 0; i < c.stored.size(); ++i) {
      if (c.stored[i].host() != "web01") continue;
      if (a == 0) {
        a = i;
      } else {
        b = i;
        break;
      }
    }
    std::swap(c.stored[a], c.stored[b]);
    const auto r = Verify(c.stored, c.vk);
    ASSERT_FALSE(r.clean());
    EXPECT_EQ(r.findings[0].kind, "out_of_order");
    EXPECT_NE(r.findings[0].detail.find("swapped"), std::string::npos);
  }
  {
    MiniCollector c = Populated();
    // The newest events of web01 removed; later ticks still name them.
    int removed = 0;
    for (size_t i = c.stored.size(); i-- > 0 && removed < 2;) {
      if (c.stored[i].host() == "web01") {
        c.stored.erase(c.stored.begin() + static_cast<long>(i));
        ++removed;
      }
    }
    // keep only what an earlier tick covers: cut the store after its last tick
    const auto r = Verify(c.stored, c.vk);
    EXPECT_FALSE(r.clean()) << "a tick after them names them";
  }
  {
    MiniCollector c = Populated();
    std::erase_if(c.stored, [](const v1::Event& e) { return e.host() == "quiet"; });
    const auto r = Verify(c.stored, c.vk);
    ASSERT_FALSE(r.clean());
    EXPECT_EQ(r.findings[0].kind, "missing_host");
    EXPECT_EQ(r.findings[0].host, "quiet");
  }
}

TEST(SealVerifierTest, ForgedWithALaterKeyIntoAnEarlierPeriod) {
  MiniCollector c = Populated();
  // The intruder holds the current key (the last period's) and re-seals an
  // old event of web01 under it, keeping its place in the chain.
  const uint64_t now_period = c.state.period;
  size_t i = 0;
  while (c.stored[i].host() != "web01") ++i;
  v1::Event& e = c.stored[i];
  ASSERT_LT(e.seal().period(), now_period);
  e.set_msg("forged");
  // prev of seq 1 is zeros
  ASSERT_EQ(e.seal().seq(), 1u);
  e.mutable_seal()->set_period(now_period);
  v1::Event bare = e;
  bare.set_ingest_seq(0);
  bare.clear_seal();
  e.mutable_seal()->set_mac(
      SealMac(c.state.key, SealInput(bare, 1, now_period, 1, std::string(kSealMacBytes, '\0'))));
  const auto kinds = Kinds(Verify(c.stored, c.vk));
  ASSERT_FALSE(kinds.empty());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "late_seal:web01"), kinds.end())
      << ::testing::PrintToString(kinds);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "period_back:web01"), kinds.end());
}

TEST(SealVerifierTest, RetentionCutsMustBeJustifiedByTheSealedPolicy) {
  for (const std::string reason : {"", "disk_full"}) {
    for (const int64_t keep_s : {int64_t{60}, int64_t{3600}}) {
      MiniCollector c;
      c.SelfEvent("COLLECTOR_START", kT0 + 1,
                  {{"retention_us", std::to_string(keep_s * 1'000'000)}});
      for (int i = 0; i < 6; ++i) c.Store(MakeEvent("web01", kT0 + 1000 + i * 20'000'000, "e"));
      // Cut the first three web01 events (received before +45 s), at +200 s.
      const int64_t cut_us = kT0 + 45'000'000;
      const v1::Event& last_removed = c.stored[3];
      ASSERT_EQ(last_removed.host(), "web01");
      ASSERT_EQ(last_removed.seal().seq(), 3u);
      std::vector<std::pair<std::string, std::string>> f = {
          {"host", "web01"},
          {"cut_us", std::to_string(cut_us)},
          {"seal_chain", "1"},
          {"seal_seq", "3"},
          {"seal_mac", LowerHex(last_removed.seal().mac())}};
      if (!reason.empty()) f.emplace_back("reason", reason);
      c.SelfEvent("RETENTION_CUT", kT0 + 200'000'000, f);
      std::erase_if(c.stored,
                    [](const v1::Event& e) { return e.host() == "web01" && e.seal().seq() <= 3; });
      const auto r = Verify(c.stored, c.vk);
      SCOPED_TRACE(reason + " keep " + std::to_string(keep_s));
      if (!reason.empty()) {
        EXPECT_TRUE(r.clean()) << ::testing::PrintToString(Kinds(r));
        ASSERT_EQ(r.findings.size(), 1u);
        EXPECT_EQ(r.findings[0].kind, "early_cut");
      } else if (keep_s == 60) {
        EXPECT_TRUE(r.clean()) << ::testing::PrintToString(Kinds(r));
      } else {
        ASSERT_FALSE(r.clean());
        EXPECT_EQ(r.findings[0].kind, "unjustified_cut");
      }
    }
  }
  // A cut no sealed event records: the chain starts above 1.
  MiniCollector c = Populated();
  std::erase_if(c.stored,
                [](const v1::Event& e) { return e.host() == "db01" && e.seal().seq() <= 2; });
  const auto r = Verify(c.stored, c.vk);
  ASSERT_FALSE(r.clean());
  EXPECT_EQ(r.findings[0].kind, "missing");
  EXPECT_EQ(r.findings[0].seal_seq, 1u);
  EXPECT_EQ(r.findings[0].seal_seq_end, 2u);
}

TEST(SealVerifierTest, AChainUnderAnotherKeyIsNamed) {
  MiniCollector c = Populated();
  VerificationKey other = FixedKey();
  other.k0 = std::string(kSealKeyBytes, '\x02');
  const auto r = Verify(c.stored, other);
  EXPECT_FALSE(r.clean());
}

// The worked example of docs/formats/seal.md: K_0 = 32 bytes 0x01, t0 =
// 1700000000 s, period 60 s, one event of host web01 sealed in period 1.
TEST(SealWorkedExample, PrintsTheBytes) {
  const VerificationKey vk = FixedKey();
  SealKeyWalker w(vk.k0);
  v1::Event e;
  e.set_receive_time_us(kT0 + 61'000'000);
  e.set_host("web01");
  e.set_transport(v1::TRANSPORT_TLS_SYSLOG);
  e.set_format(v1::FORMAT_RFC5424);
  e.set_msg("hello");
  e.set_raw("<13>1 - web01 app - - - hello");
  e.set_integrity(v1::INTEGRITY_UNSIGNED);
  e.add_ndcpp_refs("FAU_GEN.1");
  const std::string prev(kSealMacBytes, '\0');
  const std::string input = SealInput(e, 1, 1, 1, prev);
  const std::string mac = SealMac(w.KeyOf(1), input);
  std::printf("key_id   %s\nK_1      %s\ninput    %s\nmac      %s\n", vk.key_id().c_str(),
              LowerHex(w.KeyOf(1)).c_str(), LowerHex(input).c_str(), LowerHex(mac).c_str());
  EXPECT_EQ(LowerHex(mac).size(), 64u);
  v1::Event stored = e;
  stored.set_ingest_seq(42);
  stored.mutable_seal()->set_chain(1);
  stored.mutable_seal()->set_period(1);
  stored.mutable_seal()->set_seq(1);
  stored.mutable_seal()->set_mac(mac);
  EXPECT_EQ(StoredSealMac(w.KeyOf(1), stored, prev), mac);
}

}  // namespace
}  // namespace trailkeep
