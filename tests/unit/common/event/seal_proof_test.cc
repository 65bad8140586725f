#include "common/event/seal_proof.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/base/bytes.h"
#include "common/event/event_format.h"
#include "common/seal/seal_chains.h"
#include "common/seal/seal_key.h"
#include "common/seal/seal_mac.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

v1::Event SealedEvent(const std::string& key) {
  v1::Event e;
  e.set_receive_time_us(1'700'000'061'000'000);
  e.set_host("web01");
  e.set_transport(v1::TRANSPORT_TLS_SYSLOG);
  e.set_msg("hello");
  e.set_raw("<13>1 - web01 app - - - hello");
  e.add_ndcpp_refs("FAU_GEN.1");
  e.mutable_peer()->set_address("127.0.0.1:5000");
  SealChains chains;
  chains.Seal(&e, key, 1);
  e.set_ingest_seq(42);  // the store's, after the seal
  return e;
}

TEST(SealProof, RebuildsWhatWasSealed) {
  const std::string key(kSealMacBytes, '\x07');
  const v1::Event stored = SealedEvent(key);
  const std::string proof = SealProofBytes(stored);
  v1::Event rebuilt;
  ASSERT_TRUE(
      EventFromSealProof(proof, stored.raw(), stored.ingest_seq(), stored.seal(), &rebuilt).ok());
  EXPECT_EQ(rebuilt.SerializeAsString(), stored.SerializeAsString());
  EXPECT_EQ(StoredSealMac(key, rebuilt, std::string(kSealMacBytes, '\0')), stored.seal().mac());
  // The proof leaves out what the export carries in its own members.
  EXPECT_EQ(proof.find("<13>1 - web01"), std::string::npos);
}

TEST(SealProof, AnEditedProofNoLongerVerifies) {
  const std::string key(kSealMacBytes, '\x07');
  const v1::Event stored = SealedEvent(key);
  v1::Event forged = stored;
  forged.set_msg("nothing happened");
  v1::Event rebuilt;
  ASSERT_TRUE(EventFromSealProof(SealProofBytes(forged), stored.raw(), stored.ingest_seq(),
                                 stored.seal(), &rebuilt)
                  .ok());
  EXPECT_NE(StoredSealMac(key, rebuilt, std::string(kSealMacBytes, '\0')), stored.seal().mac());
}

TEST(SealProof, RefusesBytesAProofNeverHolds) {
  const v1::Event stored = SealedEvent(std::string(kSealMacBytes, '\x07'));
  v1::Event out;
  EXPECT_FALSE(EventFromSealProof("\xff\xff\xff", "", 1, stored.seal(), &out).ok());
  EXPECT_FALSE(
      EventFromSealProof(stored.SerializeAsString(), stored.raw(), 1, stored.seal(), &out).ok());
}

TEST(SealProof, JsonCarriesTheElementAndOnRequestTheProof) {
  const v1::Event stored = SealedEvent(std::string(kSealMacBytes, '\x07'));
  const auto plain = nlohmann::json::parse(EventToJson(stored));
  EXPECT_EQ(plain["seal"]["seq"], 1);
  EXPECT_EQ(plain["seal"]["period"], 1);
  EXPECT_EQ(plain["seal"]["mac"], LowerHex(stored.seal().mac()));
  EXPECT_FALSE(plain["seal"].contains("stored_b64"));
  const auto proved = nlohmann::json::parse(EventToJson(stored, true));
  EXPECT_EQ(proved["seal"]["stored_b64"], Base64Encode(SealProofBytes(stored)));
  v1::Event unsealed;
  EXPECT_TRUE(nlohmann::json::parse(EventToJson(unsealed))["seal"].is_null());
}

}  // namespace
}  // namespace trailkeep
