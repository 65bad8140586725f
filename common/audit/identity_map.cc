#include "common/audit/identity_map.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace trailkeep::audit {
namespace {

// Fills `names` from {"<id>": "<name>", ...}; false on any other shape.
bool ReadNames(const nlohmann::json& j, std::unordered_map<uint64_t, std::string>* names) {
  if (!j.is_object()) return false;
  for (const auto& [key, value] : j.items()) {
    uint64_t id = 0;
    const auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (ec != std::errc() || ptr != key.data() + key.size() || !value.is_string()) return false;
    names->emplace(id, value.get<std::string>());
  }
  return true;
}

}  // namespace

Result<IdentityMap> IdentityMap::FromInventoryJson(std::string_view json) {
  // Data path input from an agent: parse without exceptions.
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  IdentityMap map;
  if (!j.is_object() || !j.contains("users") || !j.contains("groups") ||
      !ReadNames(j["users"], &map.users_) || !ReadNames(j["groups"], &map.groups_)) {
    return Status::InvalidArgument("not an inventory: expected {\"users\":{..},\"groups\":{..}}");
  }
  return map;
}

std::optional<std::string_view> IdentityMap::Find(const Names& names, uint64_t id) {
  const auto it = names.find(id);
  if (it == names.end()) return std::nullopt;
  return std::string_view(it->second);
}

}  // namespace trailkeep::audit
