// Least privilege: resolving [server] user, the start-up checks of keys and
// the data folder, and the drop itself in a forked child (root only: the
// child switches to nobody, or keeps CAP_NET_BIND_SERVICE as systemd's
// AmbientCapabilities would, with threads running, and must end with no
// capability in any thread).
#include "server/app/privileges.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/base/private_file.h"
#include "server/app/file_access.h"
#include "tests/unit/cannot_run.h"
#include "tests/unit/in_child.h"
#include "tests/unit/temp_dir.h"

namespace trailkeep {
namespace {

constexpr uid_t kNobody = 65534;

// The drop tests need root; CI runs as root, so there a non-root run fails.
#define TK_REQUIRE_ROOT() \
  if (::geteuid() != 0) TK_CANNOT_RUN("needs root")

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string Write(const std::string& path, mode_t mode) {
  std::ofstream(path) << "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
  ::chmod(path.c_str(), mode);
  return path;
}

TEST(ParseTaskStatusTest, ReadsIdsAndCapabilities) {
  auto c = ParseTaskStatus(
      "Name:\ttrailkeepd\nUid:\t998\t998\t998\t998\nGid:\t997\t997\t997\t997\n"
      "CapInh:\t0000000000000000\nCapPrm:\t0000000000000400\nCapEff:\t0000000000000400\n"
      "CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000400\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c.value().uids, (std::vector<uint64_t>{998, 998, 998, 998}));
  EXPECT_EQ(c.value().gids, (std::vector<uint64_t>{997, 997, 997, 997}));
  EXPECT_EQ(c.value().cap_eff, 0x400u);
  EXPECT_EQ(c.value().cap_amb, 0x400u);
  EXPECT_EQ(c.value().cap_inh, 0u);
  EXPECT_FALSE(ParseTaskStatus("Name:\tx\n").ok());
}

TEST(ResolveServiceUserTest, NamesAndRefusals) {
  auto none = ResolveServiceUser("", "");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.value().configured);
  EXPECT_EQ(RunUid(none.value()), ::geteuid());

  auto nobody = ResolveServiceUser("nobody", "nogroup");
  ASSERT_TRUE(nobody.ok()) << nobody.status().ToString();
  EXPECT_TRUE(nobody.value().configured);
  EXPECT_EQ(nobody.value().uid, kNobody);
  EXPECT_EQ(nobody.value().group, "nogroup");
  EXPECT_EQ(RunUserName(nobody.value()), "nobody");
  auto primary = ResolveServiceUser("nobody", "");
  ASSERT_TRUE(primary.ok());
  EXPECT_EQ(primary.value().gid, nobody.value().gid);

  auto root = ResolveServiceUser("root", "");
  ASSERT_FALSE(root.ok());
  EXPECT_TRUE(Contains(root.status().message(), "keeps every privilege"));
  EXPECT_FALSE(ResolveServiceUser("nobody", "root").ok());
  auto missing = ResolveServiceUser("tk-no-such-user", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(
      Contains(missing.status().message(), "server.user = \"tk-no-such-user\": no such user"));
  EXPECT_FALSE(ResolveServiceUser("nobody", "tk-no-such-group").ok());
  auto group_only = ResolveServiceUser("", "nogroup");
  ASSERT_FALSE(group_only.ok());
  EXPECT_TRUE(Contains(group_only.status().message(), "server.group needs server.user"));
}

class FileAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.data_dir = dir_.path() + "/data";
    config_.keys_dir = dir_.path() + "/keys";
    std::filesystem::create_directories(config_.keys_dir);
    config_.syslog.tls.key_file = Write(dir_.path() + "/server.key", 0600);
    Write(config_.keys_dir + "/web01.key", 0600);
  }
  FileOwner Me() const { return {::geteuid(), UserName(::geteuid()), ""}; }

  testing::TempDir dir_;
  ServerConfig config_;
};

TEST_F(FileAccessTest, PrivateKeysOwnedByTheRunUserPass) {
  EXPECT_TRUE(CheckPrivateKeys(config_, Me()).empty());
  EXPECT_TRUE(CheckStartupFiles(config_, Me()).ok());
  // No keys_dir yet: nothing to check there.
  config_.keys_dir = dir_.path() + "/not-yet";
  EXPECT_TRUE(CheckPrivateKeys(config_, Me()).empty());
}

TEST_F(FileAccessTest, GroupReadableKeysAreRefusedWithTheirNames) {
  ::chmod(config_.syslog.tls.key_file.c_str(), 0640);
  ::chmod((config_.keys_dir + "/web01.key").c_str(), 0644);
  const auto problems = CheckPrivateKeys(config_, Me());
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_TRUE(
      Contains(problems[0], "tls.key_file: " + config_.syslog.tls.key_file + " has mode 0640"))
      << problems[0];
  EXPECT_TRUE(Contains(problems[1], config_.keys_dir + "/web01.key has mode 0644")) << problems[1];
  const Status s = CheckStartupFiles(config_, Me());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "server.key has mode 0640")) << s.message();
}

