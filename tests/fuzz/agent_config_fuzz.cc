// TOML configuration files: the agent's (ParseAgentConfig, through the
// shared TomlReader), which parses, validates and reports every problem with
// its line. Input: the file's text. Invariants: it either yields a config or
// an error naming the file, and never both empty.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/agent_config.h"
#include "common/config/toml_reader.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = trailkeep::agent::ParseAgentConfig(text, "agent.toml");
  if (!config.ok()) {
    FUZZ_CHECK(config.status().message().find("agent.toml") != std::string::npos);
  }

  // The reader alone, on any table the document has: what every other
  // configuration file (collector, client.toml) goes through.
  trailkeep::TomlReader reader("any.toml", "/etc/trailkeep");
  if (auto table = reader.Parse(text)) {
    std::string s;
    bool b = false;
    int64_t n = 0;
    std::vector<std::string> list;
    reader.String(*table, "", "name", &s);
    reader.Path(*table, "", "path", &s);
    reader.Bool(*table, "", "enabled", &b);
    reader.Integer(*table, "", "count", &n, -5, 1 << 20);
    reader.StringList(*table, "", "hosts", &list);
    reader.PathList(*table, "", "files", &list);
    reader.Unknown(*table, "");
  } else {
    FUZZ_CHECK(!reader.ok());
  }
  (void)reader.ErrorText();
  return 0;
}
