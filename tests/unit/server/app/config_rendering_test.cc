// ConfigRendering: the canonical form of a configuration file that its
// digest covers; edits that change no setting keep it, any setting's change
// is named by its key.
#include "server/app/config_rendering.h"

#include <fstream>

#include <gtest/gtest.h>

#include "tests/unit/temp_dir.h"

namespace trailkeep {
namespace {

ConfigRendering Render(std::string_view text) { return RenderConfig(toml::parse(text)); }

TEST(ConfigRenderingTest, FlattensTablesArraysOfTablesAndOddKeys) {
  const ConfigRendering r = Render(R"(
data_dir = "/var/lib/trailkeep"
io_threads = 0x10
[tls]
permitted_peers = ['a', "b\"c"]
session_tickets = false
[[listen.syslog]]
address = "0.0.0.0:6514"
[[listen.syslog]]
address = "[::]:6514"
[plain_syslog.hosts]
"10.0.0.0/8" = "lan"
)");
  const ConfigRendering want = {
      {"data_dir", "\"/var/lib/trailkeep\""},
      {"io_threads", "16"},
      {"tls.permitted_peers", "[\"a\", \"b\\\"c\"]"},
      {"tls.session_tickets", "false"},
      {"listen.syslog[0].address", "\"0.0.0.0:6514\""},
      {"listen.syslog[1].address", "\"[::]:6514\""},
      {"plain_syslog.hosts.\"10.0.0.0/8\"", "\"lan\""},
  };
  EXPECT_EQ(r, want);
  EXPECT_EQ(CanonicalText(Render("b = 1\na = 'x'\n")), "a = \"x\"\nb = 1\n");
}

// Comments, blank lines, key order, table order, quoting and number base
// are not settings: the digest stays.
TEST(ConfigRenderingTest, EditsThatChangeNoSettingKeepTheDigest) {
  const std::string a = RenderingSha256(Render(R"(
data_dir = "/d"
[limits]
max_connections = 100
idle_timeout_ms = 60000
[tls]
cert_file = "/c.pem"
)"));
  const std::string c = RenderingSha256(Render(R"(# the collector
data_dir   =   "/d"

[tls]
cert_file = '/c.pem'   # moved up
[limits]
idle_timeout_ms = 60_000
max_connections = 0x64
)"));
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a, c);
  // The same line under another table is another setting.
  EXPECT_NE(a, RenderingSha256(Render("[limits]\ndata_dir = \"/d\"\nmax_connections = 100\n"
                                      "idle_timeout_ms = 60000\n[tls]\ncert_file = \"/c.pem\"\n")));
}

TEST(ConfigRenderingTest, ChangedKeysNamesChangedAddedAndRemovedSettings) {
  const ConfigRendering before = Render("a = 1\nb = 2\n[t]\nx = 'same'\nold = true\n");
  const ConfigRendering after = Render("a = 1\nb = 3\n[t]\nx = 'same'\nnew = true\n");
  const std::vector<std::string> want = {"b", "t.new", "t.old"};
  EXPECT_EQ(ChangedKeys(before, after), want);
  EXPECT_TRUE(ChangedKeys(after, after).empty());
  EXPECT_NE(RenderingSha256(before), RenderingSha256(after));
}

TEST(ConfigRenderingTest, FileDigestCoversTheBytesTheRenderingDoesNot) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/c.toml";
  std::string file1, file2;
  std::ofstream(path) << "a = 1\n";
  auto r1 = RenderConfigFile(path, &file1);
  std::ofstream(path) << "# comment\na = 1\n";
  auto r2 = RenderConfigFile(path, &file2);
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(RenderingSha256(r1.value()), RenderingSha256(r2.value()));
  EXPECT_NE(file1, file2);
  EXPECT_EQ(file1,
            "cb78bd8a17f7b751fe0d4663366dcbc257204033ef7ddd64b1f2969573b5b2e2");  // sha256sum
}

TEST(ConfigRenderingTest, SyntaxErrorAndMissingFileAreErrors) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/c.toml";
  std::ofstream(path) << "a = \n";
  std::string sha;
  auto bad = RenderConfigFile(path, &sha);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("c.toml:1"), std::string::npos) << bad.status().message();
  EXPECT_EQ(sha.size(), 64u);  // the bytes were read
  EXPECT_FALSE(RenderConfigFile(dir.path() + "/none.toml").ok());
}

}  // namespace
}  // namespace trailkeep
