// TomlReader: the one way a configuration file (the collector's, the
// agent's, the CLI's client.toml, the NDcPP rules) becomes a struct.
//
// It parses one TOML document and reads typed keys out of its tables, each
// into a field the caller owns. It never stops at the first problem: every
// wrong type, out-of-range value, unknown key or syntax error is collected
// with the file and line it is on ("agent.toml:12: agent.host must be a
// string"), so an operator fixes a file in one pass. A key that is absent
// leaves its field alone: callers set defaults before reading.
//
// Keys are named in errors with their table's prefix ("collector." + "address").
// Unknown() reports the keys and tables of a table that nothing read: almost
// always a typo. Not thread-safe; one reader per file.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "common/config/config_error.h"

namespace trailkeep {

class TomlReader {
 public:
  // `file` names the document in errors; relative paths read by Path() are
  // resolved against `base_dir` (the file's folder, usually).
  TomlReader(std::string file, std::string base_dir);

  // Parses `text`; on a syntax error records it and returns nothing.
  std::optional<toml::table> Parse(std::string_view text);
  // Reads and parses the file named at construction.
  std::optional<toml::table> ParseFile();

  void Error(const toml::node* node, std::string message);
  void Error(int line, std::string message);
  bool ok() const { return errors_.empty(); }
  const std::vector<ConfigError>& errors() const { return errors_; }
  // Every error as "file:line: message", one a line, in file order (errors
  // without a line last).
  std::string ErrorText() const;

  void String(const toml::table& table, std::string_view prefix, const char* key, std::string* out);
  // A string naming a file; a relative one is resolved against base_dir.
  void Path(const toml::table& table, std::string_view prefix, const char* key, std::string* out);
  void Bool(const toml::table& table, std::string_view prefix, const char* key, bool* out);
  void StringList(const toml::table& table, std::string_view prefix, const char* key,
                  std::vector<std::string>* out);
  void PathList(const toml::table& table, std::string_view prefix, const char* key,
                std::vector<std::string>* out);

  template <typename Int>
  void Integer(const toml::table& table, std::string_view prefix, const char* key, Int* out,
               int64_t min, int64_t max) {
    if (auto v = CheckedInteger(table, prefix, key, min, max)) *out = static_cast<Int>(*v);
  }

  // One of `names`: its index into *out.
  template <size_t N>
  void Choice(const toml::table& table, std::string_view prefix, const char* key,
              const std::array<const char*, N>& names, int* out) {
    std::string value;
    String(table, prefix, key, &value);
    if (value.empty()) return;
    for (size_t i = 0; i < N; ++i) {
      if (value == names[i]) {
        *out = static_cast<int>(i);
        return;
      }
    }
    std::string all;
    for (const char* name : names) all += std::string(all.empty() ? "" : ", ") + name;
    Error(table.get(key),
          std::string(prefix) + key + " must be one of " + all + ", not '" + value + "'");
  }

  // Marks a key as read by the caller itself (a sub-table, a special form).
  void Seen(std::string_view prefix, std::string_view key);
  // Reports every key and sub-table of `table` that was not read under `prefix`.
  void Unknown(const toml::table& table, std::string_view prefix);

  std::string Resolve(const std::string& path) const;
  static int LineOf(const toml::node* node);

 private:
  std::optional<int64_t> CheckedInteger(const toml::table& table, std::string_view prefix,
                                        const char* key, int64_t min, int64_t max);
  // The node of `key`, marking it read; null when absent.
  const toml::node* Get(const toml::table& table, std::string_view prefix, const char* key);

  const std::string file_;
  const std::string base_dir_;
  std::vector<ConfigError> errors_;
  std::set<std::string, std::less<>> seen_;  // prefix + key of every key read
};

}  // namespace trailkeep
