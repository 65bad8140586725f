// The worked example of docs/formats/hmac_chain.md, byte for byte, and the
// checks a receiver makes.
#include "common/wire/hmac_chain.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/syslog/syslog_parser.h"
#include "trailkeep/v1/record.pb.h"

namespace trailkeep {
namespace {

const std::string kKey = [] {
  std::string k;
  for (int i = 0; i < 32; ++i) k.push_back(static_cast<char>(i));
  return k;
}();
constexpr uint64_t kEpoch = 1795410517123456789ULL;

std::string Event1Unsigned() {
  return "<86>1 2026-11-23T05:08:37.963438Z web01.example.net sshd 1234 - " +
         FormatChainElement(32473, kEpoch, 1, std::string(32, '\0')) +
         "[tkin@32473 name=\"secure\"] Accepted publickey for alice from 192.0.2.10 port 50514 "
         "ssh2";
}

TEST(HmacChainTest, WorkedExampleOfTheSpec) {
  std::string mac1;
  const std::string signed1 = SignMessage(kKey, Event1Unsigned(), &mac1);
  EXPECT_EQ(LowerHex(mac1), "db2d762432652292bebb1d29bebc91305af060f07acf6994de721b4dc417e9a1");
  EXPECT_EQ(signed1.size(), 329u);

  const std::string unsigned2 =
      "<86>1 2026-11-23T05:08:41.002117Z web01.example.net sudo 1240 - " +
      FormatChainElement(32473, kEpoch, 2, mac1) +
      "[tkin@32473 name=\"secure\"] alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
      "COMMAND=/usr/bin/date -s 10:00";
  std::string mac2;
  SignMessage(kKey, unsigned2, &mac2);
  EXPECT_EQ(LowerHex(mac2), "f08abab33fcb66e2b7440ec838cbc4e14268e78be3946ad62a12f0412d7b9786");

  const std::string heartbeat =
      "<110>1 2026-11-23T05:08:50.000000Z web01.example.net trailkeep - HEARTBEAT " +
      FormatHeartbeatElement(32473, kEpoch, 2, mac2);
  std::string hb_mac;
  SignMessage(kKey, heartbeat, &hb_mac);
  EXPECT_EQ(LowerHex(hb_mac), "3b7869df5b433770b893e7580c2b4feda2dd16286374db8335c3cbae8959f76f");
}

// docs/formats/hmac_chain.md, 'Worked example of a rotation'.
TEST(HmacChainTest, WorkedExampleOfARotation) {
  std::string new_key;
  for (int i = 32; i < 64; ++i) new_key.push_back(static_cast<char>(i));
  EXPECT_EQ(KeyId(kKey), "23cf372f8e290f10");
  EXPECT_EQ(KeyId(new_key), "65934c5ee81d3812");
  std::string mac2;
  ParseLowerHex("f08abab33fcb66e2b7440ec838cbc4e14268e78be3946ad62a12f0412d7b9786", &mac2);
  const std::string unsigned3 =
      "<45>1 2026-11-23T05:09:00.000000Z web01.example.net trailkeep - KEY_ROTATED " +
      FormatChainElement(32473, kEpoch, 3, mac2) + FormatKeyElement(32473, KeyId(new_key)) +
      " HMAC key 65934c5ee81d3812 signs the chain from this event on; the previous key was "
      "23cf372f8e290f10";
  std::string mac3;
  const std::string wire3 = SignMessage(new_key, unsigned3, &mac3);
  EXPECT_EQ(LowerHex(mac3), "5f6db40818e6a5e206a9aa394127f51c4ac13f1845ef099c1d2f3e2bc5f7c955");
  EXPECT_EQ(wire3.size(), 389u);
  v1::Event e;
  ParseSyslog(wire3, 0, &e);
  const ChainFields f = ExtractChain(e, 32473);
  EXPECT_EQ(f.error, "");
  EXPECT_EQ(f.key_id, "65934c5ee81d3812");
  EXPECT_TRUE(VerifyMessageMac(new_key, wire3, f));

  const std::string unsigned4 =
      "<86>1 2026-11-23T05:09:02.500000Z web01.example.net sshd 1250 - " +
      FormatChainElement(32473, kEpoch, 4, mac3) +
      "[tkin@32473 name=\"secure\"] Accepted publickey for bob from 192.0.2.11 port 50600 ssh2";
  std::string mac4, mac4_old;
  SignMessage(new_key, unsigned4, &mac4);
  SignMessage(kKey, unsigned4, &mac4_old);
  EXPECT_EQ(LowerHex(mac4), "f87de414c658e062bbdea592e217e46bcb740d1f77dcd7ca05666d7baa4ea732");
  EXPECT_EQ(LowerHex(mac4_old), "518e733bcd2b3b95bb709bf03c28d3e80f344d88c6579b73ab64fc707013d89a");
}

TEST(HmacChainTest, AMalformedKeyIdIsNamed) {
  std::string mac;
  const std::string wire =
      SignMessage(kKey,
                  "<86>1 2026-11-23T05:08:37Z h a - - " +
                      FormatChainElement(32473, kEpoch, 1, std::string(32, '\0')) +
                      "[tkkey@32473 id=\"NOT-HEX\"] x",
                  &mac);
  v1::Event e;
  ParseSyslog(wire, 0, &e);
  EXPECT_EQ(ExtractChain(e, 32473).error, "tkkey@32473 has a malformed key id");
}

TEST(HmacChainTest, ReceiverExtractsAndVerifies) {
  std::string mac;
  const std::string wire = SignMessage(kKey, Event1Unsigned(), &mac);
  v1::Event e;
  ParseSyslog(wire, 0, &e);
  const ChainFields f = ExtractChain(e, 32473);
  ASSERT_EQ(f.kind, ChainKind::kEvent);
  EXPECT_EQ(f.error, "");
  EXPECT_EQ(f.link.epoch, kEpoch);
  EXPECT_EQ(f.link.seq, 1u);
  EXPECT_EQ(f.link.prev_mac, std::string(32, '\0'));
  EXPECT_EQ(f.link.mac, mac);
  EXPECT_TRUE(VerifyMessageMac(kKey, wire, f));

  // One byte of MSG changed, the wrong key, another PEN: all refused.
  std::string edited = wire;
  edited[edited.size() - 1] = '3';
  EXPECT_FALSE(VerifyMessageMac(kKey, edited, f));
  EXPECT_FALSE(VerifyMessageMac(std::string(32, 'k'), wire, f));
  EXPECT_EQ(ExtractChain(e, 99999).kind, ChainKind::kNone);
}

TEST(HmacChainTest, MalformedElementsAreNamed) {
  v1::Event e;
  ParseSyslog("<13>1 - h a - - [tk@32473 e=\"0\" s=\"1\" p=\"\" m=\"\"] x", 0, &e);
  EXPECT_NE(ExtractChain(e, 32473).error, "");
  ParseSyslog("<13>1 - h a - - [tk@32473 e=\"5\" s=\"01\" p=\"\" m=\"\"] x", 0, &e);
  EXPECT_NE(ExtractChain(e, 32473).error, "");
  ParseSyslog("<13>1 - h a - - [tk@32473 e=\"5\" s=\"1\"] x", 0, &e);
  EXPECT_NE(ExtractChain(e, 32473).error, "");
}

TEST(HmacChainTest, KeyFilesMustBePrivate) {
  const auto dir = std::filesystem::temp_directory_path() / "tk_hmac_key_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "k.key").string();
  ASSERT_TRUE(WriteNewHmacKey(path).ok());
  auto key = LoadHmacKey(path);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key.value().size(), 32u);
  EXPECT_FALSE(WriteNewHmacKey(path).ok());  // never overwrites a key
  chmod(path.c_str(), 0644);
  auto refused = LoadHmacKey(path);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("chmod 600"), std::string::npos);
  std::ofstream(dir / "bad.key") << "not hex\n";
  chmod((dir / "bad.key").c_str(), 0600);
  EXPECT_FALSE(LoadHmacKey((dir / "bad.key").string()).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trailkeep
