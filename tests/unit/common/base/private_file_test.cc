// ReadPrivateFile / CheckPrivateFile: the mode, owner and readability checks
// of private keys, and their messages.
#include "common/base/private_file.h"

#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/in_child.h"
#include "tests/unit/temp_dir.h"

namespace trailkeep {
namespace {

std::string Write(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
  return path;
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(PrivateFileTest, ReadsA0600File) {
  testing::TempDir dir;
  const std::string key = Write(dir.path() + "/k.key", "secret\n", 0600);
  auto read = ReadPrivateFile(key);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read.value(), "secret\n");
  ::chmod(key.c_str(), 0400);
  EXPECT_TRUE(ReadPrivateFile(key).ok());
}

TEST(PrivateFileTest, RefusesGroupOrOtherAccessNamingFileAndMode) {
  testing::TempDir dir;
  for (mode_t mode : {0640, 0604, 0620, 0660, 0644, 0610}) {
    const std::string key = Write(dir.path() + "/k.key", "secret\n", mode);
    auto read = ReadPrivateFile(key);
    ASSERT_FALSE(read.ok()) << std::oct << mode;
    EXPECT_EQ(read.status().code(), Status::Code::kInvalidArgument);
    EXPECT_TRUE(Contains(read.status().message(), key + " has mode " + OctalMode(mode)))
        << read.status().message();
    EXPECT_TRUE(Contains(read.status().message(), "chmod 600")) << read.status().message();
    // Not private, but readable when the caller does not ask for private.
    EXPECT_TRUE(ReadPrivateFile(key, /*require_private=*/false).ok());
    EXPECT_FALSE(CheckPrivateFile(key, ::geteuid(), "me").ok());
  }
  EXPECT_EQ(OctalMode(0100640), "0640");
}

TEST(PrivateFileTest, MissingIsNotFoundAndSaysSo) {
  testing::TempDir dir;
  auto read = ReadPrivateFile(dir.path() + "/none.key");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(read.status().message(), dir.path() + "/none.key does not exist");
  EXPECT_EQ(CheckPrivateFile(dir.path() + "/none.key", ::geteuid(), "me").code(),
            Status::Code::kNotFound);
}

TEST(PrivateFileTest, AFolderIsNotAKey) {
  testing::TempDir dir;
  auto read = ReadPrivateFile(dir.path());
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(Contains(read.status().message(), "not a regular file"));
}

TEST(PrivateFileTest, OwnerMustBeTheServiceUser) {
  testing::TempDir dir;
  const std::string key = Write(dir.path() + "/k.key", "secret\n", 0600);
  EXPECT_TRUE(CheckPrivateFile(key, ::geteuid(), UserName(::geteuid())).ok());
  const Status s = CheckPrivateFile(key, ::geteuid() + 4242, "svc");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), key + " belongs to " + UserName(::geteuid()) + ", not to svc"))
      << s.message();
  EXPECT_TRUE(Contains(s.message(), "chown svc " + key)) << s.message();
}

// A key that exists but cannot be opened says why, never "does not exist".
// Root opens every file, so this needs an unprivileged user: the test runs
// the check in a child that switched to nobody.
TEST(PrivateFileTest, UnreadableSaysPermissionDenied) {
  testing::TempDir dir;
  const std::string key = Write(dir.path() + "/k.key", "secret\n", 0600);
  if (::geteuid() != 0) {
    ::chmod(key.c_str(), 0200);
    auto read = ReadPrivateFile(key);
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().message(), "cannot read " + key + ": Permission denied");
    const Status s = CheckPrivateFile(key, ::geteuid(), "me");
    EXPECT_EQ(s.message(), "cannot read " + key + ": Permission denied");
    return;
  }
  ::chmod(dir.path().c_str(), 0755);
  const std::string got = testing::InChild([&key]() -> std::string {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) return "setuid failed";
    return ReadPrivateFile(key).status().message() + "|" +
           CheckPrivateFile(key, 65534, "nobody").message();
  });
  const std::string denied = "cannot read " + key + ": Permission denied";
  // The owner check comes first for CheckPrivateFile: root owns the file.
  EXPECT_EQ(got.substr(0, got.find('|')), denied) << got;
  EXPECT_TRUE(Contains(got.substr(got.find('|') + 1), "belongs to root, not to nobody")) << got;
}

}  // namespace
}  // namespace trailkeep
