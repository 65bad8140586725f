#include "common/config/toml_reader.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace trailkeep {

std::string ConfigError::ToString() const {
  if (file.empty()) return message;
  return line > 0 ? file + ":" + std::to_string(line) + ": " + message : file + ": " + message;
}

TomlReader::TomlReader(std::string file, std::string base_dir)
    : file_(std::move(file)), base_dir_(base_dir.empty() ? "." : std::move(base_dir)) {}

std::optional<toml::table> TomlReader::Parse(std::string_view text) {
  try {
    return toml::parse(text, file_);
  } catch (const toml::parse_error& e) {
    Error(static_cast<int>(e.source().begin.line), std::string(e.description()));
    return std::nullopt;
  }
}

std::optional<toml::table> TomlReader::ParseFile() {
  std::ifstream in(file_, std::ios::binary);
  if (!in) {
    Error(0, std::string("cannot open: ") + std::strerror(errno));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str());
}

int TomlReader::LineOf(const toml::node* node) {
  return node != nullptr ? static_cast<int>(node->source().begin.line) : 0;
}

void TomlReader::Error(const toml::node* node, std::string message) {
  Error(LineOf(node), std::move(message));
}

void TomlReader::Error(int line, std::string message) {
  errors_.push_back({file_, line, std::move(message)});
}

std::string TomlReader::ErrorText() const {
  std::vector<ConfigError> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const ConfigError& a, const ConfigError& b) {
    return (a.line == 0 ? INT_MAX : a.line) < (b.line == 0 ? INT_MAX : b.line);
  });
  std::string out;
  for (const auto& e : sorted) out += (out.empty() ? "" : "\n") + e.ToString();
  return out;
}

void TomlReader::Seen(std::string_view prefix, std::string_view key) {
  seen_.insert(std::string(prefix) + std::string(key));
}

const toml::node* TomlReader::Get(const toml::table& table, std::string_view prefix,
                                  const char* key) {
  Seen(prefix, key);
  return table.get(key);
}

void TomlReader::String(const toml::table& table, std::string_view prefix, const char* key,
                        std::string* out) {
  const toml::node* n = Get(table, prefix, key);
  if (n == nullptr) return;
  if (const auto* s = n->as_string()) {
    *out = s->get();
  } else {
    Error(n, std::string(prefix) + key + " must be a string");
  }
}

std::string TomlReader::Resolve(const std::string& path) const {
  if (path.empty() || path[0] == '/') return path;
  return (std::filesystem::path(base_dir_) / path).lexically_normal().string();
}

void TomlReader::Path(const toml::table& table, std::string_view prefix, const char* key,
                      std::string* out) {
  std::string value;
  String(table, prefix, key, &value);
  if (!value.empty()) *out = Resolve(value);
}

void TomlReader::Bool(const toml::table& table, std::string_view prefix, const char* key,
                      bool* out) {
  const toml::node* n = Get(table, prefix, key);
  if (n == nullptr) return;
  if (const auto* b = n->as_boolean()) {
    *out = b->get();
  } else {
    Error(n, std::string(prefix) + key + " must be true or false");
  }
}

void TomlReader::StringList(const toml::table& table, std::string_view prefix, const char* key,
                            std::vector<std::string>* out) {
  const toml::node* n = Get(table, prefix, key);
  if (n == nullptr) return;
  const toml::array* arr = n->as_array();
  if (arr == nullptr) {
    Error(n, std::string(prefix) + key + " must be an array of strings");
    return;
  }
  out->clear();
  for (const toml::node& el : *arr) {
    if (const auto* s = el.as_string()) {
      out->push_back(s->get());
    } else {
      Error(&el, std::string(prefix) + key + " must hold strings only");
    }
  }
}

void TomlReader::PathList(const toml::table& table, std::string_view prefix, const char* key,
                          std::vector<std::string>* out) {
  StringList(table, prefix, key, out);
  for (std::string& p : *out) p = Resolve(p);
}

std::optional<int64_t> TomlReader::CheckedInteger(const toml::table& table, std::string_view prefix,
                                                  const char* key, int64_t min, int64_t max) {
  const toml::node* n = Get(table, prefix, key);
  if (n == nullptr) return std::nullopt;
  const auto* i = n->as_integer();
  if (i == nullptr) {
    Error(n, std::string(prefix) + key + " must be an integer");
    return std::nullopt;
  }
  const int64_t v = i->get();
  if (v < min || v > max) {
    Error(n, std::string(prefix) + key + " must be between " + std::to_string(min) + " and " +
                 std::to_string(max) + ", not " + std::to_string(v));
    return std::nullopt;
  }
  return v;
}

void TomlReader::Unknown(const toml::table& table, std::string_view prefix) {
  for (const auto& [k, node] : table) {
    const std::string full = std::string(prefix) + std::string(k.str());
    if (seen_.count(full) != 0) continue;
    Error(&node, node.is_table() ? "unknown table [" + full + "]" : "unknown key " + full);
  }
}

}  // namespace trailkeep
