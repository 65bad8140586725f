// HmacKeyring over a real keys_dir: which key an event's MAC verifies under,
// retired keys, a key id it names, and picking up a rotation without a
// restart (server/pipeline/hmac_keyring.h). Its cache is timed by a
// ManualClock: a host without a key is asked again only once the keyring's
// clock has moved past the re-check interval, so a key installed by
// `trailkeepd enroll` is found without a restart and a flood of frames from a
// keyless host does not read the directory each time.
#include "server/pipeline/hmac_keyring.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/base/clock.h"
#include "common/syslog/syslog_parser.h"
#include "common/wire/hmac_chain.h"
#include "tests/unit/temp_dir.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

namespace fs = std::filesystem;

void WriteKey(const fs::path& path, const std::string& key) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << LowerHex(key) << "\n";
  ::chmod(path.c_str(), 0600);
}

// A signed event of web01 (seq 2), naming its key when `named` is set.
v1::Event Signed(const std::string& key, const std::string& named = "") {
  std::string m = "<86>1 2026-11-23T05:08:37Z web01 sshd - - " +
                  FormatChainElement(32473, 9, 2, std::string(32, 'p')) +
                  (named.empty() ? "" : FormatKeyElement(32473, named)) + " hello";
  std::string mac;
  v1::Event e;
  const std::string raw = SignMessage(key, m, &mac);
  ParseSyslog(raw, 0, &e);
  e.set_raw(raw);
  e.set_host("web01");
  return e;
}

class HmacKeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tk_keyring_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  v1::Event Check(HmacKeyring* ring, v1::Event e) {
    const ChainFields f = ApplyChainElement(32473, &e);
    EXPECT_TRUE(f.error.empty()) << f.error;
    ring->Authenticate(f, &e);
    return e;
  }
  fs::path dir_;
  const std::string old_key_ = std::string(32, 'o');
  const std::string new_key_ = std::string(32, 'n');
};

TEST_F(HmacKeyringTest, CurrentAndRetiredKeysAuthenticate) {
  WriteKey(dir_ / "web01.key", new_key_);
  WriteKey(dir_ / "web01.retired" / (KeyId(old_key_) + ".key"), old_key_);
  HmacKeyring ring(dir_.string());
  v1::Event e = Check(&ring, Signed(new_key_));
  EXPECT_EQ(e.integrity(), v1::INTEGRITY_VERIFIED);
  EXPECT_EQ(e.chain_key_id(), KeyId(new_key_));
  e = Check(&ring, Signed(old_key_));
  EXPECT_EQ(e.integrity(), v1::INTEGRITY_VERIFIED);
  EXPECT_EQ(e.chain_key_id(), KeyId(old_key_));
  e = Check(&ring, Signed(std::string(32, 'x')));
  EXPECT_EQ(e.integrity(), v1::INTEGRITY_BAD_MAC);
  EXPECT_EQ(e.chain_key_id(), "");
}

TEST_F(HmacKeyringTest, ANamedKeyIsTheOnlyOneTried) {
  WriteKey(dir_ / "web01.key", new_key_);
  WriteKey(dir_ / "web01.retired" / (KeyId(old_key_) + ".key"), old_key_);
  HmacKeyring ring(dir_.string());
  // Signed with the old key but naming the new one: not authentic.
  EXPECT_EQ(Check(&ring, Signed(old_key_, KeyId(new_key_))).integrity(), v1::INTEGRITY_BAD_MAC);
  EXPECT_EQ(Check(&ring, Signed(new_key_, KeyId(new_key_))).integrity(), v1::INTEGRITY_VERIFIED);
}

TEST_F(HmacKeyringTest, AnUnknownKeyIdIsNoKeyAndARotationIsPickedUp) {
  WriteKey(dir_ / "web01.key", old_key_);
  auto clock = std::make_shared<ManualClock>();
  HmacKeyring ring(dir_.string(), clock);
  EXPECT_EQ(Check(&ring, Signed(old_key_)).integrity(), v1::INTEGRITY_VERIFIED);
  v1::Event e = Check(&ring, Signed(new_key_, KeyId(new_key_)));
  EXPECT_EQ(e.integrity(), v1::INTEGRITY_NO_KEY);
  EXPECT_EQ(e.chain_key_id(), KeyId(new_key_));
  // `enroll --rotate`: the old key retired, the new one current.
  WriteKey(dir_ / "web01.retired" / (KeyId(old_key_) + ".key"), old_key_);
  WriteKey(dir_ / "web01.key", new_key_);
  clock->Advance(std::chrono::milliseconds(999));  // at most one read a second
  EXPECT_EQ(Check(&ring, Signed(new_key_, KeyId(new_key_))).integrity(), v1::INTEGRITY_NO_KEY);
  clock->Advance(std::chrono::milliseconds(1));
  e = Check(&ring, Signed(new_key_, KeyId(new_key_)));
  EXPECT_EQ(e.integrity(), v1::INTEGRITY_VERIFIED);
  EXPECT_EQ(Check(&ring, Signed(old_key_)).integrity(), v1::INTEGRITY_VERIFIED);
}

TEST_F(HmacKeyringTest, AMisnamedRetiredFileIsSkipped) {
  WriteKey(dir_ / "web01.key", new_key_);
  WriteKey(dir_ / "web01.retired" / "0000000000000000.key", old_key_);
  const HostKeys keys = LoadHostKeys(dir_.string(), "web01");
  ASSERT_EQ(keys.keys.size(), 1u);
  ASSERT_EQ(keys.problems.size(), 1u);
  EXPECT_NE(keys.problems[0].find("not 0000000000000000"), std::string::npos);
}

TEST(HmacKeyringCacheTest, AMissingKeyIsLookedForAgainAfterFiveSecondsOfItsClock) {
  trailkeep::testing::TempDir dir;
  auto clock = std::make_shared<ManualClock>();
  HmacKeyring keyring(dir.path(), clock);
  std::string why;
  EXPECT_EQ(keyring.Get("web01", &why), nullptr);
  EXPECT_NE(why.find("does not exist"), std::string::npos) << why;

  ASSERT_TRUE(WriteNewHmacKey(dir.path() + "/web01.key").ok());
  clock->Advance(std::chrono::milliseconds(4'999));
  EXPECT_EQ(keyring.Get("web01", &why), nullptr);  // still the cached answer
  clock->Advance(std::chrono::milliseconds(1));
  auto key = keyring.Get("web01", &why);
  ASSERT_NE(key, nullptr) << why;
  EXPECT_EQ(key->size(), 32u);
}

}  // namespace
}  // namespace trailkeep
