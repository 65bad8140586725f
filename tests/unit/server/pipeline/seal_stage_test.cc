// SealStage in a real Committer over a real RocksDbStore: every stored event
// is sealed as stored, a period boundary closes with a tick and steps the
// state file's key, a restart continues the chains, and a store restored
// from an older checkpoint starts a new chain. The offline SealVerifier is
// the judge throughout.
#include "server/pipeline/seal_stage.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/seal/seal_verifier.h"
#include "server/store/committer.h"
#include "server/store/store.h"
#include "tests/unit/temp_dir.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr int64_t kPeriod = 60'000'000;

v1::Event Ev(const std::string& host, int64_t t, const std::string& msg) {
  v1::Event e;
  e.set_host(host);
  e.set_receive_time_us(t);
  e.set_transport(v1::TRANSPORT_TLS_SYSLOG);
  e.set_msg(msg);
  e.set_raw(msg);
  return e;
}

struct Fixture {
  trailkeep::testing::TempDir dir;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  VerificationKey vk;
  std::string state_path = dir.path() + "/seal.state";

  Fixture() {
    vk.k0 = std::string(kSealKeyBytes, '\x07');
    vk.schedule = {clock->NowMicros(), kPeriod};
    EXPECT_TRUE(WriteSealStateFile(state_path, SealState::Initial(vk)).ok());
  }

  // Opens the stage over `store` and commits `batches`, one commit each.
  SealStage::Opened Run(Store* store, std::vector<std::vector<v1::Event>> batches,
                        bool advance_between = false) {
    auto opened = SealStage::Open(store, state_path, "collector", clock);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    Committer committer(store, {1 << 20, 64});
    committer.SetStage(opened.value().stage.get());
    committer.Start();
    for (auto& b : batches) {
      for (auto& e : b) e.set_receive_time_us(clock->NowMicros());
      committer.OfferUnbounded(&b);
      std::atomic<bool> stored{false};
      committer.RunInOrder([&stored] { stored = true; });
      while (!stored) std::this_thread::yield();
      if (advance_between) clock->Advance(std::chrono::microseconds(kPeriod));
    }
    committer.Stop();
    return std::move(opened).value();
  }

  SealVerifyResult Verify(Store* store) {
    SealVerifier v(vk);
    EXPECT_TRUE(store
                    ->ScanEvents(0,
                                 [&](const v1::Event& e) {
                                   v.Add(e);
                                   return true;
                                 })
                    .ok());
    return v.Finish();
  }
};

std::string Findings(const SealVerifyResult& r) {
  std::string out;
  for (const auto& f : r.findings) out += FormatSealFinding(f) + "\n";
  return out;
}

TEST(SealStageTest, SealsEveryEventTicksAtEachPeriodAndStepsTheKey) {
  Fixture f;
  auto store = OpenRocksDbStore(f.dir.path() + "/store", StoreMode::kReadWrite);
  ASSERT_TRUE(store.ok());
  std::string bad_utf8 = "caf\xc3";  // escaped by the store: the seal covers the escaped text
  f.Run(store.value().get(),
        {{Ev("web01", 0, "a"), Ev("db01", 0, "b"), Ev("web01", 0, bad_utf8)},
         {Ev("web01", 0, "c")},
         {Ev("collector", 0, "own event")}},
        /*advance_between=*/true);
  const auto r = f.Verify(store.value().get());
  EXPECT_TRUE(r.clean()) << Findings(r);
  EXPECT_EQ(r.sealed, r.events);
  EXPECT_GE(r.ticks, 2u);  // the boundaries before the 2nd and 3rd batches
  auto state = ReadSealStateFile(f.state_path);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state.value().period, 2u);
  EXPECT_EQ(state.value().key, SealKeyWalker(f.vk.k0).KeyOf(2));
  EXPECT_GT(state.value().tick_seq, 0u);
  auto hs = store.value()->GetHostState("web01");
  ASSERT_TRUE(hs.ok() && hs.value());
  EXPECT_EQ(hs.value()->seal_seq(), 3u);
}

TEST(SealStageTest, ARestartContinuesARestoredStoreStartsANewChain) {
  Fixture f;
  const std::string live = f.dir.path() + "/store";
  const std::string backup = f.dir.path() + "/backup";
  {
    auto store = OpenRocksDbStore(live, StoreMode::kReadWrite);
    ASSERT_TRUE(store.ok());
    EXPECT_TRUE(f.Run(store.value().get(), {{Ev("web01", 0, "a")}}).first_start);
    ASSERT_TRUE(store.value()->CreateCheckpoint(backup).ok());
    auto again = f.Run(store.value().get(), {{Ev("web01", 0, "b")}, {Ev("db01", 0, "c")}}, true);
    EXPECT_FALSE(again.new_chain);
    EXPECT_FALSE(again.first_start);
    EXPECT_EQ(again.stage->chain(), 1u);
    const auto r = f.Verify(store.value().get());
    EXPECT_TRUE(r.clean()) << Findings(r);
  }
  // The backup predates the state's last tick: a new chain, which verifies.
  auto restored = OpenRocksDbStore(backup, StoreMode::kReadWrite);
  ASSERT_TRUE(restored.ok());
  auto opened = f.Run(restored.value().get(), {{Ev("web01", 0, "after restore")}});
  EXPECT_TRUE(opened.new_chain);
  EXPECT_EQ(opened.stage->chain(), 2u);
  ASSERT_EQ(opened.old_heads.size(), 1u);
  EXPECT_EQ(opened.old_heads[0].host(), "web01");
  const auto r = f.Verify(restored.value().get());
  EXPECT_TRUE(r.clean()) << Findings(r);
  EXPECT_EQ(r.chains, 2u);  // web01 in chain 1 and in chain 2
}

}  // namespace
}  // namespace trailkeep
