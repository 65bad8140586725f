#include "common/base/hmac_sha256.h"

#include <random>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include "common/base/bytes.h"

namespace trailkeep {
namespace {

std::string OneShot(const std::string& key, const std::string& data) {
  unsigned char out[32];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return std::string(reinterpret_cast<const char*>(out), n);
}

// RFC 4231, test cases 1, 2 and 6 (a key longer than the block).
TEST(HmacSha256KeyTest, MatchesRfc4231) {
  EXPECT_EQ(LowerHex(HmacSha256Key(std::string(20, '\x0b')).Mac("Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(LowerHex(HmacSha256Key("Jefe").Mac("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(LowerHex(HmacSha256Key(std::string(131, '\xaa'))
                         .Mac("Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256KeyTest, AgreesWithOpenSslForManyMessagesUnderOneKey) {
  std::mt19937 rng(7);
  for (size_t key_len : {0u, 1u, 32u, 63u, 64u, 65u, 200u}) {
    std::string key(key_len, '\0');
    for (char& c : key) c = static_cast<char>(rng());
    const HmacSha256Key hmac(key);
    ASSERT_TRUE(hmac.valid());
    for (size_t len = 0; len < 300; len += 13) {
      std::string data(len, '\0');
      for (char& c : data) c = static_cast<char>(rng());
      EXPECT_EQ(hmac.Mac(data), OneShot(key, data)) << key_len << " " << len;
    }
  }
}

TEST(HmacSha256KeyTest, MovedKeyKeepsItsState) {
  HmacSha256Key a("k");
  const std::string expected = a.Mac("m");
  HmacSha256Key b(std::move(a));
  EXPECT_EQ(b.Mac("m"), expected);
  HmacSha256Key::MacBytes raw;
  ASSERT_TRUE(b.Mac("m", &raw));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(raw.data()), raw.size()), expected);
}

}  // namespace
}  // namespace trailkeep