TEST_F(FileAccessTest, KeysOfAnotherUserAreRefused) {
  const FileOwner svc{kNobody, "nobody", "nogroup"};
  const auto problems = CheckPrivateKeys(config_, svc);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_TRUE(
      Contains(problems[1], "web01.key belongs to " + UserName(::geteuid()) + ", not to nobody"))
      << problems[1];
}

TEST_F(FileAccessTest, DataFolderIsCreatedAndStoreOwnershipChecked) {
  ASSERT_TRUE(PrepareDataDir(config_.data_dir, Me()).ok());
  EXPECT_TRUE(std::filesystem::is_directory(config_.data_dir));
  std::filesystem::create_directories(config_.data_dir + "/store");
  std::ofstream(config_.data_dir + "/store/LOCK") << "";
  std::ofstream(config_.data_dir + "/store/CURRENT") << "";
  EXPECT_TRUE(PrepareDataDir(config_.data_dir, Me()).ok());
  const Status s = PrepareDataDir(config_.data_dir, {kNobody, "nobody", "nogroup"});
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "belongs to " + UserName(::geteuid()))) << s.message();
  EXPECT_TRUE(Contains(s.message(), "(and 1 more), not to nobody")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "chown -R nobody:nogroup " + config_.data_dir)) << s.message();
}

TEST_F(FileAccessTest, DataFolderThatCannotBeMadeSaysSo) {
  std::ofstream(dir_.path() + "/file") << "";
  const Status s = PrepareDataDir(dir_.path() + "/file/data", Me());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "cannot create data_dir " + dir_.path() + "/file/data"))
      << s.message();
}

// --- the drop, in a forked child ----------------------------------------------------------------

// Each thread's /proc status, "" when every one has `uid` and no capability.
std::string EveryThreadDropped(uid_t uid) {
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(e.path() / "status");
    std::stringstream ss;
    ss << in.rdbuf();
    auto c = ParseTaskStatus(ss.str());
    if (!c.ok()) return c.status().ToString();
    if (c.value().cap_eff || c.value().cap_prm || c.value().cap_inh || c.value().cap_amb) {
      return "thread " + e.path().filename().string() + " keeps capabilities:\n" + ss.str();
    }
    for (uint64_t id : c.value().uids) {
      if (id != uid)
        return "thread " + e.path().filename().string() + " has uid " + std::to_string(id);
    }
  }
  return "";
}

// Threads that exist before the drop, as RocksDB's and the committer's do.
class Workers {
 public:
  explicit Workers(int n) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      });
    }
  }
  ~Workers() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

TEST(DropPrivilegesTest, RootStartEndsAsTheServiceUserWithNoCapability) {
  TK_REQUIRE_ROOT();
  const std::string got = testing::InChild([]() -> std::string {
    auto u = ResolveServiceUser("nobody", "nogroup");
    if (!u.ok()) return u.status().ToString();
    if (Status s = AssumeServiceUser(u.value()); !s.ok()) return s.ToString();
    // Files are now made as nobody, though the process is still root.
    char tmpl[] = "/tmp/tk-fsuid-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    struct stat st {};
    ::fstat(fd, &st);
    ::close(fd);
    ::unlink(tmpl);
    if (st.st_uid != kNobody) return "file made as uid " + std::to_string(st.st_uid);
    Workers workers(4);
    if (Status s = DropPrivileges(u.value()); !s.ok()) return s.ToString();
    return EveryThreadDropped(kNobody);
  });
  EXPECT_EQ(got, "");
}

TEST(DropPrivilegesTest, AmbientBindCapabilityIsDroppedInEveryThread) {
  TK_REQUIRE_ROOT();
  const std::string got = testing::InChild([]() -> std::string {
    // As systemd starts the unit: User=nobody, AmbientCapabilities=CAP_NET_BIND_SERVICE.
    ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
    if (::setgid(65534) != 0) return "setgid failed";
    if (::setuid(kNobody) != 0) return "setuid failed";
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};
    const uint32_t bind = 1u << CAP_NET_BIND_SERVICE;
    d[0].effective = d[0].permitted = d[0].inheritable = bind;
    if (::syscall(SYS_capset, &h, d) != 0) return "capset failed";
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) != 0) {
      return "ambient raise failed";
    }
    Workers workers(4);  // they inherit the capability
    if (EveryThreadDropped(kNobody).empty()) return "the capability was not set up";
    if (Status s = DropPrivileges(ServiceUser{}); !s.ok()) return s.ToString();
    return EveryThreadDropped(kNobody);
  });
  EXPECT_EQ(got, "");
}

TEST(DropPrivilegesTest, ANonRootStartCannotBecomeAnotherUser) {
  TK_REQUIRE_ROOT();
  const std::string got = testing::InChild([]() -> std::string {
    if (::setgid(65534) != 0 || ::setuid(kNobody) != 0) return "setuid failed";
    ServiceUser other{true, "daemon", "daemon", 1, 1};
    const Status s = AssumeServiceUser(other);
    if (s.ok()) return "switch to daemon accepted";
    return Contains(s.message(), "cannot switch users: start it as root or as daemon")
               ? ""
               : s.message();
  });
  EXPECT_EQ(got, "");
}

}  // namespace
}  // namespace trailkeep
