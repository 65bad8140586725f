#include "server/app/config_rendering.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/base/sha256.h"
#include "common/config/toml_reader.h"

namespace trailkeep {
namespace {

bool IsBareKey(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// JSON string escapes: the rendering of a value never depends on whether it
// was written as a basic or a literal string.
std::string Quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string KeyPart(std::string_view key) {
  return IsBareKey(key) ? std::string(key) : Quoted(key);
}

template <typename T>
std::string Printed(const T& value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

// A value that is not a table nor an array of tables.
std::string Value(const toml::node& n) {
  if (const auto* s = n.as_string()) return Quoted(s->get());
  if (const auto* i = n.as_integer()) return std::to_string(i->get());
  if (const auto* b = n.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* f = n.as_floating_point()) return Printed(toml::value<double>(f->get()));
  if (const auto* d = n.as_date()) return Printed(d->get());
  if (const auto* t = n.as_time()) return Printed(t->get());
  if (const auto* dt = n.as_date_time()) return Printed(dt->get());
  if (const auto* a = n.as_array()) {
    std::string out = "[";
    for (const auto& el : *a) {
      if (out.size() > 1) out += ", ";
      if (const auto* t = el.as_table()) {
        // An inline table inside a list of values: its own canonical lines.
        std::string inner;
        for (const auto& [k, v] : RenderConfig(*t))
          inner += (inner.empty() ? "" : ", ") + k + " = " + v;
        out += "{" + inner + "}";
      } else {
        out += Value(el);
      }
    }
    return out + "]";
  }
  return "?";
}

void Flatten(const toml::table& t, const std::string& prefix, ConfigRendering* out) {
  for (const auto& [k, v] : t) {
    const std::string key = prefix + KeyPart(k.str());
    if (const auto* sub = v.as_table()) {
      Flatten(*sub, key + ".", out);
    } else if (const auto* arr = v.as_array(); arr != nullptr && arr->is_array_of_tables()) {
      for (size_t i = 0; i < arr->size(); ++i) {
        Flatten(*(*arr)[i].as_table(), key + "[" + std::to_string(i) + "].", out);
      }
    } else {
      (*out)[key] = Value(v);
    }
  }
}

}  // namespace

ConfigRendering RenderConfig(const toml::table& root) {
  ConfigRendering out;
  Flatten(root, "", &out);
  return out;
}

Result<ConfigRendering> RenderConfigFile(const std::string& path, std::string* file_sha256) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (file_sha256 != nullptr) *file_sha256 = Sha256Hex(text.str());
  TomlReader reader(path, ".");
  const std::optional<toml::table> parsed = reader.Parse(text.str());
  if (!parsed) return Status::InvalidArgument(reader.ErrorText());
  return RenderConfig(*parsed);
}

std::string CanonicalText(const ConfigRendering& rendering) {
  std::string out;
  for (const auto& [k, v] : rendering) out += k + " = " + v + "\n";
  return out;
}

std::string RenderingSha256(const ConfigRendering& rendering) {
  return Sha256Hex(CanonicalText(rendering));
}

std::vector<std::string> ChangedKeys(const ConfigRendering& before, const ConfigRendering& after) {
  std::vector<std::string> changed;
  auto b = before.begin();
  auto a = after.begin();
  // Both maps are in key order: one merge pass.
  while (b != before.end() || a != after.end()) {
    if (a == after.end() || (b != before.end() && b->first < a->first)) {
      changed.push_back((b++)->first);
    } else if (b == before.end() || a->first < b->first) {
      changed.push_back((a++)->first);
    } else {
      if (a->second != b->second) changed.push_back(a->first);
      ++a;
      ++b;
    }
  }
  return changed;
}

}  // namespace trailkeep
