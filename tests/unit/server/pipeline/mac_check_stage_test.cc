#include "server/pipeline/mac_check_stage.h"

#include <gtest/gtest.h>

#include "common/syslog/syslog_parser.h"
#include "common/wire/hmac_chain.h"
#include "server/pipeline/hmac_keyring.h"
#include "tests/unit/temp_dir.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

constexpr uint32_t kPen = 32473;

// A chained message of web01 signed with `key`, parsed, its host bound.
v1::Event Signed(std::string_view key, const std::string& host = "web01") {
  const std::string unsigned_message =
      "<14>1 2026-11-23T05:08:34Z " + host + " app - - " +
      FormatChainElement(kPen, 1, 1, std::string(kMacBytes, '\0')) + " hi";
  std::string mac;
  v1::Event e;
  e.set_raw(SignMessage(key, unsigned_message, &mac));
  ParseSyslog(e.raw(), 1, &e);
  e.set_host(host);
  return e;
}

TEST(MacCheckStageTest, VerifiesWithTheHostsKeyElseNoKey) {
  trailkeep::testing::TempDir dir;
  ASSERT_TRUE(WriteNewHmacKey(dir.path() + "/web01.key").ok());
  auto key = LoadHmacKey(dir.path() + "/web01.key");
  ASSERT_TRUE(key.ok());
  HmacKeyring keys(dir.path());
  const MacCheckStage stage(&keys, kPen);

  v1::Event good = Signed(key.value());
  stage.Check(&good);
  EXPECT_EQ(good.integrity(), v1::INTEGRITY_VERIFIED);
  EXPECT_EQ(good.chain_epoch(), 1u);
  EXPECT_EQ(good.chain_seq(), 1u);
  EXPECT_EQ(good.enterprise_number(), kPen);

  v1::Event forged = Signed(std::string(kHmacKeyBytes, 'x'));
  stage.Check(&forged);
  EXPECT_EQ(forged.integrity(), v1::INTEGRITY_BAD_MAC);

  v1::Event keyless = Signed(key.value(), "db01");
  stage.Check(&keyless);
  EXPECT_EQ(keyless.integrity(), v1::INTEGRITY_NO_KEY);
}

TEST(MacCheckStageTest, UnchainedEventStaysUnsigned) {
  v1::Event e;
  e.set_raw("<14>1 2026-11-23T05:08:34Z web01 app - - - hi");
  ParseSyslog(e.raw(), 1, &e);
  e.set_integrity(v1::INTEGRITY_UNSIGNED);
  MacCheckStage().Check(&e);
  EXPECT_EQ(e.integrity(), v1::INTEGRITY_UNSIGNED);
  EXPECT_EQ(e.chain_seq(), 0u);
}

TEST(MacCheckStageTest, MalformedElementIsBadMacWithAParseError) {
  v1::Event e;
  e.set_raw("<14>1 2026-11-23T05:08:34Z web01 app - - [tk@32473 e=\"1\" s=\"x\" p=\"\" m=\"\"] hi");
  ParseSyslog(e.raw(), 1, &e);
  e.set_host("web01");
  MacCheckStage().Check(&e);
  EXPECT_EQ(e.integrity(), v1::INTEGRITY_BAD_MAC);
  EXPECT_FALSE(e.parse_error().empty());
}

}  // namespace
}  // namespace trailkeep
