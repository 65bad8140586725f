#include "common/config/toml_reader.h"

#include <gtest/gtest.h>

namespace trailkeep {
namespace {

TEST(TomlReaderTest, ReadsTypedKeysAndResolvesPaths) {
  TomlReader r("/etc/tk/x.toml", "/etc/tk");
  auto t = r.Parse(
      "name = \"web\"\nport = 6514\non = true\nkey = \"keys/a.key\"\n"
      "abs = \"/var/a\"\nlist = [\"a\", \"b\"]\nlevel = \"info\"\n");
  ASSERT_TRUE(t);
  std::string name, key, abs;
  int port = 0;
  bool on = false;
  std::vector<std::string> list;
  int level = -1;
  r.String(*t, "", "name", &name);
  r.Integer(*t, "", "port", &port, 1, 65535);
  r.Bool(*t, "", "on", &on);
  r.Path(*t, "", "key", &key);
  r.Path(*t, "", "abs", &abs);
  r.StringList(*t, "", "list", &list);
  r.Choice(*t, "", "level", std::array<const char*, 2>{"debug", "info"}, &level);
  r.Unknown(*t, "");
  EXPECT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(name, "web");
  EXPECT_EQ(port, 6514);
  EXPECT_TRUE(on);
  EXPECT_EQ(key, "/etc/tk/keys/a.key");
  EXPECT_EQ(abs, "/var/a");
  EXPECT_EQ(list, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(level, 1);
}

TEST(TomlReaderTest, CollectsEveryErrorWithItsLineInFileOrder) {
  TomlReader r("x.toml", ".");
  auto t = r.Parse("[a]\nport = 70000\nname = 5\n\n[a.sub]\nz = 1\n[b]\ntypo = 1\n");
  ASSERT_TRUE(t);
  const toml::table& a = *(*t)["a"].as_table();
  int port = 1;
  std::string name = "kept";
  r.Integer(a, "a.", "port", &port, 1, 65535);
  r.String(a, "a.", "name", &name);
  r.Unknown(a, "a.");
  r.Seen("", "a");
  r.Unknown(*t, "");
  r.Error(0, "a.required is required");
  EXPECT_EQ(port, 1);  // a wrong value leaves the default alone
  EXPECT_EQ(name, "kept");
  EXPECT_EQ(r.ErrorText(),
            "x.toml:2: a.port must be between 1 and 65535, not 70000\n"
            "x.toml:3: a.name must be a string\n"
            "x.toml:5: unknown table [a.sub]\n"
            "x.toml:7: unknown table [b]\n"
            "x.toml: a.required is required");
}

TEST(TomlReaderTest, SyntaxErrorNamesItsLine) {
  TomlReader r("bad.toml", ".");
  EXPECT_FALSE(r.Parse("a = 1\nb = = 2\n"));
  ASSERT_EQ(r.errors().size(), 1u);
  EXPECT_EQ(r.errors()[0].line, 2);
  EXPECT_EQ(r.ErrorText().rfind("bad.toml:2: ", 0), 0u) << r.ErrorText();
}

}  // namespace
}  // namespace trailkeep
