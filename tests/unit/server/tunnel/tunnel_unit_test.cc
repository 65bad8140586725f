// Key type checks on keys made by the real ssh-keygen, and the loopback
// mapping of listener addresses.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "server/tunnel/key_file.h"
#include "server/tunnel/tunnel_manager.h"
#include "tests/unit/cannot_run.h"

namespace trailkeep {
namespace {

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tk-keyfile-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Path of a new key made by ssh-keygen; "" when ssh-keygen is missing.
  std::string Keygen(const std::string& type, const std::string& extra = "",
                     const std::string& name = "") {
    const std::string path = dir_ + "/" + (name.empty() ? type : name);
    const std::string cmd =
        "ssh-keygen -q -t " + type + " " + extra + " -N '' -f " + path + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return "";
    return path;
  }

  std::string dir_;
};

TEST_F(KeyFileTest, AcceptsEd25519AndEcdsa) {
  const std::string ed = Keygen("ed25519");
  if (ed.empty()) TK_CANNOT_RUN("ssh-keygen not installed");
  EXPECT_TRUE(CheckTunnelKeyFile(ed).ok()) << CheckTunnelKeyFile(ed).message();
  const std::string ec = Keygen("ecdsa", "-b 384");
  ASSERT_FALSE(ec.empty());
  EXPECT_TRUE(CheckTunnelKeyFile(ec).ok()) << CheckTunnelKeyFile(ec).message();
  // A PEM "EC PRIVATE KEY" too.
  const std::string pem = Keygen("ecdsa", "-m PEM", "ecdsa_pem");
  ASSERT_FALSE(pem.empty());
  EXPECT_TRUE(CheckTunnelKeyFile(pem).ok()) << CheckTunnelKeyFile(pem).message();
}

TEST_F(KeyFileTest, RefusesRsaWithTheReason) {
  for (const std::string format : {"", "-m PEM"}) {
    std::filesystem::remove(dir_ + "/rsa");
    std::filesystem::remove(dir_ + "/rsa.pub");
    const std::string rsa = Keygen("rsa", "-b 2048 " + format);
    if (rsa.empty()) TK_CANNOT_RUN("ssh-keygen not installed");
    const Status s = CheckTunnelKeyFile(rsa);
    ASSERT_FALSE(s.ok()) << format;
    EXPECT_NE(s.message().find("RSA"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("SHA-1"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("Ed25519"), std::string::npos) << s.message();
  }
}

TEST_F(KeyFileTest, RefusesMissingAndGarbageFiles) {
  EXPECT_FALSE(CheckTunnelKeyFile(dir_ + "/none").ok());
  const std::string junk = dir_ + "/junk";
  std::ofstream(junk)
      << "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
  ::chmod(junk.c_str(), 0600);  // refused for its content, not its mode
  const Status s = CheckTunnelKeyFile(junk);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(junk), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("OpenSSH"), std::string::npos) << s.message();
  std::ofstream(junk, std::ios::trunc) << "hello\n";
  EXPECT_FALSE(CheckTunnelKeyFile(junk).ok());
}

TEST_F(KeyFileTest, RefusesAKeyOthersCanReadWithItsNameAndMode) {
  const std::string ed = Keygen("ed25519");
  if (ed.empty()) TK_CANNOT_RUN("ssh-keygen not installed");
  ::chmod(ed.c_str(), 0640);
  const Status s = CheckTunnelKeyFile(ed);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(ed + " has mode 0640"), std::string::npos) << s.message();
  EXPECT_FALSE(ReadTunnelKey(ed).ok());
  ::chmod(ed.c_str(), 0600);
  EXPECT_TRUE(ReadTunnelKey(ed).ok());
}

TEST(LoopbackForListenerTest, WildcardsBecomeLoopback) {
  EXPECT_EQ(LoopbackForListener("0.0.0.0:60"), "127.0.0.1:60");
  EXPECT_EQ(LoopbackForListener("[::]:6060"), "[::1]:6060");
  EXPECT_EQ(LoopbackForListener("127.0.0.1:41234"), "127.0.0.1:41234");
  EXPECT_EQ(LoopbackForListener("192.0.2.1:60"), "192.0.2.1:60");
}

}  // namespace
}  // namespace trailkeep
